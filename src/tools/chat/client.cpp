// The sans-I/O IRC client core of sockit chat.
#include "tools/chat/client.hpp"

#include "tools/chat/text.hpp"

#include <sockit/irc/message.hpp>
#include <sockit/irc/names.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace sockit::chat {
namespace {

constexpr std::size_t kMaxNickAttempts = 10;
constexpr std::size_t kMaxDeferred = 1000;  // input lines kept while not registered
constexpr std::string_view kStatus = "status";

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
  if (text.size() >= 6 && lower(text.substr(0, 6)) == "irc://") text.remove_prefix(6);
  else if (text.find("://") != std::string_view::npos) return std::nullopt;
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
  Line l;
  l.time = WallClock::now();
  l.kind = kind;
  l.nick = std::move(nick);
  l.text = std::move(text);
  l.own = own;
  l.highlight = !own && (kind == LineKind::message || kind == LineKind::action || kind == LineKind::notice) &&
                (b.type == BufferType::query || mentions_me(l.text));
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

void Client::connected(SteadyClock::time_point now) {
  state_ = State::registering;
  nick_attempt_ = 0;
  nick_len_ = 30;
  nick_ = config_.nick;
  lag_.reset();
  lag_sent_.reset();
  last_lag_ping_ = now;
  if (!config_.password.empty()) send("PASS", {config_.password});
  send("NICK", {nick_});
  send("USER", {config_.user, "0", "*", config_.realname});
  status(LineKind::info, fmt::format("Connected, registering as {}", nick_));
}

void Client::disconnected(std::string_view reason) {
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
  on_message(m, now);
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

void Client::on_message(const Msg& m, SteadyClock::time_point now) {
  const std::string cmd = lower(m.command);
  const std::string from(nick_of(m.prefix));
  if (cmd.size() == 3 && std::isdigit(static_cast<unsigned char>(cmd[0]))) {
    const int code = std::stoi(cmd);
    if (code == 1) {
      registered(m, now);
      return;
    }
    on_numeric(code, m);
    return;
  }
  if (cmd == "ping") {
    send("PONG", {param(m, 0)});
  } else if (cmd == "pong") {
    if (lag_sent_ && !m.params.empty() && m.params.back() == lag_token_) {
      lag_ = std::chrono::duration_cast<std::chrono::milliseconds>(now - *lag_sent_);
      lag_sent_.reset();
    }
  } else if (cmd == "error") {
    // The ERROR that answers our QUIT ("Closing Link: ...") is the expected end, not a failure.
    if (state_ == State::quitting) {
      quit_noted_ = true;
      status(LineKind::info, param(m, 0).empty() ? std::string("* Left the server")
                                                 : fmt::format("* Left the server ({})", param(m, 0)));
    } else {
      status(LineKind::error, fmt::format("Server error: {}", param(m, 0)));
    }
  } else if (cmd == "privmsg" || cmd == "notice") {
    on_privmsg(m, cmd == "notice");
  } else if (cmd == "nick") {
    const std::string& to = param(m, 0);
    if (to.empty()) return;
    if (is_me(from)) {
      nick_ = to;
      config_.nick = to;
      status(LineKind::event, fmt::format("* You are now known as {}", to));
    }
    for (auto& b : buffers_) {
      if (b.type == BufferType::channel && std::any_of(b.nicks.begin(), b.nicks.end(), [&](auto& n) {
            return irc::equal_folded(n, from);
          })) {
        remove_nick(b, from);
        add_nick(b, to);
        add(b.name, LineKind::event, fmt::format("* {} is now known as {}", from, to));
      }
    }
    if (Buffer* q = find(from); q && q->type == BufferType::query && !find(to)) {
      q->name = to;
      add(to, LineKind::event, fmt::format("* {} is now known as {}", from, to));
    }
  } else if (cmd == "join") {
    const std::string& chan = param(m, 0);
    if (chan.empty()) return;
    bool created = false;
    Buffer& b = buffer(chan, BufferType::channel, &created);
    if (is_me(from)) {
      b.joined = true;
      b.nicks.clear();
      b.name = chan;  // the server's spelling
      const std::string folded = irc::fold(chan);
      const auto q = std::find(quiet_joins_.begin(), quiet_joins_.end(), folded);
      const bool quiet = q != quiet_joins_.end();
      if (quiet) quiet_joins_.erase(q);
      if (!quiet) {
        for (std::size_t i = 0; i < buffers_.size(); ++i) {
          if (&buffers_[i] == &b) select(i);
        }
      }
    }
    add_nick(b, from);
    add(chan, LineKind::event, fmt::format("* {} has joined {}", from, chan));
  } else if (cmd == "part") {
    const std::string& chan = param(m, 0);
    Buffer* b = find(chan);
    if (!b) return;
    const std::string reason = m.params.size() > 1 ? fmt::format(" ({})", m.params[1]) : std::string();
    if (is_me(from)) {
      b->joined = false;
      b->nicks.clear();
      add(chan, LineKind::event, fmt::format("* You have left {}{}", chan, reason));
    } else {
      remove_nick(*b, from);
      add(chan, LineKind::event, fmt::format("* {} has left {}{}", from, chan, reason));
    }
  } else if (cmd == "quit") {
    const std::string reason = m.params.empty() ? std::string() : fmt::format(" ({})", m.params[0]);
    for (auto& b : buffers_) {
      const bool member = std::any_of(b.nicks.begin(), b.nicks.end(), [&](auto& n) { return irc::equal_folded(n, from); });
      if ((b.type == BufferType::channel && member) || (b.type == BufferType::query && irc::equal_folded(b.name, from))) {
        remove_nick(b, from);
        add(b.name, LineKind::event, fmt::format("* {} has quit{}", from, reason));
      }
    }
  } else if (cmd == "kick") {
    const std::string& chan = param(m, 0);
    const std::string& victim = param(m, 1);
    Buffer* b = find(chan);
    if (!b) return;
    const std::string reason = m.params.size() > 2 ? fmt::format(" ({})", m.params[2]) : std::string();
    if (is_me(victim)) {
      b->joined = false;
      b->nicks.clear();
      add(chan, LineKind::event, fmt::format("* You were kicked from {} by {}{}", chan, from, reason));
    } else {
      remove_nick(*b, victim);
      add(chan, LineKind::event, fmt::format("* {} was kicked from {} by {}{}", victim, chan, from, reason));
    }
  } else if (cmd == "topic") {
    const std::string& chan = param(m, 0);
    Buffer& b = buffer(chan, BufferType::channel);
    b.topic = param(m, 1);
    add(chan, LineKind::event, fmt::format("* {} changed the topic of {} to: {}", from, chan, b.topic));
  } else if (cmd == "mode") {
    const std::string& target = param(m, 0);
    std::string modes;
    for (std::size_t i = 1; i < m.params.size(); ++i) modes += (i > 1 ? " " : "") + m.params[i];
    if (is_channel(target) && find(target)) {
      add(target, LineKind::event, fmt::format("* {} sets mode {} on {}", from, modes, target));
    } else {
      status(LineKind::event, fmt::format("* Mode change {} for {}", modes, target));
    }
  } else if (cmd == "invite") {
    status(LineKind::event, fmt::format("* {} invites you to {}", from, param(m, 1)));
  } else {
    std::string text = m.command;
    for (const auto& p : m.params) text += " " + p;
    status(LineKind::info, std::move(text));
  }
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

void Client::on_numeric(int code, const Msg& m) {
  const std::string text = numeric_text(m.params, code >= 400);
  switch (code) {
    case 5: {  // ISUPPORT
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
      status(LineKind::info, text);
      return;
    }
    case 301:  // RPL_AWAY
      add(find(param(m, 1)) ? param(m, 1) : buffers_[current_].name, LineKind::info,
          fmt::format("{} is away: {}", param(m, 1), param(m, 2)));
      return;
    case 305: away_ = false; reply(LineKind::info, param(m, 1)); return;
    case 306: away_ = true; reply(LineKind::info, param(m, 1)); return;
    case 311:
      reply(LineKind::info, fmt::format("[whois] {} ({}@{}): {}", param(m, 1), param(m, 2), param(m, 3), param(m, 5)));
      return;
    case 312: reply(LineKind::info, fmt::format("[whois] {} server {} ({})", param(m, 1), param(m, 2), param(m, 3))); return;
    case 317: reply(LineKind::info, fmt::format("[whois] {} idle {} seconds", param(m, 1), param(m, 2))); return;
    case 319: reply(LineKind::info, fmt::format("[whois] {} channels: {}", param(m, 1), param(m, 2))); return;
    case 313: case 330: case 338: case 671: case 320: case 378: case 379: case 276:
      reply(LineKind::info, "[whois] " + text);
      return;
    case 318: reply(LineKind::info, fmt::format("[whois] {} End of WHOIS", param(m, 1))); return;
    case 321: reply(LineKind::info, "[list] channel users: topic"); return;
    case 322: reply(LineKind::info, fmt::format("[list] {} {}: {}", param(m, 1), param(m, 2), param(m, 3))); return;
    case 323: reply(LineKind::info, "[list] End of LIST"); return;
    case 324: {
      std::string modes;
      for (std::size_t i = 2; i < m.params.size(); ++i) modes += (i > 2 ? " " : "") + m.params[i];
      add(find(param(m, 1)) ? param(m, 1) : buffers_[current_].name, LineKind::info,
          fmt::format("* Mode of {} is {}", param(m, 1), modes));
      return;
    }
    case 329: return;  // channel creation time
    case 422:  // ERR_NOMOTD: a server without a message of the day is not an error
      status(LineKind::info, fmt::format("* No message of the day ({})", param(m, 1)));
      return;
    case 331:
      add(find(param(m, 1)) ? param(m, 1) : buffers_[current_].name, LineKind::info,
          fmt::format("* No topic is set for {}", param(m, 1)));
      return;
    case 332: {
      const std::string& chan = param(m, 1);
      if (Buffer* b = find(chan)) b->topic = param(m, 2);
      add(find(chan) ? chan : buffers_[current_].name, LineKind::info, fmt::format("* Topic for {}: {}", chan, param(m, 2)));
      return;
    }
    case 333: {
      const std::string& chan = param(m, 1);
      std::string when = param(m, 3);
      if (!when.empty() && std::all_of(when.begin(), when.end(), ::isdigit)) {
        const std::time_t t = static_cast<std::time_t>(std::stoll(when));
        std::tm tm{};
        localtime_r(&t, &tm);
        when = fmt::format("{:%Y-%m-%d %H:%M}", tm);
      }
      add(find(chan) ? chan : buffers_[current_].name, LineKind::info,
          fmt::format("* Topic set by {} at {}", nick_of(param(m, 2)), when));
      return;
    }
    case 353: {  // RPL_NAMREPLY: me = #chan :names
      const std::string& chan = param(m, 2);
      auto it = std::find_if(names_.begin(), names_.end(), [&](auto& p) { return irc::equal_folded(p.first, chan); });
      if (it == names_.end()) {
        names_.emplace_back(chan, std::vector<std::string>{});
        it = names_.end() - 1;
      }
      std::string_view list = param(m, 3);
      while (!list.empty()) {
        std::string_view rest;
        std::string_view word = first_word(list, &rest);
        list = rest;
        if (!word.empty()) it->second.emplace_back(word);
      }
      return;
    }
    case 366: {  // RPL_ENDOFNAMES
      const std::string& chan = param(m, 1);
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
      return;
    }
    case 432:  // ERR_ERRONEUSNICKNAME
    case 433:  // ERR_NICKNAMEINUSE
    case 437:  // ERR_UNAVAILRESOURCE
      if (state_ == State::registering) {
        const std::string& bad = param(m, 1);
        if (code == 432) {
          // ngircd answers 432 to a nick over its NICKLEN: try a shorter one, unless the nick is
          // invalid whatever its length.
          if (!irc::valid_nick(bad, 64) || bad.size() <= 1) {
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
        status(LineKind::info, fmt::format("Nick {} is {}, trying {}", bad, code == 432 ? "refused" : "in use", nick_));
        send("NICK", {nick_});
        return;
      }
      reply(LineKind::error, text);
      return;
    default:
      break;
  }
  if (code >= 400 && code < 600) {
    reply(LineKind::error, text);
  } else {
    status(LineKind::info, text);
  }
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

void Client::input(std::string_view raw_line, SteadyClock::time_point now) {
  std::string line = sanitize_utf8(raw_line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) return;
  const bool command = line.front() == '/' && !(line.size() > 1 && line[1] == '/');
  if (command) {
    const std::string name = lower(first_word(std::string_view(line).substr(1), nullptr));
    static const char* const kImmediate[] = {"quit", "exit", "raw", "quote", "nick", "help", "win",
                                             "window", "clear", "close", "wc", "query"};
    const bool immediate = std::any_of(std::begin(kImmediate), std::end(kImmediate), [&](const char* c) { return name == c; });
    if (state_ != State::registered && !immediate) {
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

void Client::run_command(std::string_view line, SteadyClock::time_point now) {
  std::string_view args;
  const std::string name = lower(first_word(line.substr(1), &args));
  const std::string rest = trim(args);
  std::string_view tail;
  const std::string arg1(first_word(rest, &tail));
  const std::string arg_tail = trim(tail);
  const Buffer& cur = buffers_[current_];
  const auto usage = [&](std::string_view u) { error(fmt::format("Usage: {}", u)); };

  if (name == "join" || name == "j") {
    if (arg1.empty()) return usage("/join #channel [key]");
    std::string_view list = arg1;
    while (!list.empty()) {
      const auto comma = list.find(',');
      std::string chan(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      if (chan.empty()) continue;
      if (!is_channel(chan)) chan.insert(chan.begin(), '#');
      if (!irc::valid_channel(chan, 200)) {
        error(fmt::format("Not a valid channel name: {}", chan));
        continue;
      }
      join_channel(chan, arg_tail, false);
    }
  } else if (name == "part" || name == "leave") {
    std::string chan = arg1;
    std::string reason = arg_tail;
    if (chan.empty() || !is_channel(chan)) {
      if (cur.type != BufferType::channel) return usage("/part [#channel] [reason]");
      reason = rest;
      chan = cur.name;
    }
    if (reason.empty()) send("PART", {chan});
    else send("PART", {chan, reason});
  } else if (name == "msg" || name == "notice") {
    if (arg1.empty() || arg_tail.empty()) return usage(fmt::format("/{} NICK|#channel TEXT", name));
    const std::string target = arg1 == "*" ? cur.name : arg1;
    if (name == "msg") {
      say(target, arg_tail, false);
    } else {
      send_split("NOTICE", target, arg_tail);
      add(find(target) ? target : cur.name, LineKind::notice, arg_tail, "-> " + target, true);
    }
  } else if (name == "ctcp") {
    if (arg1.empty() || arg_tail.empty()) return usage("/ctcp NICK COMMAND [ARGS]");
    std::string body = arg_tail;
    std::string_view ctcp_args;
    std::string ctcp_cmd(first_word(body, &ctcp_args));
    for (char& c : ctcp_cmd) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (ctcp_cmd == "PING" && ctcp_args.empty()) {
      body = fmt::format("PING {}", std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
    } else {
      body = ctcp_cmd + (ctcp_args.empty() ? "" : " " + std::string(ctcp_args));
    }
    send("PRIVMSG", {arg1, "\x01" + body + "\x01"});
    reply(LineKind::info, fmt::format("CTCP {} sent to {}", ctcp_cmd, arg1));
  } else if (name == "query") {
    if (arg1.empty()) return usage("/query NICK [TEXT]");
    if (is_channel(arg1) || !irc::valid_nick(arg1, 64)) {
      error(fmt::format("Not a valid nick: {}", arg1));
      return;
    }
    buffer(arg1, BufferType::query);
    for (std::size_t i = 0; i < buffers_.size(); ++i) {
      if (irc::equal_folded(buffers_[i].name, arg1)) select(i);
    }
    if (!arg_tail.empty()) {
      if (state_ == State::registered) say(arg1, arg_tail, false);
      else defer(arg_tail);
    }
  } else if (name == "me") {
    if (rest.empty()) return usage("/me TEXT");
    if (cur.type == BufferType::status) {
      error("/me needs a channel or query window");
      return;
    }
    say(cur.name, rest, true);
  } else if (name == "nick") {
    if (arg1.empty()) return usage("/nick NEWNICK");
    if (!irc::valid_nick(arg1, 64)) {
      error(fmt::format("Not a valid nick: {}", arg1));
      return;
    }
    if (state_ == State::disconnected || state_ == State::quitting) {
      config_.nick = arg1;
      nick_ = arg1;
      status(LineKind::info, fmt::format("Nick {} will be used on the next connection", arg1));
      return;
    }
    if (state_ == State::registering) {
      config_.nick = arg1;
      nick_ = arg1;
      nick_attempt_ = 0;
    }
    send("NICK", {arg1});
  } else if (name == "topic") {
    std::string chan = cur.type == BufferType::channel ? cur.name : std::string();
    std::string text = rest;
    if (!arg1.empty() && is_channel(arg1)) {
      chan = arg1;
      text = arg_tail;
    }
    if (chan.empty()) return usage("/topic [#channel] [TEXT]");
    if (text.empty()) send("TOPIC", {chan});
    else send("TOPIC", {chan, text});
  } else if (name == "names") {
    std::string chan = !arg1.empty() ? arg1 : (cur.type == BufferType::channel ? cur.name : std::string());
    if (chan.empty()) return usage("/names #channel");
    send("NAMES", {chan});
  } else if (name == "list") {
    std::vector<std::string> params;
    if (!arg1.empty()) params.push_back(arg1);
    if (!arg_tail.empty()) params.push_back(arg_tail);
    send("LIST", std::move(params));
  } else if (name == "whois") {
    if (arg1.empty()) return usage("/whois NICK");
    send("WHOIS", {arg1});
  } else if (name == "away") {
    if (rest.empty()) send("AWAY", {});
    else send("AWAY", {rest});
  } else if (name == "quit" || name == "exit") {
    quit(rest);
  } else if (name == "raw" || name == "quote") {
    if (rest.empty()) return usage("/raw IRC-LINE");
    if (rest.size() > irc::kMaxBodyBytes) {
      error(fmt::format("Line too long ({} bytes, the limit is {})", rest.size(), irc::kMaxBodyBytes));
      return;
    }
    if (state_ == State::disconnected) {
      error("Not connected");
      return;
    }
    send_raw(rest);
  } else if (name == "win" || name == "window") {
    if (arg1 == "next") {
      select((current_ + 1) % buffers_.size());
    } else if (arg1 == "prev") {
      select((current_ + buffers_.size() - 1) % buffers_.size());
    } else if (arg1 == "close") {
      close_current();
    } else if (arg1 == "list") {
      for (std::size_t i = 0; i < buffers_.size(); ++i) {
        reply(LineKind::info, fmt::format("{:>3} {}", i + 1, buffers_[i].name));
      }
    } else {
      const bool numeric = !arg1.empty() && std::all_of(arg1.begin(), arg1.end(), ::isdigit) && arg1.size() < 6;
      if (!numeric) return usage("/win N|next|prev|close|list");
      const std::size_t n = std::stoul(arg1);
      if (n == 0 || !select(n - 1)) error(fmt::format("No window {} (there are {})", arg1, buffers_.size()));
    }
  } else if (name == "close" || name == "wc") {
    close_current();
  } else if (name == "clear") {
    buffers_[current_].lines.clear();
  } else if (name == "help") {
    help();
  } else {
    error(fmt::format("Unknown command /{} (try /help)", name));
  }
}

}  // namespace sockit::chat
