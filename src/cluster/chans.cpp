// Channels shared through Redis (docs/CLUSTER.md, "Channels"): IrcLink's JOIN verdict (one Lua
// script checks +i/+k/+l/+b against the shared state and adds the member), the member's removal,
// and state changes published with their event in one atomic step.
//
// Keys (both written only by the scripts below):
//   sockit:chan:<folded>       hash  "<node>:<instance>:<id>" -> prefix ("@", "+", "@+", "-"): the members
//   sockit:chanstate:<folded>  hash  modes, key, limit, topic, topic_by, topic_time, created,
//                                    "b <mask>" / "e <mask>" / "I <mask>" -> "<setter> <when> <folded mask>",
//                                    "inv <folded nick>" -> "1" (an invitation, used by its JOIN)
//   sockit:nodechans:<node>:<instance>  hash  <folded chan> -> how many members that node instance has
//                                    there: what the reaper (nicks.cpp) clears when the instance dies,
//                                    and what the instance's resync prunes over (kPrune)
//   sockit:kicks:<folded>      hash  "<node>:<instance>:<id>" -> the KICK line that removed that member
//                                    (the decide script; gone kKickTraceSeconds after the last kick,
//                                    an entry dropped when its owner joins again): what a node that
//                                    missed the KICK shows at its replica check
#include "irc_link_impl.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <unordered_map>
#include <utility>

namespace sockit::cluster {
namespace {

constexpr const char* kMembersPrefix = kChanMembersPrefix;
constexpr const char* kStatePrefix = kChanStatePrefix;

// KEYS: members, state, the node instance's channel counts, recent kicks. ARGV: owner, folded nick,
// key given, folded mask, default modes, now, folded channel.
// Returns {verdict, state as HGETALL}: 2 first member (the state is created), 1 joined (or already
// a member), -1 +i, -2 +k, -3 +l (members counted on all nodes), -4 +b.
constexpr char kJoin[] = R"lua(
local n = redis.call('HLEN', KEYS[1])
if n == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'modes', ARGV[5], 'created', ARGV[6])
  redis.call('HSET', KEYS[1], ARGV[1], '@')
  redis.call('HINCRBY', KEYS[3], ARGV[7], 1)
  redis.call('HDEL', KEYS[4], ARGV[1])
  return {2, redis.call('HGETALL', KEYS[2])}
end
local st = redis.call('HGETALL', KEYS[2])
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {1, st} end
local t = {}
for i = 1, #st, 2 do t[st[i]] = st[i + 1] end
local function glob(mask)
  local p = string.gsub(mask, '[%^%$%(%)%%%.%[%]%+%-%*%?]', function(c)
    if c == '*' then return '.*' elseif c == '?' then return '.' else return '%' .. c end
  end)
  return string.find(ARGV[4], '^' .. p .. '$') ~= nil
end
local function listed(letter)
  for f, v in pairs(t) do
    if string.sub(f, 1, 2) == letter .. ' ' and glob(string.match(v, '^%S+ %S+ (.*)$') or '') then return true end
  end
  return false
end
if not t['inv ' .. ARGV[2]] then
  local modes = t['modes'] or ''
  if string.find(modes, 'i', 1, true) and not listed('I') then return {-1} end
  if t['key'] and t['key'] ~= '' and t['key'] ~= ARGV[3] then return {-2} end
  if t['limit'] and n >= tonumber(t['limit']) then return {-3} end
  if listed('b') and not listed('e') then return {-4} end
end
redis.call('HDEL', KEYS[2], 'inv ' .. ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], '-')
redis.call('HINCRBY', KEYS[3], ARGV[7], 1)
redis.call('HDEL', KEYS[4], ARGV[1])
return {1, st}
)lua";

// KEYS: members, state, the node instance's channel counts. ARGV: owner, folded channel. The last
// member out deletes the state. A member already removed (reaped) is not counted down twice.
constexpr char kLeave[] = R"lua(
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and redis.call('HINCRBY', KEYS[3], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[3], ARGV[2])
end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
return 1
)lua";

