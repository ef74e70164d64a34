// Public header. Transport: how a connection's bytes cross one non-blocking stream descriptor.
// Every model (the reactor's Connection and the blocking models' driver) reads and writes a
// connection only through one, so a layer written once -- TLS, WebSocket framing, a test
// transport that slices bytes -- works under every model and backend.
//
// Contract (all calls non-blocking, on the descriptor the caller passes):
//   - read(): application bytes into `buf`: > 0 bytes, 0 at the end of the stream, -1 with errno
//     (EAGAIN: nothing now; the caller waits for what wants() asks, then calls again). A transport
//     may return fewer bytes than are ready (a TLS record, a slice): callers keep reading until
//     EAGAIN unless drains_on_short_io() says a short result means the socket is drained.
//   - write()/writev(): application bytes out; the count taken (possibly fewer), or -1 with errno
//     (EAGAIN: no room now). Bytes a transport accepts it owns: it either wrote them or holds them
//     (pending_output()) and writes them on the next flush().
//   - Readiness: wants() names what the transport itself waits for beyond the caller's own
//     interest: a TLS handshake or renegotiation needs "write to read" (Want::write while the
//     caller only wants input), a transport holding its own bytes (close_notify, a WebSocket pong)
//     needs Want::write until flush() sent them. Plain sockets and pure framers want nothing.
//   - handshake(): drives the transport's opening exchange; true once application bytes flow
//     (plain: at once). Until then read/write return -1/EAGAIN.
//   - pending_input(): bytes already decoded inside the transport, readable without the socket
//     being readable (the rest of a TLS record): the caller must read() again before it waits.
//   - shutdown_write(): ends our direction (plain: shutdown(SHUT_WR); TLS: close_notify first,
//     then the TCP half-close). 0, or -1 with errno (ENOTCONN: the peer is already gone).
//   - failure(): non-zero (an errno value; EPROTO for a TLS alert or a peer that speaks no TLS)
//     once the handshake failed for good: handshake() keeps returning false and the caller closes.
//   - handshake_timeout(): the transport's own limit on its opening exchange (a TLS server's
//     10 s): the caller closes with idle_timeout when the handshake has not finished by then,
//     calling handshake_expired() first (once; not when a shorter idle timeout was the reason).
//
// Who calls what, when: the connection's driver (Connection on an EventLoop, or the blocking
// models' driver), and nobody else, in the thread that drives the connection (the blocking
// driver serializes a transport's reads and writes with a lock). It calls handshake() until it
// returns true before any read/write; read() when the descriptor is readable or pending_input()
// is nonzero; write()/writev() with queued application bytes; flush() when the descriptor is
// writable and pending_output() is nonzero; shutdown_write() once, after the connection's own
// queue and pending_output() are empty (Connection::half_close()/shutdown_after_flush()); then
// it closes the descriptor itself: a transport never closes it. Errors are reported as -1 and
// errno, never thrown (all functions are noexcept): EAGAIN/EWOULDBLOCK means "wait for
// wants()/readiness", ECONNRESET/EPIPE/ETIMEDOUT/EHOSTUNREACH close the connection as reset,
// any other errno closes it as an error.
//
// Cost: PlainTransport is stateless (one object shared by every connection); Connection and the
// blocking driver call its functions directly when no other transport is set (no virtual call
// on the plain path: src/loop/io.hpp). Other transports are owned by their connection (one heap
// object each) and cost one virtual call per read/write plus what they do themselves.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include <sys/types.h>
#include <sys/uio.h>

namespace sockit::loop {

/// What a transport waits for on its descriptor, beyond what its user wants.
enum class Want : std::uint8_t { none = 0, read = 1, write = 2, both = 3 };
constexpr Want operator|(Want a, Want b) noexcept {
  return static_cast<Want>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
constexpr bool has(Want w, Want bit) noexcept {
  return (static_cast<std::uint8_t>(w) & static_cast<std::uint8_t>(bit)) != 0;
}

class Transport {
 public:
  virtual ~Transport() = default;
  /// Application bytes into `buf` (see the header comment for the result).
  virtual ssize_t read(int fd, std::span<std::byte> buf) noexcept = 0;
  /// Application bytes out: one buffer.
  virtual ssize_t write(int fd, std::span<const std::byte> bytes) noexcept = 0;
  /// Application bytes out: a gather list (`n` > 0 entries), in order.
  virtual ssize_t writev(int fd, const iovec* iov, int n) noexcept = 0;
  /// Ends our direction once the transport's own pending output is out. 0 or -1 with errno.
  virtual int shutdown_write(int fd) noexcept = 0;
  /// Drives the opening exchange; true once application bytes flow. Default: no handshake.
  virtual bool handshake(int /*fd*/) noexcept { return true; }
  /// Non-zero errno once the handshake failed for good (see the header comment). Default: 0.
  virtual int failure() const noexcept { return 0; }
  /// Limit on the handshake (zero: none of its own; the caller's idle timeout still applies).
  virtual std::chrono::nanoseconds handshake_timeout() const noexcept { return std::chrono::nanoseconds::zero(); }
  /// The caller is closing because handshake_timeout() passed first. Default: nothing (TLS counts it).
  virtual void handshake_expired() noexcept {}
  /// What the transport waits for now (see the header comment). Default: nothing.
  virtual Want wants() const noexcept { return Want::none; }
  /// Decoded input held inside the transport (read() returns it without a socket read).
  virtual std::size_t pending_input() const noexcept { return 0; }
  /// Bytes the transport produced itself or accepted and still holds; flush() writes them.
  virtual std::size_t pending_output() const noexcept { return 0; }
  /// Writes pending_output(): the bytes written, or -1 with errno (EAGAIN: no room now).
  virtual ssize_t flush(int /*fd*/) noexcept { return 0; }
  /// True when a read or write that returns fewer bytes than offered means the socket is
  /// drained / full (the kernel's own semantics), so edge-triggered callers may stop there.
  /// False for transports that cut on their own boundaries: callers go on to EAGAIN.
  virtual bool drains_on_short_io() const noexcept { return false; }
};

/// The socket itself, through sys:: (fault injection reaches it). Stateless.
class PlainTransport final : public Transport {
 public:
  static ssize_t do_read(int fd, std::span<std::byte> buf) noexcept;
  static ssize_t do_write(int fd, std::span<const std::byte> bytes) noexcept;
  /// send() for one entry, sendmsg() for several, writev() for a descriptor that is no socket.
  static ssize_t do_writev(int fd, const iovec* iov, int n) noexcept;
  static int do_shutdown_write(int fd) noexcept;

  ssize_t read(int fd, std::span<std::byte> buf) noexcept override { return do_read(fd, buf); }
  ssize_t write(int fd, std::span<const std::byte> bytes) noexcept override { return do_write(fd, bytes); }
  ssize_t writev(int fd, const iovec* iov, int n) noexcept override { return do_writev(fd, iov, n); }
  int shutdown_write(int fd) noexcept override { return do_shutdown_write(fd); }
  bool drains_on_short_io() const noexcept override { return true; }
  /// The one shared instance.
  static PlainTransport& instance() noexcept;
};

/// Makes the transport of one new connection (nullptr: the plain socket). Called in the thread
/// that will drive the connection.
using TransportFactory = std::function<std::unique_ptr<Transport>()>;

}  // namespace sockit::loop
