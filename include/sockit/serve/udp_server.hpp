// Public header. UdpServer: datagram services (echo, discard, chargen, daytime, time over UDP) on
// one socket, driven by an EventLoop thread with the chosen backend. Reads and writes in batches of
// up to 64 datagrams with recvmmsg/sendmmsg. Replies that the kernel refuses (EAGAIN: socket
// buffer full) are dropped and counted, as UDP does; a server must never queue for a peer that
// may not exist (UDP sources can be spoofed).
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
};

class UdpServer {
 public:
  static Result<std::unique_ptr<UdpServer>> create(const Address& bind, DatagramHandler handler,
                                                   loop::Backend backend = loop::kDefaultBackend);
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  Result<void> start();
  /// Stops the thread (pending datagrams are not answered). Any thread.
  void stop();
  void wait();
  const Address& local_address() const;
  UdpStats stats() const;

  class Impl;

 private:
  explicit UdpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockit::serve
