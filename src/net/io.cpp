#include "sockit/net/io.hpp"
#include "sockit/net/sys.hpp"

#include <cerrno>

#include <fcntl.h>
#include <poll.h>

namespace sockit {

Result<void> wait_for(int fd, Wait what, Deadline deadline) {
  pollfd p{};
  p.fd = fd;
  p.events = what == Wait::readable ? POLLIN : POLLOUT;
  for (;;) {
    int timeout = deadline.poll_timeout_ms();
    int n = sys::poll(&p, 1, timeout);
    if (n > 0) return {};
    if (n == 0) {
      if (deadline.expired()) return Error(std::make_error_code(std::errc::timed_out));
      continue;  // woke early (rounding): wait for the rest
    }
    if (errno == EINTR) {
      if (deadline.expired()) return Error(std::make_error_code(std::errc::timed_out));
      continue;
    }
    return fail_errno(errno, "poll");
  }
}

Result<void> set_nonblocking(int fd, bool on) {
  int flags = sys::fcntl(fd, F_GETFL);
  if (flags < 0) return fail_errno(errno, "fcntl(F_GETFL)");
  int want = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (want != flags && sys::fcntl(fd, F_SETFL, want) < 0) return fail_errno(errno, "fcntl(F_SETFL)");
  return {};
}

Result<void> set_cloexec(int fd, bool on) {
  int flags = sys::fcntl(fd, F_GETFD);
  if (flags < 0) return fail_errno(errno, "fcntl(F_GETFD)");
  int want = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  if (want != flags && sys::fcntl(fd, F_SETFD, want) < 0) return fail_errno(errno, "fcntl(F_SETFD)");
  return {};
}

}  // namespace sockit
