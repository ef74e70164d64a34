// cluster::RedisHistory: the chat server's history in Redis streams (include/sockit/cluster/redis_store.hpp).
// Every Redis command is sent on the loop that owns the client; a caller on another loop thread
// posts it there. Writes are fire and forget (counted); reads are one script each.
#include "sockit/cluster/redis_store.hpp"

#include "sockit/cluster/nicks.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

namespace sockit::cluster {
namespace {

constexpr char kHistPrefix[] = "sockit:hist:";
constexpr char kPrivPrefix[] = "sockit:histpriv:";
constexpr char kIndexPrefix[] = "sockit:histidx:";
constexpr std::size_t kPrivKept = 1000;  // conversations remembered per party (TARGETS)

// KEYS: the stream, its msgid index, then the parties' conversation sets (private lines). ARGV:
// MAXLEN ("0": none), the line's ms, the history key, the number of conversations kept per party,
// max_age in ms ("0": none), then the fields ("m", msgid, ...). With max_age, the entries older
// than the line's ms - max_age go (XTRIM MINID ~: whole stream nodes; the reads trim exactly), the
// index and the conversation sets lose theirs, and every key written expires max_age + 1 s after
// its last line (a channel quiet for max_age has nothing left to keep). The entry ID is "<ms>-*" with ms = max(the line's, the
// stream's last): IDs stay in time order even when a node's clock is behind another's. The index
// (msgid scored by its entry's ms) loses the msgids older than the stream's first entry once it
// has 100 more members than the stream has entries.
constexpr char kAppend[] = R"lua(
local ms = ARGV[2]
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  local lms = string.match(last[1][1], '^(%d+)')
  if #lms > #ms or (#lms == #ms and lms > ms) then ms = lms end
end
local args = {'XADD', KEYS[1]}
if ARGV[1] ~= '0' then
  args[#args + 1] = 'MAXLEN'; args[#args + 1] = '~'; args[#args + 1] = ARGV[1]
end
args[#args + 1] = ms .. '-*'
for i = 6, #ARGV do args[#args + 1] = ARGV[i] end
local id = redis.call(unpack(args))
redis.call('ZADD', KEYS[2], ms, ARGV[7])
if redis.call('ZCARD', KEYS[2]) > redis.call('XLEN', KEYS[1]) + 100 then
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #first > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.match(first[1][1], '^(%d+)')) end
end
for i = 3, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -1 - tonumber(ARGV[4]))
end
local age = tonumber(ARGV[5])
if age > 0 then
  local cutoff = string.format('%.0f', tonumber(ARGV[2]) - age)
  redis.call('XTRIM', KEYS[1], 'MINID', '~', cutoff)
  for i = 1, #KEYS do
    if i > 1 then redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. cutoff) end
    redis.call('PEXPIRE', KEYS[i], age + 1000)
  end
end
return id
)lua";

// history import: kAppend unless the index has the line's msgid already (then 0: skipped).
constexpr char kImportGuard[] = "if redis.call('ZSCORE', KEYS[2], ARGV[7]) then return 0 end\n";

// KEYS: the stream, its msgid index. ARGV: kind (latest before after around between), events ("1": all entries,
// else PRIVMSG/NOTICE only), limit, then two selectors of three fields each: type ("m" msgid,
// "t" time, "n" none), value (msgid or ms), ms + 1; then the max_age cutoff in ms ("0": none):
// the entries before it are trimmed first (XTRIM MINID, exact; the index too), so an expired line
// is neither returned nor found by its msgid. Returns the entries oldest first, or 0 when a
// msgid names no entry. Entry fields: m msgid, t ms, c command, ... (c is the third field).
constexpr char kQuery[] = R"lua(
local stream = KEYS[1]
if ARGV[10] ~= '0' then
  redis.call('XTRIM', stream, 'MINID', ARGV[10])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[10])
