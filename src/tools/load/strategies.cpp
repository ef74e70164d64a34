// The load modes, one Strategy each (worker.hpp): pingpong, connect, hold (echoes of one
// message), flood (a window of bytes), udp (datagrams with ids), irc (one channel's deliveries),
// irc-register (a registration storm) and handshake (TLS sessions). make_strategy() picks one,
// once per worker.
#include "irc_mix.hpp"
#include "worker.hpp"
#include "ws_client.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>

namespace sockit::load {

namespace {

constexpr std::uint32_t kMaxConnecting = 256;    // hold: connects in progress per worker
constexpr std::uint32_t kUdpMagic = 0x534b4c44;  // "SKLD"
constexpr std::size_t kUdpHeader = 24;           // magic, socket, id, intended send time
constexpr int kUdpReadsPerEvent = 64;
constexpr std::size_t kIrcMaxLine = 8192;        // a partial line longer than this is a mismatch
constexpr std::int64_t kTickNs = 10 * kNsPerMs;
constexpr std::int64_t kIrcThreadsTickNs = 1 * kNsPerMs;  // senders and witness on other threads

std::string base36(std::uint64_t v) {
  std::string s;
  do {
    s.insert(s.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36]);
    v /= 36;
  } while (v);
  return s;
}

bool readable(const loop::Ready& r) noexcept { return r.readable || r.error || r.hangup; }

}  // namespace

// ---------------------------------------------------------------- Strategy: shared behaviour

Strategy::Strategy(Worker& w) : w_(w), o_(w.o) {}

void Strategy::start(std::int64_t now) {
  for (std::size_t k = 0; k < w_.conns.size(); ++k) open_client(k, now);
}

void Strategy::open_client(std::size_t k, std::int64_t now) { w_.open_tcp(k, now, spread_); }

void Strategy::on_timer(std::size_t k, std::int64_t now) {
  const Conn& c = w_.conns[k];
  if (c.st == Conn::closed) {
    reopen(k, now);
  } else if (c.st == Conn::open && !c.busy && o_.open_loop()) {
    next_or_wait(k, now);
  }
}

void Strategy::reopen(std::size_t k, std::int64_t now) { open_client(k, now); }

void Strategy::on_failed(std::size_t k, FailedConn /*was*/, std::int64_t now) {
  w_.schedule(k, now + Worker::kRetryNs);
}

void Strategy::sweep(std::int64_t now) {
  for (std::size_t k = 0; k < w_.conns.size(); ++k) {
    const Conn& c = w_.conns[k];
    if ((c.st == Conn::connecting || c.st == Conn::handshaking || (c.st == Conn::open && c.busy)) && now > c.deadline)
      w_.fail(k, ErrorKind::timeout, now);
  }
}

bool Strategy::finished(std::int64_t now) const {
  return w_.sh.stop.load(std::memory_order_relaxed) || now >= w_.t_end || w_.quota_done();
}

std::int64_t Strategy::tick_ns() const noexcept { return kTickNs; }

std::int64_t Strategy::first_time(std::size_t k, std::int64_t now) const noexcept {
  return now + w_.interval * static_cast<std::int64_t>(k) / static_cast<std::int64_t>(w_.conns.size());
}

void Strategy::next_or_wait(std::size_t k, std::int64_t now) {
  Conn& c = w_.conns[k];
  if (c.t_next == 0) c.t_next = first_time(k, now);
  if (now < c.t_next) {
    w_.schedule(k, c.t_next);
    return;
  }
  const std::int64_t intended = c.t_next;
  c.t_next += w_.interval;
  begin_unit(k, intended, now);
}

void Strategy::begin_unit(std::size_t /*k*/, std::int64_t /*intended*/, std::int64_t /*now*/) {}

namespace {

// ---------------------------------------------------------------- echo of one message

// A message of --size bytes (a pattern that changes with each message), checked byte by byte as
// its echo comes back. Subclasses say what follows a completed echo.
class Echo : public Strategy {
 public:
  using Strategy::Strategy;
  void on_io(std::size_t k, const loop::Ready& r, std::int64_t now) override {
    if (readable(r)) read_message(k, now);
    const Conn& c = w_.conns[k];
    if (c.st == Conn::open && c.busy && r.writable) write_message(k, now);
  }

 protected:
  virtual void complete(std::size_t k, std::int64_t now) = 0;

  void start_message(std::size_t k, std::int64_t intended, std::int64_t now) {
    Conn& c = w_.conns[k];
    ++c.seq;
    c.tx = c.rx = 0;
    c.busy = true;
    c.t_intended = intended;
    c.t_sent = now;
    c.deadline = now + o_.timeout.count();
    write_message(k, now);
  }

  void write_message(std::size_t k, std::int64_t now) {
    Conn& c = w_.conns[k];
    const char* base = w_.pattern(c.seq);
    while (c.tx < o_.size) {
      const std::size_t n = w_.send_some(k, base + c.tx, o_.size - c.tx, now);
      if (n == 0) return;
      c.tx += n;
    }
    w_.disarm_out(k);
  }

