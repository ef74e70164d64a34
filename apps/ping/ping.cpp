// sockit ping: round-trip probes over UDP (against any echo server) or TCP connect, with ping(8)'s
// output. Behaviour, counters and exit statuses are specified in docs/RELIABILITY.md ("ping").
#include "common/blocked_signals.hpp"
#include "common/command.hpp"

#include "sockit/loop/connector.hpp"
#include "sockit/loop/event_loop.hpp"
#include "sockit/net/address.hpp"
#include "sockit/net/parse.hpp"
#include "sockit/net/resolver.hpp"
#include "sockit/net/socket.hpp"
#include "sockit/net/sys.hpp"
#include "sockit/net/udp.hpp"
#include "tools/ping/probe.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

namespace sockit::ping {
namespace {

using cli::UsageError;
using namespace std::chrono_literals;

struct Options {
  bool udp = false, tcp = false, v4 = false, v6 = false, json = false, quiet = false;
  long long count = 0;  // 0 = until interrupted (when -c is not given)
  CLI::Option* count_opt = nullptr;
  std::string interval_text = "1s", timeout_text = "1s", rto_text;
  int retries = 3;
  std::size_t size = kDefaultSize;
  std::optional<std::uint64_t> seed;
  std::string host, port;

  Nanos interval{}, timeout{};
  std::optional<Nanos> rto;
};

Nanos parse_duration_flag(const std::string& text, std::string_view flag) {
  auto d = parse_duration(text);
  if (!d) throw UsageError(fmt::format("invalid duration for {}: '{}' (use e.g. 500ms, 2s, 1m)", flag, text));
  return *d;
}

double to_ms(Nanos d) { return std::chrono::duration<double, std::milli>(d).count(); }

class Printer {
 public:
  explicit Printer(const Options& o) : o_(o) {}
  template <class... Args>
  void line(fmt::format_string<Args...> f, Args&&... args) {
    if (!o_.quiet) header(f, std::forward<Args>(args)...);
  }
  /// The `PING ...` first line: printed with -q too (ping(8) does), not with --json.
  template <class... Args>
  void header(fmt::format_string<Args...> f, Args&&... args) {
    if (o_.json) return;
    fmt::print(stdout, f, std::forward<Args>(args)...);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

 private:
  const Options& o_;
};

int finish(const Options& o, const Tracker& t, Nanos elapsed, const std::string& proto, const Address& addr) {
  Summary s = t.summary(elapsed);
  if (o.json) {
    nlohmann::json j;
    j["host"] = o.host;
    j["address"] = addr.to_string();
    j["protocol"] = proto;
    j["transmitted"] = s.transmitted;
    j["received"] = s.received;
    j["lost"] = s.lost;
    j["loss_percent"] = s.loss_percent;
    j["packets_transmitted"] = s.packets_transmitted;
    j["packets_received"] = s.packets_received;
    j["packet_loss_percent"] = s.packet_loss_percent;
    j["errors"] = s.errors;
    j["duplicates"] = s.duplicates;
    j["redundant"] = s.redundant;
    j["late"] = s.late;
    j["reordered"] = s.reordered;
    j["retransmissions"] = s.retransmissions;
    j["foreign"] = s.foreign;
    j["closed"] = s.closed;
    j["time_ms"] = s.time_ms;
    if (s.rtt_min)
      j["rtt_ms"] = {{"min", *s.rtt_min}, {"avg", *s.rtt_avg}, {"max", *s.rtt_max}, {"mdev", *s.rtt_mdev}};
    else
      j["rtt_ms"] = nullptr;
    auto probes = nlohmann::json::array();
    for (const auto& [seq, r] : t.records()) {
      nlohmann::json p = {{"seq", seq}, {"attempts", r.attempts}};
      switch (r.status) {
        case ProbeStatus::received: p["status"] = r.closed ? "closed" : "received"; p["rtt_ms"] = r.rtt_ms; break;
        case ProbeStatus::error: p["status"] = "error"; p["error"] = r.error; break;
        default: p["status"] = "lost"; break;
      }
      if (r.reordered) p["reordered"] = true;
      probes.push_back(std::move(p));
    }
    j["probes"] = std::move(probes);
    auto late = nlohmann::json::array();
    for (const auto& l : t.late_replies()) late.push_back({{"seq", l.seq}, {"rtt_ms", l.rtt_ms}});
    j["late_replies"] = std::move(late);
    fmt::print(stdout, "{}\n", j.dump(2));
  } else {
    fmt::print(stdout, "\n{}", format_summary(o.host, s));
  }
  std::fflush(stdout);
  return s.received > 0 ? cli::kExitOk : cli::kExitFailure;
}

std::string describe_error(int err) {
  switch (err) {
    case ECONNREFUSED: return "Destination Port Unreachable";
    case EHOSTUNREACH: return "Destination Host Unreachable";
    case ENETUNREACH: return "Destination Net Unreachable";
    case EACCES: case EPERM: return "Communication administratively prohibited";
    default: return std::strerror(err);
  }
}

// ---------------------------------------------------------------------------------------------
// Both modes run on one sockit::loop::EventLoop: loop timers send the probes every interval,
// retransmit (UDP) and expire deadlines; SIGINT/SIGTERM come through the loop's signalfd and end
// the run early with the summary, as ping(8) does.

constexpr int kStopSignals[] = {SIGINT, SIGTERM};

// What both modes share: options, the tracker, the printer, the loop and the send schedule.
class PingRun {
 protected:
  PingRun(const Options& o, const Address& addr, loop::EventLoop& lp) : o_(o), addr_(addr), out_(o), loop_(lp) {}
  ~PingRun() {
    for (loop::TimerId id : {send_timer_, deadline_timer_}) {
      if (id != 0) loop_.cancel(id);
    }
  }
  PingRun(const PingRun&) = delete;
  PingRun& operator=(const PingRun&) = delete;