// KEYS: members, state. ARGV: event channel, payload ('' = none), then op, field, value triples:
// S sets a state field, D deletes one, M sets a member's prefix (if it is still a member). A
// channel without members keeps no state. The event is published after the changes, in the same
// step: every node sees the state and the event in one order.
constexpr char kUpdate[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 3, #ARGV, 3 do
    local op, f, v = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    if op == 'S' then
      redis.call('HSET', KEYS[2], f, v)
      -- an invitation: its channel listed under the nick, so that a NICK change moves it (kMoveInvites)
      if string.sub(f, 1, 4) == 'inv ' then redis.call('SADD', 'sockit:invites:' .. string.sub(f, 5), KEYS[2]) end
    elseif op == 'D' then redis.call('HDEL', KEYS[2], f)
    elseif op == 'M' and redis.call('HEXISTS', KEYS[1], f) == 1 then redis.call('HSET', KEYS[1], f, v) end
  end
end
if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return 1
)lua";

// A NICK change moves the nick's pending invitations. KEYS: sockit:invites:<old>, sockit:invites:<new>
// (the state keys of channels that invited the nick; entries whose invitation was used are dropped).
// ARGV: old folded nick, new folded nick.
constexpr char kMoveInvites[] = R"lua(
for _, st in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('HDEL', st, 'inv ' .. ARGV[1]) == 1 then
    redis.call('HSET', st, 'inv ' .. ARGV[2], '1')
    redis.call('SADD', KEYS[2], st)
  end
end
redis.call('DEL', KEYS[1])
return 1
)lua";

// Resync (IrcLink::restore_channel). KEYS: members, state, the node instance's channel counts.
// ARGV: folded channel, then op, field, value triples as kUpdate's: S fields are written only when
// the channel has no state in Redis (restarted empty, or emptied meanwhile by a reap), M members
// added where missing (and counted for the reaper). Returns {how many members were added, the
// state as HGETALL then, the prefix each M member has then (in ARGV's order)}: what the node's
// copy is re-read from (a MODE +o/-o made while the node was cut off is in the prefixes).
constexpr char kRestore[] = R"lua(
local fresh = redis.call('EXISTS', KEYS[2]) == 0
local added, prefixes = 0, {}
for i = 2, #ARGV, 3 do
  local op, f, v = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == 'S' and fresh then redis.call('HSET', KEYS[2], f, v)
  elseif op == 'M' then
    if redis.call('HSETNX', KEYS[1], f, v) == 1 then
      redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
      added = added + 1
    end
    prefixes[#prefixes + 1] = redis.call('HGET', KEYS[1], f) or v
  end
end
return {added, redis.call('HGETALL', KEYS[2]), prefixes}
)lua";

