// The load generator's engine: one epoll loop per worker thread, written directly on epoll(7) so
// that the generator spends as few CPU cycles per message as possible (docs/LOAD.md, "Why its own
// loop"): level-triggered, EPOLLOUT armed only while a write is pending, one recv per readiness
// when the read came back short, no timers on the hot path (deadlines are checked by a sweep every
// 50 ms; open-loop send times live in a heap).
#include "engine.hpp"

#include "sockit/net/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <queue>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace sockit::load {

namespace {

std::int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr std::int64_t kNever = INT64_MAX;
constexpr std::size_t kPeriod = 251;             // the payload pattern repeats every 251 bytes
constexpr std::size_t kScratch = 64 * 1024;
constexpr std::int64_t kSweepNs = 50'000'000;    // deadline checks
constexpr std::int64_t kRetryNs = 100'000'000;   // reconnect backoff after an error
constexpr std::uint32_t kMaxConnecting = 256;    // hold: connects in progress per worker
constexpr std::uint32_t kSpread = 200;           // 127.0.0.1 .. 127.0.0.200
constexpr std::uint32_t kUdpMagic = 0x534b4c44;  // "SKLD"

struct Shared {
  explicit Shared(const Options& opts) : o(opts) {}
  const Options& o;
  std::atomic<std::int64_t> t_measure{kNever};
  std::atomic<std::int64_t> t_end{kNever};
  std::atomic<bool> stop{false};
  std::atomic<int> phase{0};              // hold: 0 connect, 1 hold, 2 verify; irc: 0 join, 1 send
  std::atomic<std::uint32_t> settled{0};  // hold: established or failed; irc: joined
  std::unique_ptr<std::atomic<int>[]> inflight;       // irc, per sender
  std::unique_ptr<std::atomic<std::int64_t>[]> progress_at;  // irc, per sender
  std::atomic<std::uint64_t> nick_seq{0};
};

struct Conn {
  int fd = -1;
  std::uint32_t gid = 0;
  enum State : std::uint8_t { closed, connecting, open } st = closed;
  bool out_armed = false;
  bool busy = false;      // a message is in flight
  bool joined = false;    // irc
  bool established = false;
  std::uint64_t seq = 0;
  std::uint64_t tx = 0;   // bytes of the current message written (flood: stream offset)
  std::uint64_t rx = 0;
  std::int64_t t_intended = 0, t_sent = 0, deadline = 0, t_next = 0, t_start = 0, timer_at = 0;
  std::string in, out, nick;  // irc
};

struct UdpPending {
  std::uint64_t id;
  std::int64_t intended, sent;
};

std::string base36(std::uint64_t v) {
  std::string s;
  do {
    s.insert(s.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36]);
    v /= 36;
  } while (v);
  return s;
}

