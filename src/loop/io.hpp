// Internal header (not installed): how the loop's Connection, its OutputQueue and the blocking
// models' driver (src/serve/blocking.cpp) call a connection's Transport. A null transport is the
// plain socket, called straight through PlainTransport's static functions (no virtual call on
// the common path); and the one errno rule both drivers close by.
#pragma once

#include "sockit/loop/transport.hpp"

#include <cerrno>
#include <cstddef>
#include <span>

namespace sockit::loop::io {

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

/// An errno from a read, write or shutdown that means the peer reset or vanished (the close
/// reason is then `reset`, not `error`).
inline bool is_reset(int err) noexcept {
  return err == ECONNRESET || err == EPIPE || err == ETIMEDOUT || err == EHOSTUNREACH;
}

}  // namespace sockit::loop::io
