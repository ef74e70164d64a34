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
//   - shutdown_write(): ends our direction (plain: shutdown(SHUT_WR); TLS: close_notify first).
//
// Cost: PlainTransport is stateless (one object shared by every connection); Connection and the
// blocking driver call its functions directly when no other transport is set (no virtual call
// on the plain path). Other transports are owned by their connection (one heap object each).
#pragma once

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

/// Calls through `t`, or straight to PlainTransport when `t` is null (no virtual call).
namespace io {
inline ssize_t read(Transport* t, int fd, std::span<std::byte> buf) noexcept {
  return t == nullptr ? PlainTransport::do_read(fd, buf) : t->read(fd, buf);
}
inline ssize_t write(Transport* t, int fd, std::span<const std::byte> bytes) noexcept {
  return t == nullptr ? PlainTransport::do_write(fd, bytes) : t->write(fd, bytes);
}
inline ssize_t writev(Transport* t, int fd, const iovec* iov, int n) noexcept {
  return t == nullptr ? PlainTransport::do_writev(fd, iov, n) : t->writev(fd, iov, n);
}
inline int shutdown_write(Transport* t, int fd) noexcept {
  return t == nullptr ? PlainTransport::do_shutdown_write(fd) : t->shutdown_write(fd);
}
inline bool drains_on_short_io(const Transport* t) noexcept { return t == nullptr || t->drains_on_short_io(); }
/// Writes what the socket takes now: one call on the plain path (a short write means the socket
/// is full), calls until EAGAIN or done through a transport that cuts writes on its own. The bytes
/// written; an error is left for the caller's next queued write to report.
inline std::size_t write_now(Transport* t, int fd, std::span<const std::byte> bytes) noexcept {
  const bool short_means_full = drains_on_short_io(t);
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(t, fd, bytes.subspan(done));
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
    if (short_means_full) break;
  }
  return done;
}
inline Want wants(const Transport* t) noexcept { return t == nullptr ? Want::none : t->wants(); }
}  // namespace io

}  // namespace sockit::loop
