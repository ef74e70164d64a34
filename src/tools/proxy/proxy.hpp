// Internal header of `sockit proxy`: a fault-injecting TCP or UDP proxy on one sockit::loop
// EventLoop.
//
// One thread does everything: the listener (loop::Acceptor), every connection (two
// loop::Connections, the upstream one opened by a loop::Connector with a connect timeout) or UDP
// session, the control port, and the timers that release delayed data (the loop's timer heap: one
// timer per direction that holds data, O(log n) each, no scan of every connection).
//
// Guarantees:
//  - TCP: bytes leave in the order they came in, whatever the delay/jitter/slicing/bandwidth;
//    a FIN from one side is propagated as a half-close (Connection::half_close) once everything before
//    it has been delivered, and the other direction goes on until its own FIN; a reset (or write
//    error) on one side resets the other; an upstream that refuses, or does not answer within
//    `connect_timeout`, is reported to the client as a reset; `idle_timeout` without a byte on a
//    side closes both sides.
//  - Buffers are bounded per direction (`buffer` bytes, plus at most one 64 KiB read): when full
//    the proxy stops reading from that side (TCP back-pressure) or drops the datagram (UDP,
//    counted as overflow).
//  - Every random decision comes from one generator seeded with `seed`, drawn in a fixed order
//    per chunk/datagram, so the same traffic with the same seed is impaired the same way.
#pragma once

#include "sockit/net/address.hpp"
#include "sockit/net/result.hpp"
#include "tools/proxy/settings.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::proxy {

struct Config {
  bool udp = false;
  Address listen;
  Address upstream;
  std::optional<Address> control;
  Impairments impairments;
  std::uint64_t seed = 1;
  std::size_t buffer = 256 * 1024;  ///< per direction (TCP: per connection; UDP: whole proxy)
  std::size_t max_connections = 1024;  ///< TCP connections or UDP sessions
  Nanos udp_idle{std::chrono::seconds(60)};  ///< a UDP session without traffic is forgotten
  Nanos connect_timeout{std::chrono::seconds(10)};  ///< TCP: upstream connect, then the client is reset
  Nanos idle_timeout{0};  ///< TCP: a side without traffic this long closes both; 0 = never
  bool verbose = false;  ///< log each connection to stderr
  /// Where the proxy's lines go (the sockit binary routes them to its logger): `error` for
  /// failures (accept, socket, upstream connect), else connection and control events (only with
  /// `verbose`). Unset: "sockit proxy: LINE" on stderr.
  std::function<void(bool error, std::string_view line)> log;
};

struct Stats {
  std::uint64_t accepted = 0, active = 0, refused_upstream = 0, injected_resets = 0, rejected = 0;
  std::uint64_t bytes_up = 0, bytes_down = 0;  ///< delivered (TCP bytes or UDP payload bytes)
  std::uint64_t datagrams_up = 0, datagrams_down = 0;  ///< delivered
  std::uint64_t lost = 0, duplicated = 0, reordered = 0, overflow = 0, blackholed = 0;
};
std::string format(const Stats& s, bool udp);

class Proxy {
 public:
  /// Binds the listener (and control port) and resolves nothing: `cfg.upstream` is an address.
  static Result<std::unique_ptr<Proxy>> create(const Config& cfg);
  virtual ~Proxy() = default;
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  virtual Address listen_address() const = 0;
  virtual std::optional<Address> control_address() const = 0;
  /// Runs until `stop` becomes true (checked every 100 ms). Call once. Returns an error only for
  /// a failure of the loop itself, never for a connection's trouble.
  virtual Result<void> run(const std::atomic<bool>& stop) = 0;
  /// Safe from any thread (the metrics endpoint's): a copy the loop publishes every 100 ms, so
  /// at most about 100 ms old while run() runs, and exact once it has returned.
  virtual Stats stats() const = 0;

 protected:
  Proxy() = default;
};

}  // namespace sockit::proxy
