// Public header. irc::ClusterLink: what the IRC core asks of a network of chat-server nodes
// (docs/CLUSTER.md). The core never sees Redis: apps/chat_server plugs in the implementation from
// the internal cluster library (src/cluster, hiredis), like the history store behind store::History.
// Without one (the default) the server is the single process it always was. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sockit::irc {

/// One live node as the last heartbeat saw it.
struct ClusterNode {
  std::string name;         ///< --node-name
  std::string server_name;  ///< its IRC server name
  std::uint64_t users = 0;  ///< registered users at its last heartbeat
  bool self = false;        ///< this process
};

/// One event between nodes (docs/CLUSTER.md, "Events between nodes": the wire format).
struct ClusterEvent {
  enum class Kind { message, private_message, join, part, quit, nick, sync, have, mode, topic, kick, invite, kill, away, oper, chan, umode };
  Kind kind = Kind::message;
  std::string node;          ///< the publishing node (filled in by the link)
  std::uint64_t sender = 0;  ///< the user's connection id on its node
  std::string target;        ///< channel (message, join, part, have, mode, topic, kick, chan), nick (private_message, invite), new nick (nick)
  std::string mask;          ///< nick!user@host
  std::string account;       ///< "" = not logged in
  std::string msgid;         ///< message, private_message; have without a channel: the user's signon time (unix s); chan: the channel's creation time (unix s)
  std::string tags;          ///< client-only tags, escaped
  bool tagmsg = false;
  bool replay = false;        ///< message said while its node was degraded (its own members had it then): published on reconnection, skipped by its node
  bool decided = false;      ///< mode, topic, kick: decided by the script; its publisher applies it on its return too
  bool op = false, voice = false;  ///< join, have: the member's prefix in the channel; oper: op = is an IRC operator
  bool secret = false;       ///< join, have, chan: the channel is +s on the publisher's copy (LIST hides it)
  bool invisible = false, bot = false;  ///< join, have, umode: the user's +i and +B (WHO, WHOIS 335, LUSERS 251)
  std::int64_t said_ms = 0;  ///< message said while its node was degraded: when (unix ms; 0 = now), for the server-time tag
  std::string rest;          ///< the IRC line without tags (join: the real name; chan: "<topic time> <topic>")
  bool own = false;          ///< on receipt: published by this node
};

/// A channel's shared state as Redis holds it (docs/CLUSTER.md, "Channels"): what a JOIN's
/// verdict hands the node that creates its local copy of the channel.
struct ClusterChannelState {
  std::string modes;  ///< the flag modes set, letters of "Cimnst"
  std::string key;
  std::size_t limit = 0;
  std::string topic, topic_by;
  std::int64_t topic_time = 0, created = 0;
  struct Entry {
    char list = 'b';  ///< 'b', 'e' or 'I'
    std::string mask, setter;
    std::int64_t when = 0;
  };
  std::vector<Entry> lists;
  /// restore_channel only: the prefix Redis holds for each local member it was given (local
  /// connection id, "@", "+", "@+" or "-"): a MODE +o/-o/+v/-v made while this node was cut off.
  std::vector<std::pair<std::uint64_t, std::string>> prefixes;
};

/// One change to a channel's shared state: `set` or `del` a field of its state hash
/// ("modes", "key", "limit", "topic", "topic_by", "topic_time", "b <mask>", "inv <folded nick>"...),
/// or `member`: the prefix ("@", "+", "@+", "-") of local member `field` (its connection id).
/// `prefix` (decide_channel only): "+o", "-o", "+v" or "-v" for the member whose folded nick is
/// `field`, on any node (found through its nick claim). `kicked` (decide_channel only): the member
/// whose folded nick is `field` is kicked with the KICK line `value`, kept a while in the channel's
/// recent kicks (`sockit:kicks:<folded>`) so that a node that missed the event shows it as a KICK.
struct ClusterChannelChange {
  enum class Op { set, del, member, prefix, kicked } op = Op::set;
  std::string field, value;
};

class ClusterLink {
 public:
  virtual ~ClusterLink() = default;
  /// The live nodes (LINKS), this one included; at most one heartbeat stale, no Redis round trip.
  virtual std::vector<ClusterNode> nodes() const = 0;

  /// A network-wide nick claim's answer: ok, held by another client of any node, or unknown
  /// (Redis away): the network is degraded.
  enum class NickVerdict { ok, taken, unavailable };
  /// Claims the folded nick `folded` for local client `id` (`mask`: nick!user@host with that nick)
  /// in one atomic step (the owner may claim it again). `done` runs once, on the loop thread, on a
  /// later turn (the default, without claims: ok at once).
  virtual void claim_nick(const std::string& folded, std::uint64_t id, const std::string& mask,
                          std::function<void(NickVerdict)> done) {
    (void)folded, (void)id, (void)mask;
    done(NickVerdict::ok);
  }
  /// Releases `folded` if local client `id` holds it (QUIT, or registration abandoned). Fire and forget.
  virtual void release_nick(const std::string& folded, std::uint64_t id) { (void)folded, (void)id; }
  /// Whether events go through the cluster now (false while Redis is away: local delivery only).
  virtual bool relaying() const { return false; }
  /// Publishes `e` (one PUBLISH); every node's Server::deliver_from_cluster gets it back.
  virtual void publish(const ClusterEvent& e) { (void)e; }