// Resync, after kRestore (IrcLink::prune_memberships): the memberships Redis holds by mistake for
// this node instance are dropped. KEYS: the node instance's channel counts. ARGV: members key
// prefix, state key prefix, the instance's owner prefix ("<node>:<instance>:"), then folded
// channel, local id pairs: the node's true memberships. Over the channels of the counts, each
// entry with that prefix that is not a true membership is removed; the count becomes the entries
// left (none: the channel's count is removed), a channel left without members loses its state.
// Returns the removed entries as folded channel, id pairs.
constexpr char kPrune[] = R"lua(
local keep = {}
for i = 4, #ARGV, 2 do keep[ARGV[i] .. ' ' .. ARGV[i + 1]] = true end
local removed, plen = {}, #ARGV[3]
for _, chan in ipairs(redis.call('HKEYS', KEYS[1])) do
  local key, mine = ARGV[1] .. chan, 0
  for _, f in ipairs(redis.call('HKEYS', key)) do
    if string.sub(f, 1, plen) == ARGV[3] then
      local id = string.sub(f, plen + 1)
      if keep[chan .. ' ' .. id] then
        mine = mine + 1
      else
        redis.call('HDEL', key, f)
        removed[#removed + 1] = chan
        removed[#removed + 1] = id
      end
    end
  end
  if mine == 0 then redis.call('HDEL', KEYS[1], chan) else redis.call('HSET', KEYS[1], chan, mine) end
  if redis.call('HLEN', key) == 0 then redis.call('DEL', ARGV[2] .. chan) end
end
return removed
)lua";

// MODE, TOPIC, KICK, INVITE decided here (IrcLink::decide_channel). KEYS: members, state, recent
// kicks. ARGV: event channel, payload, the actor's owner, what it needs ('o': operator; another
// mode letter, 't' or 'i': operator if the modes hold it; a member otherwise), nick key prefix, the kicks' lifetime (seconds), then op, field, value triples
// as kUpdate's, P <folded nick> <+o|-o|+v|-v>: that member's prefix, wherever its node (its owner
// from its nick claim), and K <folded nick> <KICK line>: that member's kick, kept in the recent
// kicks under its owner (its node removes the membership when the event comes back). Returns 1
// (applied and published) or 0 (refused: the actor is not a member of that rank; nothing done).
constexpr char kDecide[] = R"lua(
local rank = redis.call('HGET', KEYS[1], ARGV[3])
if not rank then return 0 end
local need = ARGV[4] == 'o'
if not need then need = string.find(redis.call('HGET', KEYS[2], 'modes') or '', ARGV[4], 1, true) ~= nil end
if need and not string.find(rank, '@', 1, true) then return 0 end
for i = 7, #ARGV, 3 do
  local op, f, v = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == 'S' then
    redis.call('HSET', KEYS[2], f, v)
    if string.sub(f, 1, 4) == 'inv ' then redis.call('SADD', 'sockit:invites:' .. string.sub(f, 5), KEYS[2]) end
  elseif op == 'D' then redis.call('HDEL', KEYS[2], f)
  elseif op == 'K' then
    local owner = redis.call('GET', ARGV[5] .. f)
    if owner and redis.call('HEXISTS', KEYS[1], owner) == 1 then
      redis.call('HSET', KEYS[3], owner, v)
      redis.call('EXPIRE', KEYS[3], ARGV[6])
    end
  elseif op == 'P' then
    local owner = redis.call('GET', ARGV[5] .. f)
    local cur = owner and redis.call('HGET', KEYS[1], owner)
    if cur then
      local o, vo = string.find(cur, '@', 1, true) ~= nil, string.find(cur, '+', 1, true) ~= nil
      if string.sub(v, 2) == 'o' then o = string.sub(v, 1, 1) == '+' else vo = string.sub(v, 1, 1) == '+' end
      local p = (o and '@' or '') .. (vo and '+' or '')
      redis.call('HSET', KEYS[1], owner, p == '' and '-' or p)
    end
  end
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
)lua";

// LUSERS' global maximum. KEYS: sockit:maxusers. ARGV: this node's count of every node's users.
// Returns the maximum after raising it.
constexpr char kMaxUsers[] = R"lua(
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if n > cur then redis.call('SET', KEYS[1], ARGV[1]) return n end
return cur
)lua";

std::int64_t number(std::string_view s) {
  std::int64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

/// The state hash's HGETALL as a ClusterChannelState.
irc::ClusterChannelState channel_state(const RedisReply& r) {
  irc::ClusterChannelState st;
  if (r.type != RedisReply::Type::array) return st;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    const std::string& f = r.elements[i].str;
    const std::string& v = r.elements[i + 1].str;
    if (f == "modes") st.modes = v;
    else if (f == "key") st.key = v;
    else if (f == "limit") st.limit = static_cast<std::size_t>(number(v));
    else if (f == "topic") st.topic = v;
    else if (f == "topic_by") st.topic_by = v;
    else if (f == "topic_time") st.topic_time = number(v);
    else if (f == "created") st.created = number(v);
    else if (f.size() > 2 && f[1] == ' ' && (f[0] == 'b' || f[0] == 'e' || f[0] == 'I')) {
      irc::ClusterChannelState::Entry e{f[0], f.substr(2), {}, 0};
      const std::size_t sp = v.find(' ');
      e.setter = v.substr(0, sp);
      if (sp != std::string::npos) e.when = number(std::string_view(v).substr(sp + 1, v.find(' ', sp + 1) - sp - 1));
      st.lists.push_back(std::move(e));
    }
  }
  return st;
}