  void read_message(std::size_t k, std::int64_t now) {
    Conn& c = w_.conns[k];
    for (;;) {
      const std::size_t want = c.busy ? std::min<std::size_t>(o_.size - c.rx, w_.scratch_size()) : w_.scratch_size();
      const ssize_t n = w_.recv_some(k, w_.scratch(), want, now);
      if (n < 0) return;
      if (n == 0) {
        w_.fail(k, c.busy ? ErrorKind::short_read : ErrorKind::reset, now);
        return;
      }
      const auto got = static_cast<std::size_t>(n);
      if (!c.busy || std::memcmp(w_.scratch(), w_.pattern(c.seq) + c.rx, got) != 0) {
        w_.fail(k, ErrorKind::mismatch, now);
        return;
      }
      c.rx += got;
      if (c.rx == o_.size) {
        c.busy = false;
        complete(k, now);
        return;
      }
      if (got < want) return;  // drained: back to the loop rather than a recv for EAGAIN
    }
  }
};

class PingPong final : public Echo {
 public:
  using Echo::Echo;
  void on_connected(std::size_t k, std::int64_t now) override {
    if (o_.open_loop()) {
      next_or_wait(k, now);
    } else {
      start_message(k, now, now);
    }
  }

 private:
  void complete(std::size_t k, std::int64_t now) override {
    const Conn& c = w_.conns[k];
    w_.record(now, c.t_intended, c.t_sent, o_.size);
    if (o_.open_loop()) {
      next_or_wait(k, now);
    } else if (now < w_.t_end && !w_.quota_done()) {
      start_message(k, now, now);
    }
  }
  void begin_unit(std::size_t k, std::int64_t intended, std::int64_t now) override {
    start_message(k, intended, now);
  }
};

// Modes whose unit is a whole connection (connect, irc-register): each unit opens a new client,
// timed from its intended start (closed loop: when it opens; open loop: its scheduled time).
template <class Base>
class UnitIsAConnection : public Base {
 public:
  using Base::Base;
  void start(std::int64_t now) override {
    if (!this->o_.open_loop()) return Base::start(now);
    auto& conns = this->w_.conns;
    for (std::size_t k = 0; k < conns.size(); ++k) {
      conns[k].t_next = this->first_time(k, now);
      this->w_.schedule(k, conns[k].t_next);
    }
  }

 protected:
  void open_client(std::size_t k, std::int64_t now) override {
    this->w_.conns[k].t_intended = now;
    Base::open_client(k, now);
  }
  void reopen(std::size_t k, std::int64_t now) override {
    if (this->o_.open_loop()) {
      this->next_or_wait(k, now);
    } else {
      open_client(k, now);
    }
  }
  void begin_unit(std::size_t k, std::int64_t intended, std::int64_t now) override {
    this->w_.conns[k].t_intended = intended;
    Base::open_client(k, now);
  }
};

// Connect, one echo, close: the unit is the connection, timed from the connect.
class ConnectStorm final : public UnitIsAConnection<Echo> {
 public:
  explicit ConnectStorm(Worker& w) : UnitIsAConnection<Echo>(w) { spread_ = true; }
  void on_connected(std::size_t k, std::int64_t now) override {
    Conn& c = w_.conns[k];
    start_message(k, c.t_intended, now);
    c.t_sent = c.t_start;
  }
  std::string_view unit_name() const noexcept override { return "connections"; }

 private:
  void complete(std::size_t k, std::int64_t now) override {
    const Conn& c = w_.conns[k];
    w_.record(now, c.t_intended, c.t_sent, o_.size);
    w_.close_conn(k);
    w_.conns[k].established = false;
    reopen(k, now);
  }
};

// Opens every connection (kMaxConnecting at a time), holds them idle, then checks each with one
// echo. The unit is the connection held; the latency is the connect time.
class Hold final : public Echo {
 public:
  explicit Hold(Worker& w) : Echo(w) { spread_ = true; }
  void start(std::int64_t now) override { open_more(now); }
  void on_connected(std::size_t /*k*/, std::int64_t now) override;
  void on_failed(std::size_t k, FailedConn was, std::int64_t now) override;
  void tick(std::int64_t now) override;
  bool finished(std::int64_t /*now*/) const override {
    return w_.sh.stop.load(std::memory_order_relaxed) || (verify_started_ && verify_outstanding_ == 0);
  }

  bool measures_from_start() const noexcept override { return false; }
  std::int64_t control(Shared& sh, RunResult& res, const RunClock& at) override;
  std::string settling_text(const Shared& sh) const override {
    if (sh.phase.load() != 0) return {};
    return fmt::format("connected {}/{}", sh.settled.load(), o_.connections);
  }
  void finish(RunResult& res) const override { res.stats.units = res.stats.held; }
  bool fixed_interval() const noexcept override { return false; }

 private:
  void complete(std::size_t /*k*/, std::int64_t /*now*/) override {
    ++w_.stats.alive;
    --verify_outstanding_;
  }
  void open_more(std::int64_t now) {
    while (w_.sh.phase.load() == 0 && w_.connecting() < kMaxConnecting && next_open_ < w_.conns.size())
      open_client(next_open_++, now);
  }