class Worker {
 public:
  Worker(Shared& sh, std::uint32_t index, std::uint32_t threads) : sh_(sh), o_(sh.o), id_(index) {
    for (std::uint32_t g = index; g < o_.connections; g += threads) {
      conns_.emplace_back();
      conns_.back().gid = g;
    }
    for (std::size_t k = 0; k < conns_.size(); ++k)
      if (o_.mode == Mode::irc && conns_[k].gid < o_.senders) senders_.push_back(k);
    if (o_.count) quota_ = o_.count / threads + (index < o_.count % threads ? 1 : 0);
    const std::size_t span = std::max<std::size_t>({o_.size, kScratch});
    tbl_.resize(kPeriod + span + 16);
    for (std::size_t i = 0; i < tbl_.size(); ++i)
      tbl_[i] = static_cast<char>(((i % kPeriod) * 167 + 13) & 0xff);
    scratch_.resize(std::max<std::size_t>(kScratch, o_.size + 64));
    if (o_.mode == Mode::udp) upend_.resize(conns_.size());
    if (o_.open_loop()) {
      double units = static_cast<double>(o_.connections);
      if (o_.mode == Mode::irc) units = o_.senders;
      interval_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(units / o_.rate * 1e9));
    }
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {
    for (auto& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
    if (ep_ >= 0) ::close(ep_);
  }

  void run();

  Stats stats;
  std::atomic<std::uint64_t> live_units{0};
  std::atomic<std::uint64_t> live_errors{0};
  std::atomic<bool> done{false};
  std::string fatal;

 private:
  bool in_window(std::int64_t now) const noexcept { return now >= t_measure_ && now < t_end_; }
  bool wants_retry() const noexcept {
    return o_.mode == Mode::pingpong || o_.mode == Mode::flood || o_.mode == Mode::connect ||
           o_.mode == Mode::irc_register;
  }
  const char* pattern(std::uint64_t seq) const noexcept { return tbl_.data() + (seq * 17) % kPeriod; }

  void schedule(std::size_t k, std::int64_t at) {
    conns_[k].timer_at = at;
    timers_.emplace(at, static_cast<std::uint32_t>(k));
  }
  bool quota_done() const noexcept { return quota_ && stats.units >= quota_; }
  void record(std::int64_t now, std::int64_t intended, std::int64_t sent, std::uint64_t bytes) {
    if (!in_window(now) || quota_done()) return;
    ++stats.units;
    stats.bytes_in += bytes;
    stats.bytes_out += bytes;
    stats.latency.record(now - intended);
    if (o_.open_loop()) stats.latency_raw.record(now - sent);
    live_units.store(stats.units, std::memory_order_relaxed);
  }
  void count_error(ErrorKind kind) {
    stats.count_error(kind);
    live_errors.store(stats.error_total(), std::memory_order_relaxed);
  }
  void ctl(std::size_t k, int op, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u32 = static_cast<std::uint32_t>(k);
    ::epoll_ctl(ep_, op, conns_[k].fd, &ev);
  }
  void arm_out(std::size_t k) {
    if (!conns_[k].out_armed) {
      conns_[k].out_armed = true;
      ctl(k, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
    }
  }
  void disarm_out(std::size_t k) {
    if (conns_[k].out_armed) {
      conns_[k].out_armed = false;
      ctl(k, EPOLL_CTL_MOD, EPOLLIN);
    }
  }

  void open_conn(std::size_t k, std::int64_t now);
  void on_connected(std::size_t k, std::int64_t now);
  void finish_connect(std::size_t k, std::int64_t now);
  void close_conn(std::size_t k);
  void fail(std::size_t k, ErrorKind kind, std::int64_t now);
  void start_message(std::size_t k, std::int64_t intended, std::int64_t now);
  std::size_t send_some(std::size_t k, const void* p, std::size_t len, std::int64_t now);
  void write_message(std::size_t k, std::int64_t now);
  void read_message(std::size_t k, std::int64_t now);
  void complete_message(std::size_t k, std::int64_t now);
  void next_or_wait(std::size_t k, std::int64_t now);
  void flood_write(std::size_t k, std::int64_t now);
  void flood_read(std::size_t k, std::int64_t now);
  void on_timer(std::size_t k, std::int64_t now);
  void sweep(std::int64_t now);
  void tick(std::int64_t now);
  bool finished(std::int64_t now);

  // udp
  void udp_open(std::size_t k, std::int64_t now);
  void udp_send(std::size_t k, std::int64_t intended, std::int64_t now);
  void udp_read(std::size_t k, std::int64_t now);
  void udp_fill(std::size_t k, std::int64_t now);

  // irc
  void irc_send(std::size_t k, std::string_view text, std::int64_t now);
  void irc_flush(std::size_t k, std::int64_t now);
  void irc_read(std::size_t k, std::int64_t now);
  void irc_line(std::size_t k, std::string_view line, std::int64_t now);
  void irc_register(std::size_t k, std::int64_t now);
  void irc_privmsg(std::size_t k, std::int64_t intended, std::int64_t now);

  Shared& sh_;
  const Options& o_;
  std::uint32_t id_;
  int ep_ = -1;
  std::vector<Conn> conns_;
  std::vector<std::size_t> senders_;  // irc: local indices of the sending clients
  std::vector<char> tbl_;
  std::vector<char> scratch_;
  std::vector<std::deque<UdpPending>> upend_;
  std::priority_queue<std::pair<std::int64_t, std::uint32_t>, std::vector<std::pair<std::int64_t, std::uint32_t>>,
                      std::greater<>>
      timers_;
  std::int64_t interval_ = 0;
  std::uint64_t quota_ = 0;
  std::int64_t t_measure_ = kNever, t_end_ = kNever;
  std::int64_t last_sweep_ = 0;
  // hold
  std::size_t next_open_ = 0;
  std::uint32_t connecting_ = 0;
  bool verify_started_ = false;
  std::uint64_t verify_outstanding_ = 0;
};

void Worker::open_conn(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  c.st = Conn::closed;
  c.busy = false;
  c.out_armed = false;
  c.in.clear();
  c.out.clear();
  c.t_start = now;
  if ((o_.mode == Mode::connect || o_.mode == Mode::irc_register) && !o_.open_loop()) c.t_intended = now;
  const int fd = ::socket(o_.target.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    count_error(ErrorKind::other);
    if (fatal.empty()) fatal = fmt::format("socket: {}", std::strerror(errno));
    if (o_.mode == Mode::hold) {
      ++stats.failed;
      sh_.settled.fetch_add(1);
    } else {
      schedule(k, now + kRetryNs);
    }
    return;
  }
  c.fd = fd;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (o_.spread_sources && o_.target.is_v4() && o_.target.is_loopback() &&
      (o_.mode == Mode::hold || o_.mode == Mode::connect || o_.mode == Mode::irc || o_.mode == Mode::irc_register)) {
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000001u + (c.gid % kSpread));
    ::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src);
  }
  const int r = ::connect(fd, o_.target.sockaddr_ptr(), o_.target.length());
  if (r == 0) {
    ctl(k, EPOLL_CTL_ADD, EPOLLIN);
    on_connected(k, now);
    return;
  }
  if (errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    c.fd = -1;
    fail(k, classify_errno(err), now);
    return;
  }
  c.st = Conn::connecting;
  c.deadline = now + o_.timeout.count();
  ++connecting_;
  ctl(k, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT);
}

