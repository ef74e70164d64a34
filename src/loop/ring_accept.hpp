// Internal header (not installed): accepts through the io_uring poller's ring instead of a
// readiness wakeup and an accept4() per connection. The uring poller (poller_uring.cpp)
// implements it; the Acceptor (acceptor.cpp) of a loop whose poller has it opens a slot instead
// of watching its listening socket. One IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT
// (SOCK_NONBLOCK | SOCK_CLOEXEC), armed once, posts a completion per accepted connection; the
// completions are handed to the owner by run_completions(), before the turn's ready descriptors,
// and the owner feeds each descriptor to the same code the readiness accept feeds.
//
//  * A completion without IORING_CQE_F_MORE ends the multishot accept: the owner arms it again
//    (after an error, once the readiness accept loop has dealt with it: EMFILE's spare descriptor).
//  * close(): the accept is cancelled at once (a submitted cancel: it holds the listening socket);
//    descriptors it still brings are closed by the poller; the slot is reused after its last CQE.
//  * On by default where the kernel has it (5.19+, probed once); off with SOCKIT_URING_ACCEPT=0
//    and under SOCKIT_FAULTS (faults are injected in sys::accept4, which the ring bypasses).
#pragma once

#include <cstdint>

namespace sockit::loop::detail {

class AcceptRing {
 public:
  /// One completion: `res` an accepted descriptor (the owner's now) or -errno; `more` false: the
  /// multishot accept has ended.
  using Accepted = void (*)(void* owner, int res, bool more);
  virtual ~AcceptRing() = default;
  virtual bool accepts_enabled() const noexcept = 0;
  /// Accepts on `listen_fd` through the ring for `owner`. Returns the slot, or -1 (use readiness).
  virtual int accept_open(int listen_fd, void* owner, Accepted fn) = 0;
  /// Arms the multishot accept (leaves with the next wait); nothing if it is armed.
  virtual void accept_arm(int slot) = 0;
  /// The owner goes: see the header comment. Call before closing the listening socket.
  virtual void accept_close(int slot) noexcept = 0;
  /// Connections accepted through the ring since the loop started.
  virtual std::uint64_t ring_accepts() const noexcept = 0;
};

}  // namespace sockit::loop::detail
