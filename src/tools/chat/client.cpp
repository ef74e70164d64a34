// The sans-I/O IRC client core of sockit chat.
#include "tools/chat/client.hpp"

#include "tools/chat/text.hpp"

#include <sockit/irc/message.hpp>
#include <sockit/irc/names.hpp>
#include <sockit/store/history.hpp>  // parse_iso8601_ms (inline: nothing of the store is linked)

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <utility>

#include <openssl/evp.h>

namespace sockit::chat {
namespace {

constexpr std::size_t kMaxNickAttempts = 10;
constexpr std::size_t kMaxDeferred = 1000;  // input lines kept while not registered
constexpr std::string_view kStatus = "status";
constexpr int kHistoryOnJoin = 50;  // CHATHISTORY LATEST <window> * 50 after a JOIN or /query
// The capabilities history on join needs (requested together when the server offers the first).
constexpr std::string_view kHistoryCaps[] = {"draft/chathistory", "batch", "server-time", "message-tags"};

// The numeric replies the client reads (RFC 2812, modern IRC docs' names).
namespace numeric {
constexpr int RPL_WELCOME = 1;
constexpr int RPL_ISUPPORT = 5;
constexpr int RPL_WHOISCERTFP = 276;
constexpr int RPL_AWAY = 301;
constexpr int RPL_UNAWAY = 305;
constexpr int RPL_NOWAWAY = 306;
constexpr int RPL_WHOISUSER = 311;
constexpr int RPL_WHOISSERVER = 312;
constexpr int RPL_WHOISOPERATOR = 313;
constexpr int RPL_WHOISIDLE = 317;
constexpr int RPL_ENDOFWHOIS = 318;
constexpr int RPL_WHOISCHANNELS = 319;
constexpr int RPL_WHOISSPECIAL = 320;
constexpr int RPL_LISTSTART = 321;
constexpr int RPL_LIST = 322;
constexpr int RPL_LISTEND = 323;
constexpr int RPL_CHANNELMODEIS = 324;
constexpr int RPL_CREATIONTIME = 329;
constexpr int RPL_WHOISACCOUNT = 330;
constexpr int RPL_NOTOPIC = 331;
constexpr int RPL_TOPIC = 332;
constexpr int RPL_TOPICWHOTIME = 333;
constexpr int RPL_WHOISACTUALLY = 338;
constexpr int RPL_NAMREPLY = 353;
constexpr int RPL_ENDOFNAMES = 366;
constexpr int RPL_WHOISHOST = 378;
constexpr int RPL_WHOISMODES = 379;
constexpr int ERR_UNKNOWNCOMMAND = 421;
constexpr int ERR_NOMOTD = 422;
constexpr int ERR_ERRONEUSNICKNAME = 432;
constexpr int ERR_NICKNAMEINUSE = 433;
constexpr int ERR_UNAVAILRESOURCE = 437;
constexpr int RPL_WHOISSECURE = 671;
constexpr int RPL_LOGGEDIN = 900;
constexpr int RPL_SASLSUCCESS = 903;
constexpr int ERR_SASLFAIL = 904;
constexpr int ERR_SASLTOOLONG = 905;
constexpr int ERR_SASLABORTED = 906;
constexpr int ERR_SASLALREADY = 907;
constexpr int RPL_SASLMECHS = 908;
constexpr int kFirstError = 400;  // 400-599: errors
constexpr int kPastErrors = 600;
}  // namespace numeric

std::string_view nick_of(std::string_view prefix) {
  const auto bang = prefix.find_first_of("!@");
  return bang == std::string_view::npos ? prefix : prefix.substr(0, bang);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits off the first space-separated word; `rest` gets the remainder without leading spaces.
std::string_view first_word(std::string_view s, std::string_view* rest) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  const auto sp = s.find(' ');
  std::string_view word = s.substr(0, sp);
  std::string_view r = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
  while (!r.empty() && r.front() == ' ') r.remove_prefix(1);
  if (rest) *rest = r;
  return word;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return std::string(s);
}

bool nick_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("[]\\`_^{|}-").find(c) != std::string_view::npos;
}

// "a b :c" style rendering of a numeric's arguments after our nick: "x y: last".
// Replies read as a sentence ("1 channels formed"), errors as "subject: reason".
std::string numeric_text(const std::vector<std::string>& params, bool is_error = false) {
  if (params.size() <= 1) return {};
  std::string out;
  for (std::size_t i = 1; i + 1 < params.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += params[i];
  }
  if (!out.empty()) out += is_error ? ": " : " ";
  out += params.back();
  return out;
}

const std::string& param(const irc::Message& m, std::size_t i) {
  static const std::string empty;
  return i < m.params.size() ? m.params[i] : empty;
}

// " (reason)" from parameter i (PART, QUIT, KICK), or nothing when there is none.
std::string reason_at(const irc::Message& m, std::size_t i) {
  return i < m.params.size() ? fmt::format(" ({})", m.params[i]) : std::string();
}

// The parameters from `first` on, joined by spaces (a MODE change, RPL_CHANNELMODEIS's modes).
std::string join_params(const irc::Message& m, std::size_t first) {
  std::string out;
  for (std::size_t i = first; i < m.params.size(); ++i) out += (i > first ? " " : "") + m.params[i];
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Backoff, targets

std::chrono::milliseconds Backoff::next() {
  const unsigned shift = std::min(attempt_, 20U);
  auto d = base_ * (1LL << shift);
  if (d > cap_ || d < base_) d = cap_;
  ++attempt_;
  std::uniform_int_distribution<long long> dist(d.count() / 2, d.count());
  return std::chrono::milliseconds(dist(rng_));
}

std::optional<Target> parse_target(std::string_view text) {
  Target t;
  if (text.size() >= 6 && lower(text.substr(0, 6)) == "irc://") {
    text.remove_prefix(6);
  } else if (text.size() >= 7 && lower(text.substr(0, 7)) == "ircs://") {
    text.remove_prefix(7);
    t.tls = true;
    t.port = kTlsPort;
  } else if (text.find("://") != std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view path;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    path = text.substr(slash + 1);
    text = text.substr(0, slash);
  }
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    t.host = std::string(text.substr(1, close - 1));
    std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    t.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (port.empty()) return std::nullopt;
  } else {
    t.host = std::string(text);
  }
  if (t.host.empty()) return std::nullopt;
  if (!port.empty()) {
    unsigned long v = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned long>(c - '0');
      if (v > 65535) return std::nullopt;
    }
    if (v == 0) return std::nullopt;
    t.port = static_cast<std::uint16_t>(v);
    t.port_given = true;
  }
  while (!path.empty()) {
    const auto comma = path.find(',');
    std::string_view chan = path.substr(0, comma);
    path = comma == std::string_view::npos ? std::string_view{} : path.substr(comma + 1);
    if (chan.empty()) continue;
    std::string c(chan);
    if (c.front() != '#' && c.front() != '&') c.insert(c.begin(), '#');
    t.channels.push_back(std::move(c));
  }
  return t;
}

std::string render(const Line& l) {
  switch (l.kind) {
    case LineKind::message: return fmt::format("<{}> {}", l.nick, l.text);
    case LineKind::action: return fmt::format("* {} {}", l.nick, l.text);
    case LineKind::notice: return fmt::format("-{}- {}", l.nick, l.text);
    default: return l.text;
  }
}

// ---------------------------------------------------------------------------------------------
// Client: plumbing

Client::Client(Config config) : config_(std::move(config)) {
  if (config_.user.empty()) config_.user = config_.nick;
  if (config_.realname.empty()) config_.realname = "sockit chat";
  nick_ = config_.nick;
  buffers_.push_back(Buffer{std::string(kStatus), BufferType::status, {}, {}, {}, {}, false, false, false});
}

void Client::send(std::string_view command, std::vector<std::string> params) {
  irc::Message m;
  m.command = std::string(command);
  m.params = std::move(params);
  out_.push_back(irc::serialize(m));
}

