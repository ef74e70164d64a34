// The replay (issue #20; docs/CLUSTER.md, "Failures": lines published while a node's subscription
// was down). Pub/sub keeps nothing, so every channel or private line a node publishes is also
// appended to one bounded stream, sockit:replay (XADD MAXLEN ~ kReplayMax), in the same script as
// its PUBLISH; the payload published leads with the entry's id, so each node knows the id of the
// newest line it had without an extra call. When its subscription is back, the node reads the
// entries after that id (newest kReplayMax at most, one script) and delivers them, in order, before
// the live events that came meanwhile (held until then); the msgid check (SeenLines) drops what it
// had already. When the stream no longer holds the line it had last (trimmed), the channels' local
// members are told that lines may be missing.
#include "irc_link_impl.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <deque>

namespace sockit::cluster {
namespace {

/// The stream every line goes into, and its bound (entries; `MAXLEN ~`: Redis trims by whole nodes).
constexpr char kReplayStream[] = "sockit:replay";
constexpr std::size_t kReplayMax = 10000;
constexpr char kReplayMaxText[] = "10000";
/// Live events kept while a replay read is in flight; past it they are delivered without waiting.
constexpr std::size_t kHeldMax = 100000;

// KEYS: the stream, the event channel. ARGV: the payload, the bound. One round trip for both.
constexpr const char* kPublishLine = R"lua(
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[1])
return id
)lua";

// KEYS: the stream. ARGV: the last id this node had ("": none yet), the most entries to return.
// Returns {the stream's last id ("" : no stream), entries ever trimmed (entries-added - length),
// the first id still held ("": none), the entries after ARGV[1], newest first, at most ARGV[2] + 1}.
constexpr const char* kReadMissed = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return {'', 0, '', {}} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local f = {}
for i = 1, #info, 2 do f[info[i]] = info[i + 1] end
local first = ''
if f['first-entry'] then first = f['first-entry'][1] end
local trimmed = f['entries-added'] - f['length']
if ARGV[1] == '' then return {f['last-generated-id'], trimmed, first, {}} end
return {f['last-generated-id'], trimmed, first,
        redis.call('XREVRANGE', KEYS[1], '+', '(' .. ARGV[1], 'COUNT', tonumber(ARGV[2]) + 1)}
)lua";

/// A stream id "<ms>-<seq>" as a pair to compare ({0, 0}: not one).
std::pair<std::uint64_t, std::uint64_t> stream_id(std::string_view id) {
  std::pair<std::uint64_t, std::uint64_t> out{0, 0};
  const std::size_t dash = id.find('-');
  if (dash == std::string_view::npos) return {0, 0};
  auto [p1, e1] = std::from_chars(id.data(), id.data() + dash, out.first);
  auto [p2, e2] = std::from_chars(id.data() + dash + 1, id.data() + id.size(), out.second);
  if (e1 != std::errc() || e2 != std::errc() || p1 != id.data() + dash || p2 != id.data() + id.size()) return {0, 0};
  return out;
}

/// Lowercase hex SHA1 of `text`: the name Redis gives a script (EVALSHA), computed here so the
/// first EVALSHA goes right behind its SCRIPT LOAD without waiting for the answer.
std::string sha1_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  std::string out(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) std::snprintf(&out[2 * i], 3, "%02x", md[i]);
  return out;
}

}  // namespace

