// Internal header (installed because sockit's own layers use it; not a stable API).
//
// Thin wrappers over the socket system calls that every sockit layer goes through, so that one
// place can inject faults in tests: with SOCKIT_FAULTS set in the environment, calls fail with
// EINTR, and reads and writes come back short, at random (seeded), e.g.
//   SOCKIT_FAULTS="eintr=0.1,short=0.2,seed=42"
// Correct callers retry EINTR and resume partial transfers, so their output must not change.
// Without SOCKIT_FAULTS the cost is one predictable branch per call.
#pragma once

#include <cstddef>

#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

namespace sockit::sys {

/// True when SOCKIT_FAULTS is active (read once, at first use).
bool faults_enabled() noexcept;

ssize_t read(int fd, void* buf, std::size_t len) noexcept;
ssize_t write(int fd, const void* buf, std::size_t len) noexcept;
ssize_t readv(int fd, const iovec* iov, int iovcnt) noexcept;
ssize_t writev(int fd, const iovec* iov, int iovcnt) noexcept;
/// send() with MSG_NOSIGNAL always added.
ssize_t send(int fd, const void* buf, std::size_t len, int flags) noexcept;
ssize_t recv(int fd, void* buf, std::size_t len, int flags) noexcept;
/// sendmsg() with MSG_NOSIGNAL always added.
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept;
ssize_t recvmsg(int fd, msghdr* msg, int flags) noexcept;
ssize_t sendto(int fd, const void* buf, std::size_t len, int flags, const sockaddr* to, socklen_t tolen) noexcept;
ssize_t recvfrom(int fd, void* buf, std::size_t len, int flags, sockaddr* from, socklen_t* fromlen) noexcept;
int recvmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags) noexcept;
int sendmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags) noexcept;
/// accept4() with the given flags (callers pass SOCK_NONBLOCK | SOCK_CLOEXEC).
int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept;
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept;
int poll(pollfd* fds, nfds_t n, int timeout_ms) noexcept;

}  // namespace sockit::sys
