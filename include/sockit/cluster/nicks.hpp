// Header of the internal cluster library. cluster::NickClaims: nicks claimed atomically across the
// nodes of a network, and the users of dead nodes reaped exactly once (docs/CLUSTER.md).
//
// Keys (all written by Lua scripts run with EVALSHA, each loaded once per Redis):
//   sockit:nick:<folded>  string  "<node>:<instance>:<id>"  who holds the nick
//   sockit:users:<node>:<instance>  hash  <folded> -> "<instance>:<id> <nick!user@host> <since>"  its
//                         users (<since>: Unix ms when the user took the nick, for resync collisions)
//   sockit:usernodes      set     "<node>:<instance>" of every users hash
// A claim is one script: SET NX (the owner may set it again) and the user recorded in its node's
// hash. A release (QUIT; the old nick after a NICK change) is owner-checked. Every
// heartbeat, each node runs the reap script: the users hash of every instance that is not its
// node's live one (its heartbeat key expired, or it restarted) is released and returned (a live
// instance costs one GET); the script deletes what it returns, so a user is reaped by exactly one
// node.
// Loop thread only. A verdict never arrives inside the call that asked for it.
#pragma once

#include "sockit/cluster/node.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace sockit::cluster {

/// Channel keys the reaper clears as well (src/cluster/chans.cpp writes them): a channel's members
/// and state, and per node instance the channels it has members in (folded name -> count).
inline constexpr char kChanMembersPrefix[] = "sockit:chan:";
inline constexpr char kChanStatePrefix[] = "sockit:chanstate:";
inline constexpr char kNodeChansPrefix[] = "sockit:nodechans:";
/// Traces for the replica check (IrcLink::check_replica), which expire on their own:
/// hash <owner> -> the KICK line that removed it, kept kKickTraceSeconds after the channel's last kick
inline constexpr char kChanKicksPrefix[] = "sockit:kicks:";
/// string: the QUIT line of user "<node>:<id>", kept kKickTraceSeconds after its QUIT
inline constexpr char kQuitPrefix[] = "sockit:quit:";
/// How long a KICK's or a QUIT's trace stays for the replica check of a node that missed the event
/// (a node cut for longer than this shows a PART, a QUIT `*.net *.split`).
inline constexpr int kKickTraceSeconds = 300;

/// A Lua script run with EVALSHA: loaded (SCRIPT LOAD) by its first use, which runs it with EVAL;
/// a NOSCRIPT answer (Redis restarted, SCRIPT FLUSH) runs it with EVAL again and reloads it.
class Script {
 public:
  explicit Script(const char* body) : body_(body) {}
  void run(RedisClient& redis, std::vector<std::string> keys, std::vector<std::string> args, RedisClient::ReplyFn fn);

 private:
  const char* body_;
  std::string sha_;
  bool loading_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 public:
  ~Script() { *alive_ = false; }
  Script(const Script&) = delete;
  Script& operator=(const Script&) = delete;
};

/// A user of a dead (or stopped) node, released from Redis: publish its QUIT.
struct ReapedUser {
  std::string node;       ///< the node it was on
  std::uint64_t id = 0;   ///< its connection id there
  std::string mask;       ///< nick!user@host
};

class NickClaims {
 public:
  enum class Verdict { ok, taken, unavailable };
  using ReapedFn = std::function<void(const std::vector<ReapedUser>&)>;

  explicit NickClaims(Node& node);
  ~NickClaims();
  NickClaims(const NickClaims&) = delete;
  NickClaims& operator=(const NickClaims&) = delete;

  /// Claims `folded` for local client `id` whose mask (with the new nick) is `mask`; the owner may
  /// claim it again. `done` runs on a later turn: ok, taken (another client of any node holds it)
  /// or unavailable (Redis away or in error).
  void claim(std::string_view folded, std::uint64_t id, std::string_view mask, std::function<void(Verdict)> done);
  /// Releases `folded` if client `id` of this node instance holds it (QUIT, NICK). Fire and forget.
  void release(std::string_view folded, std::uint64_t id);
  /// Starts the reaper: every `period`, the users of dead nodes are released and handed to `fn`.
  void start(std::chrono::milliseconds period, ReapedFn fn);
  /// After a reconnection (or another node's): claims again every nick this node holds, in one
  /// script. A nick held meanwhile by another client goes to the older registration (`since`; a
  /// tie: the smaller owner string); the entries of users gone while Redis was away are deleted.
  /// `done` runs on a later turn with ok (false: Redis away) and the local users that lost their
  /// nick (id, folded nick), already forgotten here.
  using LostFn = std::function<void(bool ok, const std::vector<std::pair<std::uint64_t, std::string>>& lost)>;
  void reclaim_all(LostFn done);
  /// The nicks this node holds (by connection id): what reclaim_all claims again.
  std::size_t held() const noexcept { return local_.size(); }
  /// SIGTERM: releases every claim of this instance; `done` gets them (empty when Redis is away)
  /// on a later turn.
  void release_all(ReapedFn done);
  std::uint64_t reaped() const noexcept { return reaped_; }
  /// The users Redis knows, per live node (its heartbeat key is there): `known` false while that
  /// node has not claimed since Redis lost its data (nothing can be said of its users yet).
  struct NodeUsers {
    bool known = false;
    std::unordered_set<std::string> folded;  ///< its users' nicks, folded
  };
  using LiveUsersFn = std::function<void(bool ok, const std::unordered_map<std::string, NodeUsers>& by_node)>;
  /// One script; `done` on a later turn (ok false: Redis away).
  void live_users(LiveUsersFn done);

 private:
  void reap();
  std::string owner(std::uint64_t id) const;

  Node& node_;
  Script claim_;
  Script release_;
  Script reap_;
  Script reclaim_;
  Script live_users_;
  struct Held {
    std::string folded, mask;
    std::int64_t since = 0;  ///< Unix ms
  };
  std::unordered_map<std::uint64_t, Held> local_;
  ReapedFn on_reaped_;
  loop::TimerId timer_{};
  bool timer_set_ = false;
  bool reaping_ = false;
  std::uint64_t reaped_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sockit::cluster