// The publish script runs by EVALSHA (docs/CLUSTER.md, "Failures": EVAL cost Redis the script's
// transfer and its SHA1 on every line). Its body carries this process's instance and a generation
// number in a comment, so no other process ever loads it: it is loaded (SCRIPT LOAD) on each new
// command connection before the first line goes on it, and Redis runs one connection's commands in
// order, so only a SCRIPT FLUSH can make an EVALSHA fail. Then every EVALSHA of that body after
// the flush fails (nobody loads it again), so the lines that failed are exactly the ones from the
// first NOSCRIPT on: they are sent again at that first answer, in their order, by EVAL under the
// next generation's body (loaded again for the lines after). No line of this node is published
// between them, so receivers get its lines in order (SeenLines would drop one that came late).
struct IrcLink::Impl::ReplayScripts {
  Script read{kReadMissed};
  std::uint64_t generation = 0;
  std::string body, sha;
  std::uint64_t loaded_on = 0;  ///< the command connection (RedisStats::connects) it was loaded on
  bool eval_only = false;       ///< SCRIPT LOAD refused (ACL): EVAL every line
  struct Flight {
    std::uint64_t seq = 0;  ///< the reply awaited for it (a line sent again gets a new one)
    std::string payload;
  };
  std::deque<Flight> flights;  ///< lines sent whose answer is not back, in order
  std::uint64_t next_seq = 1;
  void next_generation(const std::string& instance) {
    body = std::string(kPublishLine) + "-- sockit " + instance + " " + std::to_string(++generation) + "\n";
    sha = sha1_hex(body);
  }
};

namespace {
bool noscript(const RedisReply& r) { return r.type == RedisReply::Type::error && r.str.starts_with("NOSCRIPT"); }
}  // namespace

IrcLink::Impl::ReplayScripts& IrcLink::Impl::replay_scripts() {
  if (!replay_scripts_) replay_scripts_ = std::make_shared<ReplayScripts>();
  if (replay_scripts_->body.empty()) replay_scripts_->next_generation(node_.instance());
  return *replay_scripts_;
}

void IrcLink::Impl::publish_line(std::string payload) {
  RedisClient& redis = node_.redis();
  if (!replay_on_) {
    redis.command({"PUBLISH", kEventChannel, std::move(payload)});
    return;
  }
  ReplayScripts& s = replay_scripts();
  if (redis.ready() && s.loaded_on != redis.stats().connects) {
    // A new connection: the lines awaited on the old one were answered `disconnected` (the outbox
    // sends them again); the script goes first on this one.
    s.flights.clear();
    load_publish_script();
  }
  s.flights.push_back({s.next_seq++, std::move(payload)});
  send_line(s.flights.back().seq, s.flights.back().payload, s.eval_only);
}

void IrcLink::Impl::load_publish_script() {
  ReplayScripts& s = *replay_scripts_;
  s.loaded_on = node_.redis().stats().connects;
  node_.redis().command({"SCRIPT", "LOAD", s.body}, [this, alive = alive_](const RedisReply& r) {
    if (!*alive || r.type != RedisReply::Type::error || replay_scripts_->eval_only) return;
    replay_scripts_->eval_only = true;  // the lines after get NOSCRIPT, sent again by EVAL (in order)
    if (on_note_) on_note_("SCRIPT LOAD of the replay publish script refused (" + r.str + "): every line goes by EVAL");
  });
}

void IrcLink::Impl::send_line(std::uint64_t seq, const std::string& payload, bool eval) {
  ReplayScripts& s = *replay_scripts_;
  node_.redis().command({eval ? "EVAL" : "EVALSHA", eval ? s.body : s.sha, "2", kReplayStream, kEventChannel, payload,
                         kReplayMaxText},
                        [this, alive = alive_, seq](const RedisReply& r) {
                          if (*alive) line_answered(seq, r);
                        });
}

void IrcLink::Impl::line_answered(std::uint64_t seq, const RedisReply& r) {
  ReplayScripts& s = *replay_scripts_;
  // Answers come in order; one for a line sent again since (or of an older connection) is stale.
  if (s.flights.empty() || s.flights.front().seq != seq) return;
  if (!noscript(r)) {
    s.flights.pop_front();
    return;
  }
  // Redis lost the script (SCRIPT FLUSH): this line and every one after it failed or will; all
  // go again now, in order, by EVAL, ahead of any new line.
  s.next_generation(node_.instance());
  ++stats_.script_reloads;
  if (on_note_) {
    on_note_("the replay publish script was gone from Redis (SCRIPT FLUSH?): " + std::to_string(s.flights.size()) +
             " line(s) sent again in order; non-line events published meanwhile may have gone before them");
  }
  if (node_.redis().ready() && !s.eval_only) load_publish_script();
  for (ReplayScripts::Flight& f : s.flights) {
    f.seq = s.next_seq++;
    send_line(f.seq, f.payload, true);
  }
}

