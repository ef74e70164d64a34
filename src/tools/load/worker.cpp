// A load worker on sockit::loop: the mode-independent half of every connection (see worker.hpp).
#include "worker.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

namespace sockit::load {

std::int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

namespace {

std::int64_t to_ns(loop::TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

void Conn::on_ready(const loop::Ready& r) { worker->on_ready(static_cast<std::size_t>(this - worker->conns.data()), r); }

// Runs strategy().tick() at the end of the turn in which it was asked for.
struct Worker::Ticker final : loop::IoHandler {
  explicit Ticker(Worker& w) : worker(w) {}
  void on_ready(const loop::Ready&) override {}
  void on_turn_end() override { worker.on_tick(); }
  Worker& worker;
};

// The timerfd behind the per-connection schedule.
struct Worker::Clock final : loop::IoHandler {
  explicit Clock(Worker& w) : worker(w) {}
  void on_ready(const loop::Ready&) override {
    std::uint64_t expirations = 0;
    if (::read(fd, &expirations, sizeof expirations) < 0) return;  // EAGAIN: re-armed meanwhile
    armed_at = kNever;
    worker.run_due(to_ns(worker.loop().now()));
  }
  Worker& worker;
  int fd = -1;
  std::int64_t armed_at = kNever;
};

Worker::Worker(Shared& shared, std::uint32_t index, std::uint32_t nthreads)
    : sh(shared), o(shared.o), id(index), threads(nthreads), tls_on_(shared.tls.has_value()) {
  if (tls_on_) tls_name_ = o.target.ip_string();
  for (std::uint32_t g = index; g < o.connections; g += nthreads) {
    conns.emplace_back();
    conns.back().gid = g;
    conns.back().worker = this;
  }
  if (o.count) quota_ = o.count / nthreads + (index < o.count % nthreads ? 1 : 0);
  const std::size_t span = std::max<std::size_t>({o.size, kScratch});
  tbl_.resize(kPeriod + span + 16);
  for (std::size_t i = 0; i < tbl_.size(); ++i) tbl_[i] = static_cast<char>(((i % kPeriod) * 167 + 13) & 0xff);
  scratch_.resize(std::max<std::size_t>(kScratch, o.size + 64));
  if (o.open_loop()) {
    const double units = o.mode == Mode::irc ? o.senders : static_cast<double>(o.connections);
    interval = std::max<std::int64_t>(1, static_cast<std::int64_t>(units / o.rate * 1e9));
  }
  strategy_ = make_strategy(*this);
}

Worker::~Worker() {
  for (std::size_t k = 0; k < conns.size(); ++k) close_conn(k);
  if (clock_ && clock_->fd >= 0) {
    if (loop_) loop_->unwatch(clock_->fd);
    ::close(clock_->fd);
  }
}

void Worker::record(std::int64_t now, std::int64_t intended, std::int64_t sent, std::uint64_t bytes) {
  if (!in_window(now) || quota_done()) return;
  ++stats.units;
  stats.bytes_in += bytes;
  stats.bytes_out += bytes;
  stats.latency.record(now - intended);
  if (o.open_loop()) stats.latency_raw.record(now - sent);
  live_units.store(stats.units, std::memory_order_relaxed);
}

void Worker::record_units(std::uint64_t units, std::uint64_t bytes_in) {
  stats.units += units;
  if (quota_done()) stats.units = quota_;
  stats.bytes_in += bytes_in;
  live_units.store(stats.units, std::memory_order_relaxed);
}

void Worker::count_error(ErrorKind kind) {
  stats.count_error(kind);
  live_errors.store(stats.error_total(), std::memory_order_relaxed);
}

void Worker::schedule(std::size_t k, std::int64_t at) {
  conns[k].timer_at = at;
  timers_.emplace(at, static_cast<std::uint32_t>(k));
  if (at < clock_->armed_at) arm_clock(at);
}

void Worker::arm_clock(std::int64_t at) {
  clock_->armed_at = at;
  itimerspec ts{};
  const std::int64_t when = std::max<std::int64_t>(at, 1);  // 0 would disarm it
  ts.it_value.tv_sec = static_cast<time_t>(when / kNsPerSecond);
  ts.it_value.tv_nsec = static_cast<long>(when % kNsPerSecond);
  ::timerfd_settime(clock_->fd, TFD_TIMER_ABSTIME, &ts, nullptr);
}

void Worker::run_due(std::int64_t now) {
  while (!timers_.empty() && timers_.top().first <= now) {
    const auto [at, k] = timers_.top();
    timers_.pop();
    if (conns[k].timer_at != at) continue;  // superseded
    conns[k].timer_at = 0;
    strategy_->on_timer(k, now);
  }
  if (!timers_.empty() && timers_.top().first < clock_->armed_at) arm_clock(timers_.top().first);
}

void Worker::open_tcp(std::size_t k, std::int64_t now, bool spread) {
  Conn& c = conns[k];
  c.st = Conn::closed;
  c.busy = false;
  c.out_armed = false;
  c.in.clear();
  c.out.clear();
  c.t_start = now;
  const Address& to = o.target_of(c.gid);
  const int fd = ::socket(to.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (fatal.empty()) fatal = fmt::format("socket: {}", std::strerror(errno));
    fail(k, ErrorKind::other, now);
    return;
  }
  c.fd = fd;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (spread && o.spread_sources && to.is_v4() && to.is_loopback()) {
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (c.gid % kSpread));
    ::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src);
  }
  if (::connect(fd, to.sockaddr_ptr(), to.length()) == 0) {
    (void)loop_->watch(fd, loop::Interest::read, &c);
    tcp_up(k, now);
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
  c.deadline = now + o.timeout.count();
  ++connecting_;
  (void)loop_->watch(fd, loop::Interest::read_write, &c);
}

bool Worker::open_udp(std::size_t k) {
  Conn& c = conns[k];
  const Address& to = o.target_of(c.gid);
  c.fd = ::socket(to.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0 || ::connect(c.fd, to.sockaddr_ptr(), to.length()) != 0) {
    if (fatal.empty()) fatal = fmt::format("udp socket: {}", std::strerror(errno));
    count_error(ErrorKind::other);
    return false;
  }
  c.st = Conn::open;
  (void)loop_->watch(c.fd, loop::Interest::read, &c);
  return true;
}

void Worker::finish_connect(std::size_t k, std::int64_t now) {
  Conn& c = conns[k];
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  --connecting_;
  if (err != 0) {
    c.st = Conn::open;  // so fail() closes it
    fail(k, classify_errno(err), now);
    return;
  }
  (void)loop_->update(c.fd, loop::Interest::read);
  c.out_armed = false;
  tcp_up(k, now);
}

void Worker::tcp_up(std::size_t k, std::int64_t now) {
  Conn& c = conns[k];
  if (!tls_on_) {
    c.st = Conn::open;
    c.established = true;
    strategy_->on_connected(k, now);
    return;
  }
  tls::TransportOptions to;
  to.server_name = tls_name_;
  to.handshake_timeout = std::chrono::nanoseconds::zero();  // --timeout, by the sweep
  if (o.resume) to.session = tls_session_;
  c.tls = std::make_unique<tls::Transport>(*sh.tls, to);
  c.st = Conn::handshaking;
  c.deadline = c.t_start + o.timeout.count();
  drive_handshake(k, now);
}

// Handshake steps on readiness; a failure is counted as `tls` (a refused certificate, a peer that
// speaks no TLS or closes) or by its errno, the first one kept in words for the report.
void Worker::drive_handshake(std::size_t k, std::int64_t now) {
  Conn& c = conns[k];
  if (c.tls->handshake(c.fd)) {
    (void)loop_->update(c.fd, loop::Interest::read);
    c.out_armed = false;
    c.st = Conn::open;
    c.established = true;
    strategy_->on_connected(k, now);
    return;
  }
  if (const int err = c.tls->failure(); err != 0) {
    if (tls_error_.empty()) tls_error_ = c.tls->failure_text();
    fail(k, err == EPROTO ? ErrorKind::tls : classify_errno(err), now);
    return;
  }
  const bool out = loop::has(c.tls->wants(), loop::Want::write);
  if (out != c.out_armed) {
    c.out_armed = out;
    (void)loop_->update(c.fd, out ? loop::Interest::read_write : loop::Interest::read);
  }
}

void Worker::drain_tls(std::size_t k, std::int64_t now) {
  loop::Ready r;
  r.fd = conns[k].fd;
  r.readable = true;
  for (int i = 0; i < 64 && conns[k].st == Conn::open && conns[k].tls && conns[k].tls->pending_input() > 0; ++i)
    strategy_->on_io(k, r, now);
}

void Worker::tls_close_notify(std::size_t k) {
  Conn& c = conns[k];
  if (c.tls && c.fd >= 0) (void)c.tls->shutdown_write(c.fd);
}

void Worker::keep_session(std::size_t k) {
  if (!conns[k].tls) return;
  if (auto s = conns[k].tls->session()) tls_session_ = std::move(s);
}

void Worker::close_conn(std::size_t k) {
  Conn& c = conns[k];
  c.tls.reset();
  if (c.fd >= 0) {
    if (loop_) loop_->unwatch(c.fd);
    ::close(c.fd);
  }
  if (c.st == Conn::connecting) --connecting_;
  c.fd = -1;
  c.st = Conn::closed;
  c.busy = false;
  c.out_armed = false;
}

void Worker::fail(std::size_t k, ErrorKind kind, std::int64_t now) {
  Conn& c = conns[k];
  const FailedConn was{c.busy, c.established};
  count_error(kind);
  close_conn(k);
  c.established = false;
  strategy_->on_failed(k, was, now);
}

std::size_t Worker::plain_send_some(std::size_t k, const void* p, std::size_t len, std::int64_t now) {
  for (;;) {
    const ssize_t n = ::send(conns[k].fd, p, len, MSG_NOSIGNAL);
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

ssize_t Worker::plain_recv_some(std::size_t k, char* buf, std::size_t len, std::int64_t now) {
  for (;;) {
    const ssize_t n = ::recv(conns[k].fd, buf, len, 0);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) fail(k, classify_errno(errno), now);
    return -1;
  }
}

std::size_t Worker::tls_send_some(std::size_t k, const void* p, std::size_t len, std::int64_t now) {
  Conn& c = conns[k];
  for (;;) {
    const ssize_t n = c.tls->write(c.fd, std::span(static_cast<const std::byte*>(p), len));
    if (n > 0) return static_cast<std::size_t>(n);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      arm_out(k);
    } else {
      fail(k, n == 0 ? ErrorKind::reset : errno == EPROTO ? ErrorKind::tls : classify_errno(errno), now);
    }
    return 0;
  }
}

ssize_t Worker::tls_recv_some(std::size_t k, char* buf, std::size_t len, std::int64_t now) {
  Conn& c = conns[k];
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = c.tls->read(c.fd, std::span(reinterpret_cast<std::byte*>(buf) + got, len - got));
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n == 0) {
      return static_cast<ssize_t>(got);  // the end (after bytes: the next call returns 0)
    } else if (errno == EAGAIN) {
      if (loop::has(c.tls->wants(), loop::Want::write)) arm_out(k);
      return got > 0 ? static_cast<ssize_t>(got) : -1;
    } else if (errno != EINTR) {
      fail(k, errno == EPROTO ? ErrorKind::tls : classify_errno(errno), now);
      return -1;
    }
  }
  return static_cast<ssize_t>(got);
}