// The replica check (IrcLink::check_memberships). KEYS: per channel its members hash and its recent
// kicks. Returns, per channel in order, {its members' fields ("<node>:<instance>:<id>"; none when
// the channel is gone), its recent kicks as HGETALL}, read in one step.
constexpr char kMembers[] = R"lua(
local out = {}
for i = 1, #KEYS, 2 do out[#out + 1] = {redis.call('HKEYS', KEYS[i]), redis.call('HGETALL', KEYS[i + 1])} end
return out
)lua";

}  // namespace

struct IrcLink::Impl::ChannelScripts {
  Script join{kJoin};
  Script leave{kLeave};
  Script update{kUpdate};
  Script decide{kDecide};
  Script max_users{kMaxUsers};
  Script move_invites{kMoveInvites};
  Script restore{kRestore};
  Script prune{kPrune};
  Script members{kMembers};
};

IrcLink::Impl::ChannelScripts& IrcLink::Impl::channel_scripts() {
  if (!chans_) chans_ = std::make_shared<ChannelScripts>();
  return *chans_;
}

namespace {

/// Test hook (docs/CLUSTER.md, Tests: ClusterFaults.AJoinInFlightWhenTheResyncPrunesIsKept). With
/// SOCKIT_TEST_HOLD_JOIN=<folded channel>, a JOIN of that channel sends its script only with the
/// node's next prune, just before it: that JOIN is in flight (its client waits for the verdict,
/// Redis runs it first) when the resync collects the true memberships, on every run. Unset (as
/// everywhere but in that test), nothing is held. The held sends are per process (one link).
bool join_held_by_test(const std::string& folded_chan) {
  static const char* chan = std::getenv("SOCKIT_TEST_HOLD_JOIN");
  return chan != nullptr && folded_chan == chan;
}

std::vector<std::function<void()>>& held_joins() {
  static std::vector<std::function<void()>> held;
  return held;
}

std::string owner_of(const Node& node, std::uint64_t id) {
  return node.options().name + ":" + node.instance() + ":" + std::to_string(id);
}

std::string node_chans_key(const Node& node) {
  return std::string(kNodeChansPrefix) + node.options().name + ":" + node.instance();
}

/// `changes` as the scripts' op, field, value triples: S sets a state field, D deletes one, M a
/// local member's prefix (the field: its owner string).
void append_changes(const Node& node, const std::vector<irc::ClusterChannelChange>& changes, std::vector<std::string>& args) {
  for (const irc::ClusterChannelChange& c : changes) {
    using Op = irc::ClusterChannelChange::Op;
    if (c.op == Op::member) {
      std::uint64_t id = 0;
      std::from_chars(c.field.data(), c.field.data() + c.field.size(), id);
      args.insert(args.end(), {"M", owner_of(node, id), c.value});
    } else {
      args.insert(args.end(), {c.op == Op::set ? "S" : "D", c.field, c.value});
    }
  }
}

}  // namespace

void IrcLink::Impl::join_channel(const std::string& folded_chan, const std::string& folded_nick, std::uint64_t id,
                           const std::string& folded_mask, const std::string& key, const std::string& default_modes,
                           std::function<void(JoinVerdict, const irc::ClusterChannelState&)> done) {
  const std::string now = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  std::vector<std::string> keys{std::string(kMembersPrefix) + folded_chan, std::string(kStatePrefix) + folded_chan,
                                node_chans_key(node_), kChanKicksPrefix + folded_chan};
  std::vector<std::string> args{owner_of(node_, id), folded_nick, key, folded_mask, default_modes, now, folded_chan};
  auto send = [this, keys = std::move(keys), args = std::move(args), done = std::move(done)]() mutable {
    channel_scripts().join.run(node_.redis(), std::move(keys), std::move(args), [done = std::move(done)](const RedisReply& r) {
      if (r.type != RedisReply::Type::array || r.elements.empty() ||
          r.elements[0].type != RedisReply::Type::integer) {
        done(JoinVerdict::unavailable, {});
        return;
      }
      const long long v = r.elements[0].integer;
      const irc::ClusterChannelState st = r.elements.size() > 1 ? channel_state(r.elements[1]) : irc::ClusterChannelState{};
      done(v == 2    ? JoinVerdict::first
           : v == 1  ? JoinVerdict::joined
           : v == -1 ? JoinVerdict::invite_only
           : v == -2 ? JoinVerdict::bad_key
           : v == -3 ? JoinVerdict::full
                     : JoinVerdict::banned,
           st);
    });
  };
  if (join_held_by_test(folded_chan)) {
    held_joins().push_back(std::move(send));  // sent by the next prune_memberships, before its script
    return;
  }
  send();
}