  /// Whether channels are shared through the link (JOIN asks join_channel); false: local channels.
  virtual bool shares_channels() const { return false; }
  /// A JOIN's verdict against the channel's shared state (+i, +k, +l over all nodes, +b/+e/+I,
  /// an invitation): joined, first (the channel was empty: the joiner gets +o), or refused.
  enum class JoinVerdict { joined, first, invite_only, bad_key, full, banned, unavailable };
  /// Adds local client `id` (folded nick, folded mask nick!user@host) to `folded_chan` if it may
  /// join with `key`, in one atomic step; `done` runs on a later turn on the loop thread with the
  /// verdict and, when joined, the channel's state.
  virtual void join_channel(const std::string& folded_chan, const std::string& folded_nick, std::uint64_t id,
                            const std::string& folded_mask, const std::string& key, const std::string& default_modes,
                            std::function<void(JoinVerdict, const ClusterChannelState&)> done) {
    (void)folded_chan, (void)folded_nick, (void)id, (void)folded_mask, (void)key, (void)default_modes;
    done(JoinVerdict::unavailable, {});
  }
  /// Local client `id` left `folded_chan` (PART, KICK, QUIT). Fire and forget.
  virtual void leave_channel(const std::string& folded_chan, std::uint64_t id) { (void)folded_chan, (void)id; }
  /// A local user's NICK change: its pending invitations ("inv <folded nick>") follow it. Fire and forget.
  virtual void move_invitations(const std::string& old_folded, const std::string& new_folded) {
    (void)old_folded, (void)new_folded;
  }
  /// LUSERS' 266: raises the network's recorded maximum of users to `n` (this node's count of
  /// every node's users) if it is higher, in one atomic step; `done` gets the maximum on a later
  /// turn (not called without a link or with Redis away).
  virtual void note_global_users(std::uint64_t n, std::function<void(std::uint64_t max)> done) { (void)n, (void)done; }
  /// MODE, TOPIC, KICK decided against the shared state: in one atomic step, if local client
  /// `actor` is a member of `folded_chan` with the rank `need` asks ('o': operator; 't':
  /// operator when the shared modes hold +t), applies `changes` and publishes `e` (marked decided:
  /// every node, this one included, applies it when it comes back); `done(false)`: refused (not
  /// that rank in Redis, or Redis away), nothing changed. `done` runs on a later loop turn.
  virtual void decide_channel(const std::string& folded_chan, std::uint64_t actor, char need,
                              const std::vector<ClusterChannelChange>& changes, const ClusterEvent& e,
                              std::function<void(bool ok)> done) {
    (void)folded_chan, (void)actor, (void)need, (void)changes, (void)e;
    done(false);
  }
  /// Applies `changes` to `folded_chan`'s shared state and, in the same atomic step, publishes `e`
  /// when given (so the state and the event are in one order for every node). Fire and forget.
  virtual void update_channel(const std::string& folded_chan, const std::vector<ClusterChannelChange>& changes,
                              const ClusterEvent* e) {
    (void)folded_chan, (void)changes, (void)e;
  }

  /// Resync (this node's own SYNC, after a reconnection or a reap): puts the local members of
  /// `folded_chan` (`member` changes) back into its shared member list where missing, and writes
  /// its state (`set` changes) only when Redis holds none (a Redis restarted empty). `done` gets
  /// the channel's state as Redis holds it then (what changed while this node was cut off), with
  /// the prefixes of those local members (`prefixes`), in the same step; not called when Redis is
  /// away.
  virtual void restore_channel(const std::string& folded_chan, const std::vector<ClusterChannelChange>& changes,
                               std::function<void(const ClusterChannelState&)> done) {
    (void)folded_chan, (void)changes, (void)done;
  }
  /// Resync, after the restore_channel calls: `members` are this node's true memberships (folded
  /// channel, local client id), its local members and the JOINs whose verdict is still awaited.
  /// In one atomic step, over the channels of this node instance's channel counts, removes from
  /// the shared member lists the entries of this node instance that are not in `members` (a PART
  /// or QUIT whose removal was lost while Redis was away) and sets the counts right; `done` gets
  /// what was removed, on a later loop turn (not called when Redis is away).
  using Membership = std::pair<std::string, std::uint64_t>;
  virtual void prune_memberships(std::vector<Membership> members, std::function<void(std::vector<Membership> removed)> done) {
    (void)members, (void)done;
  }
  /// Degraded (not relaying): keeps `e`, a local user's channel message (marked `replay`: this
  /// node's members got it at once), PART or QUIT, to publish in order right after the resync's
  /// SYNC once the link is back. False when the queue is full: the event will not reach the
  /// other nodes (the core tells the sender).
  virtual bool queue_for_relay(const ClusterEvent& e) {
    (void)e;
    return false;
  }
  /// One user of the replica: its node, nick as folded and mask, its connection id there and its
  /// channels as the replica holds them (folded, and as named for the PART line).
  struct ReplicaUser {
    std::string node, folded, mask;
    std::uint64_t id = 0;
    std::vector<std::pair<std::string, std::string>> channels;
  };
  /// Resync: once the other nodes had time to resync too (the heartbeat TTL plus a heartbeat),
  /// the users of `replica` that Redis no longer knows (their node dead, or its users hash without
  /// them: they quit while this node was cut off) come back as QUIT events through the delivery
  /// path (reason `*.net *.split`); of the others, the memberships Redis no longer holds (a PART or
  /// KICK missed while cut off) come back as PART events (no reason). Fire and forget.
  virtual void check_replica(std::vector<ReplicaUser> replica) { (void)replica; }
};

}  // namespace sockit::irc