  std::size_t next_open_ = 0;
  bool verify_started_ = false;
  std::uint64_t verify_outstanding_ = 0;
  std::int64_t hold_end_ = kNever;  // run level
};

void Hold::on_connected(std::size_t k, std::int64_t now) {
  ++w_.stats.held;
  w_.stats.latency.record(now - w_.conns[k].t_start);
  w_.sh.settled.fetch_add(1);
  w_.tick_at_turn_end();  // open the next one
}

void Hold::on_failed(std::size_t /*k*/, FailedConn was, std::int64_t /*now*/) {
  if (was.was_established) {
    ++w_.stats.dropped;
    if (verify_started_ && was.was_busy) --verify_outstanding_;
  } else {
    ++w_.stats.failed;
    w_.sh.settled.fetch_add(1);
    w_.tick_at_turn_end();
  }
}

void Hold::tick(std::int64_t now) {
  open_more(now);
  if (w_.sh.phase.load() != 2 || verify_started_) return;
  verify_started_ = true;
  for (std::size_t k = 0; k < w_.conns.size(); ++k) {
    if (w_.conns[k].st != Conn::open) continue;
    ++verify_outstanding_;
    start_message(k, now, now);
  }
}

std::int64_t Hold::control(Shared& sh, RunResult& res, const RunClock& at) {
  if (sh.phase.load() == 0 && (sh.settled.load() >= o_.connections || at.now > at.settle_deadline)) {
    if (o_.server_pid)
      if (auto s = sample_server(o_.server_pid)) res.hold_up = *s;
    sh.t_measure.store(at.now);
    hold_end_ = at.now + o_.duration.count();
    sh.phase.store(1);
  } else if (sh.phase.load() == 1 && at.ended) {
    sh.phase.store(2);
  }
  return hold_end_;
}


// ---------------------------------------------------------------- flood

// Keeps --window bytes in flight (writes of --size) and checks the echo as a stream; the unit is
// a --size chunk echoed.
class Flood final : public Strategy {
 public:
  using Strategy::Strategy;
  void on_connected(std::size_t k, std::int64_t now) override { write(k, now); }
  void on_io(std::size_t k, const loop::Ready& r, std::int64_t now) override {
    if (readable(r)) read(k, now);
    if (w_.conns[k].st == Conn::open && r.writable) write(k, now);
  }
  void sweep(std::int64_t now) override {
    Strategy::sweep(now);
    for (std::size_t k = 0; k < w_.conns.size(); ++k) {
      const Conn& c = w_.conns[k];
      if (c.st == Conn::open && c.tx > c.rx && c.deadline && now > c.deadline) w_.fail(k, ErrorKind::timeout, now);
    }
  }

 private:
  void write(std::size_t k, std::int64_t now) {
    Conn& c = w_.conns[k];
    while (c.tx - c.rx < o_.window) {
      const std::size_t chunk = std::min<std::uint64_t>(o_.size, o_.window - (c.tx - c.rx));
      const std::size_t n = w_.send_some(k, w_.stream_pattern(c.tx), chunk, now);
      if (n == 0) return;
      c.tx += n;
      if (w_.in_window(now)) w_.stats.bytes_out += n;
    }
    w_.disarm_out(k);
  }
  void read(std::size_t k, std::int64_t now) {
    Conn& c = w_.conns[k];
    const ssize_t n = w_.recv_some(k, w_.scratch(), Worker::kScratch, now);
    if (n < 0) return;
    if (n == 0) {
      w_.fail(k, ErrorKind::short_read, now);
      return;
    }
    const auto got = static_cast<std::uint64_t>(n);
    if (c.rx + got > c.tx || std::memcmp(w_.scratch(), w_.stream_pattern(c.rx), got) != 0) {
      w_.fail(k, ErrorKind::mismatch, now);
      return;
    }
    const std::uint64_t before = c.rx / o_.size;
    c.rx += got;
    c.deadline = now + o_.timeout.count();
    if (w_.in_window(now)) w_.record_units(c.rx / o_.size - before, got);
    write(k, now);
  }
};

// ---------------------------------------------------------------- udp

struct UdpPending {
  std::uint64_t id;
  std::int64_t intended, sent;
};

// Connected UDP sockets, each with --window datagrams in flight (or sent on the open-loop
// schedule); a datagram unanswered after --timeout is lost, a reply after that is late.
class Udp final : public Strategy {
 public:
  explicit Udp(Worker& w) : Strategy(w), pending_(w.conns.size()) {}
  void start(std::int64_t now) override {
    for (std::size_t k = 0; k < w_.conns.size(); ++k) {
      if (!w_.open_udp(k)) continue;
      if (o_.open_loop()) {
        w_.conns[k].t_next = first_time(k, now);
        w_.schedule(k, w_.conns[k].t_next);
      } else {
        fill(k, now);
      }
    }
  }
  void on_connected(std::size_t /*k*/, std::int64_t /*now*/) override {}
  void on_io(std::size_t k, const loop::Ready& /*r*/, std::int64_t now) override { read(k, now); }
  void on_timer(std::size_t k, std::int64_t now) override {
    Conn& c = w_.conns[k];
    for (; c.t_next <= now; c.t_next += w_.interval) send(k, c.t_next, now);
    w_.schedule(k, c.t_next);
  }
  void on_failed(std::size_t /*k*/, FailedConn /*was*/, std::int64_t /*now*/) override {}
  void sweep(std::int64_t now) override;

 private:
  void fill(std::size_t k, std::int64_t now) {
    if (o_.open_loop() || w_.conns[k].st != Conn::open || now >= w_.t_end) return;
    while (pending_[k].size() < o_.window) {
      const auto before = pending_[k].size();
      send(k, now, now);
      if (pending_[k].size() == before) break;
    }
  }
  void send(std::size_t k, std::int64_t intended, std::int64_t now);
  void read(std::size_t k, std::int64_t now);
  void take_reply(std::size_t k, const char* p, std::int64_t now);