void Worker::arm_out(std::size_t k) {
  if (!conns[k].out_armed) {
    conns[k].out_armed = true;
    (void)loop_->update(conns[k].fd, loop::Interest::read_write);
  }
}

void Worker::disarm_out(std::size_t k) {
  if (conns[k].out_armed) {
    conns[k].out_armed = false;
    (void)loop_->update(conns[k].fd, loop::Interest::read);
  }
}

void Worker::on_ready(std::size_t k, const loop::Ready& r) {
  const std::int64_t now = to_ns(loop_->now());
  if (conns[k].st == Conn::connecting) {
    if (r.writable || r.error || r.hangup) finish_connect(k, now);
    return;
  }
  if (tls_on_) {
    if (conns[k].st == Conn::handshaking) return drive_handshake(k, now);
    strategy_->on_io(k, r, now);
    return drain_tls(k, now);
  }
  strategy_->on_io(k, r, now);
}

void Worker::tick_at_turn_end() {
  if (tick_queued_) return;
  tick_queued_ = true;
  loop_->at_turn_end(ticker_);
}

void Worker::on_tick() {
  tick_queued_ = false;
  const std::int64_t now = now_ns();
  t_measure = sh.t_measure.load(std::memory_order_relaxed);
  t_end = sh.t_end.load(std::memory_order_relaxed);
  strategy_->tick(now);
  if (strategy_->finished(now)) loop_->stop();
}