void Client::send_raw(std::string_view line) {
  std::string l(line);
  l += "\r\n";
  out_.push_back(std::move(l));
}

std::vector<std::string> Client::take_output() { return std::exchange(out_, {}); }
std::vector<Event> Client::take_events() { return std::exchange(events_, {}); }
std::optional<std::string> Client::take_disconnect_request() { return std::exchange(disconnect_request_, std::nullopt); }

bool Client::is_me(std::string_view nick) const { return irc::equal_folded(nick, nick_); }

bool Client::is_channel(std::string_view name) const {
  return !name.empty() && chantypes_.find(name.front()) != std::string::npos;
}

bool Client::mentions_me(std::string_view text) const {
  if (nick_.empty()) return false;
  const std::string t = irc::fold(text);
  const std::string n = irc::fold(nick_);
  for (std::size_t pos = t.find(n); pos != std::string::npos; pos = t.find(n, pos + 1)) {
    const bool left_ok = pos == 0 || !nick_char(t[pos - 1]);
    const bool right_ok = pos + n.size() >= t.size() || !nick_char(t[pos + n.size()]);
    if (left_ok && right_ok) return true;
  }
  return false;
}

Buffer* Client::find(std::string_view name) {
  for (auto& b : buffers_) {
    if (irc::equal_folded(b.name, name)) return &b;
  }
  return nullptr;
}

Buffer& Client::buffer(std::string_view name, BufferType type_if_new, bool* created) {
  if (Buffer* b = find(name)) {
    if (created) *created = false;
    return *b;
  }
  if (created) *created = true;
  Buffer b;
  b.name = std::string(name);
  b.type = type_if_new;
  buffers_.push_back(std::move(b));
  return buffers_.back();
}

void Client::add(std::string_view name, LineKind kind, std::string text, std::string nick, bool own) {
  Buffer& b = name == kStatus ? buffers_.front()
                              : buffer(name, is_channel(name) ? BufferType::channel : BufferType::query);
  const bool said = kind == LineKind::message || kind == LineKind::action || kind == LineKind::notice;
  Line l;
  l.time = said && msg_time_ ? *msg_time_ : WallClock::now();
  l.kind = kind;
  l.nick = std::move(nick);
  l.text = std::move(text);
  l.own = own;
  if (said) {
    l.msgid = msg_msgid_;
    l.history = msg_history_;
  }
  l.highlight = !own && !l.history && said && (b.type == BufferType::query || mentions_me(l.text));
  if (!l.history && std::find(history_wait_.begin(), history_wait_.end(), irc::fold(b.name)) != history_wait_.end()) {
    held_.emplace_back(b.name, std::move(l));  // after the window's history (history_done)
    return;
  }
  if (l.history && !l.msgid.empty() &&
      std::any_of(b.lines.begin(), b.lines.end(), [&](const Line& x) { return x.msgid == l.msgid; })) {
    return;  // in the scrollback already (a rejoin)
  }
  if (l.history && std::exchange(history_lines_, history_lines_ + 1) == 0) {
    Line sep;
    sep.time = WallClock::now();
    sep.text = "-- history --";
    sep.history = true;
    push_line(b, std::move(sep));
  }
  push_line(b, std::move(l));
}

void Client::push_line(Buffer& b, Line l) {
  // The same message twice (live, then in the history; or replayed again on a rejoin): once.
  if (!l.msgid.empty() &&
      std::any_of(b.lines.begin(), b.lines.end(), [&](const Line& x) { return x.msgid == l.msgid; })) {
    return;
  }
  const LineKind kind = l.kind;
  const bool is_current = &b == &buffers_[current_];
  if (!is_current && kind != LineKind::info) {
    b.activity = true;
    if (l.highlight) b.highlighted = true;
  }
  b.lines.push_back(l);
  while (b.lines.size() > config_.scrollback) b.lines.pop_front();
  events_.push_back(Event{b.name, std::move(l)});
}

void Client::reply(LineKind kind, std::string text) { add(buffers_[current_].name, kind, std::move(text)); }

void Client::remove_nick(Buffer& b, std::string_view nick) {
  std::erase_if(b.nicks, [&](const std::string& n) { return irc::equal_folded(n, nick); });
}

bool Client::has_nick(const Buffer& b, std::string_view nick) const {
  return std::any_of(b.nicks.begin(), b.nicks.end(), [&](const std::string& n) { return irc::equal_folded(n, nick); });
}

void Client::add_nick(Buffer& b, std::string_view nick) {
  remove_nick(b, nick);
  b.nicks.emplace_back(nick);
}

bool Client::select(std::size_t index) {
  if (index >= buffers_.size()) return false;
  current_ = index;
  buffers_[index].activity = false;
  buffers_[index].highlighted = false;
  return true;
}

std::vector<std::string> Client::completions() const {
  const Buffer& b = buffers_[current_];
  std::vector<std::string> out = b.nicks;
  if (b.type == BufferType::query) out.push_back(b.name);
  for (const auto& other : buffers_) {
    if (other.type == BufferType::channel) out.push_back(other.name);
  }
  std::erase_if(out, [&](const std::string& n) { return is_me(n); });
  return out;
}

std::vector<std::pair<std::string, std::string>> Client::channels_to_join() const {
  std::vector<std::pair<std::string, std::string>> out;
  const auto push = [&](std::string chan, std::string key) {
    for (const auto& [c, k] : out) {
      if (irc::equal_folded(c, chan)) return;
    }
    out.emplace_back(std::move(chan), std::move(key));
  };
  if (first_registration_) {
    for (const auto& spec : config_.autojoin) {
      std::string_view rest;
      std::string chan(first_word(spec, &rest));
      if (!chan.empty()) push(std::move(chan), std::string(rest));
    }
  }
  for (const auto& [c, k] : rejoin_) push(c, k);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Transport events

void Client::connected(SteadyClock::time_point now, bool tls_handshake) {
  state_ = State::registering;
  tls_handshaking_ = tls_handshake;
  nick_attempt_ = 0;
  nick_len_ = 30;
  nick_ = config_.nick;
  lag_.reset();
  lag_sent_.reset();
  last_lag_ping_ = now;
  if (!config_.password.empty()) send("PASS", {config_.password});
  // Registration waits for CAP END: after the LS (nothing wanted), the REQs' answers, or SASL's
  // 903/904. A server without CAP answers 421 and registers us anyway.
  cap_open_ = true;
  cap_ls_.clear();
  caps_.clear();
  cap_reqs_ = 0;
  sasl_running_ = false;
  send("CAP", {"LS", "302"});
  send("NICK", {nick_});
  send("USER", {config_.user, "0", "*", config_.realname});
  status(LineKind::info, tls_handshake ? std::string("Connected, TLS handshake...")
                                       : fmt::format("Connected, registering as {}", nick_));
}

void Client::tls_established(std::string_view version) {
  if (!std::exchange(tls_handshaking_, false) || state_ != State::registering) return;
  status(LineKind::info, fmt::format("TLS handshake done ({}), registering as {}", version, nick_));
}

void Client::disconnected(std::string_view reason) {
  tls_handshaking_ = false;
  if (state_ == State::disconnected) return;
  const bool was_registered = state_ == State::registered || state_ == State::quitting;
  if (was_registered) {
    rejoin_.clear();
    for (auto& b : buffers_) {
      if (b.type == BufferType::channel && b.joined) rejoin_.emplace_back(b.name, b.key);
    }
  }
  for (auto& b : buffers_) {
    if (b.type != BufferType::channel) continue;
    b.joined = false;
    b.nicks.clear();
  }
  names_.clear();
  history_batches_.clear();
  history_done("");  // held lines are shown; no batch will come on this connection
  cap_open_ = false;
  lag_.reset();
  lag_sent_.reset();
  const bool quitting = state_ == State::quitting;
  state_ = State::disconnected;
  if (quitting) {  // the end the user asked for: one line, not an error
    if (!std::exchange(quit_noted_, false)) status(LineKind::info, "* Left the server");
    return;
  }
  status(LineKind::error, fmt::format("Disconnected: {}", reason.empty() ? "connection closed" : reason));
}

void Client::tick(SteadyClock::time_point now) {
  if (state_ != State::registered) return;
  if (lag_sent_) {
    if (now - *lag_sent_ > config_.ping_timeout && !disconnect_request_) {
      disconnect_request_ = fmt::format(
          "ping timeout ({} s without an answer)",
          std::chrono::duration_cast<std::chrono::seconds>(now - *lag_sent_).count());
    }
    return;
  }
  if (now - last_lag_ping_ >= config_.lag_interval) {
    lag_token_ = fmt::format("LAG{}", std::chrono::duration_cast<std::chrono::milliseconds>(
                                          now.time_since_epoch()).count());
    send("PING", {lag_token_});
    lag_sent_ = now;
    last_lag_ping_ = now;
  }
}

void Client::receive_line(std::string_view line, SteadyClock::time_point now) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  auto parsed = irc::parse(line);
  if (!parsed) {
    if (parsed.error != irc::ParseError::empty) {
      error(fmt::format("ignored a malformed line from the server ({})", irc::to_string(parsed.error)));
    }
    return;
  }
  irc::Message m = std::move(*parsed.message);
  for (auto& p : m.params) p = recode_incoming(p);
  m.prefix = recode_incoming(m.prefix);
  msg_time_.reset();
  msg_msgid_.clear();
  msg_history_ = false;
  for (const irc::Tag& t : m.tags) {
    if (t.key == "time") {
      if (auto ms = store::parse_iso8601_ms(t.value)) msg_time_ = WallClock::time_point(std::chrono::milliseconds(*ms));
    } else if (t.key == "msgid") {
      msg_msgid_ = t.value;
    } else if (t.key == "batch") {
      msg_history_ = std::any_of(history_batches_.begin(), history_batches_.end(),
                                 [&](const auto& b) { return b.first == t.value; });
    }
  }
  on_message(m, now);
  msg_time_.reset();
  msg_msgid_.clear();
  msg_history_ = false;
}

