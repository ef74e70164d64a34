// Header of the internal cluster library: irc::ClusterLink (what the IRC core asks of a cluster)
// served by a cluster::Node. The only place the cluster library meets the IRC core, through its
// dependency-free interface header; apps/chat_server plugs it in with Server::set_cluster.
//
// Events (docs/CLUSTER.md, "Events between nodes"): one PUBLISH per event on `sockit:msg` through
// the node's command connection; the node's subscriber connection hands every event (its own
// included, marked `own`) to the deliver function, in Redis's one order.
#pragma once

#include "sockit/cluster/nicks.hpp"
#include "sockit/cluster/node.hpp"
#include "sockit/irc/cluster.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace sockit::cluster {

/// The pub/sub channel every node publishes its events on and subscribes to.
inline constexpr char kEventChannel[] = "sockit:msg";

/// The payload of `e` ("sockit1 KIND NODE SENDER TARGET MASK ACCOUNT MSGID TAGS FLAGS REST").
std::string encode_event(const irc::ClusterEvent& e);
/// The event in `payload`; nullopt for anything else (another version, a missing field, CR/LF).
std::optional<irc::ClusterEvent> decode_event(std::string_view payload);

struct LinkStats {
  std::uint64_t published = 0;  ///< PUBLISH commands sent
  std::uint64_t received = 0;   ///< events decoded (own included)
  std::uint64_t malformed = 0;  ///< payloads ignored
  std::uint64_t replayed = 0;  ///< events said while degraded, published on reconnection
  std::uint64_t replica_dropped = 0;  ///< remote users a resync found gone from Redis (QUIT delivered)
  std::uint64_t replica_parted = 0;   ///< remote memberships a resync found gone from Redis (PART delivered)
  std::uint64_t duplicates = 0;       ///< lines dropped: their msgid was delivered already (an outbox republished them)
  std::uint64_t requeued = 0;         ///< lines taken from the outbox when a connection dropped (republished later)
  std::uint64_t outbox_overflow = 0;  ///< lines forgotten by a full outbox (not republished if the link drops)
};

/// Which lines (channel and private messages) this node has had from the network already, by msgid
/// (docs/CLUSTER.md, "Failures": the outbox). A msgid is "<prefix>-<n>" (irc ServerImpl::new_msgid:
/// a random prefix per process, n base 36 counting up), and a node publishes its lines in the order
/// of their n, on one connection: a line whose n is not above the highest seen for its prefix came
/// before, and this one is a copy (a line an outbox republished after Redis had published it).
/// Exact for an outage of any length; one entry per sending process, at most kMaxSenders (the one
/// seen least recently is forgotten first: its lines count as new again).
class SeenLines {
 public:
  static constexpr std::size_t kMaxSenders = 4096;
  /// `msgid` as {prefix, n}; n == 0: not of that form.
  static std::pair<std::string_view, std::uint64_t> split(std::string_view msgid);
  /// Whether the line `msgid` is new here (then noted); a msgid of another form is always new.
  bool first_time(std::string_view msgid);
  std::size_t senders() const noexcept { return high_.size(); }

 private:
  struct Entry {
    std::uint64_t high = 0;  ///< the highest n seen
    std::uint64_t used = 0;  ///< tick_ when last seen
  };
  std::unordered_map<std::string, Entry> high_;
  std::uint64_t tick_ = 0;
};

