// IRCv3 draft/chathistory: what the server keeps (ServerImpl::record: PRIVMSG and NOTICE to
// channels and nicks, with their msgid) and the CHATHISTORY command that replays it
// (LATEST/BEFORE/AFTER/AROUND/BETWEEN/TARGETS), from the history store set by Server::set_history.
// The store answers on its writer thread after writing what is queued; the loop waits for at
// most query_limit rows (docs/CHAT-SERVER.md, "History", has the measured cost).
#include "commands.hpp"

#include "sockit/irc/names.hpp"
#include "sockit/store/history.hpp"

#include <charconv>

namespace sockit::irc {

std::string ServerImpl::history_key_channel(std::string_view name) const { return fold(name, cfg_.casemapping); }

std::string ServerImpl::history_key_private(std::string_view a, std::string_view b) const {
  std::string x = fold(a, cfg_.casemapping), y = fold(b, cfg_.casemapping);
  if (y < x) std::swap(x, y);
  return x + ' ' + y;
}

void ServerImpl::record(const Client& from, std::string_view cmd, std::string_view key, std::string_view target,
                        std::string_view text, std::string_view client_tags, const std::string& msgid, SysTime when) {
  if (history_ == nullptr) return;
  // Views of the message's strings: the store copies them into a reused slot. The sender's mask
  // is built in a buffer kept from one message to the next (no allocation once it has grown).
  static thread_local std::string sender;
  sender.assign(from.nick).append(1, '!').append(from.user).append(1, '@').append(from.host);
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

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  return out;
}

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

void replay(S& s, Client& c, std::string_view target, const std::vector<store::HistoryMessage>& rows) {
  std::vector<std::pair<std::string, std::string>> lines;
  lines.reserve(rows.size());
  const bool time = (c.caps & kCapServerTime) != 0;
  const bool tags = (c.caps & kCapMessageTags) != 0;
  for (const store::HistoryMessage& m : rows) {
    std::string t;
    if (time) t = "time=" + iso_ms(m.time_ms);
    if (tags) {
      if (!t.empty()) t += ';';
      t += "msgid=" + m.msgid;
      if (!m.tags.empty()) t += ";" + m.tags;
    }
    lines.emplace_back(std::move(t), Line(m.sender, m.command).p(m.target).t(m.text).str());
  }
  send_batch(s, c, "chathistory", target, lines);
}

void targets(S& s, Client& c, const Message& m) {
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
  const std::string me = fold(c.nick, s.cfg_.casemapping);
  auto found = s.history_->targets(channels, me, a->time_ms, b->time_ms, *limit);
  std::vector<std::pair<std::string, std::string>> lines;
  for (const store::HistoryTarget& t : found) {
    std::string name = t.key;
    if (std::size_t sp = name.find(' '); sp != std::string::npos) {  // a conversation: the other nick
      std::string first = name.substr(0, sp), second = name.substr(sp + 1);
      name = first == me ? second : first;
      if (Client* other = s.find_nick(name)) name = other->nick;
    } else if (Channel* ch = s.find_channel(name)) {
      name = ch->name;
    }
    lines.emplace_back(std::string(), s.from_server("CHATHISTORY").p("TARGETS").p(name).p("timestamp=" + iso_ms(t.time_ms)).str());
  }
  send_batch(s, c, "draft/chathistory-targets", {}, lines);
}

void cmd_chathistory(S& s, Client& c, Message& m, TimePoint) {
  if (s.history_ == nullptr) {
    s.send(c, s.rpl(c, ERR_UNKNOWNCOMMAND).p("CHATHISTORY").t("Unknown command"));
    return;
  }
  const std::string sub = upper(m.params[0]);
  using Q = store::HistoryQuery;
  Q kind;
  if (sub == "TARGETS") {
    targets(s, c, m);
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
    key = s.history_key_private(c.nick, target);
  } else {
    fail(s, c, "INVALID_TARGET", {sub, target}, "Messages could not be retrieved");
    return;
  }
  auto rows = s.history_->query(key, kind, *a, *b, *limit);
  replay(s, c, shown, rows ? *rows : std::vector<store::HistoryMessage>{});
}

constexpr CommandSpec kCommands[] = {
    {"CHATHISTORY", cmd_chathistory, State::registered, 1, 5,
     "<subcommand> <target> <selector> [<selector>] <limit>",
     "Replays stored messages (IRCv3 draft/chathistory): LATEST, BEFORE, AFTER, AROUND, BETWEEN, TARGETS."},
};

}  // namespace

std::span<const CommandSpec> chathistory_commands() { return kCommands; }

}  // namespace sockit::irc
