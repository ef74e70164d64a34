// IRCv3 draft/chathistory: what the server keeps (ServerImpl::record: PRIVMSG and NOTICE to
// channels and nicks, with their msgid) and the CHATHISTORY command that replays it
// (LATEST/BEFORE/AFTER/AROUND/BETWEEN/TARGETS), from the history store set by Server::set_history.
// The store answers on its reader thread once what was queued before is written; the client's
// input is held meanwhile (start_history, like a password check) and the reply goes out from the
// loop when the store's callback wakes the connection (docs/CHAT-SERVER.md, "History").
#include "commands.hpp"

#include "sockit/irc/names.hpp"
#include "sockit/store/history.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace sockit::irc {

std::string ServerImpl::history_key_channel(std::string_view name) const { return fold(name, cfg_.casemapping); }

namespace {
std::string pair_key(std::string x, std::string y) {
  if (y < x) std::swap(x, y);
  return x + ' ' + y;
}
}  // namespace

std::string ServerImpl::history_key_private(const Client& a, const Client& b) const {
  if (!a.account.empty() && !b.account.empty()) {
    return pair_key('@' + fold(a.account, cfg_.casemapping), '@' + fold(b.account, cfg_.casemapping));
  }
  return pair_key(fold(a.nick, cfg_.casemapping), fold(b.nick, cfg_.casemapping));
}

std::string ServerImpl::history_key_private(const Client& c, std::string_view target) {
  if (const Client* other = find_nick(target)) return history_key_private(c, *other);
  if (const RemoteUser* u = remote_user(target)) {  // a user of another node (a cluster): as a local one
    if (!c.account.empty() && !u->account.empty()) {
      return pair_key('@' + fold(c.account, cfg_.casemapping), '@' + fold(u->account, cfg_.casemapping));
    }
    return pair_key(fold(c.nick, cfg_.casemapping), fold(u->nick, cfg_.casemapping));
  }
  if (!c.account.empty()) return pair_key('@' + fold(c.account, cfg_.casemapping), '@' + fold(target, cfg_.casemapping));
  return pair_key(fold(c.nick, cfg_.casemapping), fold(target, cfg_.casemapping));
}

std::vector<std::string> ServerImpl::history_selves(const Client& c) const {
  std::vector<std::string> out{fold(c.nick, cfg_.casemapping)};
  if (!c.account.empty()) out.push_back('@' + fold(c.account, cfg_.casemapping));
  return out;
}

namespace {
/// nick!user@host of `c`, in a buffer kept from one message to the next (no allocation once it
/// has grown); valid until the next call.
const std::string& sender_mask(const Client& c) {
  static thread_local std::string sender;
  sender.assign(c.nick).append(1, '!').append(c.user).append(1, '@').append(c.host);
  return sender;
}
}  // namespace

void ServerImpl::record_event(const Client& from, const Channel& ch, std::string_view wire) {
  if (history_ == nullptr) return;
  // ":prefix COMMAND params\r\n" -> "COMMAND params"
  for (char lead : {'@', ':'}) {
    if (wire.starts_with(lead)) {
      const std::size_t sp = wire.find(' ');
      if (sp == std::string_view::npos) return;
      wire.remove_prefix(sp + 1);
    }
  }
  while (!wire.empty() && (wire.back() == '\n' || wire.back() == '\r')) wire.remove_suffix(1);
  if (wire.empty()) return;
  const std::string msgid = new_msgid();
  const std::string key = history_key_channel(ch.name);
  store::HistoryRecord r;
  r.msgid = msgid;
  r.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wall_now().time_since_epoch()).count();
  r.key = key;
  r.target = ch.name;
  r.sender = sender_mask(from);
  r.command = wire.substr(0, wire.find(' '));
  r.params = wire;
  history_->append(r);
}

void ServerImpl::record(const Client& from, std::string_view cmd, std::string_view key, std::string_view target,
                        std::string_view text, std::string_view client_tags, const std::string& msgid, SysTime when) {
  if (history_ == nullptr) return;
  // Views of the message's strings: the store copies them into a reused slot.
  const std::string& sender = sender_mask(from);
  store::HistoryRecord r;
  r.msgid = msgid;
  r.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  r.key = key;
  r.target = target;
  r.sender = sender;
  r.command = cmd;
  r.text = text;
  r.tags = client_tags;
  history_->append(r);
}