// ---------------------------------------------------------------------------------------------
// Incoming messages

std::string Client::next_nick() {
  ++nick_attempt_;
  const std::string& base = config_.nick;
  const std::size_t n = std::min<std::size_t>(nick_attempt_, 4);
  std::string suffix(n, '_');
  if (nick_attempt_ > 4) suffix = fmt::format("{}", nick_attempt_);
  std::size_t keep = base.size();
  if (keep + suffix.size() > nick_len_) keep = nick_len_ > suffix.size() ? nick_len_ - suffix.size() : 1;
  return base.substr(0, keep) + suffix;
}

void Client::registered(const Msg& m, SteadyClock::time_point now) {
  state_ = State::registered;
  if (!m.params.empty()) nick_ = m.params[0];
  server_name_ = m.prefix;
  status(LineKind::info, numeric_text(m.params));
  const bool first = first_registration_;
  quiet_joins_.clear();
  for (const auto& entry : channels_to_join()) {
    const auto& chan = entry.first;  // not a structured binding: clang 14 cannot capture those
    const bool rejoin = std::any_of(rejoin_.begin(), rejoin_.end(),
                                    [&](const auto& r) { return irc::equal_folded(r.first, chan); });
    join_channel(chan, entry.second, rejoin && !first);
  }
  first_registration_ = false;
  rejoin_.clear();
  cap_open_ = false;  // a server without CAP (421) registers us at once
  // The first lag measurement right away, so the status line shows it early.
  lag_token_ = fmt::format("LAG{}", std::chrono::duration_cast<std::chrono::milliseconds>(
                                        now.time_since_epoch()).count());
  send("PING", {lag_token_});
  lag_sent_ = now;
  last_lag_ping_ = now;
  for (const auto& line : std::exchange(deferred_, {})) input(line, now);
}

void Client::join_channel(std::string_view channel, std::string_view key, bool quiet) {
  if (key.empty()) send("JOIN", {std::string(channel)});
  else send("JOIN", {std::string(channel), std::string(key)});
  if (quiet) quiet_joins_.push_back(irc::fold(channel));
  if (!key.empty()) {
    if (Buffer* b = find(channel)) b->key = std::string(key);
    else buffer(channel, BufferType::channel).key = std::string(key);
  }
}

// ---------------------------------------------------------------------------------------------
// Incoming commands: one handler per command, found in a table by its lower-case name.

struct Client::MessageSpec {
  std::string_view command;  // lower case
  void (Client::*handler)(const Msg&, const std::string& from, SteadyClock::time_point now);
};

void Client::on_message(const Msg& m, SteadyClock::time_point now) {
  const std::string cmd = lower(m.command);
  if (cmd.size() == 3 && std::isdigit(static_cast<unsigned char>(cmd[0]))) {
    const int code = std::stoi(cmd);
    if (code == numeric::RPL_WELCOME) registered(m, now);
    else on_numeric(code, m);
    return;
  }
  static constexpr MessageSpec kMessages[] = {
      {"authenticate", &Client::msg_authenticate}, {"batch", &Client::msg_batch}, {"cap", &Client::msg_cap},
      {"error", &Client::msg_error}, {"fail", &Client::msg_fail}, {"invite", &Client::msg_invite},
      {"join", &Client::msg_join},
      {"kick", &Client::msg_kick},   {"mode", &Client::msg_mode},     {"nick", &Client::msg_nick},
      {"notice", &Client::msg_notice}, {"part", &Client::msg_part}, {"ping", &Client::msg_ping},
      {"pong", &Client::msg_pong},   {"privmsg", &Client::msg_privmsg}, {"quit", &Client::msg_quit},
      {"topic", &Client::msg_topic},
  };
  static_assert(std::is_sorted(std::begin(kMessages), std::end(kMessages),
                               [](const MessageSpec& a, const MessageSpec& b) { return a.command < b.command; }));
  const auto it = std::lower_bound(std::begin(kMessages), std::end(kMessages), cmd,
                                   [](const MessageSpec& s, std::string_view c) { return s.command < c; });
  if (it == std::end(kMessages) || it->command != cmd) {
    std::string text = m.command;
    for (const auto& p : m.params) text += " " + p;
    status(LineKind::info, std::move(text));
    return;
  }
  (this->*it->handler)(m, std::string(nick_of(m.prefix)), now);
}

void Client::msg_ping(const Msg& m, const std::string&, SteadyClock::time_point) { send("PONG", {param(m, 0)}); }

// ---- CAP (ircv3.net capability negotiation, 302): LS (several lines with "*"), then one REQ for
// the history capabilities when draft/chathistory is offered, one for sasl with --sasl-user.
// SASL PLAIN (sasl-3.1): ACK -> AUTHENTICATE PLAIN -> "+" -> base64(user NUL user NUL password)
// in 400-byte chunks -> 900/903 (or 904...) -> CAP END.
void Client::msg_cap(const Msg& m, const std::string&, SteadyClock::time_point) {
  const std::string sub = lower(param(m, 1));
  if (!cap_open_) return;
  if (sub == "ls") {
    const bool more = m.params.size() > 3 && param(m, 2) == "*";
    cap_ls_ += " " + param(m, more ? 3 : 2) + " ";
    if (!more) cap_ls_done();
    return;
  }
  if (sub != "ack" && sub != "nak") return;
  --cap_reqs_;
  std::string_view rest = param(m, 2);
  std::vector<std::string> named;
  while (!rest.empty()) {
    std::string_view next;
    std::string word(first_word(rest, &next));
    if (!word.empty()) named.push_back(lower(word));
    rest = next;
  }
  const bool sasl = std::find(named.begin(), named.end(), "sasl") != named.end();
  if (sub == "ack") {
    caps_.insert(caps_.end(), named.begin(), named.end());
    if (sasl) {
      sasl_running_ = true;
      send("AUTHENTICATE", {"PLAIN"});
      return;
    }
  } else if (sasl) {
    error("SASL: the server does not offer it; registering without an account");
  }
  end_cap();
}

