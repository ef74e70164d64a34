// Public header. Blocking stream sockets with deadlines: TcpStream, TcpListener, UnixStream,
// UnixListener. Every blocking call takes an absolute Deadline and fails with
// std::errc::timed_out when it passes. Internally the descriptors are non-blocking and waits
// use poll(), so a deadline is exact (not SO_RCVTIMEO). EINTR is retried inside. Sends use
// MSG_NOSIGNAL: a peer that resets yields EPIPE/ECONNRESET, never SIGPIPE.
//
// Thread safety: one thread may read while another writes; other concurrent use needs a lock.
#pragma once

#include "sockit/net/address.hpp"
#include "sockit/net/deadline.hpp"
#include "sockit/net/fd.hpp"
#include "sockit/net/result.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace sockit {

using Bytes = std::span<std::byte>;
using ConstBytes = std::span<const std::byte>;
inline ConstBytes as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// A connected stream socket (TCP or Unix). Move-only; closes on destruction.
class StreamSocket {
 public:
  StreamSocket() = default;
  /// Adopts a connected socket descriptor and makes it non-blocking.
  explicit StreamSocket(Fd fd);

  /// Reads at most buf.size() bytes. Returns 0 at end of stream (EOF is not an error).
  Result<std::size_t> read_some(Bytes buf, Deadline deadline = Deadline::never());
  /// Reads exactly buf.size() bytes; errc::unexpected_eof if the peer closes first.
  Result<void> read_exact(Bytes buf, Deadline deadline = Deadline::never());
  /// Writes what the kernel takes now or once writable; returns the count (>0).
  Result<std::size_t> write_some(ConstBytes buf, Deadline deadline = Deadline::never());
  /// Writes every byte, looping over partial writes.
  Result<void> write_all(ConstBytes buf, Deadline deadline = Deadline::never());
  Result<void> write_all(std::string_view s, Deadline deadline = Deadline::never()) {
    return write_all(as_bytes(s), deadline);
  }
  /// Half-close: sends FIN, reading stays possible.
  Result<void> shutdown_write();
  Result<void> shutdown_read();

  Result<Address> local_address() const;
  Result<Address> peer_address() const;
  /// Pending socket error (SO_ERROR), cleared by reading it.
  std::error_code pending_error() const;

  Result<void> set_send_buffer(int bytes);
  Result<void> set_recv_buffer(int bytes);
  Result<int> send_buffer() const;
  Result<int> recv_buffer() const;

  int fd() const noexcept { return fd_.get(); }
  bool is_open() const noexcept { return fd_.valid(); }
  Fd release() noexcept { return std::move(fd_); }
  void close() noexcept { fd_.reset(); }

 protected:
  Fd fd_;
};

struct KeepAlive {
  std::chrono::seconds idle{60};      ///< TCP_KEEPIDLE: quiet time before the first probe
  std::chrono::seconds interval{10};  ///< TCP_KEEPINTVL: between probes
  int count = 6;                      ///< TCP_KEEPCNT: unanswered probes before reset
};

struct ConnectOptions {
  std::optional<Address> source;  ///< bind to this local address (and/or port) first (nc -s/-p)
  /// Per-address budget when several addresses are tried; the overall deadline still bounds all.
  std::optional<std::chrono::milliseconds> per_attempt;
};

/// ConnectOptions::source applied to a socket `fd` that will connect to `to` (TcpStream::connect
/// and loop::Connector): errc::invalid_address when the families differ ("source S and T differ in
/// family"); SO_REUSEADDR, so a fixed source port can be used again at once; bind() ("bind S: ...").
Result<void> bind_source(int fd, const Address& source, const Address& to);

class TcpStream : public StreamSocket {
 public:
  TcpStream() = default;
  explicit TcpStream(Fd fd) : StreamSocket(std::move(fd)) {}

  /// Non-blocking connect, waiting with poll() until `deadline`.
  /// Error context: "connect 127.0.0.1:9: Connection refused".
  static Result<TcpStream> connect(const Address& addr, Deadline deadline = Deadline::never(),
                                   const ConnectOptions& opts = {});
  /// Tries each address in turn until one connects; reports the last failure.
  static Result<TcpStream> connect(std::span<const Address> addrs, Deadline deadline = Deadline::never(),
                                   const ConnectOptions& opts = {});
  /// Resolves host/service (getaddrinfo) and connects to the results in turn.
  static Result<TcpStream> connect(std::string_view host, std::string_view service,
                                   Deadline deadline = Deadline::never(), Family family = Family::unspec,
                                   const ConnectOptions& opts = {});

  Result<void> set_nodelay(bool on = true);
  Result<bool> nodelay() const;
  /// Enables keepalive with the given timers, or disables it (nullopt).
  Result<void> set_keepalive(std::optional<KeepAlive> ka);
  /// SO_LINGER: nullopt = default close; 0s = abortive close (RST); n = block close up to n.
  Result<void> set_linger(std::optional<std::chrono::seconds> linger);
  /// Closes with RST (SO_LINGER {1,0}), as a peer that resets would.
  void reset() noexcept;
};

struct ListenOptions {
  int backlog = 511;                 ///< as Redis; the kernel caps it at net.core.somaxconn
  bool reuse_addr = true;            ///< SO_REUSEADDR: rebind while old connections sit in TIME_WAIT
  bool reuse_port = false;           ///< SO_REUSEPORT: opt-in only (several listeners share the port)
  std::optional<bool> v6_only;       ///< IPV6_V6ONLY for [::] listeners; nullopt = system default
};

class TcpListener {
 public:
  TcpListener() = default;
  /// socket + options + bind + listen. Port 0 picks a free port: read it from local_address().
  static Result<TcpListener> bind(const Address& addr, const ListenOptions& opts = {});
  /// Accepts one connection; errc timed_out when the deadline passes first. Transient errors
  /// (ECONNABORTED, EPROTO) are retried inside.
  Result<TcpStream> accept(Deadline deadline = Deadline::never(), Address* peer = nullptr);

  Result<Address> local_address() const;
  int fd() const noexcept { return fd_.get(); }
  bool is_open() const noexcept { return fd_.valid(); }
  Fd release() noexcept { return std::move(fd_); }
  void close() noexcept { fd_.reset(); }

 private:
  explicit TcpListener(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

class UnixStream : public StreamSocket {
 public:
  UnixStream() = default;
  explicit UnixStream(Fd fd) : StreamSocket(std::move(fd)) {}
  static Result<UnixStream> connect(const Address& addr, Deadline deadline = Deadline::never());
  /// A connected pair (socketpair), handy for tests and for talking to a child process.
  static Result<std::pair<UnixStream, UnixStream>> pair();
};

class UnixListener {
 public:
  UnixListener() = default;
  /// Binds a Unix-domain path (or @abstract name). A stale socket file left by a dead server is
  /// removed first only when `unlink_stale` is set and nobody answers on it.
  static Result<UnixListener> bind(const Address& addr, int backlog = 511, bool unlink_stale = true);
  /// Accepts one connection; `peer` (if given) receives the client's address (often unnamed).
  Result<UnixStream> accept(Deadline deadline = Deadline::never(), Address* peer = nullptr);
  Result<Address> local_address() const;
  int fd() const noexcept { return fd_.get(); }
  bool is_open() const noexcept { return fd_.valid(); }
  Fd release() noexcept { return std::move(fd_); }
  void close() noexcept { fd_.reset(); }

 private:
  explicit UnixListener(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace sockit
