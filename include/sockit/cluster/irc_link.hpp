// Header of the internal cluster library: irc::ClusterLink (what the IRC core asks of a cluster)
// served by a cluster::Node. The only place the cluster library meets the IRC core, through its
// dependency-free interface header; apps/chat_server plugs it in with Server::set_cluster.
//
// Events (docs/CLUSTER.md, "Events between nodes"): one PUBLISH per event on `sockit:msg` through
// the node's command connection; the node's subscriber connection hands every event (its own
// included, marked `own`) to the deliver function, in Redis's one order.
//
// This header is the contract only: what a user of IrcLink calls. The machinery behind it (the
// outbox, the seen-lines filter, the degraded-mode queue, the counters) is IrcLink::Impl in the
// private header src/cluster/irc_link_impl.hpp.
#pragma once

#include "sockit/cluster/nicks.hpp"
#include "sockit/cluster/node.hpp"
#include "sockit/irc/cluster.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::cluster {

/// The pub/sub channel every node publishes its events on and subscribes to.
inline constexpr char kEventChannel[] = "sockit:msg";

/// The payload of `e` ("sockit1 KIND NODE SENDER TARGET MASK ACCOUNT MSGID TAGS FLAGS REST").
std::string encode_event(const irc::ClusterEvent& e);
/// The event in `payload`; nullopt for anything else (another version, a missing field, CR/LF).
std::optional<irc::ClusterEvent> decode_event(std::string_view payload);

class IrcLink final : public irc::ClusterLink {
 public:
  using DeliverFn = std::function<void(const irc::ClusterEvent&)>;
  /// Subscribes `node`'s subscriber connection to kEventChannel; `deliver` gets every event.
  /// `node` must outlive the link.
  IrcLink(Node& node, DeliverFn deliver);
  ~IrcLink() override;
  IrcLink(const IrcLink&) = delete;
  IrcLink& operator=(const IrcLink&) = delete;
  std::vector<irc::ClusterNode> nodes() const override;
  bool relaying() const override;
  void publish(const irc::ClusterEvent& e) override;
  /// Nick claims across nodes (src/cluster/nicks.cpp); without them every claim is ok.
  void set_nick_claims(NickClaims* claims);
  void claim_nick(const std::string& folded, std::uint64_t id, const std::string& mask,
                  std::function<void(NickVerdict)> done) override;
  void release_nick(const std::string& folded, std::uint64_t id) override;
  /// Degraded mode (docs/CLUSTER.md, "Failures"): `fn(false)` when either Redis connection is lost,
  /// `fn(true)` once both are back and the resync is done (nicks claimed again, SYNC published).
  void set_on_relaying(std::function<void(bool relaying)> fn);
  /// A resync found local client `id`'s nick (`folded`) held by an older registration elsewhere.
  void set_on_nick_lost(std::function<void(std::uint64_t id, const std::string& folded)> fn);
  /// What a node read back from the replay stream when its subscription was back after an outage
  /// (docs/CLUSTER.md, "Failures": the replay): lines read, delivered (not had before), live events
  /// held meanwhile; `missing`: the stream no longer held the line had last (trimmed) or more than
  /// it reads were missed, so older lines may be lost; `failed`: the read got no answer (`why`).
  struct Replay {
    std::size_t read = 0, delivered = 0, held = 0;
    bool missing = false, failed = false;
    std::string why;
  };
  /// Called after each such read (not at the first subscription).
  void set_on_replayed(std::function<void(const Replay&)> fn);
  /// Something the link recovered from that the log should show, one line per incident (e.g. the
  /// replay publish script gone from Redis after a SCRIPT FLUSH: the lines in flight sent again).
  void set_on_note(std::function<void(const std::string& what)> fn);
  /// Publishes a QUIT (`reason`, e.g. "*.net *.split") for each user, as from the user's own node.
  void publish_quits(const std::vector<ReapedUser>& users, std::string_view reason);
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
  /// An event said while degraded, published after the next resync; false: the queue is full (the
  /// sender is told).
  bool queue_for_relay(const irc::ClusterEvent& e) override;

  /// The machinery (src/cluster/irc_link_impl.hpp); opaque here. For the library and its tests.
  struct Impl;
  Impl& impl() noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockit::cluster