class IrcLink final : public irc::ClusterLink {
 public:
  using DeliverFn = std::function<void(const irc::ClusterEvent&)>;
  /// Subscribes `node`'s subscriber connection to kEventChannel; `deliver` gets every event.
  IrcLink(Node& node, DeliverFn deliver);
  ~IrcLink() override;
  IrcLink(const IrcLink&) = delete;
  IrcLink& operator=(const IrcLink&) = delete;
  std::vector<irc::ClusterNode> nodes() const override;
  bool relaying() const override;
  void publish(const irc::ClusterEvent& e) override;
  /// Nick claims across nodes (src/cluster/nicks.cpp); without them every claim is ok.
  void set_nick_claims(NickClaims* claims) { claims_ = claims; }
  void claim_nick(const std::string& folded, std::uint64_t id, const std::string& mask,
                  std::function<void(NickVerdict)> done) override;
  void release_nick(const std::string& folded, std::uint64_t id) override;
  /// Degraded mode (docs/CLUSTER.md, "Failures"): `fn(false)` when either Redis connection is lost,
  /// `fn(true)` once both are back and the resync is done (nicks claimed again, SYNC published).
  void set_on_relaying(std::function<void(bool relaying)> fn) { on_relaying_ = std::move(fn); }
  /// A resync found local client `id`'s nick (`folded`) held by an older registration elsewhere.
  void set_on_nick_lost(std::function<void(std::uint64_t id, const std::string& folded)> fn) {
    on_nick_lost_ = std::move(fn);
  }
  /// Publishes a QUIT (`reason`, e.g. "*.net *.split") for each user, as from the user's own node.
  void publish_quits(const std::vector<ReapedUser>& users, std::string_view reason);
  const LinkStats& stats() const noexcept { return stats_; }
  /// Channels shared through Redis (src/cluster/chans.cpp, docs/CLUSTER.md "Channels").
  bool shares_channels() const override { return true; }
  void join_channel(const std::string& folded_chan, const std::string& folded_nick, std::uint64_t id,
                    const std::string& folded_mask, const std::string& key, const std::string& default_modes,
                    std::function<void(JoinVerdict, const irc::ClusterChannelState&)> done) override;
  void leave_channel(const std::string& folded_chan, std::uint64_t id) override;
  void update_channel(const std::string& folded_chan, const std::vector<irc::ClusterChannelChange>& changes,
                      const irc::ClusterEvent* e) override;
  void note_global_users(std::uint64_t n, std::function<void(std::uint64_t max)> done) override;
  void move_invitations(const std::string& old_folded, const std::string& new_folded) override;
  void decide_channel(const std::string& folded_chan, std::uint64_t actor, char need,
                      const std::vector<irc::ClusterChannelChange>& changes, const irc::ClusterEvent& e,
                      std::function<void(bool ok)> done) override;
  void restore_channel(const std::string& folded_chan, const std::vector<irc::ClusterChannelChange>& changes,
                       std::function<void(const irc::ClusterChannelState&)> done) override;
  void prune_memberships(std::vector<Membership> members, std::function<void(std::vector<Membership> removed)> done) override;
  void check_replica(std::vector<ReplicaUser> replica) override;
  bool queue_for_relay(const irc::ClusterEvent& e) override;
  /// The most events queue_for_relay keeps while degraded (then: refused, the sender told).
  static constexpr std::size_t kQueueMax = 10000;
  /// The most lines published and not yet back from this node's own subscription (the outbox);
  /// past it the oldest is forgotten (counted in LinkStats::outbox_overflow).
  static constexpr std::size_t kOutboxMax = 10000;
  /// Lines in the outbox now (published, not yet back).
  std::size_t in_flight() const noexcept { return outbox_.size(); }

 private:
  struct ChannelScripts;                 ///< chans.cpp
  std::shared_ptr<ChannelScripts> chans_;
  ChannelScripts& channel_scripts();
  /// The replica check's second step (chans.cpp): `users` live in Redis; each membership of theirs
  /// that the channel's members hash no longer holds is delivered as a PART, in one script.
  void check_memberships(std::vector<ReplicaUser> users);
  /// The replica check's other step (nicks.cpp): `gone` are no longer in Redis; each gets a QUIT,
  /// with the reason its node published if Redis still has it.
  void quit_gone(std::vector<ReplicaUser> gone);
  Node& node_;
  DeliverFn deliver_;
  LinkStats stats_;
  NickClaims* claims_ = nullptr;
  void send_sync();  ///< resync, then SYNC, once the command connection is ready (retried every 100 ms)
  /// Claims this node's nicks again (NickClaims::reclaim_all), hands the losers to on_nick_lost_,
  /// then runs `then` (Redis away: not run).
  void reclaim(std::function<void()> then);
  std::function<void(bool)> on_relaying_;
  std::function<void(std::uint64_t, const std::string&)> on_nick_lost_;
  bool relaying_ = false;  ///< as last told to on_relaying_
  std::vector<irc::ClusterEvent> queued_;  ///< queue_for_relay, published after the next SYNC
  /// The outbox: each channel or private line published, with its msgid's n, until this node's
  /// subscription hands it back (in order). Off (the old behaviour) with SOCKIT_CLUSTER_OUTBOX=0.
  struct Sent {
    std::uint64_t n = 0;
    irc::ClusterEvent e;
  };
  std::deque<Sent> outbox_;
  bool outbox_on_ = true;
  SeenLines seen_;  ///< lines had from the network: a republished copy is dropped
  /// A connection dropped: the outbox's lines go to the front of queued_ (in order), delivered to
  /// this node's members now (they were waiting for their return) and marked `replay`.
  void requeue_outbox();
  std::size_t expected_subscribers_ = 1;   ///< nodes in the view when the link went down
  /// Other nodes' SYNCs by node name, when received: a node whose SYNC came within two heartbeats
  /// counts in that view too (the view is read once a heartbeat: a node started just before the
  /// cut is not in it yet, and its users would miss this node's queue).
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> recent_syncs_;
  /// The nodes of the view now: node_.nodes(), this node and the recent SYNCs' nodes, each once.
  std::size_t nodes_in_view();
  /// Publishes queued_ once every node of that view is subscribed again (or at `deadline`), then
  /// relays again (on_relaying_(true)).
  void flush_queued(std::chrono::steady_clock::time_point deadline);
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sockit::cluster
