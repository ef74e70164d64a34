// PlainTransport: the socket through sys:: (see include/sockit/loop/transport.hpp).
#include "sockit/loop/transport.hpp"

#include "sockit/net/sys.hpp"

#include <cerrno>

#include <sys/socket.h>

namespace sockit::loop {

ssize_t PlainTransport::do_read(int fd, std::span<std::byte> buf) noexcept {
  ssize_t n;
  do {
    n = sys::recv(fd, buf.data(), buf.size(), 0);  // recv, not read: no file-position lock
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t PlainTransport::do_write(int fd, std::span<const std::byte> bytes) noexcept {
  ssize_t n;
  do {
    n = sys::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t PlainTransport::do_writev(int fd, const iovec* iov, int n) noexcept {
  ssize_t w;
  do {
    if (n == 1) {
      // One entry (a fan-out receiver's usual case): send(), which skips sendmsg's header and
      // iovec import.
      w = sys::send(fd, iov[0].iov_base, iov[0].iov_len, MSG_DONTWAIT);
    } else {
      msghdr msg{};
      msg.msg_iov = const_cast<iovec*>(iov);  // sendmsg does not write through it
      msg.msg_iovlen = static_cast<std::size_t>(n);
      w = sys::sendmsg(fd, &msg, MSG_DONTWAIT);
    }
    if (w < 0 && errno == ENOTSOCK) w = sys::writev(fd, iov, n);
  } while (w < 0 && errno == EINTR);
  return w;
}

int PlainTransport::do_shutdown_write(int fd) noexcept { return sys::shutdown(fd, SHUT_WR); }

PlainTransport& PlainTransport::instance() noexcept {
  static PlainTransport plain;
  return plain;
}

}  // namespace sockit::loop
