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
};

struct UdpServerOptions {
  /// Datagrams per recvmmsg/sendmmsg call, 1..UdpServer::kMaxBatch; 1 selects the plain
  /// recvfrom/sendto loop.
  std::size_t batch = 32;
  /// Batches only: coalesce same-peer, same-size replies of a batch with UDP GSO.
  bool gso = true;
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