bool Worker::setup() {
  auto created = loop::EventLoop::create(loop::Backend::epoll);
  if (!created) {
    fatal = fmt::format("event loop: {}", created.error().message());
    return false;
  }
  loop_ = std::move(*created);
  clock_ = std::make_unique<Clock>(*this);
  clock_->fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (clock_->fd < 0 || !loop_->watch(clock_->fd, loop::Interest::read, clock_.get())) {
    fatal = fmt::format("timerfd: {}", std::strerror(errno));
    return false;
  }
  ticker_ = std::make_shared<Ticker>(*this);
  return true;
}

void Worker::run() {
  if (!setup()) {
    done.store(true);
    return;
  }
  t_measure = sh.t_measure.load();
  t_end = sh.t_end.load();
  strategy_->start(now_ns());
  loop_->run_every(std::chrono::nanoseconds(strategy_->tick_ns()), [this] { on_tick(); });
  loop_->run_every(std::chrono::nanoseconds(kSweepNs), [this] { strategy_->sweep(to_ns(loop_->now())); });
  on_tick();
  loop_->run();
  for (std::size_t k = 0; k < conns.size(); ++k) {
    if (conns[k].st == Conn::open) strategy_->closing(k, now_ns());
    close_conn(k);
  }
  done.store(true);
}

}  // namespace sockit::load