void Client::cap_ls_done() {
  const auto offered = [&](std::string_view cap) {
    const std::string ls = lower(cap_ls_);
    const std::string key = " " + std::string(cap);
    for (std::size_t at = ls.find(key); at != std::string::npos; at = ls.find(key, at + 1)) {
      const char after = at + key.size() < ls.size() ? ls[at + key.size()] : ' ';
      if (after == ' ' || after == '=') return true;  // "sasl" or "sasl=PLAIN,EXTERNAL"
    }
    return false;
  };
  if (offered(kHistoryCaps[0])) {
    std::string req;
    for (std::string_view cap : kHistoryCaps) {
      if (!offered(cap)) continue;
      if (!req.empty()) req += ' ';
      req += cap;
    }
    send("CAP", {"REQ", req});
    ++cap_reqs_;
  }
  if (!config_.sasl_user.empty()) {
    if (offered("sasl")) {
      send("CAP", {"REQ", "sasl"});
      ++cap_reqs_;
    } else {
      error("SASL: the server does not offer it; registering without an account");
    }
  }
  end_cap();
}

bool Client::has_cap(std::string_view cap) const { return std::find(caps_.begin(), caps_.end(), cap) != caps_.end(); }

// ---- history on join: BATCH +ref chathistory <target> ... BATCH -ref, or FAIL CHATHISTORY ----
void Client::request_history(std::string_view target) {
  if (state_ != State::registered || !has_cap("draft/chathistory") || !has_cap("batch")) return;
  const std::string folded = irc::fold(target);
  if (std::find(history_wait_.begin(), history_wait_.end(), folded) != history_wait_.end()) return;
  history_wait_.push_back(folded);
  send("CHATHISTORY", {"LATEST", std::string(target), "*", std::to_string(kHistoryOnJoin)});
}

void Client::msg_batch(const Msg& m, const std::string&, SteadyClock::time_point) {
  const std::string& ref = param(m, 0);
  if (ref.size() < 2) return;
  if (ref[0] == '+') {
    if (lower(param(m, 1)) == "chathistory") {
      history_batches_.emplace_back(ref.substr(1), irc::fold(param(m, 2)));
      history_lines_ = 0;
    }
    return;
  }
  const auto it = std::find_if(history_batches_.begin(), history_batches_.end(),
                               [&](const auto& b) { return b.first == std::string_view(ref).substr(1); });
  if (ref[0] != '-' || it == history_batches_.end()) return;
  const std::string target = it->second;
  history_batches_.erase(it);
  if (std::exchange(history_lines_, 0) > 0) {
    if (Buffer* b = find(target)) {
      Line end;
      end.time = WallClock::now();
      end.text = "-- end of history --";
      end.history = true;
      push_line(*b, std::move(end));
    }
  }
  history_done(target);
}

void Client::msg_fail(const Msg& m, const std::string&, SteadyClock::time_point) {
  std::string text = "FAIL";
  for (const auto& p : m.params) text += " " + p;
  reply(LineKind::error, std::move(text));
  if (lower(param(m, 0)) == "chathistory") history_done("");  // no batch will come
}

void Client::history_done(std::string_view target) {
  const std::string folded = irc::fold(target);
  std::erase_if(history_wait_, [&](const std::string& w) { return target.empty() || w == folded; });
  auto held = std::exchange(held_, {});
  for (auto& [name, line] : held) {
    if (!target.empty() && irc::fold(name) != folded) {
      held_.emplace_back(std::move(name), std::move(line));
      continue;
    }
    if (Buffer* b = find(name)) push_line(*b, std::move(line));
  }
}