  bool more() const { return o_.count == 0 || static_cast<long long>(seq_) < o_.count; }
  // Runs the loop until done (finish_if_done) or a stop signal; returns the exit status.
  int run_loop(const std::string& proto) {
    if (auto r = loop_.watch_signals(kStopSignals, [this](int) { loop_.stop(); }); !r) {
      fmt::print(stderr, "ping: {}\n", r.error().message());
      return cli::kExitFailure;
    }
    start_ = Clock::now();
    next_send_ = start_;
    send_timer_ = loop_.run_after(Nanos::zero(), [this] { on_send_timer(); });
    loop_.run();
    t_.expire_all();
    return finish(o_, t_, Clock::now() - start_, proto, addr_);
  }
  // The next probe at next_send_ + interval, or now when we fell behind (a stopped process):
  // never a burst.
  void schedule_next_send() {
    next_send_ += o_.interval;
    if (const auto now = Clock::now(); next_send_ < now) next_send_ = now;
    send_timer_ = loop_.run_at(next_send_, [this] { on_send_timer(); });
  }
  void on_send_timer() {
    send_timer_ = 0;
    if (more()) send_probe_();
    finish_if_done();
  }
  std::function<void()> send_probe_;  // the mode's: one new probe (seq_)
  void finish_if_done() {
    if (!more() && !t_.any_pending()) loop_.stop();
  }
  // Marks probes past their deadline lost ("no answer ...") and re-arms the deadline timer.
  void expire(Clock::time_point now) {
    for (auto lost : t_.expire(now)) out_.line("no answer for seq={} (timeout {})", lost, format_duration(o_.timeout));
    arm_deadline();
  }
  void arm_deadline() {
    const auto next = t_.next_deadline();
    if (deadline_timer_ != 0 && next && loop_.timer_expiry(deadline_timer_) == next) return;
    if (deadline_timer_ != 0) loop_.cancel(std::exchange(deadline_timer_, 0));
    if (!next) return;
    deadline_timer_ = loop_.run_at(*next, [this] {
      deadline_timer_ = 0;
      expire(Clock::now());
      finish_if_done();
    });
  }

  const Options& o_;
  const Address& addr_;
  Printer out_;
  loop::EventLoop& loop_;
  Tracker t_;
  Clock::time_point start_{}, next_send_{};
  std::uint32_t seq_ = 0;  // the next probe's
  loop::TimerId send_timer_ = 0, deadline_timer_ = 0;
};

// ---------------------------------------------------------------------------------------------
// UDP: probes go out every interval whatever happens to earlier ones (as ping(8)); each probe is
// retransmitted with exponential backoff and jitter until answered or its timeout passes.

class UdpPing final : PingRun {
 public:
  UdpPing(const Options& o, const Address& addr, UdpSocket sock, loop::EventLoop& lp)
      : PingRun(o, addr, lp), sock_(std::move(sock)), rng_(o.seed ? *o.seed : std::random_device{}()),
        session_(std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32) ^ rng_()),
        rto0_(o.rto ? *o.rto : std::max<Nanos>(o.timeout / 4, 1ms)),
        buf_(std::max<std::size_t>(o.size, kMaxSize + 1)), pkt_(o.size) {
    send_probe_ = [this] { send_probe(); };
  }
  ~UdpPing() {
    for (const auto& [seq, id] : retx_) loop_.cancel(id);
    loop_.unwatch(sock_.fd());
  }