void IrcLink::Impl::leave_channel(const std::string& folded_chan, std::uint64_t id) {
  channel_scripts().leave.run(node_.redis(),
                              {std::string(kMembersPrefix) + folded_chan, std::string(kStatePrefix) + folded_chan, node_chans_key(node_)},
                              {owner_of(node_, id), folded_chan}, {});
}

void IrcLink::Impl::update_channel(const std::string& folded_chan, const std::vector<irc::ClusterChannelChange>& changes,
                             const irc::ClusterEvent* e) {
  std::vector<std::string> args{kEventChannel, ""};
  if (e != nullptr) {
    irc::ClusterEvent copy = *e;
    copy.node = node_.options().name;
    args[1] = encode_event(copy);
    ++stats_.published;
  }
  append_changes(node_, changes, args);
  channel_scripts().update.run(node_.redis(), {std::string(kMembersPrefix) + folded_chan, std::string(kStatePrefix) + folded_chan},
                               std::move(args), {});
}

void IrcLink::Impl::restore_channel(const std::string& folded_chan, const std::vector<irc::ClusterChannelChange>& changes,
                              std::function<void(const irc::ClusterChannelState&)> done) {
  std::vector<std::string> args{folded_chan};
  append_changes(node_, changes, args);
  std::vector<std::uint64_t> ids;  // the members given, in the order of the script's prefixes
  for (const irc::ClusterChannelChange& c : changes) {
    if (c.op == irc::ClusterChannelChange::Op::member) ids.push_back(static_cast<std::uint64_t>(number(c.field)));
  }
  channel_scripts().restore.run(
      node_.redis(),
      {std::string(kMembersPrefix) + folded_chan, std::string(kStatePrefix) + folded_chan, node_chans_key(node_)},
      std::move(args), [done = std::move(done), ids = std::move(ids)](const RedisReply& r) {
        if (!done || r.type != RedisReply::Type::array || r.elements.size() != 3) return;
        irc::ClusterChannelState st = channel_state(r.elements[1]);
        const auto& got = r.elements[2].elements;
        for (std::size_t i = 0; i < ids.size() && i < got.size(); ++i) st.prefixes.emplace_back(ids[i], got[i].str);
        done(st);
      });
}

void IrcLink::Impl::prune_memberships(std::vector<Membership> members, std::function<void(std::vector<Membership> removed)> done) {
  std::vector<std::string> args{kMembersPrefix, kStatePrefix, owner_of(node_, 0)};
  args.back().pop_back();  // "<node>:<instance>:"
  for (auto& send : std::exchange(held_joins(), {})) send();  // the test hook's JOINs, in flight now
  for (auto& [folded, id] : members) args.insert(args.end(), {std::move(folded), std::to_string(id)});
  channel_scripts().prune.run(node_.redis(), {node_chans_key(node_)}, std::move(args), [done = std::move(done)](const RedisReply& r) {
    if (r.type != RedisReply::Type::array || !done) return;  // Redis away: the next resync prunes
    std::vector<Membership> removed;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      removed.emplace_back(r.elements[i].str, static_cast<std::uint64_t>(number(r.elements[i + 1].str)));
    }
    done(std::move(removed));
  });
}