void Worker::finish_connect(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  --connecting_;
  if (err != 0) {
    c.st = Conn::open;  // so fail() closes it
    fail(k, classify_errno(err), now);
    return;
  }
  ctl(k, EPOLL_CTL_MOD, EPOLLIN);
  on_connected(k, now);
}

void Worker::on_connected(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  c.st = Conn::open;
  c.out_armed = false;
  c.established = true;
  switch (o_.mode) {
    case Mode::pingpong:
      if (!o_.open_loop()) {
        start_message(k, now, now);
      } else {
        next_or_wait(k, now);
      }
      break;
    case Mode::flood: flood_write(k, now); break;
    case Mode::connect: c.t_sent = c.t_start; start_message(k, c.t_intended, now); break;
    case Mode::hold:
      ++stats.held;
      stats.latency.record(now - c.t_start);  // hold reports connect latency
      sh_.settled.fetch_add(1);
      break;
    case Mode::irc:
    case Mode::irc_register: irc_register(k, now); break;
    case Mode::udp: break;
  }
}

void Worker::close_conn(std::size_t k) {
  Conn& c = conns_[k];
  if (c.fd >= 0) ::close(c.fd);  // close removes it from the epoll set
  if (c.st == Conn::connecting) --connecting_;
  c.fd = -1;
  c.st = Conn::closed;
  c.busy = false;
  c.out_armed = false;
}

void Worker::fail(std::size_t k, ErrorKind kind, std::int64_t now) {
  Conn& c = conns_[k];
  const bool was_busy = c.busy;
  const bool was_established = c.established;
  count_error(kind);
  close_conn(k);
  c.established = false;
  switch (o_.mode) {
    case Mode::hold:
      if (was_established) {
        ++stats.dropped;
        if (verify_started_ && was_busy) --verify_outstanding_;
      } else {
        ++stats.failed;
        sh_.settled.fetch_add(1);
      }
      break;
    case Mode::irc:
      if (!c.joined) sh_.settled.fetch_add(1);  // do not wait for it
      break;
    default:
      if (wants_retry()) schedule(k, now + kRetryNs);
      break;
  }
}

void Worker::start_message(std::size_t k, std::int64_t intended, std::int64_t now) {
  Conn& c = conns_[k];
  ++c.seq;
  c.tx = c.rx = 0;
  c.busy = true;
  c.t_intended = intended;
  if (o_.mode != Mode::connect) c.t_sent = now;
  c.deadline = now + o_.timeout.count();
  write_message(k, now);
}

// One non-blocking send of len (> 0) bytes on connection k, retried on EINTR. Returns the bytes
// sent, or 0 when the caller must stop writing: the socket is full (EPOLLOUT armed; the caller
// continues on it) or the send failed (the connection failed with the error's kind).
std::size_t Worker::send_some(std::size_t k, const void* p, std::size_t len, std::int64_t now) {
  for (;;) {
    const ssize_t n = ::send(conns_[k].fd, p, len, MSG_NOSIGNAL);
    if (n > 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      arm_out(k);
    } else {
      fail(k, classify_errno(errno), now);
    }
    return 0;
  }
}

void Worker::write_message(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  const char* base = pattern(c.seq);
  while (c.tx < o_.size) {
    const std::size_t n = send_some(k, base + c.tx, o_.size - c.tx, now);
    if (n == 0) return;
    c.tx += n;
  }
  disarm_out(k);
}

void Worker::read_message(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  for (;;) {
    const std::size_t want = c.busy ? std::min<std::size_t>(o_.size - c.rx, scratch_.size()) : scratch_.size();
    const ssize_t n = ::recv(c.fd, scratch_.data(), want, 0);
    if (n > 0) {
      const auto got = static_cast<std::size_t>(n);
      if (!c.busy || std::memcmp(scratch_.data(), pattern(c.seq) + c.rx, got) != 0) {
        fail(k, ErrorKind::mismatch, now);
        return;
      }
      c.rx += got;
      if (c.rx == o_.size) {
        complete_message(k, now);
        return;
      }
      if (got < want) return;
      continue;
    }
    if (n == 0) {
      fail(k, c.busy ? ErrorKind::short_read : ErrorKind::reset, now);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) fail(k, classify_errno(errno), now);
    return;
  }
}