void Client::msg_authenticate(const Msg& m, const std::string&, SteadyClock::time_point) {
  if (!sasl_running_ || param(m, 0) != "+") return;
  const std::string in = config_.sasl_user + '\0' + config_.sasl_user + '\0' + config_.sasl_pass;
  std::string b64(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  b64.resize(static_cast<std::size_t>(std::max(n, 0)));
  constexpr std::size_t kChunk = 400;
  for (std::size_t at = 0; at < b64.size(); at += kChunk) send_raw("AUTHENTICATE " + b64.substr(at, kChunk));
  if (b64.size() % kChunk == 0) send_raw("AUTHENTICATE +");  // an empty last chunk ends it
}

void Client::num_sasl(int code, const Msg& m) {
  using namespace numeric;
  const std::string text = numeric_text(m.params, false);
  if (code == RPL_LOGGEDIN) {
    status(LineKind::info, fmt::format("Logged in as {}", param(m, 2)));
    return;
  }
  if (code == RPL_SASLMECHS) return;  // 904 follows
  if (code != RPL_SASLSUCCESS) error("SASL login failed: " + text);
  sasl_running_ = false;
  end_cap();
}

void Client::end_cap() {
  if (!cap_open_ || cap_reqs_ > 0 || sasl_running_ || state_ != State::registering) return;
  cap_open_ = false;
  send("CAP", {"END"});
}

void Client::msg_pong(const Msg& m, const std::string&, SteadyClock::time_point now) {
  if (lag_sent_ && !m.params.empty() && m.params.back() == lag_token_) {
    lag_ = std::chrono::duration_cast<std::chrono::milliseconds>(now - *lag_sent_);
    lag_sent_.reset();
  }
}

void Client::msg_error(const Msg& m, const std::string&, SteadyClock::time_point) {
  // The ERROR that answers our QUIT ("Closing Link: ...") is the expected end, not a failure.
  if (state_ == State::quitting) {
    quit_noted_ = true;
    status(LineKind::info, param(m, 0).empty() ? std::string("* Left the server")
                                               : fmt::format("* Left the server ({})", param(m, 0)));
  } else {
    status(LineKind::error, fmt::format("Server error: {}", param(m, 0)));
  }
}

void Client::msg_privmsg(const Msg& m, const std::string&, SteadyClock::time_point) { on_privmsg(m, false); }
void Client::msg_notice(const Msg& m, const std::string&, SteadyClock::time_point) { on_privmsg(m, true); }

void Client::msg_nick(const Msg& m, const std::string& from, SteadyClock::time_point) {
  const std::string& to = param(m, 0);
  if (to.empty()) return;
  if (is_me(from)) {
    nick_ = to;
    config_.nick = to;
    status(LineKind::event, fmt::format("* You are now known as {}", to));
  }
  for (auto& b : buffers_) {
    if (b.type == BufferType::channel && has_nick(b, from)) {
      remove_nick(b, from);
      add_nick(b, to);
      add(b.name, LineKind::event, fmt::format("* {} is now known as {}", from, to));
    }
  }
  if (Buffer* q = find(from); q && q->type == BufferType::query && !find(to)) {
    q->name = to;
    add(to, LineKind::event, fmt::format("* {} is now known as {}", from, to));
  }
}

void Client::msg_join(const Msg& m, const std::string& from, SteadyClock::time_point) {
  const std::string& chan = param(m, 0);
  if (chan.empty()) return;
  Buffer& b = buffer(chan, BufferType::channel);
  if (is_me(from)) {
    b.joined = true;
    b.nicks.clear();
    b.name = chan;  // the server's spelling
    const auto q = std::find(quiet_joins_.begin(), quiet_joins_.end(), irc::fold(chan));
    const bool quiet = q != quiet_joins_.end();
    if (quiet) quiet_joins_.erase(q);
    if (!quiet) select(static_cast<std::size_t>(&b - buffers_.data()));
  }
  add_nick(b, from);
  add(chan, LineKind::event, fmt::format("* {} has joined {}", from, chan));
  if (is_me(from)) request_history(chan);
}

void Client::msg_part(const Msg& m, const std::string& from, SteadyClock::time_point) {
  const std::string& chan = param(m, 0);
  Buffer* b = find(chan);
  if (!b) return;
  const std::string reason = reason_at(m, 1);
  left_channel(*b, from, is_me(from) ? fmt::format("* You have left {}{}", chan, reason)
                                     : fmt::format("* {} has left {}{}", from, chan, reason));
}

// `nick` is out of channel `b` (PART, KICK): when it is us the membership ends, else the nick
// leaves the member list; `line` is the event shown in the channel.
void Client::left_channel(Buffer& b, std::string_view nick, std::string line) {
  if (is_me(nick)) {
    b.joined = false;
    b.nicks.clear();
  } else {
    remove_nick(b, nick);
  }
  add(b.name, LineKind::event, std::move(line));
}

void Client::msg_quit(const Msg& m, const std::string& from, SteadyClock::time_point) {
  const std::string reason = reason_at(m, 0);
  for (auto& b : buffers_) {
    if ((b.type == BufferType::channel && has_nick(b, from)) ||
        (b.type == BufferType::query && irc::equal_folded(b.name, from))) {
      remove_nick(b, from);
      add(b.name, LineKind::event, fmt::format("* {} has quit{}", from, reason));
    }
  }
}

void Client::msg_kick(const Msg& m, const std::string& from, SteadyClock::time_point) {
  const std::string& chan = param(m, 0);
  const std::string& victim = param(m, 1);
  Buffer* b = find(chan);
  if (!b) return;
  const std::string reason = reason_at(m, 2);
  left_channel(*b, victim, is_me(victim) ? fmt::format("* You were kicked from {} by {}{}", chan, from, reason)
                                         : fmt::format("* {} was kicked from {} by {}{}", victim, chan, from, reason));
}

void Client::msg_topic(const Msg& m, const std::string& from, SteadyClock::time_point) {
  const std::string& chan = param(m, 0);
  Buffer& b = buffer(chan, BufferType::channel);
  b.topic = param(m, 1);
  add(chan, LineKind::event, fmt::format("* {} changed the topic of {} to: {}", from, chan, b.topic));
}

void Client::msg_mode(const Msg& m, const std::string& from, SteadyClock::time_point) {
  const std::string& target = param(m, 0);
  const std::string modes = join_params(m, 1);
  if (is_channel(target) && find(target)) {
    add(target, LineKind::event, fmt::format("* {} sets mode {} on {}", from, modes, target));
  } else {
    status(LineKind::event, fmt::format("* Mode change {} for {}", modes, target));
  }
}

void Client::msg_invite(const Msg& m, const std::string& from, SteadyClock::time_point) {
  status(LineKind::event, fmt::format("* {} invites you to {}", from, param(m, 1)));
}

void Client::on_privmsg(const Msg& m, bool notice) {
  if (m.params.size() < 2) return;
  const std::string from(nick_of(m.prefix));
  const bool from_server = m.prefix.empty() || m.prefix.find('!') == std::string::npos;
  std::string target = m.params[0];
  const std::string& text = m.params[1];
  // STATUSMSG: "@#chan" goes to #chan.
  if (target.size() > 1 && prefix_chars_.find(target[0]) != std::string::npos && is_channel(target.substr(1))) {
    target.erase(0, 1);
  }
  if (text.size() >= 2 && text.front() == '\x01') {
    std::string_view body(text);
    body.remove_prefix(1);
    if (!body.empty() && body.back() == '\x01') body.remove_suffix(1);
    std::string_view args;
    const std::string ctcp_cmd = lower(first_word(body, &args));
    if (ctcp_cmd == "action" && !notice) {
      const std::string where = is_channel(target) ? target : from;
      add(where, LineKind::action, std::string(args), from);
      return;
    }
    on_ctcp(from, target, body, notice);
    return;
  }
  std::string where;
  if (is_channel(target)) where = target;
  else if (notice && (from_server || state_ != State::registered)) where = std::string(kStatus);
  else if (notice) where = find(from) ? from : buffers_[current_].name;
  else if (msg_history_ && is_me(from)) where = target;  // our own side of a replayed conversation
  else where = from;
  add(where, notice ? LineKind::notice : LineKind::message, text, from.empty() ? server_name_ : from);
}

void Client::on_ctcp(std::string_view from, std::string_view target, std::string_view body, bool reply_ctcp) {
  std::string_view args;
  const std::string cmd = lower(first_word(body, &args));
  const std::string upper = [&] {
    std::string u(cmd);
    for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return u;
  }();
  if (reply_ctcp) {
    reply(LineKind::info, fmt::format("CTCP {} reply from {}: {}", upper, from, args));
    return;
  }
  const std::string where = is_channel(target) ? std::string(target) : std::string(kStatus);
  add(where, LineKind::info, fmt::format("CTCP {} request from {}", upper, from));
  // At most one reply per second: a CTCP flood must not get us disconnected for excess flood.
  const auto now = SteadyClock::now();
  if (now - last_ctcp_reply_ < std::chrono::seconds(1)) return;
  std::string answer;
  if (cmd == "version") answer = "VERSION " + config_.version;
  else if (cmd == "ping") answer = fmt::format("PING {}", args);
  else if (cmd == "time") {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    answer = fmt::format("TIME {:%a %b %d %H:%M:%S %Y}", tm);
  } else if (cmd == "clientinfo") answer = "CLIENTINFO ACTION CLIENTINFO PING TIME VERSION";
  else return;
  last_ctcp_reply_ = now;
  send("NOTICE", {std::string(from), "\x01" + answer + "\x01"});
}

// ---------------------------------------------------------------------------------------------
// Numeric replies, dispatched by a table of codes to one handler per family (registration,
// whois, list, channel, names); codes not in the table are shown as text (errors in red).

struct Client::NumericSpec {
  int code;
  void (Client::*handler)(int code, const Msg& m);
};

void Client::on_numeric(int code, const Msg& m) {
  using namespace numeric;
  if (code == ERR_UNKNOWNCOMMAND && lower(param(m, 1)) == "cap") {  // a server without IRCv3 CAP
    cap_open_ = false;
    return;
  }
  if (code == ERR_UNKNOWNCOMMAND && lower(param(m, 1)) == "chathistory") history_done("");
  static constexpr NumericSpec kNumerics[] = {
      {RPL_ISUPPORT, &Client::num_isupport},     {RPL_WHOISCERTFP, &Client::num_whois},
      {RPL_AWAY, &Client::num_away},             {RPL_UNAWAY, &Client::num_away},
      {RPL_NOWAWAY, &Client::num_away},          {RPL_WHOISUSER, &Client::num_whois},
      {RPL_WHOISSERVER, &Client::num_whois},     {RPL_WHOISOPERATOR, &Client::num_whois},
      {RPL_WHOISIDLE, &Client::num_whois},       {RPL_ENDOFWHOIS, &Client::num_whois},
      {RPL_WHOISCHANNELS, &Client::num_whois},   {RPL_WHOISSPECIAL, &Client::num_whois},
      {RPL_LISTSTART, &Client::num_list},        {RPL_LIST, &Client::num_list},
      {RPL_LISTEND, &Client::num_list},          {RPL_CHANNELMODEIS, &Client::num_channel},
      {RPL_CREATIONTIME, &Client::num_channel},  {RPL_WHOISACCOUNT, &Client::num_whois},
      {RPL_NOTOPIC, &Client::num_channel},       {RPL_TOPIC, &Client::num_channel},
      {RPL_TOPICWHOTIME, &Client::num_channel},  {RPL_WHOISACTUALLY, &Client::num_whois},
      {RPL_NAMREPLY, &Client::num_names},        {RPL_ENDOFNAMES, &Client::num_names},
      {RPL_WHOISHOST, &Client::num_whois},       {RPL_WHOISMODES, &Client::num_whois},
      {ERR_NOMOTD, &Client::num_nomotd},         {ERR_ERRONEUSNICKNAME, &Client::num_nick_refused},
      {ERR_NICKNAMEINUSE, &Client::num_nick_refused}, {ERR_UNAVAILRESOURCE, &Client::num_nick_refused},
      {RPL_WHOISSECURE, &Client::num_whois},
      {RPL_LOGGEDIN, &Client::num_sasl},         {RPL_SASLSUCCESS, &Client::num_sasl},
      {ERR_SASLFAIL, &Client::num_sasl},         {ERR_SASLTOOLONG, &Client::num_sasl},
      {ERR_SASLABORTED, &Client::num_sasl},      {ERR_SASLALREADY, &Client::num_sasl},
      {RPL_SASLMECHS, &Client::num_sasl},
  };
  static_assert(std::is_sorted(std::begin(kNumerics), std::end(kNumerics),
                               [](const NumericSpec& a, const NumericSpec& b) { return a.code < b.code; }));
  const auto it = std::lower_bound(std::begin(kNumerics), std::end(kNumerics), code,
                                   [](const NumericSpec& s, int c) { return s.code < c; });
  if (it != std::end(kNumerics) && it->code == code) {
    (this->*it->handler)(code, m);
    return;
  }
  // Codes 400 and up read "subject: reason"; 400-599 are errors, shown in the current window.
  const std::string text = numeric_text(m.params, code >= numeric::kFirstError);
  if (code >= numeric::kFirstError && code < numeric::kPastErrors) reply(LineKind::error, text);
  else status(LineKind::info, text);
}

// The window a reply about `name` goes to: its own when open, else the current one.
const std::string& Client::window_for(const std::string& name) {
  return find(name) ? name : buffers_[current_].name;
}

void Client::num_isupport(int, const Msg& m) {
  for (std::size_t i = 1; i + 1 < m.params.size(); ++i) {
    std::string_view tok = m.params[i];
    const auto eq = tok.find('=');
    const std::string_view key = tok.substr(0, eq);
    const std::string_view val = eq == std::string_view::npos ? std::string_view{} : tok.substr(eq + 1);
    if (key == "NICKLEN" && !val.empty()) nick_len_ = static_cast<std::size_t>(std::max(1, std::atoi(std::string(val).c_str())));
    else if (key == "CHANTYPES" && !val.empty()) chantypes_ = std::string(val);
    else if (key == "PREFIX") {
      if (const auto close = val.find(')'); close != std::string_view::npos) prefix_chars_ = std::string(val.substr(close + 1));
    }
  }
  status(LineKind::info, numeric_text(m.params));
}

void Client::num_away(int code, const Msg& m) {
  if (code == numeric::RPL_AWAY) {
    add(window_for(param(m, 1)), LineKind::info, fmt::format("{} is away: {}", param(m, 1), param(m, 2)));
    return;
  }
  away_ = code == numeric::RPL_NOWAWAY;
  reply(LineKind::info, param(m, 1));
}

void Client::num_whois(int code, const Msg& m) {
  using namespace numeric;
  const std::string& nick = param(m, 1);
  std::string text;
  switch (code) {
    case RPL_WHOISUSER: text = fmt::format("{} ({}@{}): {}", nick, param(m, 2), param(m, 3), param(m, 5)); break;
    case RPL_WHOISSERVER: text = fmt::format("{} server {} ({})", nick, param(m, 2), param(m, 3)); break;
    case RPL_WHOISIDLE: text = fmt::format("{} idle {} seconds", nick, param(m, 2)); break;
    case RPL_WHOISCHANNELS: text = fmt::format("{} channels: {}", nick, param(m, 2)); break;
    case RPL_ENDOFWHOIS: text = fmt::format("{} End of WHOIS", nick); break;
    default: text = numeric_text(m.params); break;
  }
  reply(LineKind::info, "[whois] " + text);
}

void Client::num_list(int code, const Msg& m) {
  if (code == numeric::RPL_LISTSTART) reply(LineKind::info, "[list] channel users: topic");
  else if (code == numeric::RPL_LISTEND) reply(LineKind::info, "[list] End of LIST");
  else reply(LineKind::info, fmt::format("[list] {} {}: {}", param(m, 1), param(m, 2), param(m, 3)));
}

void Client::num_channel(int code, const Msg& m) {
  using namespace numeric;
  const std::string& chan = param(m, 1);
  switch (code) {
    case RPL_CHANNELMODEIS:
      add(window_for(chan), LineKind::info, fmt::format("* Mode of {} is {}", chan, join_params(m, 2)));
      return;
    case RPL_NOTOPIC: add(window_for(chan), LineKind::info, fmt::format("* No topic is set for {}", chan)); return;
    case RPL_TOPIC:
      if (Buffer* b = find(chan)) b->topic = param(m, 2);
      add(window_for(chan), LineKind::info, fmt::format("* Topic for {}: {}", chan, param(m, 2)));
      return;
    case RPL_TOPICWHOTIME: {
      std::string when = param(m, 3);
      if (!when.empty() && std::all_of(when.begin(), when.end(), ::isdigit)) {
        const std::time_t t = static_cast<std::time_t>(std::stoll(when));
        std::tm tm{};
        localtime_r(&t, &tm);
        when = fmt::format("{:%Y-%m-%d %H:%M}", tm);
      }
      add(window_for(chan), LineKind::info, fmt::format("* Topic set by {} at {}", nick_of(param(m, 2)), when));
      return;
    }
    default: return;  // RPL_CREATIONTIME: not shown
  }
}

void Client::num_names(int code, const Msg& m) {
  if (code == numeric::RPL_NAMREPLY) {  // me = #chan :names
    const std::string& chan = param(m, 2);
    auto it = std::find_if(names_.begin(), names_.end(), [&](auto& p) { return irc::equal_folded(p.first, chan); });
    if (it == names_.end()) it = names_.emplace(names_.end(), chan, std::vector<std::string>{});
    std::string_view list = param(m, 3);
    while (!list.empty()) {
      std::string_view rest;
      std::string_view word = first_word(list, &rest);
      list = rest;
      if (!word.empty()) it->second.emplace_back(word);
    }
    return;
  }
  const std::string& chan = param(m, 1);  // RPL_ENDOFNAMES
  auto it = std::find_if(names_.begin(), names_.end(), [&](auto& p) { return irc::equal_folded(p.first, chan); });
  std::vector<std::string> names;
  if (it != names_.end()) {
    names = std::move(it->second);
    names_.erase(it);
  }
  Buffer* b = find(chan);
  if (b && b->joined) {
    b->nicks.clear();
    for (const auto& n : names) {
      const auto start = n.find_first_not_of(prefix_chars_);
      if (start != std::string::npos) add_nick(*b, n.substr(start));
    }
  }
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : " ") + n;
  add(b ? b->name : buffers_[current_].name, LineKind::info,
      fmt::format("* Names on {} ({}): {}", chan, names.size(), joined));
}

