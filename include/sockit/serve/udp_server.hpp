// Public header. UdpServer: datagram services (echo, discard, chargen, daytime, time over UDP) on
// one socket, driven by an EventLoop thread with the chosen backend. Reads and writes in batches of
// up to `batch` datagrams (default 32) with recvmmsg/sendmmsg, or, with a batch of 1, in a plain
// loop of recvfrom/sendto (one system call per datagram each way, no mmsg call). Either way a
// readiness event is served until the socket is drained (EAGAIN) or 256 datagrams were read, so
// other watchers of the loop get their turn. In batches, replies of one batch to the same peer
// with the same size (the last may be shorter) leave as one UDP GSO message (UDP_SEGMENT): the
// kernel routes and builds them once and cuts them into ordinary datagrams; where the kernel or
// the route refuses GSO, they go one by one. Replies that the kernel refuses (EAGAIN/ENOBUFS:
// socket buffer full) are dropped and counted, as UDP does; a server must never queue for a peer
// that may not exist (UDP sources can be spoofed).
//
// Reflection (issue 24): a UDP service answers whatever source a datagram claims, so a forged
// source turns it into a reflector, and two services pointed at each other (echo <-> echo,
// chargen <-> echo) loop forever. The server therefore never answers a datagram from a source
// port of a service that answers UDP itself (udp_reflector_ports(), and port 0), by default none
// from a port below 1024, and gives every source address a token bucket of replies
// (UdpServerOptions::rate): what is over it is dropped and counted, which also ends a loop
// between two servers once the burst is spent.
#pragma once

#include "sockit/loop/poller.hpp"
#include "sockit/net/address.hpp"
#include "sockit/net/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace sockit::serve {

/// Builds the reply to one datagram into `reply` (64 KiB) and returns its size, or nullopt for no
/// reply. Runs on the server thread; must not block.
using DatagramHandler =
    std::function<std::optional<std::size_t>(std::span<const std::byte> request, const Address& from,
                                             std::span<std::byte> reply)>;

struct UdpStats {
  std::uint64_t received = 0;   ///< datagrams in
  std::uint64_t sent = 0;       ///< replies out
  std::uint64_t dropped = 0;    ///< replies the kernel would not take
  std::uint64_t truncated = 0;  ///< requests larger than 64 KiB (cut; MSG_TRUNC)
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t errors = 0;
  std::uint64_t wakeups = 0;     ///< readiness events served (received / wakeups = datagrams per wakeup)
  std::uint64_t recv_calls = 0;  ///< recvfrom or recvmmsg calls, including the one that saw EAGAIN
  std::uint64_t send_calls = 0;  ///< sendto or sendmmsg calls
  std::uint64_t coalesced = 0;   ///< replies sent inside UDP GSO messages of 2 or more
  std::uint64_t refused = 0;     ///< datagrams not answered: from a refused source port
  std::uint64_t limited = 0;     ///< datagrams not answered: their source's reply budget was spent
};

/// Source ports of services that answer UDP themselves, never answered: echo 7, discard 9,
/// daytime 13, qotd 17, chargen 19, time 37, DNS 53, NTP 123, NetBIOS 137, SNMP 161, LDAP 389,
/// syslog 514, SSDP 1900, WS-Discovery 3702, mDNS 5353, CoAP 5683, memcached 11211.
std::span<const std::uint16_t> udp_reflector_ports() noexcept;
/// True when a datagram from source port `port` gets no reply: port 0, a reflector port, or any
/// port below 1024 unless `allow_low_ports`.
bool udp_source_port_refused(std::uint16_t port, bool allow_low_ports) noexcept;
/// The warning to print when a UDP service binds `bind`: nullopt for a loopback address, a line
/// naming the reflection risk otherwise (wildcard and public addresses).
std::optional<std::string> udp_exposure_warning(const Address& bind);

struct UdpServerOptions {
  /// Datagrams per recvmmsg/sendmmsg call, 1..UdpServer::kMaxBatch; 1 selects the plain
  /// recvfrom/sendto loop.
  std::size_t batch = 32;
  /// Batches only: coalesce same-peer, same-size replies of a batch with UDP GSO.
  bool gso = true;
  /// Answer source ports 1..1023 too (the reflector ports and port 0 stay refused).
  bool allow_low_ports = false;
  /// Replies per second per source address (token bucket); 0 = no limit. `burst` replies may
  /// leave at once (0: one second's worth). Sources are tracked in a fixed table (4096 slots; a
  /// source that collides with an active one shares its budget), so spoofing many sources costs
  /// no memory.
  double rate = 0;
  double burst = 0;
  /// Apply `rate` to loopback sources too. Off by default: a loopback source cannot come from
  /// the network (the kernel drops 127/8 and ::1 arriving on other interfaces), and local load
  /// generators and benchmarks use it.
  bool rate_loopback = false;
};

class UdpServer {
 public:
  /// Datagrams per recvmmsg/sendmmsg call unless told otherwise.
  static constexpr std::size_t kDefaultBatch = UdpServerOptions{}.batch;
  /// Largest batch accepted by create() (each slot reserves 64 KiB of address space per direction;
  /// only the bytes the kernel writes are ever touched).
  static constexpr std::size_t kMaxBatch = 1024;
  /// Most datagrams read per readiness event before returning to the loop.
  static constexpr std::size_t kReadBudget = 256;

  /// Binds `bind` (non-blocking, 4 MiB socket buffers where rmem_max/wmem_max allow) and creates
  /// the loop; start() runs it. Fails with invalid_argument for a batch out of 1..kMaxBatch or a
  /// missing handler, or with the socket/loop error.
  static Result<std::unique_ptr<UdpServer>> create(const Address& bind, DatagramHandler handler,
                                                   loop::Backend backend = loop::kDefaultBackend,
                                                   UdpServerOptions options = {});
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  Result<void> start();
  /// Stops the thread (pending datagrams are not answered). Any thread.
  void stop();
  void wait();
  const Address& local_address() const;
  UdpStats stats() const;
  /// The batch size chosen at create() (1 = plain recvfrom/sendto loop).
  std::size_t batch() const;
  /// True while batches coalesce replies with UDP GSO (false when off, with a batch of 1, or after
  /// the kernel refused GSO on this socket).
  bool gso() const;

  class Impl;

 private:
  explicit UdpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockit::serve