void Worker::complete_message(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  c.busy = false;
  if (o_.mode != Mode::hold) record(now, c.t_intended, c.t_sent, o_.size);
  switch (o_.mode) {
    case Mode::pingpong:
      if (!o_.open_loop()) {
        if (now < t_end_ && !quota_done()) start_message(k, now, now);
      } else {
        next_or_wait(k, now);
      }
      break;
    case Mode::connect:
      close_conn(k);
      c.established = false;
      if (!o_.open_loop()) {
        open_conn(k, now);
      } else {
        next_or_wait(k, now);
      }
      break;
    case Mode::hold:
      ++stats.alive;
      --verify_outstanding_;
      break;
    default: break;
  }
}

// Open loop: start the next unit now if its intended time has come (latency then counts from that
// intended time, however late we are), else wait for it.
void Worker::next_or_wait(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  if (c.t_next == 0) c.t_next = now + interval_ * static_cast<std::int64_t>(k) / static_cast<std::int64_t>(conns_.size());
  if (now < c.t_next) {
    schedule(k, c.t_next);
    return;
  }
  const std::int64_t intended = c.t_next;
  c.t_next += interval_;
  if (o_.mode == Mode::connect || o_.mode == Mode::irc_register) {
    c.t_intended = intended;
    open_conn(k, now);
  } else {
    start_message(k, intended, now);
  }
}

void Worker::flood_write(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  while (c.tx - c.rx < o_.window) {
    const std::size_t chunk = std::min<std::uint64_t>(o_.size, o_.window - (c.tx - c.rx));
    const std::size_t n = send_some(k, tbl_.data() + c.tx % kPeriod, chunk, now);
    if (n == 0) return;
    c.tx += n;
    if (in_window(now)) stats.bytes_out += n;
  }
  disarm_out(k);
}

void Worker::flood_read(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  const ssize_t n = ::recv(c.fd, scratch_.data(), kScratch, 0);
  if (n > 0) {
    const auto got = static_cast<std::uint64_t>(n);
    if (c.rx + got > c.tx || std::memcmp(scratch_.data(), tbl_.data() + c.rx % kPeriod, got) != 0) {
      fail(k, ErrorKind::mismatch, now);
      return;
    }
    const std::uint64_t before = c.rx / o_.size;
    c.rx += got;
    c.deadline = now + o_.timeout.count();
    if (in_window(now)) {
      stats.units += c.rx / o_.size - before;
      if (quota_done()) stats.units = quota_;
      stats.bytes_in += got;
      live_units.store(stats.units, std::memory_order_relaxed);
    }
    flood_write(k, now);
    return;
  }
  if (n == 0) {
    fail(k, ErrorKind::short_read, now);
    return;
  }
  if (errno != EAGAIN && errno != EINTR) fail(k, classify_errno(errno), now);
}

void Worker::on_timer(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  switch (o_.mode) {
    case Mode::udp: {
      while (c.t_next <= now) {
        udp_send(k, c.t_next, now);
        c.t_next += interval_;
      }
      schedule(k, c.t_next);
      return;
    }
    case Mode::irc: {
      if (c.st != Conn::open || sh_.phase.load(std::memory_order_relaxed) != 1) return;
      while (c.t_next <= now) {
        irc_privmsg(k, c.t_next, now);
        c.t_next += interval_;
      }
      schedule(k, c.t_next);
      return;
    }
    default: break;
  }
  if (c.st == Conn::closed) {
    if ((o_.mode == Mode::connect || o_.mode == Mode::irc_register) && o_.open_loop()) {
      next_or_wait(k, now);
    } else if (wants_retry()) {
      open_conn(k, now);
    }
  } else if (c.st == Conn::open && !c.busy && o_.open_loop()) {
    next_or_wait(k, now);
  }
}

void Worker::sweep(std::int64_t now) {
  last_sweep_ = now;
  for (std::size_t k = 0; k < conns_.size(); ++k) {
    Conn& c = conns_[k];
    if (o_.mode == Mode::udp) {
      auto& q = upend_[k];
      bool expired = false;
      while (!q.empty() && q.front().sent + o_.timeout.count() < now) {
        q.pop_front();
        count_error(ErrorKind::timeout);
        expired = true;
      }
      if (expired) udp_fill(k, now);
      continue;
    }
    if (c.st == Conn::connecting && now > c.deadline) {
      fail(k, ErrorKind::timeout, now);
    } else if (c.st == Conn::open && c.busy && now > c.deadline) {
      fail(k, ErrorKind::timeout, now);
    } else if (o_.mode == Mode::flood && c.st == Conn::open && c.tx > c.rx && c.deadline && now > c.deadline) {
      fail(k, ErrorKind::timeout, now);
    }
  }
  if (o_.mode == Mode::irc && sh_.phase.load() == 1 && !o_.open_loop()) {
    for (const std::size_t k : senders_) {
      const Conn& c = conns_[k];
      auto& inflight = sh_.inflight[c.gid];
      if (inflight.load() > 0 && now - sh_.progress_at[c.gid].load() > o_.timeout.count()) {
        count_error(ErrorKind::timeout);
        inflight.store(0);
      }
    }
  }
}

