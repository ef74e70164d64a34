#include "tools/proxy/proxy.hpp"

#include "sockit/loop/acceptor.hpp"
#include "sockit/loop/connection.hpp"
#include "sockit/loop/connector.hpp"
#include "sockit/loop/event_loop.hpp"
#include "sockit/net/socket.hpp"
#include "sockit/net/sys.hpp"
#include "sockit/net/udp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace sockit::proxy {
namespace {

using loop::Clock;
using loop::CloseReason;
using loop::Connection;
using loop::EventLoop;
using loop::TimePoint;
using loop::TimerId;
using namespace std::chrono_literals;

constexpr std::size_t kMaxControlClients = 8;
constexpr std::size_t kMaxControlLine = 1024;
constexpr auto kTick = 100ms;  // how often run() looks at `stop` and publishes the counters

Nanos bytes_time(std::size_t n, std::uint64_t bandwidth) {
  return Nanos(static_cast<std::int64_t>(static_cast<double>(n) * 1e9 / static_cast<double>(bandwidth)));
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void set_abortive(int fd) {
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

// Closes with an RST: what a peer sees when the far side resets, or when we inject one.
void reset_connection(Connection& c) {
  if (!c.is_open()) return;
  set_abortive(c.fd());
  c.close(CloseReason::reset);
}

class Base;

// One client of the control port: complete lines are applied and answered in order, however they
// were split across reads or packed into one; lines that arrive with the client's FIN
// (printf ... | nc) are applied too, then the replies are flushed and the connection half-closed.
class ControlConn final : public Connection {
 public:
  ControlConn(Base& owner, EventLoop& loop, Fd fd, const Address& peer, const loop::ConnectionOptions& opts)
      : Connection(loop, std::move(fd), peer, opts), owner_(&owner) {}

 private:
  void on_data(std::span<const std::byte> data) override;
  void on_eof() override;
  void on_closed(CloseReason, std::error_code) override;
  void run_lines();

  Base* owner_;
  std::string in_;
  bool quit_ = false;
};

// The parts both proxies share: the event loop, the random generator, the counters, the control
// port and run(). Subclasses add their sockets and timers.
class Base : public Proxy {
 public:
  Base(const Config& cfg, std::unique_ptr<EventLoop> loop) : cfg_(cfg), rng_(cfg.seed), loop_(std::move(loop)) {}

  std::optional<Address> control_address() const override { return control_addr_; }
  Stats stats() const override {
    std::lock_guard lock(published_mu_);
    return published_;
  }

  Result<void> run(const std::atomic<bool>& stop) override {
    if (stop.load()) return {};
    TimerId tick = loop_->run_every(kTick, [this, &stop] {
      if (stop.load()) loop_->stop();
      publish();
    });
    loop_->run();
    loop_->cancel(tick);
    publish();
    return {};
  }

  // The control port's side (ControlConn).
  std::string control_line(const std::string& line, bool& quit) {
    const bool udp = cfg_.udp;
    std::string reply = control_command(cfg_.impairments, line, udp, format(stats_, udp), quit);
    log("control: {}", line);
    settings_changed();  // stall off, a shorter delay...: held data may be due now
    return reply;
  }
  void control_closed(ControlConn* c) {
    loop_->post([this, c] { std::erase_if(ctl_, [c](const auto& p) { return p.get() == c; }); });
  }

 protected:
  virtual void settings_changed() = 0;

  Result<void> open_control() {
    if (!cfg_.control) return {};
    auto l = TcpListener::bind(*cfg_.control);
    if (!l) return l.error().with_context("control");
    if (auto a = l->local_address()) control_addr_ = *a;
    auto acc = loop::Acceptor::create(*loop_, l->release(), [this](Fd fd, const Address& peer) {
      accept_control(std::move(fd), peer);
    });
    if (!acc) return acc.error().with_context("control");
    control_ = std::move(*acc);
    return {};
  }

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
  std::unique_ptr<EventLoop> loop_;

 private:
  void publish() {
    std::lock_guard lock(published_mu_);
    published_ = stats_;
  }

  void accept_control(Fd fd, const Address& peer) {
    if (ctl_.size() >= kMaxControlClients) {
      static constexpr char kBusy[] = "ERR too many control connections\n";
      (void)sys::send(fd.get(), kBusy, sizeof kBusy - 1, MSG_NOSIGNAL);
      return;  // closed by ~Fd
    }
    auto c = std::make_shared<ControlConn>(*this, *loop_, std::move(fd), peer, control_opts_);
    if (!c->start()) return;
    ctl_.push_back(std::move(c));
  }

  mutable std::mutex published_mu_;
  Stats published_;
  loop::ConnectionOptions control_opts_;
  std::unique_ptr<loop::Acceptor> control_;
  std::optional<Address> control_addr_;
  std::vector<std::shared_ptr<ControlConn>> ctl_;
};

void ControlConn::on_data(std::span<const std::byte> data) {
  if (quit_) return;
  in_.append(reinterpret_cast<const char*>(data.data()), data.size());
  run_lines();
}

void ControlConn::on_eof() {
  if (!quit_ && !in_.empty()) {
    in_ += '\n';  // a last line without a newline still counts
    run_lines();
  }
  quit_ = true;
  shutdown_after_flush();
}

void ControlConn::on_closed(CloseReason, std::error_code) { owner_->control_closed(this); }

void ControlConn::run_lines() {
  std::size_t pos;
  std::string out;
  while (!quit_ && (pos = in_.find('\n')) != std::string::npos) {
    std::string line = in_.substr(0, pos);
    in_.erase(0, pos + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    out += owner_->control_line(line, quit_) + "\n";
  }
  if (in_.size() > kMaxControlLine) {
    out += "ERR line too long\n";
    quit_ = true;
    in_.clear();
  }
  send(std::move(out));
  if (quit_) shutdown_after_flush();
}

// ---------------------------------------------------------------------------------------------
// TCP: a Link is one proxied connection, two Legs (Connections) and a Pipe each way.

struct Chunk {
  TimePoint release;
  std::vector<std::byte> data;
  std::size_t off = 0;
};

class TcpProxy;
struct Link;

class Leg final : public Connection {
 public:
  Leg(TcpProxy& proxy, Link& link, bool client_side, Fd fd, const Address& remote,
      const loop::ConnectionOptions& opts)
      : Connection(proxy_loop(proxy), std::move(fd), remote, opts), proxy_(&proxy), link_(&link),
        client_side_(client_side) {}

 private:
  static EventLoop& proxy_loop(TcpProxy& p);
  void on_data(std::span<const std::byte> data) override;
  void on_eof() override;
  void on_drain() override;
  void on_closed(CloseReason reason, std::error_code ec) override;

  TcpProxy* proxy_;
  Link* link_;
  bool client_side_;
};

struct Pipe {
  bool upstream = true;  // client -> upstream
  std::deque<Chunk> q;   // bytes held back (delay, stall, pacing) or waiting for the destination
  std::size_t queued = 0;
  bool eof = false;      // the source sent FIN
  bool shut = false;     // FIN forwarded to the destination
  bool paused = false;   // the source's reading is paused (back-pressure)
  TimePoint last_release{};
  TimePoint next_write{};
  TimerId timer = 0;     // wakes flush() when the front chunk is due
};

struct Link {
  std::uint64_t id = 0;
  std::shared_ptr<Leg> client, upstream;  // upstream: once connected
  std::shared_ptr<loop::Connector> connector;
  Pipe up, down;
  std::uint64_t total = 0;  // bytes delivered both ways (for reset-after)
  bool dead = false;
  Link() { down.upstream = false; }
  Leg* source(const Pipe& p) const { return p.upstream ? client.get() : upstream.get(); }
  Leg* dest(const Pipe& p) const { return p.upstream ? upstream.get() : client.get(); }
};

class TcpProxy final : public Base {
 public:
  using Base::Base;

  Result<void> open() {
    leg_opts_.high_water = std::numeric_limits<std::size_t>::max();  // the Pipes bound the data
    leg_opts_.low_water = 0;  // on_drain once the destination took everything
    leg_opts_.max_output = 0;
    leg_opts_.idle_timeout = cfg_.idle_timeout;
    auto l = TcpListener::bind(cfg_.listen);
    if (!l) return l.error();
    if (auto a = l->local_address()) listen_addr_ = *a;
    auto acc = loop::Acceptor::create(
        *loop_, l->release(), [this](Fd fd, const Address& peer) { on_accept(std::move(fd), peer); },
        [this](const Error& e) { log_error("accept: {}", e.message()); });
    if (!acc) return acc.error();
    acceptor_ = std::move(*acc);
    return open_control();
  }
  Address listen_address() const override { return listen_addr_; }
  EventLoop& event_loop() { return *loop_; }

  void on_data(Link& l, bool client_side, std::span<const std::byte> data) {
    Pipe& p = client_side ? l.up : l.down;
    enqueue(l, p, data);
    if (!l.dead) regulate(l, p);
  }
  void on_eof(Link& l, bool client_side) {
    Pipe& p = client_side ? l.up : l.down;
    p.eof = true;
    log("#{} FIN from {}", l.id, client_side ? "client" : "upstream");
    flush(l, p);
  }
  void on_drain(Link& l, bool client_side) {
    Pipe& p = client_side ? l.down : l.up;  // the pipe that writes to this side
    l.dest(p)->set_drain_notify(false);
    flush(l, p);
    if (!l.dead) regulate(l, p);
  }
  void on_closed(Link& l, bool client_side, CloseReason reason, std::error_code ec) {
    if (l.dead) return;  // closed by us
    // A half-closed leg whose peer's FIN came too: that side's two directions are over (its
    // on_eof ran first); the other side goes on until its own FIN (forward_fin ends the link).
    if (reason == CloseReason::peer_closed) return;
    const char* side = client_side ? "client" : "upstream";
    if (reason == CloseReason::idle_timeout) {
      log("#{} idle {} ({}): closing both sides", l.id, side, to_string(reason));
      finish(l);
      return;
    }
    log("#{} {} from {}: resetting the other side", l.id, ec ? ec.message() : std::string(to_string(reason)), side);
    abort_link(l);
  }

 private:
  bool impaired(const Pipe& p) { return p.upstream ? imp().applies_upstream() : imp().applies_downstream(); }

  void on_accept(Fd fd, const Address& peer) {
    if (links_.size() >= cfg_.max_connections) {
      ++stats_.rejected;
      set_abortive(fd.get());
      return;  // closed by ~Fd
    }
    auto owned = std::make_unique<Link>();
    Link& l = *owned;
    l.id = ++stats_.accepted;
    set_nodelay(fd.get());
    l.client = std::make_shared<Leg>(*this, l, true, std::move(fd), peer, leg_opts_);
    if (auto r = l.client->start(); !r) {
      log_error("#{} {}", l.id, r.error().message());
      return;
    }
    links_.emplace(l.id, std::move(owned));
    stats_.active = links_.size();
    log("#{} {} connected, upstream {}", l.id, peer.to_string(), cfg_.upstream.to_string());
    loop::ConnectorOptions co;
    co.attempt_timeout = std::chrono::ceil<std::chrono::milliseconds>(cfg_.connect_timeout);
    const std::uint64_t id = l.id;
    l.connector = loop::Connector::start(*loop_, cfg_.upstream, co, [this, id](Result<Fd> r) {
      if (Link* lp = find(id)) connected(*lp, std::move(r));
    });
  }

  void connected(Link& l, Result<Fd> r) {
    if (!r) {
      ++stats_.refused_upstream;
      log_error("#{} connect {}: {} (resetting the client)", l.id, cfg_.upstream.to_string(), r.error().code().message());
      abort_link(l);
      return;
    }
    set_nodelay(r->get());
    l.upstream = std::make_shared<Leg>(*this, l, false, std::move(*r), cfg_.upstream, leg_opts_);
    if (auto s = l.upstream->start(); !s) {
      log_error("#{} {}", l.id, s.error().message());
      abort_link(l);
      return;
    }
    flush(l, l.up);  // what the client sent meanwhile
    if (!l.dead) regulate(l, l.up);
  }

  Link* find(std::uint64_t id) {
    auto it = links_.find(id);
    return it == links_.end() || it->second->dead ? nullptr : it->second.get();
  }

  void enqueue(Link& l, Pipe& p, std::span<const std::byte> data) {
    const double r_jitter = uniform();  // always drawn: same traffic + same seed = same timings
    const bool on = impaired(p);
    if (on && imp().blackhole) {
      stats_.blackholed += data.size();
      return;
    }
    Nanos d{0};
    if (on) {
      d = imp().delay + std::chrono::duration_cast<Nanos>(imp().jitter * (2.0 * r_jitter - 1.0));
      if (d < Nanos::zero()) d = Nanos::zero();
    }
    const TimePoint now = Clock::now();
    const TimePoint release = std::max(now + d, p.last_release);  // a byte stream never reorders
    p.last_release = release;
    Leg* dst = l.dest(p);
    const bool plain = !on || (!imp().stall && !imp().slice && !imp().bandwidth);
    if (p.q.empty() && release <= now && plain && !imp().reset_after && dst && dst->queued_bytes() == 0) {
      deliver(l, p, *dst, data);  // nothing to hold back: straight through, no copy
      return;
    }
    p.q.push_back(Chunk{release, std::vector<std::byte>(data.begin(), data.end()), 0});
    p.queued += data.size();
    flush(l, p);
  }

  void deliver(Link& l, const Pipe& p, Leg& dst, std::span<const std::byte> bytes) {
    dst.send(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    l.total += bytes.size();
    (p.upstream ? stats_.bytes_up : stats_.bytes_down) += bytes.size();
  }

  // Writes the due chunks to the destination, one write at a time: the next only once the
  // destination's socket took the previous one (its Connection queue is empty), as a proxy that
  // slices or paces must not let writes merge. Arms the pipe's timer for the next due chunk.
  void flush(Link& l, Pipe& p) {
    Leg* dst = l.dest(p);
    if (l.dead || !dst) return;
    const bool on = impaired(p);
    if (on && imp().stall) return;
    const std::uint64_t reset_after = imp().reset_after;
    const TimePoint now = Clock::now();
    while (!p.q.empty()) {
      if (reset_after && l.total >= reset_after) return inject_reset(l);
      if (dst->queued_bytes() > 0) return dst->set_drain_notify(true);
      Chunk& ch = p.q.front();
      const TimePoint due = std::max(ch.release, p.next_write);
      if (due > now) return arm(l, p, due);
      std::size_t n = ch.data.size() - ch.off;
      if (on && imp().slice) n = std::min<std::size_t>(n, imp().slice);
      if (on && imp().bandwidth) n = std::min<std::size_t>(n, std::max<std::uint64_t>(1, imp().bandwidth / 50));
      if (reset_after) n = std::min<std::size_t>(n, reset_after - l.total);
      deliver(l, p, *dst, std::span<const std::byte>(ch.data).subspan(ch.off, n));
      if (l.dead) return;
      ch.off += n;
      p.queued -= n;
      if (ch.off == ch.data.size()) p.q.pop_front();
      Nanos gap{0};
      if (on && imp().slice) gap = imp().slice_delay;
      if (on && imp().bandwidth) gap = std::max(gap, bytes_time(n, imp().bandwidth));
      if (gap > Nanos::zero()) p.next_write = now + gap;
    }
    if (reset_after && l.total >= reset_after) return inject_reset(l);
    forward_fin(l, p, *dst);
  }

  // The source's FIN goes on once everything before it left: a half-close of the destination
  // (Connection::half_close: it keeps reading, the other direction goes on until its own FIN; a
  // destination whose FIN had come closes itself here).
  void forward_fin(Link& l, Pipe& p, Leg& dst) {
    if (!p.eof || p.shut || !p.q.empty()) return;
    if (dst.queued_bytes() > 0) return dst.set_drain_notify(true);
    p.shut = true;
    dst.half_close();
    if (!l.dead && l.up.shut && l.down.shut) {
      log("#{} closed (both directions finished)", l.id);
      finish(l);
    }
  }

  void arm(Link& l, Pipe& p, TimePoint due) {
    if (p.timer != 0) {
      if (loop_->timer_expiry(p.timer) == due) return;
      loop_->cancel(p.timer);
    }
    const std::uint64_t id = l.id;
    const bool up = p.upstream;
    p.timer = loop_->run_at(due, [this, id, up] {
      Link* lp = find(id);
      if (!lp) return;
      Pipe& pp = up ? lp->up : lp->down;
      pp.timer = 0;
      flush(*lp, pp);
      if (!lp->dead) regulate(*lp, pp);
    });
  }

  // Back-pressure: the source stops reading while its pipe holds `buffer` bytes or more
  // (counting what the destination's socket has not taken yet).
  void regulate(Link& l, Pipe& p) {
    Leg* src = l.source(p);
    Leg* dst = l.dest(p);
    if (!src) return;
    const std::size_t held = p.queued + (dst ? dst->queued_bytes() : 0);
    const bool full = held >= cfg_.buffer;
    if (full && !p.paused) {
      src->pause_reading();
      p.paused = true;
    } else if (!full && p.paused) {
      src->resume_reading();
      p.paused = false;
    }
  }

  void inject_reset(Link& l) {
    ++stats_.injected_resets;
    log("#{} reset after {} bytes", l.id, l.total);
    abort_link(l);
  }

  // Resets both sides: what a client sees when the far side resets, or when we inject one.
  void abort_link(Link& l) { end_link(l, true); }
  void finish(Link& l) { end_link(l, false); }

  void end_link(Link& l, bool abortive) {
    if (l.dead) return;
    l.dead = true;
    for (Pipe* p : {&l.up, &l.down})
      if (p->timer != 0) loop_->cancel(std::exchange(p->timer, 0));
    if (l.connector) l.connector->cancel();
    for (Leg* leg : {l.client.get(), l.upstream.get()}) {
      if (!leg) continue;
      if (abortive) {
        reset_connection(*leg);
      } else {
        leg->close(CloseReason::peer_closed);
      }
    }
    dead_.push_back(l.id);
    if (dead_.size() == 1) loop_->post([this] { reap(); });  // outside the legs' callbacks
  }

  void reap() {
    for (std::uint64_t id : dead_) links_.erase(id);
    dead_.clear();
    stats_.active = links_.size();
  }

  void settings_changed() override {
    std::vector<std::uint64_t> ids;
    ids.reserve(links_.size());
    for (auto& [id, l] : links_) ids.push_back(id);
    for (std::uint64_t id : ids) {
      for (bool up : {true, false}) {
        Link* l = find(id);
        if (!l) break;
        Pipe& p = up ? l->up : l->down;
        flush(*l, p);
        if (!l->dead) regulate(*l, p);
      }
    }
  }

  loop::ConnectionOptions leg_opts_;
  Address listen_addr_;
  std::unique_ptr<loop::Acceptor> acceptor_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Link>> links_;
  std::vector<std::uint64_t> dead_;
};

EventLoop& Leg::proxy_loop(TcpProxy& p) { return p.event_loop(); }
void Leg::on_data(std::span<const std::byte> data) { proxy_->on_data(*link_, client_side_, data); }
void Leg::on_eof() { proxy_->on_eof(*link_, client_side_); }
void Leg::on_drain() { proxy_->on_drain(*link_, client_side_); }
void Leg::on_closed(CloseReason reason, std::error_code ec) { proxy_->on_closed(*link_, client_side_, reason, ec); }

// ---------------------------------------------------------------------------------------------
// UDP

struct Session {
  Address client;
  Fd fd;  // connected to the upstream: replies come back on it
  TimePoint last{};
  TimerId idle_timer = 0;
};

struct Pending {
  bool up = true;
  Address client;
  std::vector<std::byte> data;
};

class UdpProxy final : public Base {
 public:
  using Base::Base;
  ~UdpProxy() override {
    for (auto& [addr, s] : sessions_) loop_->unwatch(s->fd.get());
    if (sock_.is_open()) loop_->unwatch(sock_.fd());
  }

  Result<void> open() {
    auto s = UdpSocket::bind(cfg_.listen);
    if (!s) return s.error();
    sock_ = std::move(*s);
    if (auto r = loop_->watch(sock_.fd(), loop::Interest::read, [this](const loop::Ready&) { read_clients(); }); !r)
      return r;
    return open_control();
  }
  Address listen_address() const override { return sock_.local_address().value_or(Address()); }

 private:
  using Key = std::pair<TimePoint, std::uint64_t>;

  bool impaired(bool up) { return up ? imp().applies_upstream() : imp().applies_downstream(); }

  // Sends the datagrams that are due, then sets the one release timer for the next.
  void release_due() {
    const TimePoint now = Clock::now();
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
    schedule(now);
  }

  void schedule(TimePoint now) {
    const TimePoint next = next_release(now);
    if (release_timer_ != 0) {
      if (loop_->timer_expiry(release_timer_) == next) return;
      loop_->cancel(std::exchange(release_timer_, 0));
    }
    if (next == TimePoint::max()) return;
    release_timer_ = loop_->run_at(next, [this] {
      release_timer_ = 0;
      release_due();
    });
  }

  void settings_changed() override { release_due(); }

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

  TimePoint next_release(TimePoint now) {
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

  void read_clients() {
    for (int i = 0; i < 64; ++i) {
      Address from;
      socklen_t len = Address::capacity();
      ssize_t n = sys::recvfrom(sock_.fd(), buf_.data(), buf_.size(), 0, from.sockaddr_ptr(), &len);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EAGAIN, or an ICMP error for a datagram we sent to a client: nothing to do
      }
      from.set_length(len);
      Session* s = session_for(from);
      if (!s) continue;
      s->last = Clock::now();
      impair(true, from, static_cast<std::size_t>(n));
    }
    release_due();
  }

  void read_upstream(Session& s) {
    for (int i = 0; i < 64; ++i) {
      ssize_t n = sys::recvfrom(s.fd.get(), buf_.data(), buf_.size(), 0, nullptr, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EAGAIN, or ECONNREFUSED: the upstream port is closed (ICMP); UDP has no reset
      }
      s.last = Clock::now();
      impair(false, s.client, static_cast<std::size_t>(n));
    }
    release_due();
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
    Session* raw = s.get();
    auto w = loop_->watch(raw->fd.get(), loop::Interest::read, [this, raw](const loop::Ready&) { read_upstream(*raw); });
    if (!w) {
      log_error("{}", w.error().message());
      return nullptr;
    }
    ++stats_.accepted;
    log("session {} -> {}", client.to_string(), cfg_.upstream.to_string());
    sessions_.emplace(client, std::move(s));
    stats_.active = sessions_.size();
    arm_idle(*raw);
    return raw;
  }

  // A session without traffic for udp_idle is forgotten; the timer is lazy (re-armed from `last`
  // when it fires, not on every datagram).
  void arm_idle(Session& s) {
    const Address client = s.client;
    s.idle_timer = loop_->run_at(s.last + std::chrono::duration_cast<loop::Duration>(cfg_.udp_idle), [this, client] {
      auto it = sessions_.find(client);
      if (it == sessions_.end()) return;
      Session& ss = *it->second;
      if (Clock::now() - ss.last <= cfg_.udp_idle) return arm_idle(ss);
      loop_->unwatch(ss.fd.get());
      sessions_.erase(it);
      stats_.active = sessions_.size();
    });
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
  TimerId release_timer_ = 0;
  std::vector<std::byte> buf_ = std::vector<std::byte>(65536);
};

template <class P>
Result<std::unique_ptr<Proxy>> open_proxy(const Config& cfg) {
  auto loop = EventLoop::create();
  if (!loop) return loop.error();
  auto p = std::make_unique<P>(cfg, std::move(*loop));
  if (auto r = p->open(); !r) return r.error();
  return std::unique_ptr<Proxy>(std::move(p));
}

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
  return cfg.udp ? open_proxy<UdpProxy>(cfg) : open_proxy<TcpProxy>(cfg);
}

}  // namespace sockit::proxy