void Client::num_nomotd(int, const Msg& m) {
  // A server without a message of the day is not an error.
  status(LineKind::info, fmt::format("* No message of the day ({})", param(m, 1)));
}

// 432/433/437 while registering: try another nick; once registered, the error as is.
void Client::num_nick_refused(int code, const Msg& m) {
  if (state_ != State::registering) {
    reply(LineKind::error, numeric_text(m.params, true));
    return;
  }
  const std::string& bad = param(m, 1);
  if (code == numeric::ERR_ERRONEUSNICKNAME) {
    // ngircd answers 432 to a nick over its NICKLEN: try a shorter one, unless the nick is
    // invalid whatever its length.
    if (!irc::valid_nick(bad, kMaxNickLen) || bad.size() <= 1) {
      error(fmt::format("Nick {} is not valid: {} (use /nick NEWNICK)", bad, param(m, 2)));
      return;
    }
    nick_len_ = std::min(nick_len_, bad.size() - 1);
  }
  if (nick_attempt_ >= kMaxNickAttempts) {
    error(fmt::format("No usable nick after {} attempts (use /nick NEWNICK)", nick_attempt_));
    return;
  }
  nick_ = next_nick();
  status(LineKind::info, fmt::format("Nick {} is {}, trying {}", bad, code == numeric::ERR_ERRONEUSNICKNAME ? "refused" : "in use", nick_));
  send("NICK", {nick_});
}

