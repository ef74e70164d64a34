// sockit proxy: a fault-injecting TCP/UDP proxy (in the spirit of Toxiproxy) for testing how
// clients and servers cope with latency, loss, slicing, stalls and resets. The engine lives in
// src/tools/proxy; behaviour is documented in docs/RELIABILITY.md ("proxy").
#include "common/command.hpp"
#include "common/log.hpp"

#include "sockit/net/address.hpp"
#include "sockit/net/parse.hpp"
#include "sockit/net/resolver.hpp"
#include "tools/metrics/endpoint.hpp"
#include "tools/metrics/registry.hpp"
#include "tools/proxy/proxy.hpp"

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <optional>
#include <random>

namespace sockit::proxy {
namespace {

using cli::UsageError;

struct Options {
  bool udp = false, v4 = false, v6 = false, verbose = false;
  std::string listen = "127.0.0.1:0", upstream, control;
  std::string delay, jitter, bandwidth, loss, duplicate, reorder, reorder_delay, slice, slice_delay, reset_after,
      direction, buffer, udp_idle, connect_timeout, idle_timeout;
  bool stall = false, blackhole = false;
  std::optional<std::uint64_t> seed;
  std::size_t max_connections = 1024;
  std::string metrics;
  log::Options log;
};

std::atomic<bool> g_stop{false};
void on_stop_signal(int) { g_stop.store(true); }

// "8080" -> 127.0.0.1:8080 (the default address is loopback, never the wildcard); otherwise a
// numeric address, or host:port resolved for binding.
Address listen_address(const std::string& text, std::string_view flag, Family family) {
  EndpointOptions eo;
  eo.family = family;
  eo.passive = true;
  eo.bare_port = true;
  auto a = parse_endpoint(text, eo);
  if (!a || !a->is_ip())
    throw UsageError(fmt::format("invalid address for {}: '{}' ({})", flag, text,
                                 a ? std::string("not an IP address") : a.error().message()));
  return *a;
}

// --metrics: the proxy's counters (docs/OPERATIONS.md), from the copy its loop publishes.
void collect_proxy(metrics::Collector& c, const Stats& s) {
  auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  c.gauge("sockit_proxy_connections_open", "TCP connections or UDP sessions open now.", d(s.active));
  c.counter("sockit_proxy_connections_accepted_total", "TCP connections or UDP sessions accepted.", d(s.accepted));
  constexpr std::string_view refused = "Connections or sessions refused, by reason.";
  c.counter("sockit_proxy_connections_refused_total", refused, d(s.rejected), {{"reason", "limit"}});
  c.counter("sockit_proxy_connections_refused_total", refused, d(s.refused_upstream), {{"reason", "upstream"}});
  c.counter("sockit_proxy_injected_resets_total", "Connections reset by --reset-after.", d(s.injected_resets));
  constexpr std::string_view bytes = "Bytes delivered (TCP bytes or UDP payload), by direction.";
  c.counter("sockit_proxy_forwarded_bytes_total", bytes, d(s.bytes_up), {{"direction", "upstream"}});
  c.counter("sockit_proxy_forwarded_bytes_total", bytes, d(s.bytes_down), {{"direction", "downstream"}});
  constexpr std::string_view dgrams = "UDP datagrams delivered, by direction.";
  c.counter("sockit_proxy_forwarded_datagrams_total", dgrams, d(s.datagrams_up), {{"direction", "upstream"}});
  c.counter("sockit_proxy_forwarded_datagrams_total", dgrams, d(s.datagrams_down), {{"direction", "downstream"}});
  constexpr std::string_view dropped = "UDP datagrams dropped, by reason.";
  c.counter("sockit_proxy_dropped_datagrams_total", dropped, d(s.lost), {{"reason", "loss"}});
  c.counter("sockit_proxy_dropped_datagrams_total", dropped, d(s.overflow), {{"reason", "overflow"}});
  c.counter("sockit_proxy_duplicated_datagrams_total", "UDP datagrams sent twice (--duplicate).", d(s.duplicated));
  c.counter("sockit_proxy_reordered_datagrams_total", "UDP datagrams held back (--reorder).", d(s.reordered));
  c.counter("sockit_proxy_blackholed_total", "Bytes (TCP) or datagrams (UDP) discarded by --blackhole.", d(s.blackholed));
}

// The upstream address: numeric, or host:port resolved for the proxy's socket type.
Address upstream_address(const Options& o, Family family) {
  EndpointOptions eo;
  eo.family = family;
  eo.type = o.udp ? SocketType::datagram : SocketType::stream;
  auto r = parse_endpoint(o.upstream, eo);
  if (!r || !r->is_ip())
    throw UsageError(fmt::format("invalid --upstream '{}': {}", o.upstream,
                                 r ? std::string("not an IP address") : r.error().message()));
  return *r;
}

// --delay, --slice, ... and --buffer, --stall, --blackhole into cfg.impairments / cfg.buffer.
void set_impairments(const Options& o, Config& cfg) {
  auto set = [&](const std::string& value, std::string_view name) {
    if (value.empty()) return;
    if (auto r = set_value(cfg.impairments, name, value, o.udp); !r)
      throw UsageError(fmt::format("--{}: {}", name, r.error().context()));
  };
  set(o.delay, "delay");
  set(o.jitter, "jitter");
  set(o.bandwidth, "bandwidth");
  set(o.loss, "loss");
  set(o.duplicate, "duplicate");
  set(o.reorder, "reorder");
  set(o.reorder_delay, "reorder-delay");
  set(o.slice, "slice");
  set(o.slice_delay, "slice-delay");
  set(o.reset_after, "reset-after");
  set(o.direction, "direction");
  cfg.impairments.stall = o.stall;
  cfg.impairments.blackhole = o.blackhole;
  if (!o.buffer.empty()) {
    auto b = parse_size(o.buffer);
    if (!b || *b < 1024 || *b > (std::uint64_t{1} << 30))
      throw UsageError(fmt::format("invalid --buffer '{}' (1KiB to 1GiB)", o.buffer));
    cfg.buffer = static_cast<std::size_t>(*b);
  }
}

// The flags into a Config (cli::UsageError, exit 2, for a bad one).
Config make_config(const Options& o, Family family) {
  Config cfg;
  cfg.udp = o.udp;
  cfg.verbose = o.verbose;
  cfg.log = [](bool error, std::string_view line) { error ? log::error(line) : log::info(line); };
  cfg.listen = listen_address(o.listen, "--listen", family);
  if (!o.control.empty()) {
    cfg.control = listen_address(o.control, "--control", family);
    if (!cfg.control->is_loopback())
      throw UsageError(fmt::format("--control must be a loopback address (it has no authentication), not '{}'",
                                   o.control));
  }
  cfg.upstream = upstream_address(o, family);
  set_impairments(o, cfg);
  auto duration = [](const std::string& text, std::string_view flag, bool zero_ok, Nanos& out) {
    if (text.empty()) return;
    auto d = parse_duration(text);
    if (!d || d->count() < 0 || (!zero_ok && d->count() == 0))
      throw UsageError(fmt::format("invalid {} '{}'", flag, text));
    out = *d;
  };
  duration(o.udp_idle, "--udp-idle", false, cfg.udp_idle);
  duration(o.connect_timeout, "--connect-timeout", false, cfg.connect_timeout);
  duration(o.idle_timeout, "--idle-timeout", true, cfg.idle_timeout);
  if (o.max_connections < 1) throw UsageError("--max-connections must be at least 1");
  cfg.max_connections = o.max_connections;
  cfg.seed = o.seed ? *o.seed : std::random_device{}();
  return cfg;
}

// Runs the proxy until SIGINT/SIGTERM, with its metrics endpoint if asked for.
int serve(const Config& cfg, std::optional<Address> metrics_addr) {
  auto proxy = Proxy::create(cfg);
  if (!proxy) {
    log::error(proxy.error().message());
    return cli::kExitFailure;
  }
  auto& p = **proxy;
  log::info(fmt::format("listening on {} ({}), upstream {}, seed {}", p.listen_address().to_string(),
                        cfg.udp ? "udp" : "tcp", cfg.upstream.to_string(), cfg.seed));
  if (auto c = p.control_address()) log::info(fmt::format("control on {}", c->to_string()));
  // The proxy's event loop is its own: the endpoint runs on a thread of its own and reads the
  // counters the loop publishes every 100 ms.
  metrics::Registry registry;
  registry.add([&p](metrics::Collector& c) { collect_proxy(c, p.stats()); });
  std::unique_ptr<metrics::ThreadedEndpoint> metrics_ep;
  if (metrics_addr) {
    metrics::EndpointOptions mo;
    mo.log = [](std::string_view line) { log::warn(line); };
    auto ep = metrics::ThreadedEndpoint::create(*metrics_addr, [&registry] { return registry.render(); }, mo);
    if (!ep) {
      log::error(ep.error().message());
      return cli::kExitFailure;
    }
    metrics_ep = std::move(*ep);
    log::info(fmt::format("metrics on http://{}/metrics", metrics_ep->local_address().to_string()));
  }
  log::info(format(cfg.impairments, cfg.udp));

  g_stop.store(false);
  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  auto r = p.run(g_stop);
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  log::info("stopped: " + format(p.stats(), cfg.udp));
  if (!r) {
    log::error(r.error().message());
    return cli::kExitFailure;
  }
  return cli::kExitOk;
}

int run(const Options& o) {
  log::configure(o.log, "proxy");
  if (o.v4 && o.v6) throw UsageError("-4 and -6 cannot be used together");
  if (o.upstream.empty()) throw UsageError("--upstream is required");
  const Family family = o.v4 ? Family::v4 : o.v6 ? Family::v6 : Family::unspec;
  Config cfg = make_config(o, family);
  std::optional<Address> metrics_addr;
  if (!o.metrics.empty()) metrics_addr = listen_address(o.metrics, "--metrics", family);
  return serve(cfg, metrics_addr);
}

}  // namespace

SOCKIT_COMMAND(proxy, "proxy", "fault-injecting TCP/UDP proxy (delay, loss, slicing, stalls, resets)",
               [](CLI::App& app) -> cli::Runner {
  auto o = std::make_shared<Options>();
  app.add_flag("-u,--udp", o->udp, "proxy UDP datagrams (default TCP)");
  app.add_flag("-4", o->v4, "IPv4 only");
  app.add_flag("-6", o->v6, "IPv6 only");
  app.add_option("-l,--listen", o->listen, "listen address, or a port on 127.0.0.1 (default 127.0.0.1:0)");
  app.add_option("--upstream", o->upstream, "where to forward: HOST:PORT")->required();
  app.add_option("--control", o->control, "control port (loopback): line commands like 'set loss 30%'");
  app.add_option("--delay", o->delay, "latency added per direction, e.g. 50ms");
  app.add_option("--jitter", o->jitter, "+- uniform jitter around --delay");
  app.add_option("--bandwidth", o->bandwidth, "per direction rate limit, e.g. 1MiB/s");
  app.add_option("--loss", o->loss, "UDP: drop this share of datagrams, e.g. 10%");
  app.add_option("--duplicate", o->duplicate, "UDP: send this share of datagrams twice");
  app.add_option("--reorder", o->reorder, "UDP: hold this share of datagrams back by --reorder-delay");
  app.add_option("--reorder-delay", o->reorder_delay, "UDP: how long a reordered datagram is held (default 20ms)");
  app.add_option("--slice", o->slice, "TCP: forward in writes of at most N bytes");
  app.add_option("--slice-delay", o->slice_delay, "TCP: pause between slices");
  app.add_flag("--stall", o->stall, "start stalled: hold all data until 'stall off'");
  app.add_option("--reset-after", o->reset_after, "TCP: reset both sides after N bytes went through");
  app.add_flag("--blackhole", o->blackhole, "read and discard everything");
  app.add_option("--direction", o->direction, "impair both (default), upstream or downstream");
  app.add_option("--seed", o->seed, "seed of the random generator (printed at start)");
  app.add_option("--buffer", o->buffer, "bytes held per direction before back-pressure/drops (default 256KiB)");
  app.add_option("--max-connections", o->max_connections, "TCP connections or UDP sessions (default 1024)");
  app.add_option("--udp-idle", o->udp_idle, "UDP: forget a client after this long without traffic (default 60s)");
  app.add_option("--connect-timeout", o->connect_timeout,
                 "TCP: reset the client when the upstream does not accept within this (default 10s)");
  app.add_option("--idle-timeout", o->idle_timeout,
                 "TCP: close both sides after this long without a byte on one side (default 0: never)");
  app.add_option("--metrics", o->metrics,
                 "serve Prometheus metrics (GET /metrics) on this address, or a port on 127.0.0.1 "
                 "(see docs/OPERATIONS.md)");
  app.add_flag("-v,--verbose", o->verbose, "log connections and control commands (at info)");
  log::add_options(app, o->log);
  return [o] { return run(*o); };
});

}  // namespace sockit::proxy
