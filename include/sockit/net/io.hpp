// Public header. Low-level helpers shared by the blocking socket types and usable on any fd.
#pragma once

#include "sockit/net/deadline.hpp"
#include "sockit/net/result.hpp"

namespace sockit {

enum class Wait : short { readable = 1, writable = 2 };

/// Waits with poll() until `fd` is ready for `what` or `deadline` passes (std::errc::timed_out).
/// EINTR is retried with the remaining time. POLLERR/POLLHUP count as ready: the next read or
/// write reports what happened.
Result<void> wait_for(int fd, Wait what, Deadline deadline);

/// O_NONBLOCK on or off.
Result<void> set_nonblocking(int fd, bool on = true);
/// FD_CLOEXEC on or off.
Result<void> set_cloexec(int fd, bool on = true);

}  // namespace sockit
