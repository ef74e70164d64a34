// Internal header (not installed): sends submitted through the io_uring poller's ring instead of
// a send() system call per write. The uring poller (poller_uring.cpp) implements it; a plain
// Connection on a loop whose poller has it queues its output and, at the end of the turn, hands
// the front of its queue to send(): the bytes are copied into one of the ring's pooled slots (no
// allocation per send once the pool has grown to the number of sends in flight) and the SEND SQE
// leaves with the next wait's io_uring_enter, together with every other connection's. The
// completion comes back through run_completions(), which the EventLoop calls before dispatching
// the turn's ready descriptors.
#pragma once
#include "sockit/loop/buffer.hpp"

#include <cstddef>
#include <cstdint>

namespace sockit::loop::detail {

class SendRing {
 public:
  /// Called once per send with the SEND's result: bytes sent, or -errno (-ECANCELED after
  /// cancel()). `owner` must stay valid until then (a Connection holds itself alive).
  using Done = void (*)(void* owner, int result);
  virtual ~SendRing() = default;
  /// False under SOCKIT_FAULTS or SOCKIT_URING_SENDS=0: connections write with system calls.
  virtual bool sends_enabled() const noexcept = 0;
  /// Copies up to slot_size() bytes from the front of `q` into a free slot and queues a SEND of
  /// them on `fd`. Returns the slot (for cancel()), or -1 when no SQE could be had: the caller
  /// writes with a system call instead.
  virtual int send(int fd, const OutputQueue& q, void* owner, Done done) = 0;
  /// The owner is closing its descriptor: submits at once (so the SEND holds the file it was
  /// meant for, not a reused number) and asks the kernel to cancel it if it still waits.
  virtual void cancel(int slot) noexcept = 0;
  /// Runs the completions the last wait reaped (loop thread, before the ready descriptors).
  virtual void run_completions() = 0;
  /// The loop is being destroyed: every send still out is reported (-ECANCELED) to its owner.
  virtual void abandon_sends() noexcept = 0;
  static constexpr std::size_t kSlotSize = 16 * 1024;
};

}  // namespace sockit::loop::detail