  int run() {
    if (auto r = loop_.watch(sock_.fd(), loop::Interest::read, [this](const loop::Ready&) { on_readable(); }); !r) {
      fmt::print(stderr, "ping: {}\n", r.error().message());
      return cli::kExitFailure;
    }
    out_.header("PING {} ({}) udp, {} bytes of data.", o_.host, addr_.to_string(), o_.size);
    return run_loop("udp");
  }

 private:
  void send_probe();
  void retransmit(std::uint32_t seq, int done);
  void arm_retransmit(std::uint32_t seq, int done, Clock::time_point now);
  int send_copy(std::uint32_t seq, std::uint16_t attempt);
  void on_readable();
  void on_icmp_error(int err);
  void on_reply(std::size_t n, Clock::time_point at);
  Nanos jittered(Nanos d) { return std::chrono::duration_cast<Nanos>(d * jitter_(rng_)); }

  UdpSocket sock_;
  std::mt19937_64 rng_;
  std::uint64_t session_;
  std::uniform_real_distribution<double> jitter_{0.8, 1.2};
  Nanos rto0_;
  std::vector<std::byte> buf_, pkt_;
  std::map<std::uint32_t, loop::TimerId> retx_;  // pending probes with a retransmission armed
  std::uint32_t last_sent_ = 0;
  bool any_sent_ = false;
};

int UdpPing::send_copy(std::uint32_t s, std::uint16_t attempt) {
  Probe p{session_, s, attempt, static_cast<std::uint64_t>(Clock::now().time_since_epoch().count())};
  encode(p, pkt_);
  for (;;) {
    // sendto() on the connected socket: datagrams are never cut short by the fault layer.
    ssize_t n = sys::sendto(sock_.fd(), pkt_.data(), pkt_.size(), 0, nullptr, 0);
    if (n >= 0) return 0;
    if (errno == EINTR) continue;
    return errno;  // EAGAIN: the local queue is full; the probe counts as sent and may be lost
  }
}

void UdpPing::send_probe() {
  const auto now = Clock::now();
  const std::uint32_t seq = seq_++;
  t_.sent(seq, now, now + o_.timeout);
  last_sent_ = seq;
  any_sent_ = true;
  if (int err = send_copy(seq, 0); err && err != EAGAIN) {
    t_.on_error(seq, describe_error(err));
    out_.line("From {}: seq={} {}", addr_.to_string(), seq, describe_error(err));
  } else if (o_.retries > 0) {
    arm_retransmit(seq, 0, now + jittered(rto0_));
  }
  arm_deadline();
  if (more()) schedule_next_send();
}

// Retransmission number done+1 of `seq` at `when`, unless the probe's deadline comes first.
void UdpPing::arm_retransmit(std::uint32_t seq, int done, Clock::time_point when) {
  const ProbeRecord* r = t_.find(seq);
  if (!r || r->status != ProbeStatus::pending || done >= o_.retries || when >= r->deadline) {
    retx_.erase(seq);
    return;
  }
  retx_[seq] = loop_.run_at(when, [this, seq, done] { retransmit(seq, done); });
}

void UdpPing::retransmit(std::uint32_t seq, int done) {
  retx_.erase(seq);
  const ProbeRecord* r = t_.find(seq);
  if (!r || r->status != ProbeStatus::pending) return;
  ++done;
  t_.retransmitted(seq);
  (void)send_copy(seq, static_cast<std::uint16_t>(done));
  arm_retransmit(seq, done, Clock::now() + jittered(rto0_ * (1 << std::min(done, 20))));
}

void UdpPing::on_readable() {
  for (;;) {
    ssize_t n = sys::recvfrom(sock_.fd(), buf_.data(), buf_.size(), MSG_DONTWAIT, nullptr, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      on_icmp_error(errno);
      continue;
    }
    on_reply(static_cast<std::size_t>(n), Clock::now());
  }
  arm_deadline();
  finish_if_done();
}

// An ICMP error for one of our datagrams; it does not say which, so it answers the newest
// pending probe (ping(8) shows the seq the ICMP quotes; UDP sockets cannot).
void UdpPing::on_icmp_error(int err) {
  if (!any_sent_) return;
  if (const ProbeRecord* r = t_.find(last_sent_); r && r->status == ProbeStatus::pending) {
    t_.on_error(last_sent_, describe_error(err));
    out_.line("From {}: seq={} {}", addr_.to_string(), last_sent_, describe_error(err));
  }
}

void UdpPing::on_reply(std::size_t n, Clock::time_point at) {
  auto p = decode(std::span<const std::byte>(buf_.data(), n));
  if (!p || p->session != session_) {
    t_.foreign();
    return;
  }
  // Deadlines that passed before this reply arrived are settled first, so a reply after its
  // probe's timeout is always late, never fresh (whatever the loop's timing).
  expire(at);
  const Nanos rtt = at.time_since_epoch() - Nanos(static_cast<std::int64_t>(p->sent_ns));
  const ReplyKind kind = t_.on_reply(p->seq, p->attempt, rtt);
  const std::string head =
      fmt::format("{} bytes from {}: seq={} time={} ms", n, addr_.to_string(), p->seq, format_ms(to_ms(rtt)));
  const std::string retry = p->attempt ? fmt::format(" (retransmission {})", p->attempt) : std::string();
  switch (kind) {
    case ReplyKind::fresh: {
      const ProbeRecord* r = t_.find(p->seq);
      out_.line("{}{}{}", head, retry, r && r->reordered ? " (out of order)" : "");
      break;
    }
    case ReplyKind::duplicate: out_.line("{}{} (DUP!)", head, retry); break;
    case ReplyKind::redundant: out_.line("{}{} (already answered)", head, retry); break;
    case ReplyKind::late: out_.line("{}{} (LATE: already counted lost)", head, retry); break;
    case ReplyKind::unknown: break;
  }
}

int run_udp(const Options& o, const Address& addr, loop::EventLoop& lp) {
  auto sock = UdpSocket::open(addr.family());
  if (!sock) {
    fmt::print(stderr, "ping: {}\n", sock.error().message());
    return cli::kExitFailure;
  }
  // Connected, so ICMP port-unreachable comes back as ECONNREFUSED and only the target's replies
  // are delivered.
  if (auto c = sock->connect(addr); !c) {
    fmt::print(stderr, "ping: {}\n", c.error().message());
    return cli::kExitFailure;
  }
  return UdpPing(o, addr, std::move(*sock), lp).run();
}

// ---------------------------------------------------------------------------------------------
// TCP: one connect per probe (the kernel retransmits the SYN), through a loop::Connector with the
// probe's timeout; the next probe starts an interval after the previous one, once it is settled.
// An accepted connection is "open"; a reset (ECONNREFUSED) is an answer too, "closed", as hping3
// counts a RST; only silence until the timeout is loss. Unreachable and prohibited routes are
// errors.

class TcpPing final : PingRun {
 public:
  TcpPing(const Options& o, const Address& addr, loop::EventLoop& lp) : PingRun(o, addr, lp) {
    send_probe_ = [this] { send_probe(); };
  }
  ~TcpPing() {
    if (connector_) connector_->cancel();
  }
  int run() {
    out_.header("PING {} ({}) tcp connect.", o_.host, addr_.to_string());
    return run_loop("tcp");
  }

