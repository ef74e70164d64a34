// Internal header (installed because sockit's own layers use it; not a stable API).
//
// The system-call seam: every system call of the net, loop and serve layers goes through these
// thin wrappers, so that one place can inject faults in tests. SOCKIT_FAULTS in the environment
// (read once, at first use) is a comma-separated list of KIND=RATE (a probability per call,
// 0..1) and seed=N (the generator's seed, default 1; one generator per process):
//   eintr   a call fails with EINTR before doing anything (every call that can block: I/O,
//           accept4, poll/epoll_wait/select, splice; not connect, whose retry would see EALREADY)
//   short   a stream read or write moves fewer bytes than asked (1..len-1); datagrams never
//   eagain  a call on a non-blocking socket (O_NONBLOCK or MSG_DONTWAIT) fails with EAGAIN
//           although it could go on: a spurious would-block (stream I/O, accept4, datagram
//           receives; not datagram sends, which a full buffer drops by design)
//   reset   a read or write on a stream socket fails with ECONNRESET as if the peer had reset it;
//           the socket is shut down both ways, so that connection (and only it) ends
//   emfile  accept4 fails with EMFILE (the process "ran out of descriptors"); the pending
//           connection stays queued
// e.g. SOCKIT_FAULTS="eintr=0.05,short=0.2,eagain=0.05,reset=0.001,emfile=0.01,seed=42".
// eintr, short and eagain never change what a correct caller outputs (it retries EINTR, resumes
// partial transfers and waits for readiness after EAGAIN); reset and emfile end connections.
// Edge-triggered epoll stays truthful: a descriptor given a spurious EAGAIN or a short transfer
// is re-armed (EPOLL_CTL_MOD with its registered event) before its loop's next epoll_wait, as
// the kernel would report readiness that is still there; the io_uring poller, whose multishot polls
// do not go through epoll_ctl, asks for the same list (note_edge_watch, take_owed) and reports such
// a descriptor again if it is still ready. An unknown kind or a rate outside 0..1
// is reported on stderr once and ignored.
// Without SOCKIT_FAULTS the cost is one predictable branch per call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

namespace sockit::sys {

/// True when SOCKIT_FAULTS is active (read once, at first use).
bool faults_enabled() noexcept;

/// For a poller that is not epoll (io_uring): `key` (the poller's own descriptor) watches `fd`
/// edge-triggered (`watching` false: no longer), so a spurious EAGAIN or short transfer on `fd` is
/// owed to it as to an edge-triggered epoll registration. Nothing without SOCKIT_FAULTS.
void note_edge_watch(int key, int fd, bool watching) noexcept;
/// The descriptors watched by `key` that were given a spurious EAGAIN or short transfer since the
/// last call (into `out`, cleared first): the poller reports each again if it is still ready, as
/// the kernel would. Empty without SOCKIT_FAULTS.
void take_owed(int key, std::vector<int>& out);

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
int epoll_wait(int epfd, epoll_event* events, int max_events, int timeout_ms) noexcept;
int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) noexcept;
/// splice() between a socket and a pipe (no offsets).
ssize_t splice(int fd_in, int fd_out, std::size_t len, unsigned flags) noexcept;
/// A whole record of an eventfd (8 bytes) or a signalfd: never shortened, no faults.
ssize_t read_record(int fd, void* buf, std::size_t len) noexcept;
ssize_t write_record(int fd, const void* buf, std::size_t len) noexcept;

// Set-up and tear-down: passed through (no faults), here so that the seam sees every call.
int socket(int domain, int type, int protocol) noexcept;
int socketpair(int domain, int type, int protocol, int sv[2]) noexcept;
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept;
int listen(int fd, int backlog) noexcept;
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept;
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept;
int getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept;
int getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept;
int shutdown(int fd, int how) noexcept;
int close(int fd) noexcept;
/// fcntl() with an int argument (F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_SETPIPE_SZ, ...).
int fcntl(int fd, int cmd, int arg = 0) noexcept;
int epoll_create1(int flags) noexcept;
int epoll_ctl(int epfd, int op, int fd, epoll_event* event) noexcept;
int eventfd(unsigned initval, int flags) noexcept;
int signalfd(int fd, const sigset_t* mask, int flags) noexcept;
int pipe2(int fds[2], int flags) noexcept;
pid_t fork() noexcept;

}  // namespace sockit::sys