void IrcLink::Impl::check_memberships(std::vector<ReplicaUser> users) {
  std::vector<std::string> keys;
  std::unordered_map<std::string, std::size_t> at;  // folded channel -> its position in keys
  for (const ReplicaUser& u : users) {
    for (const auto& [folded, name] : u.channels) {
      if (at.emplace(folded, keys.size() / 2).second) {
        keys.insert(keys.end(), {kMembersPrefix + folded, kChanKicksPrefix + folded});
      }
    }
  }
  const std::size_t n = keys.size() / 2;
  channel_scripts().members.run(
      node_.redis(), std::move(keys), {},
      [this, alive = alive_, n, users = std::move(users), at = std::move(at)](const RedisReply& r) {
        if (!*alive || r.type != RedisReply::Type::array || r.elements.size() != n) return;  // Redis away: the next resync
        for (const ReplicaUser& u : users) {
          const std::string head = u.node + ":", tail = ":" + std::to_string(u.id);
          auto owns = [&](const std::string& f) {
            return f.size() > head.size() + tail.size() && f.starts_with(head) && f.ends_with(tail);
          };
          for (const auto& [folded, name] : u.channels) {
            const RedisReply& chan = r.elements[at.at(folded)];
            if (chan.elements.size() != 2) continue;
            const auto& fields = chan.elements[0].elements;
            if (std::any_of(fields.begin(), fields.end(), [&](const RedisReply& f) { return owns(f.str); })) continue;
            // As its node's PART, without a reason, or the KICK that removed it (a PART event whose
            // line is the KICK, as the core takes it); the core gives it only if still a member.
            irc::ClusterEvent e;
            e.kind = irc::ClusterEvent::Kind::part;
            e.node = u.node;
            e.sender = u.id;
            e.mask = u.mask;
            e.target = name;
            e.rest = ":" + u.mask + " PART " + name;
            const auto& kicks = chan.elements[1].elements;
            for (std::size_t i = 0; i + 1 < kicks.size(); i += 2) {
              if (owns(kicks[i].str)) e.rest = kicks[i + 1].str;
            }
            ++stats_.replica_parted;
            if (deliver_) deliver_(e);
          }
        }
      });
}

void IrcLink::Impl::decide_channel(const std::string& folded_chan, std::uint64_t actor, char need,
                             const std::vector<irc::ClusterChannelChange>& changes, const irc::ClusterEvent& e,
                             std::function<void(bool ok)> done) {
  irc::ClusterEvent copy = e;
  copy.node = node_.options().name;
  copy.decided = true;
  std::vector<std::string> args{kEventChannel, encode_event(copy), owner_of(node_, actor), std::string(1, need),
                                "sockit:nick:", std::to_string(kKickTraceSeconds)};
  for (const irc::ClusterChannelChange& c : changes) {
    using Op = irc::ClusterChannelChange::Op;
    const char* op = c.op == Op::set      ? "S"
                     : c.op == Op::del    ? "D"
                     : c.op == Op::prefix ? "P"
                     : c.op == Op::kicked ? "K"
                                          : nullptr;
    if (op != nullptr) args.insert(args.end(), {op, c.field, c.value});
  }
  ++stats_.published;
  channel_scripts().decide.run(node_.redis(),
                               {kMembersPrefix + folded_chan, kStatePrefix + folded_chan, kChanKicksPrefix + folded_chan},
                               std::move(args), [done = std::move(done)](const RedisReply& r) {
                                 done(r.type == RedisReply::Type::integer && r.integer == 1);
                               });
}

void IrcLink::Impl::note_global_users(std::uint64_t n, std::function<void(std::uint64_t max)> done) {
  channel_scripts().max_users.run(node_.redis(), {"sockit:maxusers"}, {std::to_string(n)},
                                  [done = std::move(done)](const RedisReply& r) {
                                    if (r.type == RedisReply::Type::integer && r.integer > 0 && done)
                                      done(static_cast<std::uint64_t>(r.integer));
                                  });
}

void IrcLink::Impl::move_invitations(const std::string& old_folded, const std::string& new_folded) {
  channel_scripts().move_invites.run(node_.redis(), {"sockit:invites:" + old_folded, "sockit:invites:" + new_folded},
                                     {old_folded, new_folded}, {});
}

}  // namespace sockit::cluster