// ---------------------------------------------------------------------------------------------
// User input

void Client::quit(std::string_view reason) {
  quit_requested_ = true;
  if (state_ == State::registered || state_ == State::registering) {
    send("QUIT", {reason.empty() ? std::string("Leaving") : std::string(reason)});
    state_ = State::quitting;
  }
}

// One row of the command table (find_command, at the end of this file).
struct Client::CommandSpec {
  std::string_view name;
  std::size_t min_args;    // 1: needs a first word; 2: a first word and more text after it
  std::string_view usage;  // shown as "Usage: <usage>"
  bool immediate;          // runs while not registered (the rest waits for registration)
  void (Client::*handler)(const CommandArgs&);
};

void Client::input(std::string_view raw_line, SteadyClock::time_point now) {
  std::string line = sanitize_utf8(raw_line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) return;
  const bool command = line.front() == '/' && !(line.size() > 1 && line[1] == '/');
  if (command) {
    const CommandSpec* spec = find_command(lower(first_word(std::string_view(line).substr(1), nullptr)));
    if (state_ != State::registered && !(spec && spec->immediate)) {
      defer(line);
      return;
    }
    run_command(line, now);
    return;
  }
  if (state_ != State::registered) {
    defer(line);
    return;
  }
  std::string_view text(line);
  if (text.starts_with("//")) text.remove_prefix(1);
  const Buffer& b = buffers_[current_];
  if (b.type == BufferType::status) {
    error("You are not in a channel or query: use /join #channel, /query NICK or /msg NICK TEXT");
    return;
  }
  say(b.name, text, false);
}

void Client::defer(std::string line) {
  if (deferred_.size() >= kMaxDeferred) {
    error("Not connected, and too many lines are waiting: line dropped");
    return;
  }
  // While registering (a script piping commands in at start) this is the normal case: say
  // nothing. While disconnected, tell the user why nothing happens.
  if (state_ == State::disconnected) status(LineKind::info, "Not connected: the line will be sent once reconnected");
  deferred_.push_back(std::move(line));
}

void Client::send_split(std::string_view command, std::string_view target, std::string_view text, std::string_view ctcp) {
  // The server relays ":nick!user@host PRIVMSG target :text": keep room for the prefix it adds.
  const std::size_t prefix_room = 1 + nick_.size() + 1 + 10 + 1 + 63 + 1;
  std::size_t overhead = command.size() + 1 + target.size() + 2 + prefix_room;
  if (!ctcp.empty()) overhead += ctcp.size() + 3;
  const std::size_t max = overhead + 64 < irc::kMaxBodyBytes ? irc::kMaxBodyBytes - overhead : 64;
  do {
    std::string_view chunk = irc::truncate_utf8(text, max);
    if (chunk.size() < text.size()) {
      const auto sp = chunk.rfind(' ');
      if (sp != std::string_view::npos && sp > max / 2) chunk = chunk.substr(0, sp);
    }
    text.remove_prefix(chunk.size());
    if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    std::string body(chunk);
    if (!ctcp.empty()) body = "\x01" + std::string(ctcp) + " " + body + "\x01";
    send(command, {std::string(target), body});
  } while (!text.empty());
}

void Client::say(std::string_view target, std::string_view text, bool action) {
  if (text.empty()) return;
  send_split("PRIVMSG", target, text, action ? "ACTION" : "");
  const bool channel = is_channel(target);
  if (channel && !find(target)) {
    reply(LineKind::message, fmt::format("-> {}: {}", target, text));
    return;
  }
  add(target, action ? LineKind::action : LineKind::message, std::string(text), nick_, true);
}

void Client::close_current() {
  if (current_ == 0) {
    error("The status window cannot be closed");
    return;
  }
  Buffer& b = buffers_[current_];
  if (b.type == BufferType::channel && b.joined) send("PART", {b.name});
  buffers_.erase(buffers_.begin() + static_cast<std::ptrdiff_t>(current_));
  select(current_ - 1);
}

void Client::help() {
  static const char* const kHelp[] = {
      "Commands:",
      "  /join #chan [key]     join a channel (/j)",
      "  /part [#chan] [why]   leave a channel (/leave)",
      "  /msg NICK|#chan TEXT  send a message; /notice and /ctcp NICK CMD too",
      "  /query NICK [TEXT]    open a private conversation window",
      "  /me TEXT              an action (CTCP ACTION) in the current window",
      "  /nick NEWNICK         change nick",
      "  /topic [#chan] [TEXT] show or set the topic",
      "  /names [#chan]        list the members of a channel",
      "  /list [ARGS]          list channels",
      "  /whois NICK           who is NICK",
      "  /away [TEXT]          set away (no TEXT: back)",
      "  /win N                go to window N (1 = status); /win next|prev, Alt-N",
      "  /close                close the current window (parts a channel); /clear",
      "  /raw LINE             send LINE to the server as is (/quote)",
      "  /quit [MESSAGE]       leave (Ctrl-D on an empty line, Ctrl-C)",
      "  //text                send text starting with a slash",
  };
  for (const char* l : kHelp) reply(LineKind::info, l);
}

// ---------------------------------------------------------------------------------------------
// The command table: name, minimum words, usage, whether it runs before registration, handler.
// A command given fewer words than its minimum gets "Usage: ..." and its handler does not run.

const Client::CommandSpec* Client::find_command(std::string_view name) {
  // Sorted by name (std::lower_bound); aliases are rows of their own.
  static constexpr CommandSpec kCommands[] = {
      {"away", 0, "/away [TEXT]", false, &Client::cmd_away},
      {"clear", 0, "/clear", true, &Client::cmd_clear},
      {"close", 0, "/close", true, &Client::cmd_close},
      {"ctcp", 2, "/ctcp NICK COMMAND [ARGS]", false, &Client::cmd_ctcp},
      {"exit", 0, "/exit [MESSAGE]", true, &Client::cmd_quit},
      {"help", 0, "/help", true, &Client::cmd_help},
      {"j", 1, "/join #channel [key]", false, &Client::cmd_join},
      {"join", 1, "/join #channel [key]", false, &Client::cmd_join},
      {"leave", 0, "/part [#channel] [reason]", false, &Client::cmd_part},
      {"list", 0, "/list [ARGS]", false, &Client::cmd_list},
      {"me", 1, "/me TEXT", false, &Client::cmd_me},
      {"msg", 2, "/msg NICK|#channel TEXT", false, &Client::cmd_msg},
      {"names", 0, "/names #channel", false, &Client::cmd_names},
      {"nick", 1, "/nick NEWNICK", true, &Client::cmd_nick},
      {"notice", 2, "/notice NICK|#channel TEXT", false, &Client::cmd_notice},
      {"part", 0, "/part [#channel] [reason]", false, &Client::cmd_part},
      {"query", 1, "/query NICK [TEXT]", true, &Client::cmd_query},
      {"quit", 0, "/quit [MESSAGE]", true, &Client::cmd_quit},
      {"quote", 1, "/raw IRC-LINE", true, &Client::cmd_raw},
      {"raw", 1, "/raw IRC-LINE", true, &Client::cmd_raw},
      {"topic", 0, "/topic [#channel] [TEXT]", false, &Client::cmd_topic},
      {"wc", 0, "/wc", true, &Client::cmd_close},
      {"whois", 1, "/whois NICK", false, &Client::cmd_whois},
      {"win", 1, "/win N|next|prev|close|list", true, &Client::cmd_win},
      {"window", 1, "/win N|next|prev|close|list", true, &Client::cmd_win},
  };
  static_assert(std::is_sorted(std::begin(kCommands), std::end(kCommands),
                               [](const CommandSpec& a, const CommandSpec& b) { return a.name < b.name; }));
  const auto it = std::lower_bound(std::begin(kCommands), std::end(kCommands), name,
                                   [](const CommandSpec& spec, std::string_view n) { return spec.name < n; });
  return it != std::end(kCommands) && it->name == name ? &*it : nullptr;
}

