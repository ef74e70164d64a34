// Public header. UdpSocket: datagrams with deadlines, bound or connected, truncation reported.
#pragma once

#include "sockit/net/address.hpp"
#include "sockit/net/deadline.hpp"
#include "sockit/net/fd.hpp"
#include "sockit/net/result.hpp"
#include "sockit/net/socket.hpp"

#include <cstddef>

namespace sockit {

struct Datagram {
  std::size_t size = 0;    ///< bytes stored in the buffer
  std::size_t wire_size = 0;  ///< bytes the datagram had on the wire (> size when truncated)
  Address from;            ///< sender
  bool truncated = false;  ///< the datagram was larger than the buffer (MSG_TRUNC)
};

struct UdpOptions {
  bool reuse_addr = false;
  bool reuse_port = false;
  std::optional<bool> v6_only;
};

class UdpSocket {
 public:
  UdpSocket() = default;
  /// An unbound socket of the given family (the kernel binds on first send).
  static Result<UdpSocket> open(Family family);
  /// A socket bound to `addr` (port 0 picks one).
  static Result<UdpSocket> bind(const Address& addr, const UdpOptions& opts = {});

  /// Fixes the peer: send()/recv() then talk only to it, and ICMP errors (port unreachable)
  /// come back as ECONNREFUSED on the next call.
  Result<void> connect(const Address& peer);

  Result<std::size_t> send_to(ConstBytes data, const Address& to, Deadline deadline = Deadline::never());
  /// Receives one datagram; `truncated` tells when it did not fit (the rest is lost, as UDP does).
  Result<Datagram> recv_from(Bytes buf, Deadline deadline = Deadline::never());
  /// Connected mode.
  Result<std::size_t> send(ConstBytes data, Deadline deadline = Deadline::never());
  Result<Datagram> recv(Bytes buf, Deadline deadline = Deadline::never());

  Result<Address> local_address() const;
  Result<void> set_send_buffer(int bytes);
  Result<void> set_recv_buffer(int bytes);
  int fd() const noexcept { return fd_.get(); }
  bool is_open() const noexcept { return fd_.valid(); }
  Fd release() noexcept { return std::move(fd_); }
  void close() noexcept { fd_.reset(); }

 private:
  explicit UdpSocket(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace sockit