void ServerImpl::start_history(Client& c, std::function<void(std::function<void()> ready)> submit,
                               std::function<void(Client&)> reply, TimePoint now) {
  auto check = std::make_shared<AuthCheck>();
  check->kind = AuthCheck::Kind::history;
  check->then = std::move(reply);
  if (label_.client == &c) check->label = label_.label;  // dispatch() drops the run: resumed at the reply
  c.check = check;
  // SOCKIT_BENCH_HISTORY_ON_LOOP=1: the loop waits for the result, as before the reader thread
  // (bench/chathistory-stall.py measures both in one run).
  static const bool on_loop = std::getenv("SOCKIT_BENCH_HISTORY_ON_LOOP") != nullptr;
  std::function<void()> wake = c.peer != nullptr && !on_loop ? c.peer->waker() : nullptr;
  if (wake) {
    // The reader holds the check weakly: a client that leaves meanwhile gets nothing (its wake
    // finds no connection).
    submit([weak = std::weak_ptr<AuthCheck>(check), wake = std::move(wake)] {
      if (auto ch = weak.lock()) ch->result.store(1, std::memory_order_release);
      wake();
    });
  } else {  // no way back to the loop (unit tests' peers): wait here
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    submit([&] {
      std::lock_guard lock(mu);
      done = true;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
    check->result.store(1, std::memory_order_release);
  }
  poll_check(c, now);
}

void ServerImpl::finish_history(Client& c, AuthCheck& ch) {
  if (gone(c)) return;
  // Answered after the command's dispatch: its labeled-response run starts again for the reply.
  const bool resume = !ch.label.empty() && label_.client == nullptr;
  if (resume) {
    flush_batch();
    label_.client = &c;
    label_.label = ch.label;
    label_.held.clear();
  }
  ch.then(c);
  if (resume && label_.client == &c) end_label();
}

namespace {

void fail(S& s, Client& c, std::string_view code, std::initializer_list<std::string_view> context,
          std::string_view text) {
  Line l = s.from_server("FAIL");
  l.p("CHATHISTORY").p(code);
  for (std::string_view p : context) l.p(p);
  s.send(c, l.t(text));
}

/// "*", "msgid=...", "timestamp=..." (`star`: whether "*" is allowed here).
std::optional<store::HistorySelector> parse_selector(std::string_view text, bool star) {
  store::HistorySelector sel;
  if (text == "*") {
    if (!star) return std::nullopt;
    return sel;
  }
  if (text.starts_with("msgid=") && text.size() > 6) {
    sel.kind = store::HistorySelector::Kind::msgid;
    sel.msgid = std::string(text.substr(6));
    return sel;
  }
  if (text.starts_with("timestamp=")) {
    auto ms = store::parse_iso8601_ms(text.substr(10));
    if (!ms) return std::nullopt;
    sel.kind = store::HistorySelector::Kind::time;
    sel.time_ms = *ms;
    return sel;
  }
  return std::nullopt;
}

/// A positive decimal limit, capped to the store's query_limit; nullopt when malformed or 0.
std::optional<std::size_t> parse_limit(std::string_view text, std::size_t max) {
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n == 0) return std::nullopt;
  return std::min(n, max);
}

std::string iso_ms(std::int64_t ms) { return iso8601(SysTime(std::chrono::milliseconds(ms))); }

/// Sends `lines` (each a line without tags, CR LF) to `c` in a batch of `type` (when `c` has
/// batch), each line with `tags` ("key=value;..." or "", per line) merged in.
void send_batch(S& s, Client& c, std::string_view type, std::string_view param,
                const std::vector<std::pair<std::string, std::string>>& lines) {
  const bool batch = (c.caps & kCapBatch) != 0;
  std::string out, ref;
  if (batch) {
    ref = "H" + std::to_string(++s.history_batches_);
    Line open = s.from_server("BATCH");
    open.p("+" + ref).p(type);
    if (!param.empty()) open.p(param);
    out += open.str();
  }
  for (const auto& [tags, line] : lines) {
    std::string all = batch ? "batch=" + ref : std::string();
    if (!tags.empty()) {
      if (!all.empty()) all += ';';
      all += tags;
    }
    if (!all.empty()) {
      out += '@';
      out += all;
      out += ' ';
    }
    out += line;
  }
  if (batch) out += s.from_server("BATCH").p("-" + ref).str();
  s.flush_batch();  // held channel lines go out first
  s.put(c, out);
}

/// A stored JOIN is kept in the extended-join form ("JOIN #c account :realname"); a client without
/// extended-join gets "JOIN #c". Rows stored before that hold the plain form and stay as they are.
std::string_view plain_join(std::string_view wire) {
  const std::size_t chan = wire.find(' ');
  if (chan == std::string_view::npos) return wire;
  const std::size_t end = wire.find(' ', chan + 1);
  return end == std::string_view::npos ? wire : wire.substr(0, end);
}

void replay(S& s, Client& c, std::string_view target, const std::vector<store::HistoryMessage>& rows) {
  std::vector<std::pair<std::string, std::string>> lines;
  lines.reserve(rows.size());
  const bool time = (c.caps & kCapServerTime) != 0;
  const bool tags = (c.caps & kCapMessageTags) != 0;
  const bool ext_join = (c.caps & kCapExtendedJoin) != 0;
  for (const store::HistoryMessage& m : rows) {
    std::string t;
    if (time) t = "time=" + iso_ms(m.time_ms);
    if (tags) {
      if (!t.empty()) t += ';';
      t += "msgid=" + m.msgid;
      if (!m.tags.empty()) t += ";" + m.tags;
    }
    if (!m.params.empty()) {  // an event (draft/event-playback): its line as it went out
      std::string_view wire = m.params;
      if (m.command == "JOIN" && !ext_join) wire = plain_join(wire);
      lines.emplace_back(std::move(t), ':' + m.sender + ' ' + std::string(wire) + "\r\n");
    } else {
      lines.emplace_back(std::move(t), Line(m.sender, m.command).p(m.target).t(m.text).str());
    }
  }
  send_batch(s, c, "chathistory", target, lines);
}

void send_targets(S& s, Client& c, const std::vector<std::string>& me, const std::vector<store::HistoryTarget>& found);

void targets(S& s, Client& c, const Message& m, TimePoint now) {
  if (m.params.size() < 4) {
    fail(s, c, "NEED_MORE_PARAMS", {"TARGETS"}, "Insufficient parameters");
    return;
  }
  auto a = parse_selector(m.params[1], false), b = parse_selector(m.params[2], false);
  auto limit = parse_limit(m.params[3], s.history_->options().query_limit);
  using K = store::HistorySelector::Kind;
  if (!a || !b || a->kind != K::time || b->kind != K::time || !limit) {
    fail(s, c, "INVALID_PARAMS", {"TARGETS"}, "Invalid timestamps or limit");
    return;
  }
  std::vector<std::string> channels;
  for (Channel* ch : c.channels) channels.push_back(s.history_key_channel(ch->name));
  std::vector<std::string> me = s.history_selves(c);
  auto found = std::make_shared<std::vector<store::HistoryTarget>>();
  store::History* h = s.history_;
  s.start_history(
      c,
      [h, found, channels = std::move(channels), me, from = a->time_ms, to = b->time_ms,
       limit = *limit](std::function<void()> ready) {
        h->targets_async(channels, me, from, to, limit, [found, ready = std::move(ready)](std::vector<store::HistoryTarget> t) {
          *found = std::move(t);
          ready();
        });
      },
      [&s, found, me](Client& to) { send_targets(s, to, me, *found); }, now);
}

void send_targets(S& s, Client& c, const std::vector<std::string>& me, const std::vector<store::HistoryTarget>& found) {
  std::vector<std::pair<std::string, std::string>> lines;
  // Accounts' conversations are shown under the nick of a client logged in to the other account.
  std::unordered_map<std::string, std::string> nick_of;
  if (std::any_of(found.begin(), found.end(), [](const store::HistoryTarget& t) { return t.key.starts_with('@'); })) {
    for (const auto& [id, other] : s.clients_) {
      if (!other->account.empty() && !s.gone(*other)) nick_of.emplace(fold(other->account, s.cfg_.casemapping), other->nick);
    }
  }
  for (const store::HistoryTarget& t : found) {
    std::string name = t.key;
    if (std::size_t sp = name.find(' '); sp != std::string::npos) {  // a conversation: the other side
      std::string first = name.substr(0, sp), second = name.substr(sp + 1);
      name = std::find(me.begin(), me.end(), first) != me.end() ? second : first;
      if (name.starts_with('@')) {  // an account: a nick logged in to it, else its name
        name.erase(0, 1);
        if (auto it = nick_of.find(name); it != nick_of.end()) name = it->second;
      } else if (Client* other = s.find_nick(name)) {
        name = other->nick;
      }
    } else if (Channel* ch = s.find_channel(name)) {
      name = ch->name;
    }
    lines.emplace_back(std::string(), s.from_server("CHATHISTORY").p("TARGETS").p(name).p("timestamp=" + iso_ms(t.time_ms)).str());
  }
  send_batch(s, c, "draft/chathistory-targets", {}, lines);
}

void cmd_chathistory(S& s, Client& c, Message& m, TimePoint now) {
  if (s.history_ == nullptr) {
    s.send(c, s.rpl(c, ERR_UNKNOWNCOMMAND).p("CHATHISTORY").t("Unknown command"));
    return;
  }
  const std::string sub = ascii_upper(m.params[0]);
  using Q = store::HistoryQuery;
  Q kind;
  if (sub == "TARGETS") {
    targets(s, c, m, now);
    return;
  } else if (sub == "LATEST") {
    kind = Q::latest;
  } else if (sub == "BEFORE") {
    kind = Q::before;
  } else if (sub == "AFTER") {
    kind = Q::after;
  } else if (sub == "AROUND") {
    kind = Q::around;
  } else if (sub == "BETWEEN") {
    kind = Q::between;
  } else {
    fail(s, c, "UNKNOWN_COMMAND", {m.params[0]}, "Unknown subcommand");
    return;
  }
  const bool between = kind == Q::between;
  if (m.params.size() < (between ? 5u : 4u)) {
    fail(s, c, "NEED_MORE_PARAMS", {sub}, "Insufficient parameters");
    return;
  }
  const std::string& target = m.params[1];
  auto a = parse_selector(m.params[2], kind == Q::latest);
  std::optional<store::HistorySelector> b = store::HistorySelector{};
  if (between) b = parse_selector(m.params[3], false);
  auto limit = parse_limit(m.params[between ? 4 : 3], s.history_->options().query_limit);
  if (!a || !b || !limit) {
    fail(s, c, "INVALID_PARAMS", {sub}, "Invalid selector or limit");
    return;
  }
  // Only channels the client is in, and its own private messages.
  std::string key;
  std::string shown = target;
  if (is_channel_name(target)) {
    Channel* ch = s.find_channel(target);
    if (ch == nullptr || ch->find(c.id) == nullptr) {
      fail(s, c, "INVALID_TARGET", {sub, target}, "Messages could not be retrieved");
      return;
    }
    key = s.history_key_channel(ch->name);
    shown = ch->name;
  } else if (!target.empty() && target.find_first_of(" ,*?!@") == std::string::npos) {
    key = s.history_key_private(c, std::string_view(target));
  } else {
    fail(s, c, "INVALID_TARGET", {sub, target}, "Messages could not be retrieved");
    return;
  }
  auto rows = std::make_shared<std::optional<std::vector<store::HistoryMessage>>>();
  store::History* h = s.history_;
  s.start_history(
      c,
      [h, rows, key = std::move(key), kind, a = std::move(*a), b = std::move(*b), limit = *limit,
       events = (c.caps & kCapEventPlayback) != 0](std::function<void()> ready) {
        h->query_async(key, kind, a, b, limit, events,
                       [rows, ready = std::move(ready)](std::optional<std::vector<store::HistoryMessage>> r) {
                         *rows = std::move(r);
                         ready();
                       });
      },
      [&s, rows, shown = std::move(shown)](Client& to) {
        replay(s, to, shown, *rows ? **rows : std::vector<store::HistoryMessage>{});
      },
      now);
}

constexpr CommandSpec kCommands[] = {
    {"CHATHISTORY", cmd_chathistory, State::registered, 1, 5,
     "<subcommand> <target> <selector> [<selector>] <limit>",
     "Replays stored messages (IRCv3 draft/chathistory): LATEST, BEFORE, AFTER, AROUND, BETWEEN, TARGETS."},
};

}  // namespace

std::span<const CommandSpec> chathistory_commands() { return kCommands; }

}  // namespace sockit::irc
