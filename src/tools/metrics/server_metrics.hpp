// The metrics of sockit::serve's servers (TCP ServerStats, UDP UdpStats), shared by every server
// that serves `--metrics`; docs/OPERATIONS.md lists them.
#pragma once

#include "tools/metrics/endpoint.hpp"
#include "tools/metrics/registry.hpp"

#include "sockit/serve/server.hpp"
#include "sockit/serve/udp_server.hpp"

#include <memory>
#include <span>
#include <vector>

namespace sockit::metrics {

/// sockit_connections_*, sockit_*_bytes_total, sockit_timeouts_total{kind="idle"}, ...
/// `same_loop`: the metrics endpoint on the server's loop, whose bytes the loop counted too.
void collect_server(Collector& c, const serve::Server& server, const Endpoint* same_loop = nullptr);
/// One `key=value ...` field list for SIGUSR1's `counters:` line, each value read back from `c`
/// (the registry the page is rendered from): {"accepted", "sockit_connections_accepted_total"},
/// labels narrowing a family ({"resets", ..._closed_total, {{"reason","reset"}}}), none = its sum.
struct CounterField {
  std::string_view key;
  std::string_view metric;
  Labels labels = {};
};
std::string counter_fields(const Collector& c, std::span<const CounterField> fields);
/// The `tcp accepted=... ` and `udp received=...` parts of echo-server's line.
std::string tcp_counters(const Collector& c);
std::string udp_counters(const Collector& c);

/// sockit_tls_handshakes_total{result="ok"|"failed"|"timeout"}: a TLS server's handshakes
/// (tls::HandshakeCounts), for servers with TLS listeners only.
void collect_tls_handshakes(Collector& c, std::uint64_t ok, std::uint64_t failed, std::uint64_t timed_out);

/// sockit_udp_*: the sum over `servers`.
serve::UdpStats sum_udp(std::span<const std::unique_ptr<serve::UdpServer>> servers);
void collect_udp(Collector& c, const serve::UdpStats& st);

/// sockit_loop_turn_seconds{loop="i"}: how long each event loop of a reactor takes per turn once
/// its wait returns (EventLoop::set_turn_observer). Each loop's buckets are written by that loop's
/// thread only (relaxed atomics, no read-modify-write contention) and read by whichever thread
/// renders the page, so a scrape races with no loop.
class TurnHistogram {
 public:
  TurnHistogram();
  ~TurnHistogram();
  /// Observes every loop of `server` (none for the non-reactor models). Before run/start.
  void attach(const serve::Server& server);
  void collect(Collector& c) const;

 private:
  struct PerLoop;
  std::vector<double> bounds_;
  std::vector<std::unique_ptr<PerLoop>> loops_;
};

}  // namespace sockit::metrics
