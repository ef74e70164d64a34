// The metrics of sockit::serve's servers (TCP ServerStats, UDP UdpStats), shared by every server
// that serves `--metrics`; docs/OPERATIONS.md lists them.
#pragma once

#include "tools/metrics/endpoint.hpp"
#include "tools/metrics/registry.hpp"

#include "sockit/serve/server.hpp"
#include "sockit/serve/udp_server.hpp"

#include <span>

namespace sockit::metrics {

/// sockit_connections_*, sockit_*_bytes_total, sockit_timeouts_total{kind="idle"}, ...
/// `same_loop`: the metrics endpoint on the server's loop, whose bytes the loop counted too.
void collect_server(Collector& c, serve::ServerStats st, const Endpoint* same_loop = nullptr);
/// sockit_udp_*: the sum over `servers`.
serve::UdpStats sum_udp(std::span<const std::unique_ptr<serve::UdpServer>> servers);
void collect_udp(Collector& c, const serve::UdpStats& st);

/// sockit_loop_turn_seconds{loop="0"}: how long the server's first event loop takes per turn
/// once its wait returns (EventLoop::set_turn_observer). Observed and read in that loop's
/// thread (the metrics endpoint runs there), so it needs no lock.
class TurnHistogram {
 public:
  TurnHistogram();
  void attach(loop::EventLoop& loop);
  void collect(Collector& c) const;

 private:
  Histogram hist_;
};

}  // namespace sockit::metrics
