#include "tools/proxy/proxy.hpp"

#include "sockit/net/socket.hpp"
#include "sockit/net/sys.hpp"
#include "sockit/net/udp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sockit::proxy {
namespace {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using namespace std::chrono_literals;

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMaxControlClients = 8;
constexpr std::size_t kMaxControlLine = 1024;

int poll_ms_until(TimePoint when, TimePoint now) {
  if (when <= now) return 0;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(when - now).count();
  return static_cast<int>(std::min<long long>((us + 999) / 1000, 100));  // round up, never spin
}

Nanos bytes_time(std::size_t n, std::uint64_t bandwidth) {
  return Nanos(static_cast<std::int64_t>(static_cast<double>(n) * 1e9 / static_cast<double>(bandwidth)));
}

void abortive_close(Fd& fd) {
  if (!fd.valid()) return;
  linger lg{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  fd.reset();
}

using Handler = std::function<void(short)>;

// The parts both proxies share: the random generator, the counters, the control port and the
// loop skeleton. Subclasses add their descriptors, timers and periodic work.
class Base : public Proxy {
 public:
  explicit Base(const Config& cfg) : cfg_(cfg), rng_(cfg.seed) {}

  std::optional<Address> control_address() const override {
    if (!control_.is_open()) return std::nullopt;
    auto a = control_.local_address();
    return a ? std::optional<Address>(*a) : std::nullopt;
  }
  Stats stats() const override {
    std::lock_guard lock(published_mu_);
    return published_;
  }

  Result<void> open_control() {
    if (!cfg_.control) return {};
    auto l = TcpListener::bind(*cfg_.control);
    if (!l) return l.error().with_context("control");
    control_ = std::move(*l);
    return {};
  }

  Result<void> run(const std::atomic<bool>& stop) override {
    std::vector<pollfd> pfds;
    std::vector<Handler> handlers;
    while (!stop.load()) {
      TimePoint now = Clock::now();
      work(now);
      pfds.clear();
      handlers.clear();
      add_fds(pfds, handlers);
      add_control_fds(pfds, handlers);
      TimePoint wake = std::min(now + 100ms, next_timer(now));
      int n = sys::poll(pfds.data(), pfds.size(), poll_ms_until(wake, Clock::now()));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail_errno(errno, "poll");
      }
      for (std::size_t i = 0; i < pfds.size() && n > 0; ++i)
        if (pfds[i].revents) handlers[i](pfds[i].revents);
      reap();
      publish();
    }
    publish();
    return {};
  }

 protected:
  virtual void work(TimePoint now) = 0;
  virtual void add_fds(std::vector<pollfd>& pfds, std::vector<Handler>& handlers) = 0;
  virtual TimePoint next_timer(TimePoint now) = 0;
  virtual void reap() = 0;

  Impairments& imp() { return cfg_.impairments; }
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
  template <class... Args>
  void log(fmt::format_string<Args...> f, Args&&... args) {
    if (!cfg_.verbose) return;
    emit(false, fmt::format(f, std::forward<Args>(args)...));
  }
  template <class... Args>
  void log_error(fmt::format_string<Args...> f, Args&&... args) {
    emit(true, fmt::format(f, std::forward<Args>(args)...));
  }
  void emit(bool error, const std::string& line) {
    if (cfg_.log) {
      cfg_.log(error, line);
    } else {
      fmt::print(stderr, "sockit proxy: {}\n", line);
    }
  }

  Config cfg_;
  std::mt19937_64 rng_;
  Stats stats_;  // loop thread

 private:
  void publish() {
    std::lock_guard lock(published_mu_);
    published_ = stats_;
  }
  mutable std::mutex published_mu_;
  Stats published_;

 private:
  struct ControlClient {
    Fd fd;
    std::string in, out;
    bool quit = false, dead = false;
  };

  void add_control_fds(std::vector<pollfd>& pfds, std::vector<Handler>& handlers) {
    if (!control_.is_open()) return;
    std::erase_if(ctl_, [](const std::unique_ptr<ControlClient>& c) { return c->dead; });
    pfds.push_back({control_.fd(), POLLIN, 0});
    handlers.emplace_back([this](short) { accept_control(); });
    for (auto& c : ctl_) {
      short ev = c->quit ? 0 : POLLIN;
      if (!c->out.empty()) ev |= POLLOUT;
      pfds.push_back({c->fd.get(), ev, 0});
      ControlClient* cc = c.get();
      handlers.emplace_back([this, cc](short rev) {
        if (rev & (POLLIN | POLLHUP | POLLERR)) read_control(*cc);
        if (!cc->dead) flush_control(*cc);
      });
    }
  }

  void accept_control() {
    for (int i = 0; i < 4; ++i) {
      int fd = sys::accept4(control_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (ctl_.size() >= kMaxControlClients) {
        static constexpr char kBusy[] = "ERR too many control connections\n";
        (void)sys::send(fd, kBusy, sizeof kBusy - 1, 0);
        ::close(fd);
        continue;
      }
      auto c = std::make_unique<ControlClient>();
      c->fd = Fd(fd);
      ctl_.push_back(std::move(c));
    }
  }

  // Every complete line is applied and answered in order, however the lines were split across
  // reads or packed into one; lines that arrive together with the client's FIN (printf ... | nc)
  // are applied too, then the replies are flushed and the connection closed.
  void read_control(ControlClient& c) {
    char buf[2048];
    bool eof = false;
    for (;;) {
      ssize_t n = sys::recv(c.fd.get(), buf, sizeof buf, 0);
      if (n == 0) {
        eof = true;
        break;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) c.dead = true;
        break;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      run_control_lines(c);
      if (c.quit) break;
    }
    if (eof && !c.quit) {
      if (!c.in.empty()) c.in += '\n';  // a last line without a newline still counts
      run_control_lines(c);
      c.quit = true;  // flush_control closes once the replies are out
    }
  }

  void run_control_lines(ControlClient& c) {
    std::size_t pos;
    while (!c.quit && (pos = c.in.find('\n')) != std::string::npos) {
      std::string line = c.in.substr(0, pos);
      c.in.erase(0, pos + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      const bool udp = cfg_.udp;
      c.out += control_command(cfg_.impairments, line, udp, format(stats_, udp), c.quit) + "\n";
      log("control: {}", line);
    }
    if (c.in.size() > kMaxControlLine) {
      c.out += "ERR line too long\n";
      c.quit = true;
      c.in.clear();
    }
  }

  void flush_control(ControlClient& c) {
    while (!c.out.empty()) {
      ssize_t n = sys::send(c.fd.get(), c.out.data(), c.out.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) c.dead = true;
        return;
      }
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    if (c.quit) c.dead = true;
  }

  TcpListener control_;
  std::vector<std::unique_ptr<ControlClient>> ctl_;
};

// ---------------------------------------------------------------------------------------------
// TCP

struct Chunk {
  TimePoint release;
  std::vector<std::byte> data;
  std::size_t off = 0;
};

struct Pipe {
  bool upstream = true;     // client -> upstream
  std::deque<Chunk> q;
  std::size_t queued = 0;
  bool eof = false;         // the source sent FIN
  bool shut = false;        // FIN forwarded to the destination
  bool blocked = false;     // the destination said EAGAIN: wait for POLLOUT
  TimePoint last_release{};
  TimePoint next_write{};
};

struct Conn {
  std::uint64_t id = 0;
  Fd client, upstream;
  bool connecting = true;
  Pipe up, down;
  std::uint64_t total = 0;  // bytes delivered both ways (for reset-after)
  bool dead = false;
  Conn() { down.upstream = false; }
};

class TcpProxy final : public Base {
 public:
  explicit TcpProxy(const Config& cfg) : Base(cfg) {}

  Result<void> open() {
    auto l = TcpListener::bind(cfg_.listen);
    if (!l) return l.error();
    listener_ = std::move(*l);
    return open_control();
  }
  Address listen_address() const override { return listener_.local_address().value_or(Address()); }

 private:
  bool impaired(const Pipe& p) { return p.upstream ? imp().applies_upstream() : imp().applies_downstream(); }

  void work(TimePoint now) override {
    for (auto& c : conns_) {
      if (c->dead) continue;
      if (!c->connecting) flush(*c, c->up, c->upstream.get(), now);
      if (!c->dead) flush(*c, c->down, c->client.get(), now);
      if (!c->dead && c->up.shut && c->down.shut) {
        log("#{} closed (both directions finished)", c->id);
        c->dead = true;
      }
    }
    reap();
  }

  void add_fds(std::vector<pollfd>& pfds, std::vector<Handler>& handlers) override {
    const TimePoint now = Clock::now();
    if (now >= accept_paused_until_) {
      pfds.push_back({listener_.fd(), POLLIN, 0});
      handlers.emplace_back([this](short) { accept_all(); });
    }
    for (auto& cp : conns_) {
      Conn* c = cp.get();
      short cev = 0, uev = 0;
      if (!c->up.eof && c->up.queued < cfg_.buffer) cev |= POLLIN;
      if (c->down.blocked) cev |= POLLOUT;
      if (c->connecting) {
        uev |= POLLOUT;
      } else {
        if (!c->down.eof && c->down.queued < cfg_.buffer) uev |= POLLIN;
        if (c->up.blocked) uev |= POLLOUT;
      }
      if (cev) {
        pfds.push_back({c->client.get(), cev, 0});
        handlers.emplace_back([this, c](short rev) { on_event(*c, true, rev); });
      }
      if (uev) {
        pfds.push_back({c->upstream.get(), uev, 0});
        handlers.emplace_back([this, c](short rev) { on_event(*c, false, rev); });
      }
    }
  }

  TimePoint next_timer(TimePoint now) override {
    TimePoint best = TimePoint::max();
    if (accept_paused_until_ > now) best = accept_paused_until_;
    for (auto& c : conns_) {
      for (Pipe* p : {&c->up, &c->down}) {
        if (p->q.empty() || p->blocked || (impaired(*p) && imp().stall)) continue;
        if (p == &c->up && c->connecting) continue;
        best = std::min(best, std::max(p->q.front().release, p->next_write));
      }
    }
    return best;
  }

  void reap() override {
    std::erase_if(conns_, [](const std::unique_ptr<Conn>& c) { return c->dead; });
    stats_.active = conns_.size();
  }

  void accept_all() {
    for (int i = 0; i < 16; ++i) {
      Address peer;
      socklen_t len = Address::capacity();
      int fd = sys::accept4(listener_.fd(), peer.sockaddr_ptr(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // The listener stays readable: pause accepting instead of spinning (nginx does 500 ms).
          log_error("accept: {} (pausing accepts for 100ms)", std::strerror(errno));
          accept_paused_until_ = Clock::now() + 100ms;
        }
        return;
      }
      peer.set_length(len);
      Fd client(fd);
      if (conns_.size() >= cfg_.max_connections) {
        ++stats_.rejected;
        abortive_close(client);
        continue;
      }
      auto c = std::make_unique<Conn>();
      c->id = ++stats_.accepted;
      c->client = std::move(client);
      int one = 1;
      ::setsockopt(c->client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const Address& up = cfg_.upstream;
      int ufd = ::socket(static_cast<int>(up.family()), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (ufd < 0) {
        log_error("socket: {}", std::strerror(errno));
        abortive_close(c->client);
        continue;
      }
      c->upstream = Fd(ufd);
      ::setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      int r = sys::connect(ufd, up.sockaddr_ptr(), up.length());
      if (r == 0) {
        c->connecting = false;
      } else if (errno != EINPROGRESS && errno != EINTR) {
        upstream_failed(*c, errno);
        continue;
      }
      log("#{} {} connected, upstream {}", c->id, peer.to_string(), up.to_string());
      conns_.push_back(std::move(c));
    }
  }

  void upstream_failed(Conn& c, int err) {
    ++stats_.refused_upstream;
    log_error("#{} connect {}: {} (resetting the client)", c.id, cfg_.upstream.to_string(),
               std::strerror(err));
    abort_conn(c);
  }

  // Resets both sides: what a client sees when the far side resets, or when we inject one.
  void abort_conn(Conn& c) {
    abortive_close(c.client);
    abortive_close(c.upstream);
    c.dead = true;
  }

  void on_event(Conn& c, bool client_side, short rev) {
    if (c.dead) return;
    if (!client_side && c.connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(c.upstream.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
      if (err) {
        upstream_failed(c, err);
        return;
      }
      if (!(rev & POLLOUT)) return;
      c.connecting = false;
      return;
    }
    Pipe& in = client_side ? c.up : c.down;    // data read from this side
    Pipe& out = client_side ? c.down : c.up;   // data written to this side
    if (rev & POLLOUT) out.blocked = false;
    if (rev & (POLLIN | POLLHUP | POLLERR)) {
      if (!in.eof && in.queued < cfg_.buffer) read_side(c, in, client_side ? c.client.get() : c.upstream.get());
    }
    if (!c.dead && (rev & POLLOUT)) flush(c, out, client_side ? c.client.get() : c.upstream.get(), Clock::now());
  }

  void read_side(Conn& c, Pipe& p, int fd) {
    std::byte buf[kReadChunk];
    for (int i = 0; i < 4 && p.queued < cfg_.buffer; ++i) {
      std::size_t want = std::min(sizeof buf, cfg_.buffer - p.queued);
      ssize_t n = sys::recv(fd, buf, want, 0);
      if (n > 0) {
        enqueue(p, buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {
        p.eof = true;
        log("#{} FIN from {}", c.id, p.upstream ? "client" : "upstream");
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      log("#{} {} from {}: resetting the other side", c.id, std::strerror(errno), p.upstream ? "client" : "upstream");
      abort_conn(c);
      return;
    }
  }

  void enqueue(Pipe& p, const std::byte* data, std::size_t n) {
    const double r_jitter = uniform();  // always drawn: same traffic + same seed = same timings
    const bool on = impaired(p);
    if (on && imp().blackhole) {
      stats_.blackholed += n;
      return;
    }
    TimePoint now = Clock::now();
    Nanos d{0};
    if (on) {
      d = imp().delay + std::chrono::duration_cast<Nanos>(imp().jitter * (2.0 * r_jitter - 1.0));
      if (d < Nanos::zero()) d = Nanos::zero();
    }
    TimePoint release = std::max(now + d, p.last_release);  // a byte stream never reorders
    p.last_release = release;
    p.q.push_back(Chunk{release, std::vector<std::byte>(data, data + n), 0});
    p.queued += n;
  }

  void flush(Conn& c, Pipe& p, int fd, TimePoint now) {
    const bool on = impaired(p);
    if (on && imp().stall) return;
    const std::uint64_t reset_after = imp().reset_after;
    while (!p.q.empty() && !p.blocked) {
      if (reset_after && c.total >= reset_after) {
        inject_reset(c);
        return;
      }
      Chunk& ch = p.q.front();
      if (ch.release > now || p.next_write > now) return;
      std::size_t n = ch.data.size() - ch.off;
      if (on && imp().slice) n = std::min<std::size_t>(n, imp().slice);
      if (on && imp().bandwidth) n = std::min<std::size_t>(n, std::max<std::uint64_t>(1, imp().bandwidth / 50));
      if (reset_after) n = std::min<std::size_t>(n, reset_after - c.total);
      ssize_t w = sys::send(fd, ch.data.data() + ch.off, n, 0);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          p.blocked = true;
          return;
        }
        log("#{} write to {}: {}: resetting the other side", c.id, p.upstream ? "upstream" : "client",
            std::strerror(errno));
        abort_conn(c);
        return;
      }
      const auto wn = static_cast<std::size_t>(w);
      ch.off += wn;
      p.queued -= wn;
      c.total += wn;
      (p.upstream ? stats_.bytes_up : stats_.bytes_down) += wn;
      if (ch.off == ch.data.size()) p.q.pop_front();
      Nanos gap{0};
      if (on && imp().slice) gap = imp().slice_delay;
      if (on && imp().bandwidth) gap = std::max(gap, bytes_time(wn, imp().bandwidth));
      if (gap > Nanos::zero()) p.next_write = now + gap;
    }
    if (reset_after && c.total >= reset_after) {
      inject_reset(c);
      return;
    }
    if (p.q.empty() && p.eof && !p.shut) {
      ::shutdown(fd, SHUT_WR);
      p.shut = true;
    }
  }

  void inject_reset(Conn& c) {
    ++stats_.injected_resets;
    log("#{} reset after {} bytes", c.id, c.total);
    abort_conn(c);
  }

  TcpListener listener_;
  std::vector<std::unique_ptr<Conn>> conns_;
  TimePoint accept_paused_until_{};
};

// ---------------------------------------------------------------------------------------------
// UDP

struct Session {
  Address client;
  Fd fd;  // connected to the upstream: replies come back on it
  TimePoint last{};
};

struct Pending {
  bool up = true;
  Address client;
  std::vector<std::byte> data;
};

class UdpProxy final : public Base {
 public:
  explicit UdpProxy(const Config& cfg) : Base(cfg) {}

  Result<void> open() {
    auto s = UdpSocket::bind(cfg_.listen);
    if (!s) return s.error();
    sock_ = std::move(*s);
    return open_control();
  }
  Address listen_address() const override { return sock_.local_address().value_or(Address()); }

 private:
  using Key = std::pair<TimePoint, std::uint64_t>;

  bool impaired(bool up) { return up ? imp().applies_upstream() : imp().applies_downstream(); }

  void work(TimePoint now) override {
    for (auto it = queue_.begin(); it != queue_.end() && it->first.first <= now;) {
      Pending& p = it->second;
      const bool on = impaired(p.up);
      TimePoint& next_free = p.up ? next_free_up_ : next_free_down_;
      if ((on && imp().stall) || (on && imp().bandwidth && next_free > now)) {
        ++it;  // held: stalled, or waiting for its turn on the paced link
        continue;
      }
      deliver(p, now);
      if (on && imp().bandwidth) next_free = std::max(now, next_free) + bytes_time(p.data.size(), imp().bandwidth);
      (p.up ? queued_up_ : queued_down_) -= p.data.size();
      it = queue_.erase(it);
    }
  }

  void deliver(const Pending& p, TimePoint now) {
    ssize_t n;
    if (p.up) {
      auto s = sessions_.find(p.client);
      if (s == sessions_.end()) return;  // the session expired meanwhile
      s->second->last = now;
      do n = sys::sendto(s->second->fd.get(), p.data.data(), p.data.size(), 0, nullptr, 0);
      while (n < 0 && errno == EINTR);
    } else {
      do n = sys::sendto(sock_.fd(), p.data.data(), p.data.size(), 0, p.client.sockaddr_ptr(), p.client.length());
      while (n < 0 && errno == EINTR);
    }
    if (n < 0) {
      ++stats_.overflow;  // the kernel queue is full (or the peer is gone): a router drops too
      return;
    }
    if (p.up) {
      ++stats_.datagrams_up;
      stats_.bytes_up += p.data.size();
    } else {
      ++stats_.datagrams_down;
      stats_.bytes_down += p.data.size();
    }
  }

  void add_fds(std::vector<pollfd>& pfds, std::vector<Handler>& handlers) override {
    pfds.push_back({sock_.fd(), POLLIN, 0});
    handlers.emplace_back([this](short) { read_clients(); });
    for (auto& [addr, s] : sessions_) {
      Session* sp = s.get();
      pfds.push_back({sp->fd.get(), POLLIN, 0});
      handlers.emplace_back([this, sp](short) { read_upstream(*sp); });
    }
  }

  TimePoint next_timer(TimePoint now) override {
    TimePoint best = TimePoint::max();
    for (auto& [key, p] : queue_) {
      const bool on = impaired(p.up);
      if (on && imp().stall) continue;
      TimePoint t = key.first;
      if (on && imp().bandwidth) t = std::max(t, p.up ? next_free_up_ : next_free_down_);
      best = std::min(best, t);
      if (key.first > now && best <= key.first) break;  // ordered by release: nothing earlier follows
    }
    return best;
  }

  void reap() override {
    const TimePoint now = Clock::now();
    std::erase_if(sessions_, [&](const auto& kv) { return now - kv.second->last > cfg_.udp_idle; });
    stats_.active = sessions_.size();
  }

  void read_clients() {
    for (int i = 0; i < 64; ++i) {
      Address from;
      socklen_t len = Address::capacity();
      ssize_t n = sys::recvfrom(sock_.fd(), buf_.data(), buf_.size(), 0, from.sockaddr_ptr(), &len);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;  // EAGAIN, or an ICMP error for a datagram we sent to a client: nothing to do
      }
      from.set_length(len);
      Session* s = session_for(from);
      if (!s) continue;
      s->last = Clock::now();
      impair(true, from, static_cast<std::size_t>(n));
    }
  }

  void read_upstream(Session& s) {
    for (int i = 0; i < 64; ++i) {
      ssize_t n = sys::recvfrom(s.fd.get(), buf_.data(), buf_.size(), 0, nullptr, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;  // EAGAIN, or ECONNREFUSED: the upstream port is closed (ICMP); UDP has no reset
      }
      s.last = Clock::now();
      impair(false, s.client, static_cast<std::size_t>(n));
    }
  }

  Session* session_for(const Address& client) {
    if (auto it = sessions_.find(client); it != sessions_.end()) return it->second.get();
    if (sessions_.size() >= cfg_.max_connections) {
      ++stats_.rejected;
      return nullptr;
    }
    auto u = UdpSocket::open(cfg_.upstream.family());
    if (!u) return nullptr;
    if (auto c = u->connect(cfg_.upstream); !c) {
      log_error("{}", c.error().message());
      return nullptr;
    }
    auto s = std::make_unique<Session>();
    s->client = client;
    s->fd = u->release();
    s->last = Clock::now();
    ++stats_.accepted;
    log("session {} -> {}", client.to_string(), cfg_.upstream.to_string());
    Session* raw = s.get();
    sessions_.emplace(client, std::move(s));
    return raw;
  }

  void impair(bool up, const Address& client, std::size_t n) {
    // Four draws per datagram, always, in this order: the decisions for datagram k depend only
    // on the seed and k.
    const double r_loss = uniform(), r_dup = uniform(), r_reorder = uniform(), r_jitter = uniform();
    const bool on = impaired(up);
    if (on && imp().blackhole) {
      stats_.blackholed += 1;
      return;
    }
    if (on && r_loss < imp().loss) {
      ++stats_.lost;
      return;
    }
    Nanos d{0};
    if (on) {
      d = imp().delay + std::chrono::duration_cast<Nanos>(imp().jitter * (2.0 * r_jitter - 1.0));
      if (d < Nanos::zero()) d = Nanos::zero();
      if (r_reorder < imp().reorder) {
        d += imp().reorder_delay;
        ++stats_.reordered;
      }
    }
    const int copies = (on && r_dup < imp().duplicate) ? 2 : 1;
    if (copies == 2) ++stats_.duplicated;
    const TimePoint release = Clock::now() + d;
    for (int i = 0; i < copies; ++i) {
      std::size_t& queued = up ? queued_up_ : queued_down_;
      if (queued + n > cfg_.buffer) {
        ++stats_.overflow;
        continue;
      }
      queued += n;
      queue_.emplace(Key{release, order_++}, Pending{up, client, std::vector<std::byte>(buf_.data(), buf_.data() + n)});
    }
  }

  UdpSocket sock_;
  std::unordered_map<Address, std::unique_ptr<Session>> sessions_;
  std::map<Key, Pending> queue_;
  std::uint64_t order_ = 0;
  std::size_t queued_up_ = 0, queued_down_ = 0;
  TimePoint next_free_up_{}, next_free_down_{};
  std::vector<std::byte> buf_ = std::vector<std::byte>(65536);
};

}  // namespace

std::string format(const Stats& s, bool udp) {
  if (udp)
    return fmt::format(
        "sessions={} datagrams_up={} datagrams_down={} bytes_up={} bytes_down={} lost={} duplicated={} reordered={} "
        "overflow={} blackholed={} rejected={}",
        s.active, s.datagrams_up, s.datagrams_down, s.bytes_up, s.bytes_down, s.lost, s.duplicated, s.reordered,
        s.overflow, s.blackholed, s.rejected);
  return fmt::format(
      "connections={} accepted={} bytes_up={} bytes_down={} refused_upstream={} injected_resets={} blackholed={} "
      "rejected={}",
      s.active, s.accepted, s.bytes_up, s.bytes_down, s.refused_upstream, s.injected_resets, s.blackholed, s.rejected);
}

Result<std::unique_ptr<Proxy>> Proxy::create(const Config& cfg) {
  if (cfg.udp) {
    auto p = std::make_unique<UdpProxy>(cfg);
    if (auto r = p->open(); !r) return r.error();
    return std::unique_ptr<Proxy>(std::move(p));
  }
  auto p = std::make_unique<TcpProxy>(cfg);
  if (auto r = p->open(); !r) return r.error();
  return std::unique_ptr<Proxy>(std::move(p));
}

}  // namespace sockit::proxy