 private:
  void send_probe() {
    const std::uint32_t seq = seq_++;
    const auto t0 = Clock::now();
    t_.sent(seq, t0, t0 + o_.timeout);
    loop::ConnectorOptions co;
    co.attempt_timeout = std::chrono::ceil<std::chrono::milliseconds>(o_.timeout);
    co.max_attempts = 1;
    connector_ = loop::Connector::start(loop_, addr_, co, [this, seq, t0](Result<Fd> r) {
      on_result(seq, Clock::now() - t0, r);  // connector_ is replaced by the next probe's
      if (more()) schedule_next_send();
      finish_if_done();
    });
  }
  void on_result(std::uint32_t seq, Nanos rtt, const Result<Fd>& s) {
    if (s) {
      t_.on_reply(seq, 0, rtt);
      out_.line("from {}: seq={} open time={} ms", addr_.to_string(), seq, format_ms(to_ms(rtt)));
    } else if (s.error() == std::errc::connection_refused) {
      t_.on_reply(seq, 0, rtt);
      t_.mark_closed(seq);
      out_.line("from {}: seq={} closed (RST) time={} ms", addr_.to_string(), seq, format_ms(to_ms(rtt)));
    } else if (s.error() == std::errc::timed_out) {
      t_.expire(Clock::time_point::max());
      out_.line("no answer for seq={} (timeout {})", seq, format_duration(o_.timeout));
    } else {
      std::string what = s.error().code().category() == std::system_category()
                             ? describe_error(s.error().code().value())
                             : s.error().code().message();
      t_.on_error(seq, what);
      out_.line("From {}: seq={} {}", addr_.to_string(), seq, what);
    }
  }

