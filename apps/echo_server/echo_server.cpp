// sockit echo-server: the RFC 862-868 simple services (echo, discard, chargen, daytime, time) over
// TCP and UDP, served by any concurrency model of sockit::serve, chosen at run time. See
// docs/MODELS.md.
//
// Signals: SIGINT/SIGTERM stop gracefully (listeners close, connections flush and close, up to
// --drain-timeout); a second one forces. SIGUSR1 prints the counters, which are also printed on
// exit. Signals are blocked in every thread and taken with sigtimedwait() in main.
#include "common/command.hpp"
#include "common/log.hpp"
#include "common/systemd.hpp"

#include "sockit/loop/event_loop.hpp"
#include "sockit/proto/services.hpp"
#include "sockit/serve/server.hpp"
#include "sockit/serve/udp_server.hpp"
#include "serve/tuning.hpp"
#include "sockit/net/parse.hpp"
#include "sockit/net/resolver.hpp"
#include "sockit/tls/context.hpp"
#include "sockit/tls/transport.hpp"
#include "tools/metrics/endpoint.hpp"
#include "tools/metrics/server_metrics.hpp"

#include <fmt/core.h>

#include <array>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace sockit::echo_server {
namespace {

using cli::UsageError;
namespace serve = sockit::serve;

struct Options {
  std::string model;
  std::string backend;
  int threads = 0;
  std::vector<std::string> listen;
  std::vector<std::string> udp;
  int udp_batch = static_cast<int>(serve::UdpServer::kDefaultBatch);
  bool udp_batch_set = false;
  bool no_udp_gso = false;
  bool udp_allow_low_ports = false;
  std::string udp_rate = "1000/s";
  bool udp_rate_set = false;
  bool udp_rate_loopback = false;
  bool udp_chargen_full = false;
  bool no_splice = false;
  std::string service = "echo";
  std::size_t max_conns = 0;
  std::string idle_timeout;
  std::string drain_timeout = "5s";
  std::string send_queue = "4MiB";
  std::string max_buffered;
  std::size_t pool_queue = 64;
  int backlog = 511;
  bool no_tcp = false;
  log::Options log;
  std::string metrics;
  std::string tls_cert;  // --tls-cert: the TCP listeners speak TLS (docs/TLS.md)
  std::string tls_key;
  std::string tls_handshake_timeout = "10s";
};

constexpr std::string_view kName = "sockit echo-server";

// A bare port means loopback (never the wildcard by default).
Address parse_listen(const std::string& text, std::string_view flag) {
  EndpointOptions eo;
  eo.passive = true;
  eo.bare_port = true;
  auto a = parse_endpoint(text, eo);
  if (!a) {
    throw UsageError(fmt::format("invalid address for {}: '{}': {} (expected IP:PORT, [IPv6]:PORT or PORT)", flag,
                                 text, a.error().message()));
  }
  return *a;
}

// --udp-rate: "N/s", "N" (per second) or "0" / "off" (no limit).
std::optional<double> parse_rate(std::string_view text) {
  if (text == "off") return 0.0;
  if (text.ends_with("/s")) text.remove_suffix(2);
  std::uint32_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return static_cast<double>(n);
}

std::string model_detail(const serve::Server& s, std::size_t pool_queue) {
  switch (s.model()) {
    case serve::Model::iterative: return "one client at a time";
    case serve::Model::fork: return "a process per connection";
    case serve::Model::thread: return "a thread per connection";
    case serve::Model::pool:
      return fmt::format("{} worker threads, queue of {}", s.threads(), pool_queue);
    default:
      return fmt::format("backend {}, {} event loop{}", s.backend_name(), s.threads(), s.threads() == 1 ? "" : "s");
  }
}

// SIGUSR1 and the exit: one "counters:" line whose values are read back from the collected
// registry, the one the metrics page is rendered from (the keys scripts parse stay).
void print_counters(const metrics::Collector& c, bool tcp, bool udp) {
  std::string line = "counters:";
  if (tcp) line += " " + metrics::tcp_counters(c);
  if (udp) line += " " + metrics::udp_counters(c);
  log::info(line);
}

constexpr std::uint16_t kDefaultPort = 7007;  // TCP when no --listen is given
constexpr int kMaxThreads = 1024;
constexpr std::size_t kLowWaterShare = 4;  // a --send-queue under the high-water mark: resume reading at 1/4 of it

// Everything the flags mean, checked: run() starts from this.
struct Settings {
  proto::Service service = proto::Service::echo;
  serve::Model model = serve::Model::epoll;
  std::chrono::nanoseconds idle{0};
  std::chrono::nanoseconds drain{0};
  std::size_t queue_cap = 0;
  std::size_t max_buffered = 0;
  std::vector<Address> tcp_addrs;
  std::vector<Address> udp_addrs;
  std::optional<Address> metrics_addr;
  serve::UdpServerOptions udp_opts;
  proto::DatagramOptions dgram_opts;
  bool tls = false;  // --tls-cert and --tls-key given: the context is built in run() (exit 1 on a bad file)
  std::chrono::nanoseconds tls_handshake{std::chrono::seconds(10)};  // --tls-handshake-timeout
};

// --model and --backend (they must agree), --threads.
serve::Model parse_model_flags(const Options& o) {
  std::optional<loop::Backend> backend;
  if (!o.backend.empty()) {
    auto b = loop::parse_backend(o.backend);
    if (!b) throw UsageError(b.error().message());
    backend = *b;
  }
  serve::Model model = serve::reactor_model(backend.value_or(loop::kDefaultBackend));
  if (!o.model.empty()) {
    auto m = serve::parse_model(o.model, backend.value_or(loop::kDefaultBackend));
    if (!m) throw UsageError(m.error().message());
    model = *m;
    if (backend && o.model != "reactor") {
      if (!serve::is_reactor(model)) {
        throw UsageError(fmt::format("--backend applies to the reactor models (select, poll, epoll, uring), not '{}'", o.model));
      }
      if (serve::backend_of(model) != *backend) {
        throw UsageError(fmt::format("--model {} and --backend {} disagree (the reactor models are named after their backend)",
                                     o.model, o.backend));
      }
    }
  }
  if (o.threads < 0 || o.threads > kMaxThreads) throw UsageError(fmt::format("--threads must be between 1 and {}", kMaxThreads));
  if (o.threads > 0 && (model == serve::Model::iterative || model == serve::Model::fork || model == serve::Model::thread)) {
    throw UsageError(fmt::format("--threads applies to --model pool (workers) and the reactors select, poll, epoll, uring "
                                 "(event loops), not '{}'",
                                 serve::to_string(model)));
  }
  return model;
}

// Durations, sizes and queue lengths.
void parse_limits(const Options& o, Settings& s) {
  if (!o.idle_timeout.empty()) {
    auto d = parse_duration(o.idle_timeout);
    if (!d) throw UsageError(fmt::format("invalid duration for --idle-timeout: '{}' (use e.g. 30s, 2m)", o.idle_timeout));
    s.idle = *d;
  }
  auto drain = parse_duration(o.drain_timeout);
  if (!drain) throw UsageError(fmt::format("invalid duration for --drain-timeout: '{}' (use e.g. 5s)", o.drain_timeout));
  s.drain = *drain;
  auto queue_cap = parse_size(o.send_queue);
  if (!queue_cap) throw UsageError(fmt::format("invalid size for --send-queue: '{}' (use e.g. 4MiB)", o.send_queue));
  s.queue_cap = *queue_cap;
  s.max_buffered = serve::default_max_buffered();
  if (!o.max_buffered.empty()) {
    auto b = parse_size(o.max_buffered);
    if (!b) throw UsageError(fmt::format("invalid size for --max-buffered: '{}' (use e.g. 256M, 1G; 0 = no cap)", o.max_buffered));
    s.max_buffered = *b;
  }
  if (o.pool_queue == 0) throw UsageError("--pool-queue must be at least 1");
  if (o.backlog < 1) throw UsageError("--backlog must be at least 1");
}

// --listen, --udp, --metrics and the UDP flags (which need --udp).
void parse_addresses(const Options& o, Settings& s) {
  if (!o.no_tcp) {
    for (const auto& l : o.listen) s.tcp_addrs.push_back(parse_listen(l, "--listen"));
    if (s.tcp_addrs.empty()) s.tcp_addrs.push_back(Address::ipv4_loopback(kDefaultPort));
  } else if (!o.listen.empty()) {
    throw UsageError("--no-tcp cannot be used with --listen");
  }
  for (const auto& u : o.udp) s.udp_addrs.push_back(parse_listen(u, "--udp"));
  if (!o.metrics.empty()) s.metrics_addr = parse_listen(o.metrics, "--metrics");
  if (s.tcp_addrs.empty() && s.udp_addrs.empty()) throw UsageError("--no-tcp needs at least one --udp address");
  if (o.udp_batch < 1 || o.udp_batch > static_cast<int>(serve::UdpServer::kMaxBatch)) {
    throw UsageError(fmt::format("--udp-batch must be between 1 and {} (1 = plain recvfrom/sendto)",
                                 serve::UdpServer::kMaxBatch));
  }
  const bool no_udp = s.udp_addrs.empty();
  if (o.udp_batch_set && no_udp) throw UsageError("--udp-batch applies to UDP: give --udp ADDRESS too");
  if (o.no_udp_gso && no_udp) throw UsageError("--no-udp-gso applies to UDP: give --udp ADDRESS too");
  auto udp_rate = parse_rate(o.udp_rate);
  if (!udp_rate) throw UsageError(fmt::format("invalid rate for --udp-rate: '{}' (use e.g. 1000/s; 0 = no limit)", o.udp_rate));
  if (no_udp && (o.udp_rate_set || o.udp_allow_low_ports || o.udp_rate_loopback || o.udp_chargen_full)) {
    throw UsageError("--udp-rate, --udp-rate-loopback, --udp-allow-low-ports and --udp-chargen-full apply to UDP: give --udp ADDRESS too");
  }
  s.udp_opts.batch = static_cast<std::size_t>(o.udp_batch);
  s.udp_opts.gso = !o.no_udp_gso;
  s.udp_opts.allow_low_ports = o.udp_allow_low_ports;
  s.udp_opts.rate = *udp_rate;
  s.udp_opts.rate_loopback = o.udp_rate_loopback;
  s.dgram_opts.chargen_full = o.udp_chargen_full;
}

// --tls-cert and --tls-key go together and need the TCP listeners they apply to.
void parse_tls_flags(const Options& o, Settings& s) {
  if (o.tls_cert.empty() && o.tls_key.empty()) return;
  if (o.tls_key.empty()) throw UsageError("--tls-cert needs --tls-key (the certificate's PEM private key)");
  if (o.tls_cert.empty()) throw UsageError("--tls-key needs --tls-cert (the PEM certificate chain, leaf first)");
  if (s.tcp_addrs.empty()) throw UsageError("--tls-cert applies to the TCP listeners: not with --no-tcp");
  s.tls = true;
  auto hs = parse_duration(o.tls_handshake_timeout);
  if (!hs || *hs <= std::chrono::nanoseconds::zero()) {
    throw UsageError(fmt::format("invalid duration for --tls-handshake-timeout: '{}' (use e.g. 10s, 500ms)",
                                 o.tls_handshake_timeout));
  }
  s.tls_handshake = *hs;
}

// TLS handshake outcomes in a MAP_SHARED page, so the fork model's children count too.
struct UnmapCounts {
  void operator()(tls::HandshakeCounts* p) const noexcept {
    p->~HandshakeCounts();
    ::munmap(p, sizeof(tls::HandshakeCounts));
  }
};
using SharedHandshakeCounts = std::unique_ptr<tls::HandshakeCounts, UnmapCounts>;
SharedHandshakeCounts shared_handshake_counts() {
  void* p = ::mmap(nullptr, sizeof(tls::HandshakeCounts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;  // not counted (the metric then reads 0)
  return SharedHandshakeCounts(new (p) tls::HandshakeCounts());
}

// The server context of --tls-cert/--tls-key; a missing or bad PEM file is logged in words.
std::optional<tls::Context> make_tls_context(const Options& o) {
  tls::ContextOptions to;
  to.role = tls::Role::server;
  to.cert_file = o.tls_cert;
  to.key_file = o.tls_key;
  to.verify = false;  // no client certificate asked for
  auto ctx = tls::Context::create(to);
  if (!ctx) {
    log::error(ctx.error().message());
    return std::nullopt;
  }
  return std::move(*ctx);
}

Settings parse_settings(const Options& o) {
  Settings s;
  auto service = proto::parse_service(o.service);
  if (!service) throw UsageError(service.error().message());
  s.service = *service;
  s.model = parse_model_flags(o);
  parse_limits(o, s);
  parse_addresses(o, s);
  parse_tls_flags(o, s);
  return s;
}

// The servers and what serves their counters. Members go in reverse order: the metrics endpoints
// before the servers whose loop one of them runs on.
struct Running {
  SharedHandshakeCounts tls_counts;  // outlives the TLS transports of `tcp`
  std::unique_ptr<serve::Server> tcp;
  std::vector<std::unique_ptr<serve::UdpServer>> udp;
  metrics::Registry registry;    // the metrics page and SIGUSR1's "metrics:" line
  metrics::TurnHistogram turns;  // every loop's turns, when the endpoint runs on the first one
  std::unique_ptr<metrics::Endpoint> metrics_ep;
  std::unique_ptr<metrics::ThreadedEndpoint> metrics_thread;
  int stops = 0;  // INT/TERM seen
  std::string tls_fingerprint;  // --tls-cert's SHA-256 (empty: plaintext)

  void stop_udp() {
    for (auto& u : udp) u->stop();
    for (auto& u : udp) u->wait();
  }
};

// Signals: USR1 prints the counters, the first INT/TERM drains, a second one closes at once.
void on_signal(Running& r, std::chrono::nanoseconds drain, int sig) {
  if (sig == SIGUSR1) {
    metrics::Collector c = r.registry.collect();
    print_counters(c, r.tcp != nullptr, !r.udp.empty());
    log::info("metrics: " + c.line());
    return;
  }
  ++r.stops;
  if (r.stops == 1) {
    sd::notify_stopping("draining connections");
    std::uint64_t active = r.tcp ? r.tcp->stats().active : 0;
    log::info(fmt::format("{}: stopping; draining {} connection{} (up to {})", strsignal(sig), active,
                          active == 1 ? "" : "s", format_duration(drain)));
    if (r.tcp) r.tcp->stop(drain);
    for (auto& u : r.udp) u->stop();
  } else {
    log::warn(fmt::format("{} again: closing every connection now", strsignal(sig)));
    if (r.tcp) r.tcp->stop_now();
  }
}

// The TCP server, on `addrs` or systemd's `inherited` listeners. Logs and returns false on failure.
bool create_tcp(const Options& o, const Settings& s, const std::vector<Address>& addrs, const std::vector<int>& inherited,
                std::span<const int> sigs, Running& r) {
  serve::ServerOptions so;
  if (s.tls) {
    auto ctx = make_tls_context(o);
    if (!ctx) return false;
    r.tls_fingerprint = ctx->fingerprint();
    r.tls_counts = shared_handshake_counts();
    tls::TransportOptions to;
    to.handshake_timeout = s.tls_handshake;
    to.counts = r.tls_counts.get();
    so.transport = tls::transport_factory(std::move(*ctx), std::move(to));  // every model: one TLS transport per connection
  }
  so.model = s.model;
  so.listen = addrs;
  so.listen_fds = inherited;
  so.threads = o.threads;
  so.max_conns = o.max_conns;
  so.idle_timeout = s.idle;
  so.send_queue_cap = s.queue_cap;
  if (so.send_queue_cap != 0 && so.high_water > so.send_queue_cap) {
    so.high_water = so.send_queue_cap;
    so.low_water = so.send_queue_cap / kLowWaterShare;
  }
  so.max_buffered = s.max_buffered;
  so.pool_queue = o.pool_queue;
  so.backlog = o.backlog;
  so.log = [](std::string_view line) { log::warn(line); };
  so.signals.assign(sigs.begin(), sigs.end());
  so.on_signal = [&r, drain = s.drain](int sig) { on_signal(r, drain, sig); };
  // The echo service's driver: its sessions are pure echoes, which the reactors splice.
  serve::detail::Tuning tuning;
  tuning.splice_echo = s.service == proto::Service::echo && !o.no_splice;
  auto server = serve::detail::create_server(so, proto::make_session_factory(s.service), std::move(tuning));
  if (!server) {
    log::error(server.error().message());
    return false;
  }
  r.tcp = std::move(*server);
  return true;
}

bool start_udp(const Settings& s, Running& r) {
  for (const Address& a : s.udp_addrs) {
    auto u = serve::UdpServer::create(a, proto::make_datagram_handler(s.service, {}, s.dgram_opts),
                                      serve::backend_of(s.model), s.udp_opts);
    if (!u) {
      log::error("udp " + u.error().message());
      return false;
    }
    r.udp.push_back(std::move(*u));
  }
  for (auto& u : r.udp) {
    if (auto started = u->start(); !started) {
      log::error("udp " + started.error().message());
      return false;
    }
  }
  return true;
}

// --metrics: GET /metrics on the TCP server's first event loop (reactors), else on a thread of
// its own (blocking models, UDP only: their counters are atomics). Returns the bound address.
Result<Address> start_metrics(const Address& addr, Running& r) {
  metrics::EndpointOptions mo;
  mo.log = [](std::string_view line) { log::warn(line); };
  auto page = [&r] { return r.registry.render(); };
  if (r.tcp && r.tcp->event_loop() != nullptr) {
    auto ep = metrics::Endpoint::create(*r.tcp->event_loop(), addr, page, mo);
    if (!ep) return std::move(ep).error();
    r.metrics_ep = std::move(*ep);
    r.turns.attach(*r.tcp);
    return r.metrics_ep->local_address();
  }
  auto ep = metrics::ThreadedEndpoint::create(addr, page, mo);
  if (!ep) return std::move(ep).error();
  r.metrics_thread = std::move(*ep);
  return r.metrics_thread->local_address();
}

std::string udp_detail(const serve::UdpServerOptions& opts, const serve::UdpServer& u) {
  if (opts.batch == 1) return "plain recvfrom/sendto loop";
  return fmt::format("recvmmsg/sendmmsg, batches of up to {}{}", opts.batch, u.gso() ? ", UDP GSO for same-peer replies" : "");
}

// What is served is logged; the hints (the banner) only go to a human's stderr.
void log_banner(const Options& o, const Settings& s, const Running& r, const std::optional<Address>& metrics_addr) {
  std::vector<log::Line> served;
  if (r.tcp) {
    served.push_back({log::Level::info, fmt::format("{} service, model {} ({}), up to {} connections", o.service,
                                                    serve::to_string(s.model), model_detail(*r.tcp, o.pool_queue),
                                                    r.tcp->max_conns())});
    const char* over = s.tls ? " (TLS)" : "";
    for (const Address& a : r.tcp->local_addresses()) served.push_back({log::Level::info, "listening on tcp " + a.to_string() + over});
    if (s.tls) served.push_back({log::Level::info, "TLS certificate SHA-256 fingerprint: " + r.tls_fingerprint});
  } else {
    served.push_back({log::Level::info, fmt::format("{} service, UDP only (backend {})", o.service,
                                                    loop::to_string(serve::backend_of(s.model)))});
  }
  for (const auto& u : r.udp) {
    served.push_back({log::Level::info, fmt::format("listening on udp {} ({})", u->local_address().to_string(),
                                                    udp_detail(s.udp_opts, *u))});
    if (auto w = serve::udp_exposure_warning(u->local_address())) served.push_back({log::Level::warn, *w});
  }
  if (metrics_addr) served.push_back({log::Level::info, fmt::format("metrics on http://{}/metrics", metrics_addr->to_string())});
  const Address& first = r.tcp ? r.tcp->local_addresses().front() : r.udp.front()->local_address();
  std::string host = first.ip_string();
  if (first.is_v6()) host = "[" + host + "]";
  if (first.is_ip() && (first.ip_string() == "0.0.0.0" || first.ip_string() == "::")) host = "127.0.0.1";
  if (first.ip_string() == "::") host = "::1";
  std::string banner = s.tls ? fmt::format("connect with: sockit nc --ssl {} {}  or  openssl s_client -connect {}:{}\n", host,
                                           first.port(), host, first.port())
                             : fmt::format("connect with: sockit nc {}{} {}\n", r.tcp ? "" : "-u ", host, first.port());
  banner += fmt::format("stop with Ctrl-C or SIGTERM (drains up to {}; a second signal forces); counters: kill -USR1 {}\n",
                        format_duration(s.drain), ::getpid());
  log::write_block(served, banner);
  sd::notify_ready(fmt::format("{} service on {}", o.service, first.to_string()));
}

// Serves until a signal stops everything. The reactors run their first loop in this thread:
// --threads 1 without UDP is one thread.
int serve_until_stopped(Running& r, std::span<const int> sigs, std::chrono::nanoseconds drain) {
  if (r.tcp) {
    if (auto done = r.tcp->run(); !done) {
      log::error(done.error().message());
      r.stop_udp();
      return cli::kExitFailure;
    }
  } else {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : sigs) sigaddset(&set, sig);
    while (r.stops == 0) {
      int sig = ::sigwaitinfo(&set, nullptr);
      if (sig > 0) on_signal(r, drain, sig);
    }
  }
  for (auto& u : r.udp) u->wait();
  print_counters(r.registry.collect(), r.tcp != nullptr, !r.udp.empty());
  return cli::kExitOk;
}

int run(const Options& o) {
  log::configure(o.log, "echo-server");
  const Settings s = parse_settings(o);
  // Blocked in every thread (threads inherit the mask): the TCP server takes them (a reactor
  // through its first loop's signalfd), or sigwaitinfo when only UDP is served.
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGUSR1};
  if (auto blocked = loop::block_signals(kSignals); !blocked) {
    log::error(blocked.error().message());
    return cli::kExitFailure;
  }
  Running r;
  // Socket activation (sockit-echo-server.socket): systemd's listeners replace the TCP addresses.
  std::vector<int> inherited = sd::listen_fds();
  std::vector<Address> tcp_addrs = s.tcp_addrs;
  if (!inherited.empty()) {
    log::info(fmt::format("serving {} socket{} passed by systemd (LISTEN_FDS); --listen addresses not bound",
                          inherited.size(), inherited.size() == 1 ? "" : "s"));
    tcp_addrs.clear();
  }
  if ((!tcp_addrs.empty() || !inherited.empty()) && !create_tcp(o, s, tcp_addrs, inherited, kSignals, r)) {
    return cli::kExitFailure;
  }
  if (!start_udp(s, r)) return cli::kExitFailure;
  r.registry.add([&r](metrics::Collector& c) {
    if (r.tcp) metrics::collect_server(c, *r.tcp, r.metrics_ep.get());
    if (const tls::HandshakeCounts* h = r.tls_counts.get()) {
      metrics::collect_tls_handshakes(c, h->ok.load(std::memory_order_relaxed), h->failed.load(std::memory_order_relaxed),
                                      h->timed_out.load(std::memory_order_relaxed));
    }
    if (r.metrics_ep) r.turns.collect(c);
    if (!r.udp.empty()) metrics::collect_udp(c, metrics::sum_udp(r.udp));
  });
  std::optional<Address> metrics_addr;
  if (s.metrics_addr) {
    auto bound = start_metrics(*s.metrics_addr, r);
    if (!bound) {
      log::error(bound.error().message());
      r.stop_udp();
      return cli::kExitFailure;
    }
    metrics_addr = *bound;
  }
  log_banner(o, s, r, metrics_addr);
  return serve_until_stopped(r, kSignals, s.drain);
}

}  // namespace