// Work that is not driven by readiness: irc senders refilling their window, hold phases.
void Worker::tick(std::int64_t now) {
  if (o_.mode == Mode::irc && sh_.phase.load(std::memory_order_acquire) == 1) {
    for (const std::size_t k : senders_) {
      Conn& c = conns_[k];
      if (c.st != Conn::open) continue;
      if (o_.open_loop()) {
        if (c.timer_at == 0) {
          c.t_next = now + interval_ * c.gid / o_.senders;
          schedule(k, c.t_next);
        }
        continue;
      }
      auto& inflight = sh_.inflight[c.gid];
      while (inflight.load(std::memory_order_relaxed) < static_cast<int>(o_.window) && c.st == Conn::open && now < t_end_) {
        if (inflight.fetch_add(1) == 0) sh_.progress_at[c.gid].store(now);
        irc_privmsg(k, now, now);
      }
    }
  }
  if (o_.mode == Mode::hold) {
    while (sh_.phase.load() == 0 && connecting_ < kMaxConnecting && next_open_ < conns_.size()) open_conn(next_open_++, now);
    if (sh_.phase.load() == 2 && !verify_started_) {
      verify_started_ = true;
      for (std::size_t k = 0; k < conns_.size(); ++k) {
        if (conns_[k].st != Conn::open) continue;
        ++verify_outstanding_;
        start_message(k, now, now);
      }
    }
  }
}

bool Worker::finished(std::int64_t now) {
  if (sh_.stop.load(std::memory_order_relaxed)) return true;
  if (o_.mode == Mode::hold) return verify_started_ && verify_outstanding_ == 0;
  if (now >= t_end_) return true;
  return quota_done();
}

void Worker::udp_open(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  c.fd = ::socket(o_.target.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0 || ::connect(c.fd, o_.target.sockaddr_ptr(), o_.target.length()) != 0) {
    if (fatal.empty()) fatal = fmt::format("udp socket: {}", std::strerror(errno));
    count_error(ErrorKind::other);
    return;
  }
  c.st = Conn::open;
  ctl(k, EPOLL_CTL_ADD, EPOLLIN);
  if (o_.open_loop()) {
    c.t_next = now + interval_ * static_cast<std::int64_t>(k) / static_cast<std::int64_t>(conns_.size());
    schedule(k, c.t_next);
  } else {
    udp_fill(k, now);
  }
}

void Worker::udp_fill(std::size_t k, std::int64_t now) {
  if (o_.open_loop() || conns_[k].st != Conn::open || now >= t_end_) return;
  while (upend_[k].size() < o_.window) {
    const auto before = upend_[k].size();
    udp_send(k, now, now);
    if (upend_[k].size() == before) break;
  }
}

void Worker::udp_send(std::size_t k, std::int64_t intended, std::int64_t now) {
  Conn& c = conns_[k];
  const std::uint64_t id = ++c.seq;
  char* p = scratch_.data() + kScratch / 2;  // the first half is for reading
  const std::uint32_t hdr[2] = {kUdpMagic, c.gid};
  std::memcpy(p, hdr, 8);
  std::memcpy(p + 8, &id, 8);
  std::memcpy(p + 16, &intended, 8);
  std::memcpy(p + 24, pattern(id), o_.size - 24);
  const ssize_t n = ::send(c.fd, p, o_.size, MSG_NOSIGNAL);
  if (n < 0) {
    count_error(errno == EAGAIN ? ErrorKind::other : classify_errno(errno));
    return;
  }
  upend_[k].push_back({id, intended, now});
  if (in_window(now)) ++stats.sent;
}

void Worker::udp_read(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  auto& q = upend_[k];
  for (int i = 0; i < 64; ++i) {
    const ssize_t n = ::recv(c.fd, scratch_.data(), kScratch / 2, 0);
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      count_error(classify_errno(errno));  // ECONNREFUSED: ICMP port unreachable
      continue;
    }
    const char* p = scratch_.data();
    if (static_cast<std::size_t>(n) != o_.size) {
      count_error(n < static_cast<ssize_t>(o_.size) ? ErrorKind::short_read : ErrorKind::mismatch);
      continue;
    }
    std::uint32_t hdr[2];
    std::uint64_t id = 0;
    std::memcpy(hdr, p, 8);
    std::memcpy(&id, p + 8, 8);
    if (hdr[0] != kUdpMagic || hdr[1] != c.gid || std::memcmp(p + 24, pattern(id), o_.size - 24) != 0) {
      count_error(ErrorKind::mismatch);
      continue;
    }
    auto it = std::find_if(q.begin(), q.end(), [id](const UdpPending& u) { return u.id == id; });
    if (it == q.end()) {
      ++stats.late;
      continue;
    }
    record(now, it->intended, it->sent, o_.size);
    q.erase(it);
  }
  udp_fill(k, now);
}

void Worker::irc_send(std::size_t k, std::string_view text, std::int64_t now) {
  Conn& c = conns_[k];
  if (c.st != Conn::open) return;
  c.out.append(text);
  irc_flush(k, now);
}