  std::shared_ptr<loop::Connector> connector_;
};

int run(Options& o) {
  if (o.udp && o.tcp) throw UsageError("-u and -t cannot be used together");
  if (o.v4 && o.v6) throw UsageError("-4 and -6 cannot be used together");
  if (o.count_opt && o.count_opt->count() > 0 && (o.count < 1 || o.count > 0xffffffffLL))
    throw UsageError(fmt::format("invalid count: {} (must be 1 to 4294967295)", o.count));
  o.interval = parse_duration_flag(o.interval_text, "-i");
  o.timeout = parse_duration_flag(o.timeout_text, "-W");
  if (o.interval < 1ms) throw UsageError("-i must be at least 1ms");
  if (o.timeout <= Nanos::zero()) throw UsageError("-W must be greater than 0");
  if (!o.rto_text.empty()) {
    o.rto = parse_duration_flag(o.rto_text, "--rto");
    if (*o.rto <= Nanos::zero()) throw UsageError("--rto must be greater than 0");
  }
  if (o.retries < 0 || o.retries > 16) throw UsageError("--retries must be between 0 and 16");
  if (o.size < kHeaderSize || o.size > kMaxSize)
    throw UsageError(fmt::format("-s must be between {} and {}", kHeaderSize, kMaxSize));
  if (o.tcp && (!o.rto_text.empty())) throw UsageError("--rto applies to UDP probes only (-u)");
  auto port = Address::parse_port(o.port);
  if (!port) throw UsageError(fmt::format("invalid port: '{}' (expected 0-65535 or a service name)", o.port));

  ResolveOptions ro;
  ro.family = o.v4 ? Family::v4 : o.v6 ? Family::v6 : Family::unspec;
  ro.type = o.tcp ? SocketType::stream : SocketType::datagram;
  auto addrs = Resolver::resolve(o.host, std::to_string(*port), ro);
  if (!addrs || addrs->empty()) {
    // As ping(8): an unknown host is exit status 2.
    fmt::print(stderr, "ping: {}\n", addrs ? std::string("no addresses for ") + o.host : addrs.error().message());
    return cli::kExitUsage;
  }
  const Address addr = addrs->front();
  cli::BlockedSignals blocked(kStopSignals);
  auto lp = loop::EventLoop::create();
  if (!lp) {
    fmt::print(stderr, "ping: {}\n", lp.error().message());
    return cli::kExitFailure;
  }
  return o.tcp ? TcpPing(o, addr, **lp).run() : run_udp(o, addr, **lp);
}

}  // namespace

SOCKIT_COMMAND(ping, "ping", "round-trip probes over UDP (echo) or TCP connect, like ping(8)",
               [](CLI::App& app) -> cli::Runner {
  auto o = std::make_shared<Options>();
  app.add_flag("-u,--udp", o->udp, "UDP probes to an echo server (default)");
  app.add_flag("-t,--tcp", o->tcp, "TCP connect probes (an RST counts as an answer: port closed)");
  app.add_flag("-4", o->v4, "IPv4 only");
  app.add_flag("-6", o->v6, "IPv6 only");
  o->count_opt = app.add_option("-c,--count", o->count, "stop after COUNT probes (default: until interrupted)");
  app.add_option("-i,--interval", o->interval_text, "time between probes (default 1s)");
  app.add_option("-W,--timeout", o->timeout_text, "per-probe timeout: later replies count as lost (default 1s)");
  app.add_option("--rto", o->rto_text, "UDP: first retransmission after this (default timeout/4), doubling");
  app.add_option("--retries", o->retries, "UDP: retransmissions per probe within its timeout (default 3)");
  app.add_option("-s,--size", o->size, "UDP probe size in bytes (default 56)");
  app.add_option("--seed", o->seed, "seed for the retransmission jitter");
  app.add_flag("--json", o->json, "print only a JSON summary (with every probe) on stdout");
  app.add_flag("-q,--quiet", o->quiet, "print only the first line and the summary");
  app.add_option("host", o->host, "target host")->required();
  app.add_option("port", o->port, "target port")->required();
  return [o] { return run(*o); };
});

}  // namespace sockit::ping