  std::vector<std::deque<UdpPending>> pending_;
};

void Udp::sweep(std::int64_t now) {
  for (std::size_t k = 0; k < pending_.size(); ++k) {
    auto& q = pending_[k];
    bool expired = false;
    while (!q.empty() && q.front().sent + o_.timeout.count() < now) {
      q.pop_front();
      w_.count_error(ErrorKind::timeout);
      expired = true;
    }
    if (expired) fill(k, now);
  }
}

void Udp::send(std::size_t k, std::int64_t intended, std::int64_t now) {
  Conn& c = w_.conns[k];
  const std::uint64_t id = ++c.seq;
  char* p = w_.scratch() + Worker::kScratch / 2;  // the first half is for reading
  const std::uint32_t hdr[2] = {kUdpMagic, c.gid};
  std::memcpy(p, hdr, 8);
  std::memcpy(p + 8, &id, 8);
  std::memcpy(p + 16, &intended, 8);
  std::memcpy(p + kUdpHeader, w_.pattern(id), o_.size - kUdpHeader);
  if (::send(c.fd, p, o_.size, MSG_NOSIGNAL) < 0) {
    w_.count_error(errno == EAGAIN ? ErrorKind::other : classify_errno(errno));
    return;
  }
  pending_[k].push_back({id, intended, now});
  if (w_.in_window(now)) ++w_.stats.sent;
}

void Udp::read(std::size_t k, std::int64_t now) {
  for (int i = 0; i < kUdpReadsPerEvent; ++i) {
    const ssize_t n = ::recv(w_.conns[k].fd, w_.scratch(), Worker::kScratch / 2, 0);
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (errno != EINTR) w_.count_error(classify_errno(errno));  // ECONNREFUSED: ICMP port unreachable
      continue;
    }
    if (static_cast<std::size_t>(n) != o_.size) {
      w_.count_error(n < static_cast<ssize_t>(o_.size) ? ErrorKind::short_read : ErrorKind::mismatch);
      continue;
    }
    take_reply(k, w_.scratch(), now);
  }
  fill(k, now);
}

void Udp::take_reply(std::size_t k, const char* p, std::int64_t now) {
  std::uint32_t hdr[2];
  std::uint64_t id = 0;
  std::memcpy(hdr, p, 8);
  std::memcpy(&id, p + 8, 8);
  if (hdr[0] != kUdpMagic || hdr[1] != w_.conns[k].gid ||
      std::memcmp(p + kUdpHeader, w_.pattern(id), o_.size - kUdpHeader) != 0) {
    w_.count_error(ErrorKind::mismatch);
    return;
  }
  auto& q = pending_[k];
  auto it = std::find_if(q.begin(), q.end(), [id](const UdpPending& u) { return u.id == id; });
  if (it == q.end()) {
    ++w_.stats.late;
    return;
  }
  w_.record(now, it->intended, it->sent, o_.size);
  q.erase(it);
}

// ---------------------------------------------------------------- irc

// An IRC client: line buffering, registration (NICK/USER), PING, nick collisions, ERROR.
// Subclasses say what a welcome (001), an end of NAMES (366) and a PRIVMSG mean.
// --websocket: the client upgrades first (ws_client.hpp), then each line goes out as one masked
// frame and each message that comes in is one line; pings are answered, a close is answered and
// ends the connection, and at the end of the run an open WebSocket says goodbye with close 1000.
class IrcClient : public Strategy {
 public:
  explicit IrcClient(Worker& w)
      : Strategy(w), ws_opcode_(o_.ws_protocol == "binary.ircv3.net" ? wsc::kBinary : wsc::kText) {
    spread_ = true;
    if (!o_.sasl_user.empty()) {  // SASL PLAIN: authzid NUL authcid NUL password, in base64
      const std::string in = o_.sasl_user + '\0' + o_.sasl_user + '\0' + o_.sasl_pass;
      sasl_plain_.resize(4 * ((in.size() + 2) / 3) + 1);
      const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(sasl_plain_.data()),
                                    reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
      sasl_plain_.resize(static_cast<std::size_t>(n));
    }
  }
  void on_connected(std::size_t k, std::int64_t now) override {
    if (o_.websocket) return upgrade(k, now);
    register_nick(k, now);
  }
  void on_io(std::size_t k, const loop::Ready& r, std::int64_t now) override {
    if (readable(r)) read(k, now);
    if (w_.conns[k].st == Conn::open && r.writable) flush(k, now);
  }
  void closing(std::size_t k, std::int64_t now) override;

 protected:
  virtual std::string nick_for(std::size_t k) = 0;
  /// --sasl-user: whether client k logs in (irc: the senders).
  virtual bool logs_in(std::size_t /*k*/) { return false; }
  virtual void on_welcome(std::size_t k, std::int64_t now) = 0;
  virtual void on_names_end(std::size_t /*k*/) {}
  /// A PRIVMSG's text, "SENDER SEQ TIMESTAMP xxx", and the line's length.
  virtual void on_privmsg(std::size_t /*k*/, std::string_view /*text*/, std::size_t /*len*/, std::int64_t /*now*/) {}
  /// Any other line (irc-mix: NICK, JOIN errors), with its command and the whole line.
  virtual void on_reply(std::size_t /*k*/, std::string_view /*cmd*/, std::string_view /*line*/, std::int64_t /*now*/) {}