void Worker::irc_flush(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  std::size_t off = 0;
  while (off < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + off, c.out.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    fail(k, classify_errno(errno), now);
    return;
  }
  c.out.erase(0, off);
  if (c.out.empty()) {
    disarm_out(k);
  } else {
    arm_out(k);
  }
}

void Worker::irc_register(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  // Unique per run (a previous run's clients may still be leaving) and at most 9 characters.
  static const std::string run_tag = base36(static_cast<std::uint64_t>(::getpid()) % 46656);
  c.nick = (o_.mode == Mode::irc ? "l" : "r") + run_tag + base36(o_.mode == Mode::irc ? c.gid : sh_.nick_seq.fetch_add(1));
  c.busy = true;
  c.deadline = now + std::max<std::int64_t>(o_.timeout.count(), 30'000'000'000);
  irc_send(k, fmt::format("NICK {}\r\nUSER {} 0 * :sockit load\r\n", c.nick, c.nick), now);
}

void Worker::irc_privmsg(std::size_t k, std::int64_t intended, std::int64_t now) {
  Conn& c = conns_[k];
  std::string line = fmt::format("PRIVMSG {} :{} {} {} ", o_.channel, c.gid, ++c.seq, intended);
  const std::size_t head = line.size() - (9 + o_.channel.size());
  if (head < o_.size) line.append(o_.size - head, 'x');
  line += "\r\n";
  irc_send(k, line, now);
  if (in_window(now)) ++stats.sent;
  ++stats.sent_all;
}

void Worker::irc_read(std::size_t k, std::int64_t now) {
  Conn& c = conns_[k];
  for (;;) {
    const ssize_t n = ::recv(c.fd, scratch_.data(), kScratch, 0);
    if (n == 0) {
      fail(k, c.joined ? ErrorKind::reset : ErrorKind::short_read, now);
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) fail(k, classify_errno(errno), now);
      return;
    }
    std::string_view data(scratch_.data(), static_cast<std::size_t>(n));
    if (!c.in.empty()) {
      c.in.append(data);
      std::string buf = std::move(c.in);
      c.in.clear();
      std::string_view rest(buf);
      for (auto nl = rest.find('\n'); nl != std::string_view::npos; nl = rest.find('\n')) {
        irc_line(k, rest.substr(0, nl), now);
        if (conns_[k].st != Conn::open) return;
        rest.remove_prefix(nl + 1);
      }
      c.in.assign(rest);
    } else {
      for (auto nl = data.find('\n'); nl != std::string_view::npos; nl = data.find('\n')) {
        irc_line(k, data.substr(0, nl), now);
        if (conns_[k].st != Conn::open) return;
        data.remove_prefix(nl + 1);
      }
      c.in.assign(data);
    }
    if (c.in.size() > 8192) {
      fail(k, ErrorKind::mismatch, now);
      return;
    }
    if (static_cast<std::size_t>(n) < kScratch) return;
  }
}

void Worker::irc_line(std::size_t k, std::string_view line, std::int64_t now) {
  Conn& c = conns_[k];
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view rest = line;
  if (!rest.empty() && rest.front() == ':') {
    const auto sp = rest.find(' ');
    if (sp == std::string_view::npos) return;
    rest.remove_prefix(sp + 1);
  }
  const auto sp = rest.find(' ');
  const std::string_view cmd = rest.substr(0, sp);
  if (cmd == "PRIVMSG") {
    const auto colon = rest.find(" :");
    if (colon == std::string_view::npos) return;
    std::string_view text = rest.substr(colon + 2);
    std::uint64_t fields[3] = {0, 0, 0};
    for (auto& f : fields) {
      std::size_t i = 0;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') f = f * 10 + static_cast<std::uint64_t>(text[i++] - '0');
      text.remove_prefix(std::min(text.size(), i + 1));
    }
    const auto ts = static_cast<std::int64_t>(fields[2]);
    ++stats.delivered_all;
    if (in_window(now) && !quota_done()) {
      ++stats.units;
      stats.bytes_in += line.size() + 2;
      stats.latency.record(now - ts);
      live_units.store(stats.units, std::memory_order_relaxed);
    }
    if (c.gid == o_.connections - 1 && fields[0] < o_.senders) {  // the witness acknowledges
      sh_.inflight[fields[0]].fetch_sub(1);
      sh_.progress_at[fields[0]].store(now);
    }
  } else if (cmd == "PING") {
    irc_send(k, fmt::format("PONG{}\r\n", rest.substr(4)), now);
  } else if (cmd == "001") {
    c.busy = false;
    if (o_.mode == Mode::irc) {
      irc_send(k, fmt::format("JOIN {}\r\n", o_.channel), now);
    } else {
      record(now, c.t_intended, c.t_start, 0);
      irc_send(k, "QUIT\r\n", now);
      close_conn(k);
      c.established = false;
      if (now >= t_end_) return;
      if (!o_.open_loop()) {
        open_conn(k, now);
      } else {
        next_or_wait(k, now);
      }
    }
  } else if (cmd == "366") {
    if (!c.joined) {
      c.joined = true;
      sh_.settled.fetch_add(1);
    }
  } else if (cmd == "433" || cmd == "432" || cmd == "436") {
    count_error(ErrorKind::other);
    c.nick += '_';
    irc_send(k, fmt::format("NICK {}\r\n", c.nick), now);
  } else if (cmd == "ERROR") {
    fail(k, ErrorKind::reset, now);
  }
}