void IrcLink::Impl::note_stream_id(std::string_view id) {
  if (last_id_.empty() || stream_id(id) > stream_id(last_id_)) last_id_ = std::string(id);
}

bool IrcLink::Impl::hold(std::string_view payload) {
  if (!replaying_) return false;
  if (held_.size() >= kHeldMax) return false;  // a read that long in coming: live events go on
  held_.emplace_back(payload);
  return true;
}

void IrcLink::Impl::start_replay() {
  if (!replay_on_) return;
  if (!node_.ready()) {  // the command connection is reconnecting too: the read waits for it
    replaying_ = true;
    node_.loop().run_after(std::chrono::milliseconds(100), [this, alive = alive_] {
      if (*alive && replaying_) start_replay();
    });
    return;
  }
  replaying_ = true;
  replay_scripts();
  // The first subscription reads where the stream ends ("": nothing to deliver); later ones from
  // the newest line this node had.
  replay_scripts_->read.run(node_.redis(), {kReplayStream}, {subscribed_once_ ? last_id_ : std::string(), std::to_string(kReplayMax)},
                            [this, alive = alive_](const RedisReply& r) {
                              if (*alive) replayed(r);
                            });
}

void IrcLink::Impl::replayed(const RedisReply& r) {
  const bool first = !subscribed_once_;
  std::size_t delivered = 0, read = 0;
  bool missing = false;
  if (r.type == RedisReply::Type::array && r.elements.size() == 4) {
    subscribed_once_ = true;
    const std::string& stream_last = r.elements[0].str;
    const std::string& first_held = r.elements[2].str;
    if (first || last_id_.empty()) {
      // Started now (or no line had yet): the lines from here on are this node's. No stream yet:
      // every entry that comes is after this point.
      if (last_id_.empty()) last_id_ = stream_last.empty() ? "0-0" : stream_last;
    } else {
      const auto& entries = r.elements[3].elements;  // newest first
      read = std::min(entries.size(), kReplayMax);
      // The line had last is gone from the stream (trimmed, not a Redis restarted empty): lines
      // after it may have gone too; more than kReplayMax missed: the oldest are not read.
      missing = entries.size() > kReplayMax ||
                (r.elements[1].integer > 0 && !first_held.empty() && stream_id(first_held) > stream_id(last_id_));
      const std::uint64_t before = stats_.stream_replayed;
      for (std::size_t i = read; i-- > 0;) {
        const RedisReply& entry = entries[i];  // [id, [field, value]]
        if (entry.elements.size() != 2 || entry.elements[1].elements.size() != 2) continue;
        receive(entry.elements[0].str + " " + entry.elements[1].elements[1].str, true);
      }
      delivered = stats_.stream_replayed - before;
    }
  }
  replaying_ = false;
  std::vector<std::string> held = std::move(held_);
  held_.clear();
  for (const std::string& p : held) receive(p, false);
  if (first || !on_replayed_) return;
  IrcLink::Replay report;
  report.read = read;
  report.delivered = delivered;
  report.held = held.size();
  report.missing = missing;
  report.failed = r.type != RedisReply::Type::array;
  if (report.failed) report.why = r.str.empty() ? std::string("no answer") : r.str;
  on_replayed_(report);
}

void IrcLink::set_on_replayed(std::function<void(const Replay&)> fn) { impl_->on_replayed_ = std::move(fn); }
void IrcLink::set_on_note(std::function<void(const std::string&)> fn) { impl_->on_note_ = std::move(fn); }

}  // namespace sockit::cluster
