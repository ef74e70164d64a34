// The machinery behind cluster::IrcLink (include/sockit/cluster/irc_link.hpp): the outbox, the
// seen-lines filter, the degraded-mode queue and the counters. Private to the cluster library
// (events.cpp, chans.cpp, nicks.cpp) and its unit tests; not installed.
#pragma once

#include "sockit/cluster/irc_link.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sockit::cluster {

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
  std::uint64_t stream_replayed = 0;  ///< lines read back from the replay stream after an outage and delivered
  std::uint64_t script_reloads = 0;   ///< NOSCRIPT answers to the publish script (SCRIPT FLUSH): its lines sent again
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

/// IrcLink's state and its work: IrcLink's public calls forward here (events.cpp, chans.cpp,
/// nicks.cpp define these members under the names IrcLink had).
struct IrcLink::Impl {
  using DeliverFn = IrcLink::DeliverFn;
  Impl(Node& node, DeliverFn deliver);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  std::vector<irc::ClusterNode> nodes() const;
  bool relaying() const;
  void publish(const irc::ClusterEvent& e);
  void claim_nick(const std::string& folded, std::uint64_t id, const std::string& mask,
                  std::function<void(NickVerdict)> done);
  void release_nick(const std::string& folded, std::uint64_t id);
  void publish_quits(const std::vector<ReapedUser>& users, std::string_view reason);
  void join_channel(const std::string& folded_chan, const std::string& folded_nick, std::uint64_t id,
                    const std::string& folded_mask, const std::string& key, const std::string& default_modes,
                    std::function<void(JoinVerdict, const irc::ClusterChannelState&)> done);
  void leave_channel(const std::string& folded_chan, std::uint64_t id);
  void update_channel(const std::string& folded_chan, const std::vector<irc::ClusterChannelChange>& changes,
                      const irc::ClusterEvent* e);
  void note_global_users(std::uint64_t n, std::function<void(std::uint64_t max)> done);
  void move_invitations(const std::string& old_folded, const std::string& new_folded);
  void decide_channel(const std::string& folded_chan, std::uint64_t actor, char need,
                      const std::vector<irc::ClusterChannelChange>& changes, const irc::ClusterEvent& e,
                      std::function<void(bool ok)> done);
  void restore_channel(const std::string& folded_chan, const std::vector<irc::ClusterChannelChange>& changes,
                       std::function<void(const irc::ClusterChannelState&)> done);
  void prune_memberships(std::vector<Membership> members, std::function<void(std::vector<Membership> removed)> done);
  void check_replica(std::vector<ReplicaUser> replica);
  bool queue_for_relay(const irc::ClusterEvent& e);
  const LinkStats& stats() const noexcept { return stats_; }
  /// The most events queue_for_relay keeps while degraded (then: refused, the sender told).
  static constexpr std::size_t kQueueMax = 10000;
  /// The most lines published and not yet back from this node's own subscription (the outbox);
  /// past it the oldest is forgotten (counted in LinkStats::outbox_overflow).
  static constexpr std::size_t kOutboxMax = 10000;
  /// Lines in the outbox now (published, not yet back).
  std::size_t in_flight() const noexcept { return outbox_.size(); }

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
  // The replay (replay.cpp; docs/CLUSTER.md, "Failures": lines Redis published while this node's
  // subscription was down). Every line is also appended to kReplayStream in the PUBLISH's script;
  // its stream id leads the payload ("<id> sockit1 ..."), so live delivery advances last_id_.
  /// An event payload from the subscription (or, `from_stream`, read back from the stream).
  void receive(std::string_view payload, bool from_stream);
  /// A line's payload: PUBLISH and XADD in one script by EVALSHA, loaded on each new command
  /// connection first (SOCKIT_CLUSTER_REPLAY=0: a PUBLISH alone). The lines in flight are kept
  /// until answered: a NOSCRIPT sends that line and all after it again, in order (replay.cpp).
  void publish_line(std::string payload);
  void load_publish_script();
  void send_line(std::uint64_t seq, const std::string& payload, bool eval);
  void line_answered(std::uint64_t seq, const RedisReply& r);
  /// Subscribed again: the lines after last_id_ are read from the stream and delivered (the new
  /// live events wait in held_ meanwhile); the first subscription only notes the stream's end.
  void start_replay();
  /// The stream's answer: replayed in order, then the held live events.
  void replayed(const RedisReply& r);
  /// Whether `payload` waits for a replay in flight (then kept in held_).
  bool hold(std::string_view payload);
  /// `id` (a line's stream id, live or replayed) becomes last_id_ if it is newer.
  void note_stream_id(std::string_view id);
  struct ReplayScripts;
  std::shared_ptr<ReplayScripts> replay_scripts_;
  ReplayScripts& replay_scripts();  ///< made on first use
  bool replay_on_ = true;
  bool replaying_ = false;
  bool subscribed_once_ = false;
  std::string last_id_;  ///< the stream id of the newest line had ("": none yet)
  std::vector<std::string> held_;
  std::function<void(const IrcLink::Replay&)> on_replayed_;
  std::function<void(const std::string&)> on_note_;  ///< IrcLink::set_on_note
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sockit::cluster