void Worker::run() {
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) {
    fatal = fmt::format("epoll_create1: {}", std::strerror(errno));
    done.store(true);
    return;
  }
  std::int64_t now = now_ns();
  t_measure_ = sh_.t_measure.load();
  t_end_ = sh_.t_end.load();
  last_sweep_ = now;
  for (std::size_t k = 0; k < conns_.size(); ++k) {
    if (o_.mode == Mode::udp) {
      udp_open(k, now);
    } else if ((o_.mode == Mode::connect || o_.mode == Mode::irc_register) && o_.open_loop()) {
      conns_[k].t_next = now + interval_ * static_cast<std::int64_t>(k) / static_cast<std::int64_t>(conns_.size());
      schedule(k, conns_[k].t_next);
    } else if (o_.mode != Mode::hold) {
      open_conn(k, now);
    }
  }
  std::vector<epoll_event> events(512);
  const std::int64_t tick_ns = (o_.mode == Mode::irc && o_.threads > 1) ? 1'000'000 : 10'000'000;
  while (true) {
    now = now_ns();
    t_measure_ = sh_.t_measure.load(std::memory_order_relaxed);
    t_end_ = sh_.t_end.load(std::memory_order_relaxed);
    tick(now);
    if (finished(now)) break;
    std::int64_t wake = now + tick_ns;
    if (!timers_.empty()) wake = std::min(wake, timers_.top().first);
    const std::int64_t wait = std::max<std::int64_t>(0, wake - now);
    timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
    const int n = ::epoll_pwait2(ep_, events.data(), static_cast<int>(events.size()), &ts, nullptr);
    now = now_ns();
    for (int i = 0; i < n; ++i) {
      const std::size_t k = events[i].data.u32;
      const std::uint32_t ev = events[i].events;
      Conn& c = conns_[k];
      if (c.fd < 0) continue;
      if (c.st == Conn::connecting) {
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) finish_connect(k, now);
        continue;
      }
      switch (o_.mode) {
        case Mode::udp: udp_read(k, now); break;
        case Mode::flood:
          if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) flood_read(k, now);
          if (conns_[k].st == Conn::open && (ev & EPOLLOUT)) flood_write(k, now);
          break;
        case Mode::irc:
        case Mode::irc_register:
          if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) irc_read(k, now);
          if (conns_[k].st == Conn::open && (ev & EPOLLOUT)) irc_flush(k, now);
          break;
        default:
          if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_message(k, now);
          if (conns_[k].st == Conn::open && conns_[k].busy && (ev & EPOLLOUT)) write_message(k, now);
          break;
      }
    }
    while (!timers_.empty() && timers_.top().first <= now) {
      const auto [at, k] = timers_.top();
      timers_.pop();
      if (conns_[k].timer_at != at) continue;  // superseded
      conns_[k].timer_at = 0;
      on_timer(k, now);
    }
    if (now - last_sweep_ >= kSweepNs) sweep(now);
  }
  for (std::size_t k = 0; k < conns_.size(); ++k) close_conn(k);
  done.store(true);
}

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