  /// Sends CRLF-terminated lines (one frame each over a WebSocket).
  void send(std::size_t k, std::string_view text, std::int64_t now) {
    Conn& c = w_.conns[k];
    if (c.st != Conn::open) return;
    if (c.ws == Conn::ws_none) {
      c.out.append(text);
    } else if (c.ws == Conn::ws_open) {
      for (auto nl = text.find("\r\n"); !text.empty(); nl = text.find("\r\n")) {
        wsc::append_frame(c.out, ws_opcode_, text.substr(0, nl), masks_.next());
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 2);
      }
    } else {
      return;  // the upgrade is not done, or the WebSocket is closing
    }
    flush(k, now);
  }

 private:
  void register_nick(std::size_t k, std::int64_t now) {
    Conn& c = w_.conns[k];
    c.nick = nick_for(k);
    c.busy = true;
    c.deadline = now + std::max<std::int64_t>(o_.timeout.count(), kSettleMinNs);
    // --caps, --sasl-user: asked for before registering (the server holds it until CAP END).
    std::string out;
    const bool login = !sasl_plain_.empty() && logs_in(k);
    if (!o_.caps.empty() || login) {
      out = fmt::format("CAP REQ :{}{}{}\r\n", o_.caps, login && !o_.caps.empty() ? " " : "", login ? "sasl" : "");
      if (login) out += fmt::format("AUTHENTICATE PLAIN\r\nAUTHENTICATE {}\r\n", sasl_plain_);
      out += "CAP END\r\n";
    }
    out += fmt::format("NICK {}\r\nUSER {} 0 * :sockit load\r\n", c.nick, c.nick);
    send(k, out, now);
  }
  void upgrade(std::size_t k, std::int64_t now);
  /// --websocket: the bytes just read (the 101, then frames). False once k closed.
  bool ws_input(std::size_t k, std::string_view data, std::int64_t now);
  /// One whole frame; false once k closed.
  bool ws_frame(std::size_t k, const wsc::Frame& f, std::int64_t now);
  void ws_fail(std::size_t k, ErrorKind kind, std::string_view why, std::int64_t now);
  void flush(std::size_t k, std::int64_t now);
  void read(std::size_t k, std::int64_t now);
  /// Hands the complete lines of `data` to on_line(); keeps the rest. False once k closed.
  bool split_lines(std::size_t k, std::string_view data, std::int64_t now);
  void on_line(std::size_t k, std::string_view line, std::int64_t now);

  const std::uint8_t ws_opcode_;  // text or binary frames (--ws-subprotocol)
  wsc::Masks masks_;
  std::string sasl_plain_;  // --sasl-user: the AUTHENTICATE PLAIN payload ("" without)
};

void IrcClient::upgrade(std::size_t k, std::int64_t now) {
  Conn& c = w_.conns[k];
  c.ws = Conn::ws_upgrading;
  c.ws_key = wsc::make_key();
  c.ws_fragment = false;
  c.in.clear();
  c.busy = true;  // the 101, bounded like the registration
  c.deadline = now + std::max<std::int64_t>(o_.timeout.count(), kSettleMinNs);
  c.out.append(wsc::upgrade_request(o_.target.to_string(), o_.ws_path, c.ws_key, o_.ws_protocol));
  flush(k, now);
}

bool IrcClient::ws_input(std::size_t k, std::string_view data, std::int64_t now) {
  Conn& c = w_.conns[k];
  std::string joined;  // only when a partial frame (or answer) waits from the last read
  if (!c.in.empty()) {
    joined = std::move(c.in);
    joined.append(data);
    data = joined;
  }
  c.in.clear();
  std::size_t used = 0;
  std::string why;
  if (c.ws == Conn::ws_upgrading) {
    switch (wsc::check_answer(data, c.ws_key, o_.ws_protocol, used, why)) {
      case wsc::Status::incomplete: c.in.assign(data); return true;
      case wsc::Status::bad: ws_fail(k, ErrorKind::other, why, now); return false;
      case wsc::Status::ok: break;
    }
    c.ws = Conn::ws_open;
    c.ws_key.clear();
    data.remove_prefix(used);
    register_nick(k, now);
    if (c.st != Conn::open) return false;
  }
  for (;;) {
    wsc::Frame f;
    const auto st = wsc::parse_frame(data, kIrcMaxLine, f, used, why);
    if (st == wsc::Status::incomplete) break;
    if (st == wsc::Status::bad) {
      ws_fail(k, ErrorKind::mismatch, why, now);
      return false;
    }
    if (!ws_frame(k, f, now)) return false;
    data.remove_prefix(used);
  }
  c.in.assign(data);
  return true;
}

bool IrcClient::ws_frame(std::size_t k, const wsc::Frame& f, std::int64_t now) {
  Conn& c = w_.conns[k];
  switch (f.opcode) {
    case wsc::kPing:
      wsc::append_frame(c.out, wsc::kPong, f.payload, masks_.next());
      flush(k, now);
      break;
    case wsc::kPong: break;
    case wsc::kClose:  // answered with the same status, then the connection ends
      wsc::append_frame(c.out, wsc::kClose, f.payload.substr(0, 2), masks_.next());
      flush(k, now);
      if (c.st == Conn::open) w_.fail(k, c.joined ? ErrorKind::reset : ErrorKind::short_read, now);
      return false;
    default:  // text, binary, continuation: one message is one line
      if (f.opcode != wsc::kContinuation && f.fin && !c.ws_fragment) {
        on_line(k, f.payload, now);
      } else if ((f.opcode == wsc::kContinuation) != c.ws_fragment) {
        ws_fail(k, ErrorKind::mismatch, c.ws_fragment ? "a new message inside a fragmented one" : "a continuation without a start", now);
        return false;
      } else {
        c.ws_fragment = !f.fin;
        c.ws_key.append(f.payload);
        if (c.ws_key.size() > kIrcMaxLine) {
          ws_fail(k, ErrorKind::mismatch, "a fragmented server message too long for a line", now);
          return false;
        }
        if (f.fin) {
          const std::string line = std::move(c.ws_key);
          c.ws_key.clear();
          on_line(k, line, now);
        }
      }
  }
  return w_.conns[k].st == Conn::open;
}