void Client::run_command(std::string_view line, SteadyClock::time_point now) {
  std::string_view args;
  const std::string name = lower(first_word(line.substr(1), &args));
  const CommandSpec* spec = find_command(name);
  if (spec == nullptr) {
    error(fmt::format("Unknown command /{} (try /help)", name));
    return;
  }
  CommandArgs a{name, trim(args), {}, {}, spec->usage, now};
  std::string_view tail;
  a.arg1 = std::string(first_word(a.rest, &tail));
  a.tail = trim(tail);
  const std::size_t words = a.arg1.empty() ? 0 : a.tail.empty() ? 1 : 2;
  if (words < spec->min_args) {
    usage(a);
    return;
  }
  (this->*spec->handler)(a);
}

void Client::usage(const CommandArgs& a) { error(fmt::format("Usage: {}", a.usage)); }

void Client::cmd_join(const CommandArgs& a) {
  std::string_view list = a.arg1;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string chan(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (chan.empty()) continue;
    if (!is_channel(chan)) chan.insert(chan.begin(), '#');
    if (!irc::valid_channel(chan, kMaxChannelLen)) {
      error(fmt::format("Not a valid channel name: {}", chan));
      continue;
    }
    join_channel(chan, a.tail, false);
  }
}

void Client::cmd_part(const CommandArgs& a) {
  const Buffer& cur = buffers_[current_];
  std::string chan = a.arg1;
  std::string reason = a.tail;
  if (chan.empty() || !is_channel(chan)) {
    if (cur.type != BufferType::channel) return usage(a);
    reason = a.rest;
    chan = cur.name;
  }
  if (reason.empty()) send("PART", {chan});
  else send("PART", {chan, reason});
}

void Client::cmd_msg(const CommandArgs& a) { say(a.arg1 == "*" ? buffers_[current_].name : a.arg1, a.tail, false); }

void Client::cmd_notice(const CommandArgs& a) {
  const std::string target = a.arg1 == "*" ? buffers_[current_].name : a.arg1;
  send_split("NOTICE", target, a.tail);
  add(find(target) ? target : buffers_[current_].name, LineKind::notice, a.tail, "-> " + target, true);
}

void Client::cmd_ctcp(const CommandArgs& a) {
  std::string_view ctcp_args;
  std::string ctcp_cmd(first_word(a.tail, &ctcp_args));
  for (char& c : ctcp_cmd) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string body;
  if (ctcp_cmd == "PING" && ctcp_args.empty()) {
    body = fmt::format("PING {}", std::chrono::duration_cast<std::chrono::milliseconds>(a.now.time_since_epoch()).count());
  } else {
    body = ctcp_cmd + (ctcp_args.empty() ? "" : " " + std::string(ctcp_args));
  }
  send("PRIVMSG", {a.arg1, "\x01" + body + "\x01"});
  reply(LineKind::info, fmt::format("CTCP {} sent to {}", ctcp_cmd, a.arg1));
}

void Client::cmd_query(const CommandArgs& a) {
  if (is_channel(a.arg1) || !irc::valid_nick(a.arg1, kMaxNickLen)) {
    error(fmt::format("Not a valid nick: {}", a.arg1));
    return;
  }
  bool created = false;
  buffer(a.arg1, BufferType::query, &created);
  for (std::size_t i = 0; i < buffers_.size(); ++i) {
    if (irc::equal_folded(buffers_[i].name, a.arg1)) select(i);
  }
  if (created) request_history(a.arg1);
  if (!a.tail.empty()) {
    if (state_ == State::registered) say(a.arg1, a.tail, false);
    else defer(a.tail);
  }
}

void Client::cmd_me(const CommandArgs& a) {
  const Buffer& cur = buffers_[current_];
  if (cur.type == BufferType::status) {
    error("/me needs a channel or query window");
    return;
  }
  say(cur.name, a.rest, true);
}

void Client::cmd_nick(const CommandArgs& a) {
  if (!irc::valid_nick(a.arg1, kMaxNickLen)) {
    error(fmt::format("Not a valid nick: {}", a.arg1));
    return;
  }
  if (state_ == State::disconnected || state_ == State::quitting) {
    config_.nick = a.arg1;
    nick_ = a.arg1;
    status(LineKind::info, fmt::format("Nick {} will be used on the next connection", a.arg1));
    return;
  }
  if (state_ == State::registering) {
    config_.nick = a.arg1;
    nick_ = a.arg1;
    nick_attempt_ = 0;
  }
  send("NICK", {a.arg1});
}

void Client::cmd_topic(const CommandArgs& a) {
  const Buffer& cur = buffers_[current_];
  std::string chan = cur.type == BufferType::channel ? cur.name : std::string();
  std::string text = a.rest;
  if (!a.arg1.empty() && is_channel(a.arg1)) {
    chan = a.arg1;
    text = a.tail;
  }
  if (chan.empty()) return usage(a);
  if (text.empty()) send("TOPIC", {chan});
  else send("TOPIC", {chan, text});
}

void Client::cmd_names(const CommandArgs& a) {
  const Buffer& cur = buffers_[current_];
  const std::string chan = !a.arg1.empty() ? a.arg1 : (cur.type == BufferType::channel ? cur.name : std::string());
  if (chan.empty()) return usage(a);
  send("NAMES", {chan});
}

void Client::cmd_list(const CommandArgs& a) {
  std::vector<std::string> params;
  if (!a.arg1.empty()) params.push_back(a.arg1);
  if (!a.tail.empty()) params.push_back(a.tail);
  send("LIST", std::move(params));
}

void Client::cmd_whois(const CommandArgs& a) { send("WHOIS", {a.arg1}); }

void Client::cmd_away(const CommandArgs& a) {
  if (a.rest.empty()) send("AWAY", {});
  else send("AWAY", {a.rest});
}

void Client::cmd_quit(const CommandArgs& a) { quit(a.rest); }

void Client::cmd_raw(const CommandArgs& a) {
  if (a.rest.size() > irc::kMaxBodyBytes) {
    error(fmt::format("Line too long ({} bytes, the limit is {})", a.rest.size(), irc::kMaxBodyBytes));
    return;
  }
  if (state_ == State::disconnected) {
    error("Not connected");
    return;
  }
  send_raw(a.rest);
}

void Client::cmd_win(const CommandArgs& a) {
  const std::string& w = a.arg1;
  if (w == "next") {
    select((current_ + 1) % buffers_.size());
  } else if (w == "prev") {
    select((current_ + buffers_.size() - 1) % buffers_.size());
  } else if (w == "close") {
    close_current();
  } else if (w == "list") {
    for (std::size_t i = 0; i < buffers_.size(); ++i) {
      reply(LineKind::info, fmt::format("{:>3} {}", i + 1, buffers_[i].name));
    }
  } else {
    const bool numeric = std::all_of(w.begin(), w.end(), ::isdigit) && w.size() < 6;
    if (!numeric) return usage(a);
    const std::size_t n = std::stoul(w);
    if (n == 0 || !select(n - 1)) error(fmt::format("No window {} (there are {})", w, buffers_.size()));
  }
}

void Client::cmd_close(const CommandArgs&) { close_current(); }
void Client::cmd_clear(const CommandArgs&) { buffers_[current_].lines.clear(); }
void Client::cmd_help(const CommandArgs&) { help(); }

}  // namespace sockit::chat