Result<RunResult> run(const Options& o, const std::function<void(const std::string&)>& progress) {
  raise_fd_limit();
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (static_cast<rlim_t>(o.connections) + 32 > rl.rlim_cur)
    return Error(errc::invalid_argument,
                 fmt::format("{} connections need {} descriptors, but this process may open {} (ulimit -n)",
                             o.connections, o.connections + 32, rl.rlim_cur));
  RunResult res;
  if (o.server_pid) {
    auto s = sample_server(o.server_pid);
    if (!s) return Error(errc::invalid_argument, fmt::format("no process {} (--server-pid)", o.server_pid));
    if (o.mode == Mode::hold) res.hold_before = *s;
  }

  Shared sh(o);
  if (o.mode == Mode::irc) {
    sh.inflight = std::make_unique<std::atomic<int>[]>(o.senders);
    sh.progress_at = std::make_unique<std::atomic<std::int64_t>[]>(o.senders);
    for (std::uint32_t i = 0; i < o.senders; ++i) {
      sh.inflight[i].store(0);
      sh.progress_at[i].store(0);
    }
  }
  const std::int64_t t0 = now_ns();
  if (o.mode != Mode::hold && o.mode != Mode::irc) {
    sh.t_measure.store(t0 + o.warmup.count());
    sh.t_end.store(o.timed() ? t0 + o.warmup.count() + o.duration.count() : kNever);
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (std::uint32_t i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<Worker>(sh, i, o.threads));
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });

  const std::int64_t join_deadline = t0 + std::max<std::int64_t>(o.timeout.count(), 30'000'000'000);
  std::int64_t hold_end = kNever;
  bool begun = false, ended = false;
  std::int64_t begin_at = 0, end_at = 0;
  double cpu_begin = 0;
  std::int64_t next_progress = t0 + 1'000'000'000;
  std::uint64_t last_units = 0;
  while (true) {
    const std::int64_t now = now_ns();
    bool all_done = true;
    for (auto& w : workers) all_done = all_done && w->done.load();
    if (o.mode == Mode::irc && sh.phase.load() == 0 && (sh.settled.load() >= o.connections || now > join_deadline)) {
      if (sh.settled.load() < o.connections)
        res.note = fmt::format("only {} of {} clients joined {}; measured anyway", sh.settled.load(), o.connections, o.channel);
      sh.t_measure.store(now + o.warmup.count());
      sh.t_end.store(o.timed() ? now + o.warmup.count() + o.duration.count() : kNever);
      sh.phase.store(1, std::memory_order_release);
    }
    if (o.mode == Mode::hold) {
      if (sh.phase.load() == 0 && (sh.settled.load() >= o.connections || now > join_deadline)) {
        if (o.server_pid)
          if (auto s = sample_server(o.server_pid)) res.hold_up = *s;
        sh.t_measure.store(now);
        hold_end = now + o.duration.count();
        sh.phase.store(1);
      } else if (sh.phase.load() == 1 && ended) {
        sh.phase.store(2);
      }
    }
    const std::int64_t t_measure = sh.t_measure.load();
    const std::int64_t t_end = o.mode == Mode::hold ? hold_end : sh.t_end.load();
    if (!begun && now >= t_measure) {
      begun = true;
      begin_at = now;
      cpu_begin = self_cpu_seconds();
      if (o.server_pid)
        if (auto s = sample_server(o.server_pid)) res.server_begin = *s;
    }
    if (begun && !ended && (now >= t_end || all_done)) {
      ended = true;
      end_at = now;
      res.client_cpu_s = self_cpu_seconds() - cpu_begin;
      if (o.server_pid)
        if (auto s = sample_server(o.server_pid)) res.server_end = *s;
    }
    if (all_done) break;
    if (now >= next_progress) {
      next_progress += 1'000'000'000;
      std::uint64_t units = 0, errors = 0;
      for (auto& w : workers) {
        units += w->live_units.load(std::memory_order_relaxed);
        errors += w->live_errors.load(std::memory_order_relaxed);
      }
      std::string line;
      const auto secs = (now - t0) / 1'000'000'000;
      if (o.mode == Mode::hold && sh.phase.load() == 0) {
        line = fmt::format("[{:4d}s] connected {}/{}, {} errors", secs, sh.settled.load(), o.connections, errors);
      } else if (o.mode == Mode::irc && sh.phase.load() == 0) {
        line = fmt::format("[{:4d}s] joined {}/{}, {} errors", secs, sh.settled.load(), o.connections, errors);
      } else if (!begun) {
        line = fmt::format("[{:4d}s] warming up, {} errors", secs, errors);
      } else {
        line = fmt::format("[{:4d}s] {} {}/s, {} errors", secs, units - last_units,
                           o.mode == Mode::irc ? "deliveries" : o.mode == Mode::connect ? "connections"
                           : o.mode == Mode::irc_register ? "registrations" : "messages",
                           errors);
        last_units = units;
      }
      if (progress) progress(line);
    }
    std::int64_t wake = std::min<std::int64_t>(next_progress, now + 50'000'000);
    if (!begun) wake = std::min(wake, std::max(now, t_measure));
    if (begun && !ended) wake = std::min(wake, std::max(now, t_end));
    const std::int64_t d = std::max<std::int64_t>(wake - now, 100'000);
    timespec ts{static_cast<time_t>(d / 1'000'000'000), static_cast<long>(d % 1'000'000'000)};
    nanosleep(&ts, nullptr);
  }
  for (auto& t : threads) t.join();
  for (auto& w : workers) {
    res.stats.merge(w->stats);
    if (!w->fatal.empty() && res.note.empty()) res.note = w->fatal;
  }
  if (o.mode == Mode::hold) res.stats.units = res.stats.held;
  const std::int64_t t_measure = sh.t_measure.load();
  const std::int64_t t_end = sh.t_end.load();
  if (o.mode != Mode::hold && o.timed() && t_end != kNever && end_at >= t_end) {
    res.measured_s = static_cast<double>(t_end - t_measure) / 1e9;
  } else {
    res.measured_s = static_cast<double>(end_at - begin_at) / 1e9;
  }
  if (res.measured_s <= 0) res.measured_s = 1e-9;
  return res;
}

}  // namespace sockit::load
