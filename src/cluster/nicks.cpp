// cluster::NickClaims: nick claims across nodes and the reaper of dead nodes' users
// (include/sockit/cluster/nicks.hpp).
#include "sockit/cluster/nicks.hpp"

#include "irc_link_impl.hpp"

#include <charconv>
#include <chrono>
#include <utility>

namespace sockit::cluster {
namespace {

constexpr char kNickPrefix[] = "sockit:nick:";
constexpr char kUsersPrefix[] = "sockit:users:";
constexpr char kUserNodes[] = "sockit:usernodes";
constexpr char kNodePrefix[] = "sockit:node:";

// KEYS: the nick, the node instance's users hash, the user-nodes set. ARGV: owner
// "<node>:<instance>:<id>", folded nick, hash value "<instance>:<id> <mask> <since>", "<node>:<instance>".
// 1: claimed; 0: another client holds it.
constexpr char kClaim[] = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
return 1
)lua";

// KEYS: the nick, the node instance's users hash. ARGV: owner, folded nick, "<instance>:<id>".
constexpr char kRelease[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
local v = redis.call('HGET', KEYS[2], ARGV[2])
if v and string.sub(v, 1, #ARGV[3] + 1) == ARGV[3] .. ' ' then redis.call('HDEL', KEYS[2], ARGV[2]) end
return 1
)lua";

// KEYS: the user-nodes set ("<node>:<instance>" members). ARGV: node key prefix, users hash prefix,
// nick key prefix, either "" (reap the users of every instance that is not its node's live
// one: O(1) per live instance) or "<node>:<instance>" (release that instance's users: SIGTERM),
// then the node-channels, channel members and channel state prefixes: a dead instance's members
// leave every channel in the same step (no longer counted by +l), found through its node-channels
// hash. Returns node, "<instance>:<id>", mask, ... of the users released; they are deleted here,
// so a second run returns none of them.
constexpr char kReap[] = R"lua(
local out = {}
local members
if ARGV[4] == '' then members = redis.call('SMEMBERS', KEYS[1]) else members = {ARGV[4]} end
for _, m in ipairs(members) do
  local n, inst = string.match(m, '^([^:]+):(.+)$')
  local gone = ARGV[4] ~= ''
  if not gone and n then
    local v = redis.call('GET', ARGV[1] .. n)
    gone = not v or string.match(v, '^(%S+)') ~= inst
  end
  if gone and n then
    local users = ARGV[2] .. m
    local all = redis.call('HGETALL', users)
    for i = 1, #all, 2 do
      local owner = string.match(all[i + 1], '^(%S+)')
      local k = ARGV[3] .. all[i]
      if redis.call('GET', k) == n .. ':' .. owner then redis.call('DEL', k) end
      out[#out + 1] = n
      out[#out + 1] = owner
      out[#out + 1] = string.match(all[i + 1], '^%S+ (%S+)')
    end
    redis.call('DEL', users)
    redis.call('SREM', KEYS[1], m)
    -- its memberships: out of every channel it had members in (the last one out deletes the state)
    local chans = ARGV[5] .. m
    for _, c in ipairs(redis.call('HKEYS', chans)) do
      local mk = ARGV[6] .. c
      for _, o in ipairs(redis.call('HKEYS', mk)) do
        if string.sub(o, 1, #m + 1) == m .. ':' then redis.call('HDEL', mk, o) end
      end
      if redis.call('HLEN', mk) == 0 then redis.call('DEL', ARGV[7] .. c) end
    end
    redis.call('DEL', chans)
  end
end
return out
)lua";

// Resync (NickClaims::reclaim_all). KEYS: this instance's users hash, the user-nodes set. ARGV:
// "<node>:<instance>", nick key prefix, users hash prefix, then per local user: folded nick, owner,
// hash value, since (Unix ms). Entries of this instance for users not listed (gone while Redis was
// away) are released. A nick held by another owner goes to the older registration: that owner's
// `since` from its users hash (none: it loses; equal: the smaller owner string wins); a holder that
// loses has its hash entry removed (its node finds out by running this script on our SYNC).
// Returns the owners of the local users that lost.
constexpr char kReclaim[] = R"lua(
local node = string.match(ARGV[1], '^([^:]+):')
local keep = {}
for i = 4, #ARGV, 4 do keep[ARGV[i]] = true end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if not keep[all[i]] then
    local k = ARGV[2] .. all[i]
    if redis.call('GET', k) == node .. ':' .. string.match(all[i + 1], '^(%S+)') then redis.call('DEL', k) end
    redis.call('HDEL', KEYS[1], all[i])
  end
end
local lost = {}
for i = 4, #ARGV, 4 do
  local folded, owner, since = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 3])
  local k = ARGV[2] .. folded
  local cur = redis.call('GET', k)
  local win = true
  if cur and cur ~= owner then
    local hn, hi = string.match(cur, '^([^:]+):([^:]+):')
    local theirs = nil
    if hn then
      local hv = redis.call('HGET', ARGV[3] .. hn .. ':' .. hi, folded)
      if hv then theirs = tonumber(string.match(hv, ' (%d+)$')) end
    end
    if theirs and (theirs < since or (theirs == since and cur < owner)) then
      win = false
    elseif hn then
      redis.call('HDEL', ARGV[3] .. hn .. ':' .. hi, folded)
    end
  end
  if win then
    redis.call('SET', k, owner)
    redis.call('HSET', KEYS[1], folded, ARGV[i + 2])
  else
    redis.call('HDEL', KEYS[1], folded)
    lost[#lost + 1] = owner
  end
end
redis.call('SADD', KEYS[2], ARGV[1])
return lost
)lua";

// NickClaims::live_users. KEYS: the nodes set, the user-nodes set. ARGV: node key prefix, users hash
// prefix. Returns per live node: its name, 1 when its users hash is current (its instance is in the
// user-nodes set: it claimed or resynced since Redis lost its data) or 0, and its users' folded nicks.
constexpr char kLiveUsers[] = R"lua(
local out = {}
for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('GET', ARGV[1] .. n)
  if v then
    local m = n .. ':' .. string.match(v, '^(%S+)')
    out[#out + 1] = n
    if redis.call('SISMEMBER', KEYS[2], m) == 1 then
      out[#out + 1] = 1
      out[#out + 1] = redis.call('HKEYS', ARGV[2] .. m)
    else
      out[#out + 1] = 0
      out[#out + 1] = {}
    end
  end
end
return out
)lua";

constexpr char kNodesKey[] = "sockit:nodes";

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<ReapedUser> reaped_users(const RedisReply& r) {
  std::vector<ReapedUser> out;
  if (r.type != RedisReply::Type::array) return out;
  for (std::size_t i = 0; i + 2 < r.elements.size(); i += 3) {
    ReapedUser u{r.elements[i].str, 0, r.elements[i + 2].str};
    const std::string& owner = r.elements[i + 1].str;  // "<instance>:<id>"
    const std::size_t colon = owner.find(':');
    if (colon != std::string::npos) std::from_chars(owner.data() + colon + 1, owner.data() + owner.size(), u.id);
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace

void Script::run(RedisClient& redis, std::vector<std::string> keys, std::vector<std::string> args,
                 RedisClient::ReplyFn fn) {
  std::vector<std::string> cmd{"EVALSHA", sha_, std::to_string(keys.size())};
  for (auto& k : keys) cmd.push_back(std::move(k));
  for (auto& a : args) cmd.push_back(std::move(a));
  if (sha_.empty()) {
    cmd[0] = "EVAL";
    cmd[1] = body_;
    if (!loading_ && redis.ready()) {
      loading_ = true;
      redis.command({"SCRIPT", "LOAD", body_}, [this, alive = alive_](const RedisReply& r) {
        if (!*alive) return;
        loading_ = false;
        if (r.type == RedisReply::Type::string) sha_ = r.str;
      });
    }
    redis.command(cmd, std::move(fn));
    return;
  }
  redis.command(cmd, [this, alive = alive_, &redis, cmd, fn = std::move(fn)](const RedisReply& r) mutable {
    if (*alive && r.type == RedisReply::Type::error && r.str.starts_with("NOSCRIPT")) {
      sha_.clear();  // Redis lost its scripts (restarted): EVAL this once; the next run loads it again
      cmd[0] = "EVAL";
      cmd[1] = body_;
      redis.command(cmd, std::move(fn));
      return;
    }
    if (fn) fn(r);
  });
}

NickClaims::NickClaims(Node& node)
    : node_(node), claim_(kClaim), release_(kRelease), reap_(kReap), reclaim_(kReclaim), live_users_(kLiveUsers) {}

NickClaims::~NickClaims() {
  *alive_ = false;
  if (timer_set_) node_.loop().cancel(timer_);
}

std::string NickClaims::owner(std::uint64_t id) const {
  return node_.options().name + ":" + node_.instance() + ":" + std::to_string(id);
}

void NickClaims::claim(std::string_view folded, std::uint64_t id, std::string_view mask,
                       std::function<void(Verdict)> done) {
  const std::string& name = node_.options().name;
  const std::string self = name + ":" + node_.instance();
  std::vector<std::string> keys{kNickPrefix + std::string(folded), kUsersPrefix + self, kUserNodes};
  auto held = local_.find(id);
  const std::int64_t since = held != local_.end() && held->second.folded == folded ? held->second.since : unix_ms();
  std::vector<std::string> args{owner(id), std::string(folded),
                                node_.instance() + ":" + std::to_string(id) + " " + std::string(mask) + " " +
                                    std::to_string(since),
                                self};
  claim_.run(node_.redis(), std::move(keys), std::move(args),
             [this, alive = alive_, id, held = Held{std::string(folded), std::string(mask), since},
              done = std::move(done)](const RedisReply& r) {
               if (r.type != RedisReply::Type::integer) {
                 done(Verdict::unavailable);
                 return;
               }
               if (r.integer == 1 && *alive) local_[id] = held;
               done(r.integer == 1 ? Verdict::ok : Verdict::taken);
             });
}

void NickClaims::release(std::string_view folded, std::uint64_t id) {
  const std::string& name = node_.options().name;
  if (auto it = local_.find(id); it != local_.end() && it->second.folded == folded) local_.erase(it);
  release_.run(node_.redis(), {kNickPrefix + std::string(folded), kUsersPrefix + name + ":" + node_.instance()},
               {owner(id), std::string(folded), node_.instance() + ":" + std::to_string(id)}, {});
}

void NickClaims::start(std::chrono::milliseconds period, ReapedFn fn) {
  on_reaped_ = std::move(fn);
  timer_ = node_.loop().run_every(period, [this] { reap(); });
  timer_set_ = true;
}

void NickClaims::reap() {
  if (reaping_ || !node_.ready() || !node_.owns_name() || node_.heartbeats() == 0) return;
  reaping_ = true;
  reap_.run(node_.redis(), {kUserNodes},
            {kNodePrefix, kUsersPrefix, kNickPrefix, "", kNodeChansPrefix, kChanMembersPrefix, kChanStatePrefix},
            [this, alive = alive_](const RedisReply& r) {
              if (!*alive) return;
              reaping_ = false;
              std::vector<ReapedUser> users = reaped_users(r);
              if (users.empty()) return;
              reaped_ += users.size();
              if (on_reaped_) on_reaped_(users);
            });
}

void NickClaims::reclaim_all(LostFn done) {
  const std::string self = node_.options().name + ":" + node_.instance();
  std::vector<std::string> args{self, kNickPrefix, kUsersPrefix};
  for (const auto& [id, h] : local_) {
    args.push_back(h.folded);
    args.push_back(owner(id));
    args.push_back(node_.instance() + ":" + std::to_string(id) + " " + h.mask + " " + std::to_string(h.since));
    args.push_back(std::to_string(h.since));
  }
  reclaim_.run(node_.redis(), {kUsersPrefix + self, kUserNodes}, std::move(args),
               [this, alive = alive_, done = std::move(done)](const RedisReply& r) {
                 if (!*alive) return;
                 std::vector<std::pair<std::uint64_t, std::string>> lost;
                 if (r.type != RedisReply::Type::array) {
                   done(false, lost);
                   return;
                 }
                 for (const RedisReply& o : r.elements) {
                   std::uint64_t id = 0;
                   const std::size_t colon = o.str.rfind(':');
                   if (colon == std::string::npos) continue;
                   std::from_chars(o.str.data() + colon + 1, o.str.data() + o.str.size(), id);
                   auto it = local_.find(id);
                   if (it == local_.end()) continue;
                   lost.emplace_back(id, it->second.folded);
                   local_.erase(it);
                 }
                 done(true, lost);
               });
}

void NickClaims::release_all(ReapedFn done) {
  reap_.run(node_.redis(), {kUserNodes},
            {kNodePrefix, kUsersPrefix, kNickPrefix, node_.options().name + ":" + node_.instance(), kNodeChansPrefix,
             kChanMembersPrefix, kChanStatePrefix},
            [done = std::move(done)](const RedisReply& r) {
              if (done) done(reaped_users(r));
            });
}

void NickClaims::live_users(LiveUsersFn done) {
  live_users_.run(node_.redis(), {kNodesKey, kUserNodes}, {kNodePrefix, kUsersPrefix},
                  [done = std::move(done)](const RedisReply& r) {
                    std::unordered_map<std::string, NodeUsers> by_node;
                    if (r.type != RedisReply::Type::array) {
                      done(false, by_node);
                      return;
                    }
                    for (std::size_t i = 0; i + 2 < r.elements.size(); i += 3) {
                      NodeUsers& u = by_node[r.elements[i].str];
                      u.known = r.elements[i + 1].integer == 1;
                      for (const RedisReply& f : r.elements[i + 2].elements) u.folded.insert(f.str);
                    }
                    done(true, by_node);
                  });
}

// IrcLink's side of the claims (the rest of IrcLink is in events.cpp).
void IrcLink::Impl::claim_nick(const std::string& folded, std::uint64_t id, const std::string& mask,
                         std::function<void(NickVerdict)> done) {
  if (claims_ == nullptr) {
    done(NickVerdict::ok);
    return;
  }
  claims_->claim(folded, id, mask, [done = std::move(done)](NickClaims::Verdict v) {
    done(v == NickClaims::Verdict::ok      ? NickVerdict::ok
         : v == NickClaims::Verdict::taken ? NickVerdict::taken
                                           : NickVerdict::unavailable);
  });
}

void IrcLink::Impl::release_nick(const std::string& folded, std::uint64_t id) {
  if (claims_ != nullptr) claims_->release(folded, id);
}

void IrcLink::Impl::publish_quits(const std::vector<ReapedUser>& users, std::string_view reason) {
  for (const ReapedUser& u : users) {
    irc::ClusterEvent e;
    e.kind = irc::ClusterEvent::Kind::quit;
    e.node = u.node;  // the user's node, not this one: every other node's replica knows it by that
    e.sender = u.id;
    e.mask = u.mask;
    e.rest = ":" + u.mask + " QUIT :" + std::string(reason);
    ++stats_.published;
    node_.redis().command({"PUBLISH", kEventChannel, encode_event(e)});
  }
}

void IrcLink::Impl::check_replica(std::vector<ReplicaUser> replica) {
  if (claims_ == nullptr || replica.empty()) return;
  // The other nodes resync on their own reconnection (backoff) or heartbeat: give them the time a
  // node has before it is reaped anyway (TTL + one heartbeat), then ask Redis who is there.
  const auto wait = node_.options().ttl + node_.options().heartbeat;
  node_.loop().run_after(wait, [this, alive = alive_, replica = std::move(replica)]() mutable {
    if (!*alive) return;
    claims_->live_users([this, alive, replica = std::move(replica)](
                            bool ok, const std::unordered_map<std::string, NickClaims::NodeUsers>& by_node) {
      if (!*alive || !ok) return;  // Redis away again: the next resync checks
      std::vector<ReplicaUser> live;  // users Redis still knows: their channels are checked next
      std::vector<ReplicaUser> gone;  // users it no longer knows: a QUIT each
      for (const ReplicaUser& u : replica) {
        auto n = by_node.find(u.node);
        if (n != by_node.end() && !n->second.known) continue;  // that node has not resynced: nothing to say
        if (n != by_node.end() && n->second.folded.contains(u.folded)) {
          if (!u.channels.empty()) live.push_back(u);
          continue;
        }
        gone.push_back(u);
      }
      if (!live.empty()) check_memberships(std::move(live));
      if (!gone.empty()) quit_gone(std::move(gone));
    });
  });
}

void IrcLink::Impl::quit_gone(std::vector<ReplicaUser> gone) {
  // Each with the QUIT line its node published (kept kKickTraceSeconds), or `*.net *.split` when
  // there is none (its node died, or the trace expired): read in one step.
  std::vector<std::string> args{"MGET"};
  for (const ReplicaUser& u : gone) args.push_back(kQuitPrefix + u.node + ":" + std::to_string(u.id));
  node_.redis().command(std::move(args), [this, alive = alive_, gone = std::move(gone)](const RedisReply& r) {
    if (!*alive) return;
    const bool read = r.type == RedisReply::Type::array && r.elements.size() == gone.size();
    for (std::size_t i = 0; i < gone.size(); ++i) {
      const ReplicaUser& u = gone[i];
      irc::ClusterEvent e;  // as the reaper's QUIT: from the user's node; the core drops it if stale
      e.kind = irc::ClusterEvent::Kind::quit;
      e.node = u.node;
      e.mask = u.mask;
      e.rest = ":" + u.mask + " QUIT :*.net *.split";
      const std::string quit = ":" + u.mask + " QUIT ";
      if (read && r.elements[i].type == RedisReply::Type::string && r.elements[i].str.starts_with(quit)) {
        e.rest = r.elements[i].str;
      }
      ++stats_.replica_dropped;
      if (deliver_) deliver_(e);
    }
  });
}

}  // namespace sockit::cluster
