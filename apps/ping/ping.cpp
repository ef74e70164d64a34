// sockit ping: round-trip probes over UDP (against any echo server) or TCP connect, with ping(8)'s
// output. Behaviour, counters and exit statuses are specified in docs/RELIABILITY.md ("ping").
#include "common/command.hpp"

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
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include <poll.h>
#include <time.h>

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

std::atomic<bool> g_stop{false};
void on_stop_signal(int) { g_stop.store(true); }

// SIGINT/SIGTERM end the run early with the summary, as ping(8) does. No SA_RESTART, so poll()
// returns EINTR and the loop notices at once. The previous handlers come back on destruction.
class StopSignals {
 public:
  StopSignals() {
    g_stop.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

Nanos parse_duration_flag(const std::string& text, std::string_view flag) {
  auto d = parse_duration(text);
  if (!d) throw UsageError(fmt::format("invalid duration for {}: '{}' (use e.g. 500ms, 2s, 1m)", flag, text));
  return *d;
}

double to_ms(Nanos d) { return std::chrono::duration<double, std::milli>(d).count(); }

int poll_ms_until(Clock::time_point when, Clock::time_point now) {
  if (when <= now) return 0;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(when - now).count();
  return static_cast<int>(std::min<long long>((us + 999) / 1000, 60'000));  // round up: never early
}

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
// UDP: probes go out every interval whatever happens to earlier ones (as ping(8)); each probe is
// retransmitted with exponential backoff and jitter until answered or its timeout passes.

int run_udp(const Options& o, const Address& addr) {
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
  Printer out(o);
  std::mt19937_64 rng(o.seed ? *o.seed : std::random_device{}());
  const std::uint64_t session = std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32) ^ rng();
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const Nanos rto0 = o.rto ? *o.rto : std::max<Nanos>(o.timeout / 4, 1ms);

  struct Retx {
    Clock::time_point next;
    int done = 0;
  };
  std::map<std::uint32_t, Retx> retx;  // pending probes with retransmissions left
  Tracker t;
  std::vector<std::byte> buf(std::max<std::size_t>(o.size, kMaxSize + 1));
  std::vector<std::byte> pkt(o.size);

  out.header("PING {} ({}) udp, {} bytes of data.", o.host, addr.to_string(), o.size);
  StopSignals signals;
  const auto start = Clock::now();
  auto next_send = start;
  std::uint32_t seq = 0;
  std::uint32_t last_sent = 0;
  bool any_sent = false;

  auto send_copy = [&](std::uint32_t s, std::uint16_t attempt) -> int {
    Probe p{session, s, attempt, static_cast<std::uint64_t>(Clock::now().time_since_epoch().count())};
    encode(p, pkt);
    for (;;) {
      // sendto() on the connected socket: datagrams are never cut short by the fault layer.
      ssize_t n = sys::sendto(sock->fd(), pkt.data(), pkt.size(), 0, nullptr, 0);
      if (n >= 0) return 0;
      if (errno == EINTR) continue;
      return errno;  // EAGAIN: the local queue is full; the probe counts as sent and may be lost
    }
  };

  for (;;) {
    auto now = Clock::now();
    if (g_stop.load()) break;
    const bool more = o.count == 0 || static_cast<long long>(seq) < o.count;
    if (more && now >= next_send) {
      t.sent(seq, now, now + o.timeout);
      last_sent = seq;
      any_sent = true;
      if (int err = send_copy(seq, 0); err && err != EAGAIN) {
        t.on_error(seq, describe_error(err));
        out.line("From {}: seq={} {}", addr.to_string(), seq, describe_error(err));
      } else if (o.retries > 0) {
        retx[seq] = {now + std::chrono::duration_cast<Nanos>(rto0 * jitter(rng)), 0};
      }
      ++seq;
      next_send += o.interval;
      if (next_send < now) next_send = now;  // we fell behind (stopped process): do not burst
      continue;
    }
    // Retransmissions due.
    for (auto it = retx.begin(); it != retx.end();) {
      const ProbeRecord* r = t.find(it->first);
      if (!r || r->status != ProbeStatus::pending || it->second.done >= o.retries || it->second.next >= r->deadline) {
        it = retx.erase(it);
        continue;
      }
      if (it->second.next <= now) {
        ++it->second.done;
        t.retransmitted(it->first);
        (void)send_copy(it->first, static_cast<std::uint16_t>(it->second.done));
        auto backoff = rto0 * (1 << std::min(it->second.done, 20));
        it->second.next = now + std::chrono::duration_cast<Nanos>(backoff * jitter(rng));
      }
      ++it;
    }
    for (auto lost : t.expire(now)) out.line("no answer for seq={} (timeout {})", lost, format_duration(o.timeout));
    if (!more && !t.any_pending()) break;

    // Sleep until the next thing to do or a reply.
    Clock::time_point wake = now + 60s;
    if (more) wake = std::min(wake, next_send);
    if (auto d = t.next_deadline()) wake = std::min(wake, *d);
    for (const auto& [s, r] : retx) wake = std::min(wake, r.next);
    pollfd pfd{sock->fd(), POLLIN, 0};
    int pr = ::poll(&pfd, 1, poll_ms_until(wake, now));
    if (pr < 0 && errno != EINTR) {
      fmt::print(stderr, "ping: poll: {}\n", std::strerror(errno));
      break;
    }
    if (pr <= 0) continue;
    for (;;) {
      ssize_t n = sys::recvfrom(sock->fd(), buf.data(), buf.size(), MSG_DONTWAIT, nullptr, nullptr);
      const auto at = Clock::now();
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        // An ICMP error for one of our datagrams; it does not say which, so it answers the
        // newest pending probe (ping(8) shows the seq the ICMP quotes; UDP sockets cannot).
        int err = errno;
        if (any_sent) {
          if (const ProbeRecord* r = t.find(last_sent); r && r->status == ProbeStatus::pending) {
            t.on_error(last_sent, describe_error(err));
            out.line("From {}: seq={} {}", addr.to_string(), last_sent, describe_error(err));
          }
        }
        continue;
      }
      auto p = decode(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
      if (!p || p->session != session) {
        t.foreign();
        continue;
      }
      // Deadlines that passed before this reply arrived are settled first, so a reply after its
      // probe's timeout is always late, never fresh (whatever the loop's timing).
      for (auto lost : t.expire(at)) out.line("no answer for seq={} (timeout {})", lost, format_duration(o.timeout));
      const Nanos rtt = at.time_since_epoch() - Nanos(static_cast<std::int64_t>(p->sent_ns));
      ReplyKind kind = t.on_reply(p->seq, p->attempt, rtt);
      const std::string head =
          fmt::format("{} bytes from {}: seq={} time={} ms", n, addr.to_string(), p->seq, format_ms(to_ms(rtt)));
      const std::string retry = p->attempt ? fmt::format(" (retransmission {})", p->attempt) : std::string();
      switch (kind) {
        case ReplyKind::fresh: {
          const ProbeRecord* r = t.find(p->seq);
          out.line("{}{}{}", head, retry, r && r->reordered ? " (out of order)" : "");
          break;
        }
        case ReplyKind::duplicate: out.line("{}{} (DUP!)", head, retry); break;
        case ReplyKind::redundant: out.line("{}{} (already answered)", head, retry); break;
        case ReplyKind::late: out.line("{}{} (LATE: already counted lost)", head, retry); break;
        case ReplyKind::unknown: break;
      }
    }
  }
  t.expire_all();
  return finish(o, t, Clock::now() - start, "udp", addr);
}

// ---------------------------------------------------------------------------------------------
// TCP: one connect per probe (the kernel retransmits the SYN). An accepted connection is "open";
// a reset (ECONNREFUSED) is an answer too, "closed", as hping3 counts a RST; only silence until
// the timeout is loss. Unreachable and prohibited routes are errors.

bool sleep_until(Clock::time_point when) {
  for (;;) {
    if (g_stop.load()) return false;
    auto now = Clock::now();
    if (now >= when) return true;
    auto left = when - now;
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(left).count());
    ts.tv_nsec = static_cast<long>((left - std::chrono::seconds(ts.tv_sec)).count());
    ::nanosleep(&ts, nullptr);  // EINTR: loop and check the stop flag
  }
}

int run_tcp(const Options& o, const Address& addr) {
  Printer out(o);
  Tracker t;
  out.header("PING {} ({}) tcp connect.", o.host, addr.to_string());
  StopSignals signals;
  const auto start = Clock::now();
  auto next_send = start;
  for (std::uint32_t seq = 0; o.count == 0 || static_cast<long long>(seq) < o.count; ++seq) {
    if (!sleep_until(next_send)) break;
    const auto t0 = Clock::now();
    t.sent(seq, t0, t0 + o.timeout);
    auto s = TcpStream::connect(addr, Deadline::at(t0 + o.timeout));
    const auto rtt = Clock::now() - t0;
    if (s) {
      t.on_reply(seq, 0, rtt);
      out.line("from {}: seq={} open time={} ms", addr.to_string(), seq, format_ms(to_ms(rtt)));
    } else if (s.error() == std::errc::connection_refused) {
      t.on_reply(seq, 0, rtt);
      t.mark_closed(seq);
      out.line("from {}: seq={} closed (RST) time={} ms", addr.to_string(), seq, format_ms(to_ms(rtt)));
    } else if (s.error() == std::errc::timed_out) {
      t.expire(Clock::time_point::max());
      out.line("no answer for seq={} (timeout {})", seq, format_duration(o.timeout));
    } else if (s.error().code() == std::errc::interrupted) {
      break;
    } else {
      std::string what = s.error().code().category() == std::system_category()
                             ? describe_error(s.error().code().value())
                             : s.error().code().message();
      t.on_error(seq, what);
      out.line("From {}: seq={} {}", addr.to_string(), seq, what);
    }
    next_send += o.interval;
    if (next_send < Clock::now()) next_send = Clock::now();
  }
  t.expire_all();
  return finish(o, t, Clock::now() - start, "tcp", addr);
}

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
  return o.tcp ? run_tcp(o, addr) : run_udp(o, addr);
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