void IrcClient::ws_fail(std::size_t k, ErrorKind kind, std::string_view why, std::int64_t now) {
  if (w_.note.empty()) w_.note = fmt::format("first WebSocket failure: {}", why);
  w_.fail(k, kind, now);
}

// The end of the run: an open WebSocket sends close 1000 (best effort, nothing counted; not when
// part of a frame is still waiting to go out), and the worker closes the socket.
void IrcClient::closing(std::size_t k, std::int64_t /*now*/) {
  Conn& c = w_.conns[k];
  if (c.ws != Conn::ws_open || !c.out.empty()) return;
  c.ws = Conn::ws_closing;
  std::string frame;
  wsc::append_frame(frame, wsc::kClose, std::string_view("\x03\xe8", 2), masks_.next());
  if (c.tls) {
    (void)c.tls->write(c.fd, std::as_bytes(std::span(frame.data(), frame.size())));
  } else {
    (void)::send(c.fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
}

void IrcClient::flush(std::size_t k, std::int64_t now) {
  Conn& c = w_.conns[k];
  std::size_t off = 0;
  while (off < c.out.size()) {
    const std::size_t n = w_.send_some(k, c.out.data() + off, c.out.size() - off, now);
    if (n == 0) break;
    off += n;
  }
  if (c.st != Conn::open) return;  // the send failed
  c.out.erase(0, off);
  if (c.out.empty()) w_.disarm_out(k);
}

void IrcClient::read(std::size_t k, std::int64_t now) {
  for (;;) {
    Conn& c = w_.conns[k];
    const ssize_t n = w_.recv_some(k, w_.scratch(), Worker::kScratch, now);
    if (n < 0) return;
    if (n == 0 && c.ws == Conn::ws_upgrading) {
      ws_fail(k, ErrorKind::short_read, "the server closed the connection without answering the upgrade (not a WebSocket port?)", now);
      return;
    }
    if (n == 0) {
      w_.fail(k, c.joined ? ErrorKind::reset : ErrorKind::short_read, now);
      return;
    }
    const std::string_view got(w_.scratch(), static_cast<std::size_t>(n));
    if (c.ws != Conn::ws_none) {
      if (!ws_input(k, got, now)) return;
    } else if (!split_lines(k, got, now)) {
      return;
    }
    if (c.ws == Conn::ws_none && c.in.size() > kIrcMaxLine) {
      w_.fail(k, ErrorKind::mismatch, now);
      return;
    }
    if (static_cast<std::size_t>(n) < Worker::kScratch) return;
  }
}

bool IrcClient::split_lines(std::size_t k, std::string_view data, std::int64_t now) {
  Conn& c = w_.conns[k];
  std::string joined;  // only when a partial line waits from the last read
  if (!c.in.empty()) {
    joined = std::move(c.in);
    joined.append(data);
    data = joined;
  }
  c.in.clear();
  for (auto nl = data.find('\n'); nl != std::string_view::npos; nl = data.find('\n')) {
    on_line(k, data.substr(0, nl), now);
    if (w_.conns[k].st != Conn::open) return false;
    data.remove_prefix(nl + 1);
  }
  c.in.assign(data);
  return true;
}

void IrcClient::on_line(std::size_t k, std::string_view line, std::int64_t now) {
  Conn& c = w_.conns[k];
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view rest = line;
  if (!rest.empty() && rest.front() == '@') {  // IRCv3 tags (--caps): skipped
    const auto sp = rest.find(' ');
    if (sp == std::string_view::npos) return;
    rest.remove_prefix(sp + 1);
  }
  if (!rest.empty() && rest.front() == ':') {
    const auto sp = rest.find(' ');
    if (sp == std::string_view::npos) return;
    rest.remove_prefix(sp + 1);
  }
  const std::string_view cmd = rest.substr(0, rest.find(' '));
  if (cmd == "PRIVMSG") {
    const auto colon = rest.find(" :");
    if (colon != std::string_view::npos) on_privmsg(k, rest.substr(colon + 2), line.size() + 2, now);
  } else if (cmd == "PING") {
    send(k, fmt::format("PONG{}\r\n", rest.substr(4)), now);
  } else if (cmd == "001") {  // RPL_WELCOME
    c.busy = false;
    on_welcome(k, now);
  } else if (cmd == "366") {  // RPL_ENDOFNAMES: the JOIN is complete
    on_names_end(k);
  } else if (cmd == "433" || cmd == "432" || cmd == "436") {  // nick in use, erroneous, collision
    w_.count_error(ErrorKind::other);
    c.nick += '_';
    send(k, fmt::format("NICK {}\r\n", c.nick), now);
  } else if (cmd == "ERROR") {
    w_.fail(k, ErrorKind::reset, now);
  } else if ((cmd == "CAP" && rest.find(" NAK ") != std::string_view::npos) || cmd == "902" || cmd == "904" ||
             cmd == "905" || cmd == "906") {  // --caps refused, --sasl-user's login failed
    if (w_.note.empty()) w_.note = fmt::format("the server refused --caps or --sasl-user: {}", rest);
    w_.fail(k, ErrorKind::other, now);
  } else {
    on_reply(k, cmd, line, now);
  }
}

/// Unique per run (a previous run's clients may still be leaving): 3 base-36 digits of the pid.
const std::string& run_tag() {
  static const std::string tag = base36(static_cast<std::uint64_t>(::getpid()) % 46656);
  return tag;
}

// -c clients JOIN one channel; once all have joined, --senders of them send PRIVMSGs carrying
// their send time. The unit is one delivery; the last client (which never sends) acknowledges.
class IrcChannel final : public IrcClient {
 public:
  explicit IrcChannel(Worker& w);
  void on_timer(std::size_t k, std::int64_t now) override;
  void on_failed(std::size_t k, FailedConn /*was*/, std::int64_t /*now*/) override {
    if (!w_.conns[k].joined) w_.sh.settled.fetch_add(1);  // do not wait for it
  }
  void tick(std::int64_t now) override;
  void sweep(std::int64_t now) override;
  std::int64_t tick_ns() const noexcept override { return o_.threads > 1 ? kIrcThreadsTickNs : kTickNs; }

  bool measures_from_start() const noexcept override { return false; }
  std::int64_t control(Shared& sh, RunResult& res, const RunClock& at) override;
  std::string settling_text(const Shared& sh) const override {
    if (sh.phase.load() != 0) return {};
    return fmt::format("joined {}/{}", sh.settled.load(), o_.connections);
  }
  std::string_view unit_name() const noexcept override { return "deliveries"; }
  bool finished(std::int64_t now) const override;

 private:
  std::string nick_for(std::size_t k) override { return "l" + run_tag() + base36(w_.conns[k].gid); }
  bool logs_in(std::size_t k) override { return w_.conns[k].gid < o_.senders; }
  void on_welcome(std::size_t k, std::int64_t now) override { send(k, fmt::format("JOIN {}\r\n", o_.channel), now); }
  void on_names_end(std::size_t k) override {
    if (w_.conns[k].joined) return;
    w_.conns[k].joined = true;
    w_.sh.settled.fetch_add(1);
  }
  void on_privmsg(std::size_t k, std::string_view text, std::size_t len, std::int64_t now) override;
  void privmsg(std::size_t k, std::int64_t intended, std::int64_t now);
  /// A PRIVMSG due at `intended` is measured. The shared interval, not the worker's copy (taken at
  /// its tick): sender and receivers, on different threads, must decide alike from the first message.
  bool measured(std::int64_t intended) const noexcept {
    return intended >= w_.sh.t_measure.load(std::memory_order_acquire) &&
           intended < w_.sh.t_end.load(std::memory_order_acquire);
  }

  std::vector<std::size_t> senders_;  // local indices of the sending clients
};

IrcChannel::IrcChannel(Worker& w) : IrcClient(w) {
  for (std::size_t k = 0; k < w.conns.size(); ++k)
    if (w.conns[k].gid < o_.senders) senders_.push_back(k);
}

void IrcChannel::on_timer(std::size_t k, std::int64_t now) {
  Conn& c = w_.conns[k];
  if (c.st != Conn::open || w_.sh.phase.load(std::memory_order_relaxed) != 1) return;
  for (; c.t_next <= now && c.t_next < w_.t_end; c.t_next += w_.interval) privmsg(k, c.t_next, now);
  if (c.t_next < w_.t_end) w_.schedule(k, c.t_next);  // after t_end only the last deliveries come
}

// Senders refill their window (closed loop) or start their schedule (open loop).
void IrcChannel::tick(std::int64_t now) {
  if (w_.sh.phase.load(std::memory_order_acquire) != 1) return;
  for (const std::size_t k : senders_) {
    Conn& c = w_.conns[k];
    if (c.st != Conn::open) continue;
    if (o_.open_loop()) {
      if (c.timer_at == 0) {
        c.t_next = now + w_.interval * c.gid / o_.senders;
        w_.schedule(k, c.t_next);
      }
      continue;
    }
    auto& inflight = w_.sh.inflight[c.gid];
    while (inflight.load(std::memory_order_relaxed) < static_cast<int>(o_.window) && c.st == Conn::open && now < w_.t_end) {
      if (inflight.fetch_add(1) == 0) w_.sh.progress_at[c.gid].store(now);
      privmsg(k, now, now);
    }
  }
}

void IrcChannel::sweep(std::int64_t now) {
  IrcClient::sweep(now);
  if (w_.sh.phase.load() != 1 || o_.open_loop()) return;
  for (const std::size_t k : senders_) {
    const std::uint32_t g = w_.conns[k].gid;
    auto& inflight = w_.sh.inflight[g];
    if (inflight.load() > 0 && now - w_.sh.progress_at[g].load() > o_.timeout.count()) {
      w_.count_error(ErrorKind::timeout);
      inflight.store(0);
    }
  }
}

void IrcChannel::privmsg(std::size_t k, std::int64_t intended, std::int64_t now) {
  Conn& c = w_.conns[k];
  std::string line = fmt::format("PRIVMSG {} :{} {} {} ", o_.channel, c.gid, ++c.seq, intended);
  const std::size_t head = line.size() - (9 + o_.channel.size());  // "PRIVMSG " + channel + " "
  if (head < o_.size) line.append(o_.size - head, 'x');
  line += "\r\n";
  // Measured: the messages due in the window (the receivers see `intended`); their deliveries are
  // owed before the send, so that no receiver can see the count at 0 while one is on its way.
  if (measured(intended)) {
    ++w_.stats.sent;
    w_.sh.owed.fetch_add(static_cast<std::int64_t>(o_.connections) - 1);
  }
  ++w_.stats.sent_all;
  send(k, line, now);
}

void IrcChannel::on_privmsg(std::size_t k, std::string_view text, std::size_t len, std::int64_t now) {
  std::uint64_t fields[3] = {0, 0, 0};  // sender, sequence, send time
  for (auto& f : fields) {
    std::size_t i = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') f = f * 10 + static_cast<std::uint64_t>(text[i++] - '0');
    text.remove_prefix(std::min(text.size(), i + 1));
  }
  ++w_.stats.delivered_all;
  const auto intended = static_cast<std::int64_t>(fields[2]);
  if (measured(intended)) {  // whenever it arrives
    w_.sh.owed.fetch_sub(1);
    if (!w_.quota_done()) {
      w_.stats.latency.record(now - intended);
      w_.record_units(1, len);
    }
  }
  if (w_.conns[k].gid == o_.connections - 1 && fields[0] < o_.senders) {  // the witness acknowledges
    w_.sh.inflight[fields[0]].fetch_sub(1);
    w_.sh.progress_at[fields[0]].store(now);
    if (fields[0] % w_.threads == w_.id) w_.tick_at_turn_end();  // the sender is ours: refill now
  }
}

// The window's end stops the sending; the deliveries of the messages sent in it are waited for,
// up to --timeout (those still missing then are lost), so that deliveries = sent x (clients - 1)
// exactly when nothing is lost, however late a receiver reads.
bool IrcChannel::finished(std::int64_t now) const {
  if (w_.sh.stop.load(std::memory_order_relaxed) || w_.quota_done()) return true;
  if (now < w_.t_end) return false;
  return w_.sh.owed.load() <= 0 || now >= w_.t_end + o_.timeout.count();
}

std::int64_t IrcChannel::control(Shared& sh, RunResult& res, const RunClock& at) {
  if (sh.phase.load() != 0 || (sh.settled.load() < o_.connections && at.now <= at.settle_deadline)) return kNever;
  if (sh.settled.load() < o_.connections)
    res.note = fmt::format("only {} of {} clients joined {}; measured anyway", sh.settled.load(), o_.connections, o_.channel);
  sh.t_measure.store(at.now + o_.warmup.count());
  sh.t_end.store(o_.timed() ? at.now + o_.warmup.count() + o_.duration.count() : kNever);
  sh.phase.store(1, std::memory_order_release);
  return kNever;
}

// Registration storm: connect, NICK/USER, wait for 001, QUIT, close, again.
class IrcRegister final : public UnitIsAConnection<IrcClient> {
 public:
  using UnitIsAConnection<IrcClient>::UnitIsAConnection;
  std::string_view unit_name() const noexcept override { return "registrations"; }

 private:
  std::string nick_for(std::size_t /*k*/) override { return "r" + run_tag() + base36(w_.sh.nick_seq.fetch_add(1)); }
  void on_welcome(std::size_t k, std::int64_t now) override {
    const Conn& c = w_.conns[k];
    w_.record(now, c.t_intended, c.t_start, 0);
    send(k, "QUIT\r\n", now);
    w_.close_conn(k);
    w_.conns[k].established = false;
    if (now < w_.t_end) reopen(k, now);
  }
};

// irc-mix: a realistic network on the IrcClient above (irc_mix_strategy.ipp).
#include "irc_mix_strategy.ipp"

// ---------------------------------------------------------------- handshake (TLS)

// New TLS sessions: connect, handshake, close_notify, read to the server's close (TLS 1.3 session
// tickets arrive after the handshake), close, again. The unit is the handshake, timed from the
// connect; with --resume each connection offers the last session seen, and the units whose
// handshake resumed one are counted (SSL_session_reused).
class Handshake final : public UnitIsAConnection<Strategy> {
 public:
  explicit Handshake(Worker& w) : UnitIsAConnection<Strategy>(w) { spread_ = true; }
  void on_connected(std::size_t k, std::int64_t now) override {
    Conn& c = w_.conns[k];
    const std::uint64_t before = w_.stats.units;
    w_.record(now, c.t_intended, c.t_start, 0);
    if (w_.stats.units != before && c.tls->resumed()) ++w_.stats.resumed;
    c.busy = true;  // the close, bounded by --timeout
    c.deadline = now + o_.timeout.count();
    w_.tls_close_notify(k);
  }
  void on_io(std::size_t k, const loop::Ready& r, std::int64_t now) override {
    if (!readable(r)) return;
    for (;;) {
      const ssize_t n = w_.recv_some(k, w_.scratch(), w_.scratch_size(), now);
      if (n < 0) return;  // nothing yet, or k failed
      if (n == 0) break;  // the server's close_notify or FIN
    }
    if (o_.resume) w_.keep_session(k);
    w_.close_conn(k);
    w_.conns[k].established = false;
    if (now < w_.t_end && !w_.quota_done()) reopen(k, now);
  }
  std::string_view unit_name() const noexcept override { return "handshakes"; }
};

}  // namespace

std::unique_ptr<Strategy> make_strategy(Worker& w) {
  switch (w.o.mode) {
    case Mode::pingpong: return std::make_unique<PingPong>(w);
    case Mode::flood: return std::make_unique<Flood>(w);
    case Mode::connect: return std::make_unique<ConnectStorm>(w);
    case Mode::hold: return std::make_unique<Hold>(w);
    case Mode::udp: return std::make_unique<Udp>(w);
    case Mode::irc: return std::make_unique<IrcChannel>(w);
    case Mode::irc_register: return std::make_unique<IrcRegister>(w);
    case Mode::handshake: return std::make_unique<Handshake>(w);
    case Mode::irc_mix: return std::make_unique<IrcMix>(w);
  }
  return std::make_unique<PingPong>(w);
}

}  // namespace sockit::load