SOCKIT_COMMAND(echo_server, "echo-server", "echo/discard/chargen/daytime/time server, any concurrency model",
               [](CLI::App& app) -> cli::Runner {
                 auto o = std::make_shared<Options>();
                 app.footer(
                     "Serves RFC 862-868 (echo, discard, chargen, daytime, time) over TCP and UDP with the chosen "
                     "concurrency model.\nBinds 127.0.0.1:7007 unless told otherwise. Exit: 0 after a stop, 1 when a "
                     "listener cannot be set up, 2 for bad flags.\nSee docs/MODELS.md.");
                 app.add_option("--model,-m", o->model,
                                "iterative | fork | thread | pool | select | poll | epoll | uring | reactor (default: epoll)");
                 app.add_option("--backend,-b", o->backend, "poller of the reactor: select | poll | epoll | uring (default epoll)");
                 app.add_option("--threads,-t", o->threads, "event loops (select, poll, epoll, uring; default 1) or workers (pool; default 4); not for iterative, fork, thread");
                 app.add_option("--listen,-l", o->listen, "TCP address to serve, repeatable; PORT alone means 127.0.0.1 (default 127.0.0.1:7007; port 0 picks one)");
                 app.add_option("--udp,-u", o->udp, "also serve UDP on this address, repeatable");
                 app.add_flag("--no-tcp", o->no_tcp, "serve UDP only");
                 app.add_option("--udp-batch", o->udp_batch,
                                "UDP datagrams per recvmmsg/sendmmsg call, 1-1024; 1 = a plain recvfrom/sendto "
                                "loop (default 32)")
                     ->each([o](const std::string&) { o->udp_batch_set = true; });
                 app.add_flag("--no-udp-gso", o->no_udp_gso,
                              "UDP batches: send every reply as its own datagram (default: same-size replies to one "
                              "peer in a batch leave as one UDP GSO message)");
                 app.add_flag("--udp-allow-low-ports", o->udp_allow_low_ports,
                              "UDP: answer source ports below 1024 too (default: not answered; ports of services "
                              "that answer UDP themselves - 7, 9, 13, 17, 19, 37, 53, 123, 161, 1900, 11211... - "
                              "never are: reflection loops)");
                 app.add_option("--udp-rate", o->udp_rate,
                                "UDP: replies per second per source address, a token bucket with one second of "
                                "burst; more are dropped and counted as 'limited' (default 1000/s; 0 = no limit; "
                                "loopback sources are exempt unless --udp-rate-loopback)")
                     ->each([o](const std::string&) { o->udp_rate_set = true; });
                 app.add_flag("--udp-rate-loopback", o->udp_rate_loopback,
                              "UDP: apply --udp-rate to loopback sources too");
                 app.add_flag("--udp-chargen-full", o->udp_chargen_full,
                              "UDP chargen: 418-512 characters whatever the request (default: never more than the "
                              "request, so a forged request is not amplified)");
                 app.add_flag("--no-splice", o->no_splice,
                              "reactors, echo service: copy every read through user space (default: reads of "
                              "4 KiB or more go back with splice(), socket to pipe to socket, without a copy)");
                 app.add_option("--service,-s", o->service, "echo | discard | chargen | daytime | time (default echo)");
                 app.add_option("--max-conns", o->max_conns, "connections at once; more are refused (default: open-file limit - 32)");
                 app.add_option("--idle-timeout", o->idle_timeout, "close a connection idle this long (e.g. 30s; default never)");
                 app.add_option("--drain-timeout", o->drain_timeout, "on SIGTERM, wait this long for connections to finish (default 5s)");
                 app.add_option("--send-queue", o->send_queue, "output held per connection before it is closed (default 4MiB)");
                 app.add_option("--max-buffered", o->max_buffered,
                                "reactors, thread, pool: output held for all connections together (K/M/G); past half of it "
                                "the biggest holders stop reading, at it every holder does (default: 1/8 of "
                                "physical memory, 32-256 MiB; 0 = no cap)");
                 app.add_option("--pool-queue", o->pool_queue, "pool model: connections waiting for a worker (default 64)");
                 app.add_option("--metrics", o->metrics,
                                "serve Prometheus metrics (GET /metrics) on this HOST:PORT; PORT alone means "
                                "127.0.0.1 (see docs/OPERATIONS.md)");
                 app.add_option("--tls-cert", o->tls_cert,
                                "PEM certificate chain (leaf first): the TCP listeners speak TLS, under every model "
                                "(needs --tls-key; docs/TLS.md)");
                 app.add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
                 app.add_option("--tls-handshake-timeout", o->tls_handshake_timeout,
                                "close a TLS client whose handshake has not finished after this long (default 10s)");
                 log::add_options(app, o->log);
                 app.add_option("--backlog", o->backlog, "listen backlog (default 511; the kernel caps it at net.core.somaxconn)");
                 return [o] { return run(*o); };
               });

}  // namespace sockit::echo_server