end
local events = ARGV[2] == '1'
local limit = tonumber(ARGV[3])
local CHUNK = 200
-- A point: {ms, seq} (seq nil: after the ms's entries), from a selector; nil: unknown msgid.
local function point(i, after_side)
  local t, v, nxt = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if t == 't' then
    if after_side then return {ms = v, seq = nil, nxt = nxt} end
    return {ms = v, seq = '0', nxt = nxt}
  end
  local score = redis.call('ZSCORE', KEYS[2], v)
  if not score then return nil end
  local at = string.format('%.0f', tonumber(score))
  for _, e in ipairs(redis.call('XRANGE', stream, at, at)) do  -- the entries of that ms
    if e[2][2] == v then
      local ms, seq = string.match(e[1], '^(%d+)-(%d+)$')
      return {ms = ms, seq = seq, id = e[1]}
    end
  end
  return nil  -- trimmed from the stream
end
local function lower_excl(p) if p.seq then return '(' .. p.ms .. '-' .. p.seq end return p.nxt .. '-0' end
local function upper_excl(p) if p.seq then return '(' .. p.ms .. '-' .. p.seq end return '(' .. p.nxt .. '-0' end
local function lower_incl(p) if p.seq then return p.ms .. '-' .. p.seq end return p.nxt .. '-0' end
local function less(a, b)  -- point a before point b
  if a.ms ~= b.ms then return #a.ms < #b.ms or (#a.ms == #b.ms and a.ms < b.ms) end
  if not a.seq then return false end
  if not b.seq then return true end
  return tonumber(a.seq) < tonumber(b.seq)
end
local function range(lo, hi, newest, n)
  local out = {}
  if n <= 0 then return out end
  while #out < n do
    local chunk
    if newest then chunk = redis.call('XREVRANGE', stream, hi, lo, 'COUNT', CHUNK)
    else chunk = redis.call('XRANGE', stream, lo, hi, 'COUNT', CHUNK) end
    for _, e in ipairs(chunk) do
      local c = e[2][6]
      if events or c == 'PRIVMSG' or c == 'NOTICE' then
        out[#out + 1] = e
        if #out == n then break end
      end
    end
    if #chunk < CHUNK then break end
    if newest then hi = '(' .. chunk[#chunk][1] else lo = '(' .. chunk[#chunk][1] end
  end
  if newest then
    local r = {}
    for i = #out, 1, -1 do r[#r + 1] = out[i] end
    return r
  end
  return out
end
local kind = ARGV[1]
if kind == 'latest' then
  if ARGV[4] == 'n' then return range('-', '+', true, limit) end
  local lo = point(4, true)
  if not lo then return 0 end
  return range(lower_excl(lo), '+', true, limit)
elseif kind == 'before' then
  local hi = point(4, false)
  if not hi then return 0 end
  if hi.ms == '0' and hi.seq == '0' then return {} end
  return range('-', upper_excl(hi), true, limit)
elseif kind == 'after' then
  local lo = point(4, true)
  if not lo then return 0 end
  return range(lower_excl(lo), '+', false, limit)
elseif kind == 'around' then
  local at = point(4, false)
  if not at then return 0 end
  local out = {}
  if not (at.ms == '0' and at.seq == '0') then out = range('-', upper_excl(at), true, math.floor(limit / 2)) end
  for _, e in ipairs(range(lower_incl(at), '+', false, limit - #out)) do out[#out + 1] = e end
  return out
else -- between
  local pa, pa_before = point(4, true), point(4, false)
  local pb, pb_before = point(7, true), point(7, false)
  if not pa or not pb then return 0 end
  if not less(pb, pa) then return range(lower_excl(pa), upper_excl(pb_before), false, limit) end
  return range(lower_excl(pb), upper_excl(pa_before), true, limit)
end
)lua";

// KEYS: none. ARGV: from ms, to ms (exclusive both), the stream prefix, the conversations prefix,
// the number of channels, the channels' keys, then the selves. Returns key, ms, ... of the
// conversations with a PRIVMSG/NOTICE between the two times (the latest one's ms).
constexpr char kTargets[] = R"lua(
local from, to = ARGV[1], ARGV[2]
local nchan = tonumber(ARGV[5])
local out = {}
for i = 6, 5 + nchan do
  local hi = '(' .. to .. '-0'
  local done = false
  while not done do
    local chunk = redis.call('XREVRANGE', ARGV[3] .. ARGV[i], hi, '-', 'COUNT', 100)
    for _, e in ipairs(chunk) do
      local ms = string.match(e[1], '^(%d+)')
      if not (#ms > #from or (#ms == #from and ms > from)) then done = true; break end
      local c = e[2][6]
      if c == 'PRIVMSG' or c == 'NOTICE' then out[#out + 1] = ARGV[i]; out[#out + 1] = ms; done = true; break end
    end
    if #chunk < 100 then done = true else hi = '(' .. chunk[#chunk][1] end
  end
end
for i = 6 + nchan, #ARGV do
  local r = redis.call('ZRANGEBYSCORE', ARGV[4] .. ARGV[i], '(' .. from, '(' .. to, 'WITHSCORES')
  for j = 1, #r, 2 do out[#out + 1] = r[j]; out[#out + 1] = r[j + 1] end
end
return out
)lua";

std::optional<std::string> str_of(const RedisReply& r) {
  if (r.type != RedisReply::Type::string && r.type != RedisReply::Type::status) return std::nullopt;
  return r.str;
}

std::int64_t to_int(const std::string& s) { return std::strtoll(s.c_str(), nullptr, 10); }

const char* kind_name(store::HistoryQuery k) {
  switch (k) {
    case store::HistoryQuery::latest: return "latest";
    case store::HistoryQuery::before: return "before";
    case store::HistoryQuery::after: return "after";
    case store::HistoryQuery::around: return "around";
    case store::HistoryQuery::between: return "between";
  }
  return "latest";
}

void push_selector(std::vector<std::string>& args, const store::HistorySelector& s) {
  using K = store::HistorySelector::Kind;
  if (s.kind == K::msgid) {
    args.insert(args.end(), {"m", s.msgid, "0"});
  } else if (s.kind == K::time) {
    args.insert(args.end(), {"t", std::to_string(std::max<std::int64_t>(s.time_ms, 0)),
                             std::to_string(std::max<std::int64_t>(s.time_ms, 0) + 1)});
  } else {
    args.insert(args.end(), {"n", "", ""});
  }
}

/// One stream entry [id, [field, value, ...]] as a HistoryMessage of `key`.
store::HistoryMessage decode_entry(const RedisReply& e, const std::string& key) {
  store::HistoryMessage m;
  m.key = key;
  if (e.elements.size() != 2) return m;
  const std::string id = str_of(e.elements[0]).value_or("0-0");
  const std::size_t dash = id.find('-');
  m.id = to_int(id.substr(0, dash)) * 65536 + (dash == std::string::npos ? 0 : to_int(id.substr(dash + 1)));
  const auto& f = e.elements[1].elements;
  for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
    const std::string name = str_of(f[i]).value_or("");
    std::string value = str_of(f[i + 1]).value_or("");
    if (name == "m") m.msgid = std::move(value);
    else if (name == "t") m.time_ms = to_int(value);
    else if (name == "c") m.command = std::move(value);
    else if (name == "g") m.target = std::move(value);
    else if (name == "s") m.sender = std::move(value);
    else if (name == "x") m.text = std::move(value);
    else if (name == "a") m.tags = std::move(value);
    else if (name == "p") m.params = std::move(value);
  }
  return m;
}

}  // namespace

struct RedisHistory::Shared {
  RedisClient* redis = nullptr;
  Script append{kAppend};
  Script query{kQuery};
  Script targets{kTargets};
  std::string import_body = std::string(kImportGuard) + kAppend;
  Script import{import_body.c_str()};
  std::atomic<std::uint64_t> written{0}, failed{0};
};

RedisHistory::RedisHistory(loop::EventLoop& loop, RedisClient& redis, store::HistoryOptions options)
    : shared_(std::make_shared<Shared>()), loop_(loop), options_(std::move(options)) {
  shared_->redis = &redis;
}

RedisHistory::~RedisHistory() = default;

void RedisHistory::detach() { shared_->redis = nullptr; }

std::uint64_t RedisHistory::written() const noexcept { return shared_->written.load(); }
std::uint64_t RedisHistory::failed() const noexcept { return shared_->failed.load(); }

std::int64_t RedisHistory::max_age_ms() const noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(options_.max_age).count();
}

std::int64_t RedisHistory::age_cutoff_ms() const noexcept {
  const std::int64_t age = max_age_ms();
  if (age <= 0) return 0;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return std::max<std::int64_t>(now.count() - age, 1);
}

void RedisHistory::on_loop(std::function<void(const std::shared_ptr<Shared>&)> fn) {
  if (loop_.is_in_loop_thread()) {
    fn(shared_);
    return;
  }
  loop_.post([shared = shared_, fn = std::move(fn)] { fn(shared); });
}

void RedisHistory::append_command(const store::HistoryRecord& r, std::vector<std::string>& keys,
                                  std::vector<std::string>& args) const {
  const std::string key(r.key);
  keys = {kHistPrefix + key, kIndexPrefix + key};
  if (const auto sp = key.find(' '); sp != std::string::npos && r.params.empty()) {  // a private line: both parties
    keys.push_back(kPrivPrefix + key.substr(0, sp));
    keys.push_back(kPrivPrefix + key.substr(sp + 1));
  }
  args = {std::to_string(options_.max_messages), std::to_string(r.time_ms), key,
          std::to_string(kPrivKept), std::to_string(max_age_ms()),
          "m", std::string(r.msgid), "t", std::to_string(r.time_ms), "c", std::string(r.command),
          "g", std::string(r.target), "s", std::string(r.sender), "x", std::string(r.text),
          "a", std::string(r.tags), "p", std::string(r.params)};
}

void RedisHistory::append(const store::HistoryRecord& r) {
  std::vector<std::string> keys, args;
  append_command(r, keys, args);
  on_loop([keys = std::move(keys), args = std::move(args)](const std::shared_ptr<Shared>& sh) mutable {
    if (sh->redis == nullptr) {
      ++sh->failed;
      return;
    }
    sh->append.run(*sh->redis, std::move(keys), std::move(args), [sh](const RedisReply& rep) {
      (rep.ok() ? sh->written : sh->failed)++;
    });
  });
}

void RedisHistory::import_async(const store::HistoryMessage& m, std::function<void(Imported)> done) {
  std::vector<std::string> keys, args;
  append_command(store::HistoryRecord{m.msgid, m.time_ms, m.key, m.target, m.sender, m.command, m.text, m.tags, m.params},
                 keys, args);
  on_loop([keys = std::move(keys), args = std::move(args), done = std::move(done)](const std::shared_ptr<Shared>& sh) mutable {
    if (sh->redis == nullptr) return done(Imported::failed);
    sh->import.run(*sh->redis, std::move(keys), std::move(args), [done = std::move(done)](const RedisReply& rep) {
      if (rep.type == RedisReply::Type::integer) return done(Imported::skipped);
      done(rep.type == RedisReply::Type::string ? Imported::added : Imported::failed);
    });
  });
}

void RedisHistory::query_async(const std::string& key, store::HistoryQuery kind, const store::HistorySelector& a,
                               const store::HistorySelector& b, std::size_t limit, bool events, QueryDone done) {
  limit = std::min(limit, options_.query_limit);
  std::vector<std::string> args{kind_name(kind), events ? "1" : "0", std::to_string(limit)};
  push_selector(args, a);
  push_selector(args, b);
  args.push_back(std::to_string(age_cutoff_ms()));
  on_loop([key, args = std::move(args), done = std::move(done)](const std::shared_ptr<Shared>& sh) mutable {
    if (sh->redis == nullptr) {
      done(std::vector<store::HistoryMessage>{});
      return;
    }
    sh->query.run(*sh->redis, {kHistPrefix + key, kIndexPrefix + key}, std::move(args), [key, done = std::move(done)](const RedisReply& r) {
      if (r.type == RedisReply::Type::integer) return done(std::nullopt);  // an unknown msgid
      std::vector<store::HistoryMessage> out;
      for (const RedisReply& e : r.elements) out.push_back(decode_entry(e, key));
      done(std::move(out));  // Redis away or in error: no rows
    });
  });
}

void RedisHistory::targets_async(const std::vector<std::string>& channels, const std::vector<std::string>& selves,
                                 std::int64_t from_ms, std::int64_t to_ms, std::size_t limit, TargetsDone done) {
  if (from_ms > to_ms) std::swap(from_ms, to_ms);
  if (const std::int64_t cutoff = age_cutoff_ms(); cutoff > 0) {  // max_age: nothing before the cutoff (exclusive bounds)
    from_ms = std::max(from_ms, cutoff - 1);
    to_ms = std::max(to_ms, from_ms);
  }
  std::vector<std::string> args{std::to_string(std::max<std::int64_t>(from_ms, 0)), std::to_string(std::max<std::int64_t>(to_ms, 0)),
                                kHistPrefix, kPrivPrefix, std::to_string(channels.size())};
  args.insert(args.end(), channels.begin(), channels.end());
  args.insert(args.end(), selves.begin(), selves.end());
  on_loop([args = std::move(args), limit, done = std::move(done)](const std::shared_ptr<Shared>& sh) mutable {
    if (sh->redis == nullptr) {
      done({});
      return;
    }
    sh->targets.run(*sh->redis, {}, std::move(args), [limit, done = std::move(done)](const RedisReply& r) {
      std::vector<store::HistoryTarget> out;
      for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
        out.push_back({str_of(r.elements[i]).value_or(""), to_int(str_of(r.elements[i + 1]).value_or("0"))});
      }
      std::sort(out.begin(), out.end(), [](const store::HistoryTarget& x, const store::HistoryTarget& y) {
        return std::pair(x.time_ms, x.key) < std::pair(y.time_ms, y.key);
      });
      // A conversation listed twice (both selves) counts once.
      out.erase(std::unique(out.begin(), out.end(),
                            [](const auto& x, const auto& y) { return x.key == y.key && x.time_ms == y.time_ms; }),
                out.end());
      if (out.size() > limit) out.resize(limit);
      done(std::move(out));
    });
  });
}

namespace {

/// Waits (on a thread that is not the loop's) for what `start` hands its callback, at most 5 s;
/// `fallback` when it does not come (the late answer then goes nowhere).
template <typename T, typename Start>
T wait_for_answer(Start start, T fallback) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<T> value;
  };
  auto st = std::make_shared<State>();
  start([st](T v) {
    std::lock_guard lock(st->mu);
    st->value = std::move(v);
    st->cv.notify_all();
  });
  std::unique_lock lock(st->mu);
  if (!st->cv.wait_for(lock, std::chrono::seconds(5), [&] { return st->value.has_value(); })) return fallback;
  return std::move(*st->value);
}

}  // namespace

std::optional<std::vector<store::HistoryMessage>> RedisHistory::query(const std::string& key, store::HistoryQuery kind,
                                                                      const store::HistorySelector& a,
                                                                      const store::HistorySelector& b, std::size_t limit,
                                                                      bool events) {
  using Rows = std::optional<std::vector<store::HistoryMessage>>;
  if (loop_.is_in_loop_thread()) return std::vector<store::HistoryMessage>{};  // never waited for on the loop
  return wait_for_answer<Rows>([&](auto set) { query_async(key, kind, a, b, limit, events, set); },
                               std::vector<store::HistoryMessage>{});
}

std::vector<store::HistoryTarget> RedisHistory::targets(const std::vector<std::string>& channels,
                                                        const std::vector<std::string>& selves, std::int64_t from_ms,
                                                        std::int64_t to_ms, std::size_t limit) {
  using Targets = std::vector<store::HistoryTarget>;
  if (loop_.is_in_loop_thread()) return {};
  return wait_for_answer<Targets>([&](auto set) { targets_async(channels, selves, from_ms, to_ms, limit, set); }, {});
}

}  // namespace sockit::cluster
