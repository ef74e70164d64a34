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

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

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

/// The buffers of the sends in flight, in power-of-two size classes from 256 B to kSlotSize: a
/// send takes the smallest class that holds its bytes (a chat line: 256 or 512 B, not 16 KiB).
/// A slot is an index (the SEND's user_data) that keeps its buffer when freed, for the next send
/// of its class; a class keeps no more buffers than it had in use at once over the current and
/// the last period (rotate(), about a second), so the steady state allocates nothing and a burst's
/// buffers are freed one or two periods after it (the loop's malloc_trim then returns the pages).
class SendSlots {
 public:
  static constexpr std::size_t kMinSize = 256;
  static constexpr std::size_t kClasses = 7;  // 256 B .. 16 KiB
  static_assert(kMinSize << (kClasses - 1) == SendRing::kSlotSize);

  struct Taken {
    int slot;
    std::byte* buf;
    std::size_t size;  // the class's size: >= the bytes asked for, capped at kSlotSize
  };

  static std::size_t class_of(std::size_t bytes) noexcept {
    if (bytes <= kMinSize) return 0;
    std::size_t c = static_cast<std::size_t>(std::bit_width(bytes - 1)) - 8;  // 2^(8+c) >= bytes
    return std::min(c, kClasses - 1);
  }
  static std::size_t class_size(std::size_t c) noexcept { return kMinSize << c; }

  /// A slot whose buffer holds min(bytes, kSlotSize) bytes.
  Taken take(std::size_t bytes) {
    std::size_t c = class_of(bytes);
    Class& k = classes_[c];
    int slot;
    if (!k.free.empty()) {
      slot = k.free.back();
      k.free.pop_back();
    } else {
      if (bare_.empty()) {
        slot = static_cast<int>(slots_.size());
        slots_.emplace_back();
        bare_.reserve(slots_.size());  // give() and rotate() then never allocate
      } else {
        slot = bare_.back();
        bare_.pop_back();
      }
      Slot& s = slots_[static_cast<std::size_t>(slot)];
      s.buf = std::make_unique<std::byte[]>(class_size(c));
      s.cls = static_cast<std::uint8_t>(c);
      k.free.reserve(++k.held);
      bytes_ += class_size(c);
      ++allocations_;
    }
    k.peak = std::max(k.peak, ++k.in_use);
    return {slot, slots_[static_cast<std::size_t>(slot)].buf.get(), class_size(c)};
  }

  /// The slot's send completed: its buffer waits for the next send of its class, or is freed when
  /// the class holds more than it needed recently.
  void give(int slot) noexcept {
    Slot& s = slots_[static_cast<std::size_t>(slot)];
    Class& k = classes_[s.cls];
    --k.in_use;
    if (k.held > std::max(k.peak, k.last_peak)) {
      drop(slot, k);
    } else {
      k.free.push_back(slot);  // within the capacity reserved when the class grew
    }
  }

  /// A period ended: each class keeps at most what it had in use at once in this period and the
  /// last one, and frees the rest of its idle buffers.
  void rotate() noexcept {
    for (Class& k : classes_) {
      k.last_peak = k.peak;
      k.peak = k.in_use;
      while (k.held > k.last_peak && !k.free.empty()) {
        int slot = k.free.back();
        k.free.pop_back();
        drop(slot, k);
      }
    }
  }

  bool valid(int slot) const noexcept { return slot >= 0 && static_cast<std::size_t>(slot) < slots_.size(); }
  std::size_t slots() const noexcept { return slots_.size(); }
  /// Bytes of buffers held (in use and idle).
  std::size_t bytes() const noexcept { return bytes_; }
  /// Buffers allocated so far.
  std::uint64_t allocations() const noexcept { return allocations_; }

 private:
  struct Slot {
    std::unique_ptr<std::byte[]> buf;
    std::uint8_t cls = 0;
  };
  struct Class {
    std::vector<int> free;
    std::size_t held = 0;    // buffers of this class (in use + free)
    std::size_t in_use = 0;
    std::size_t peak = 0;    // most in use at once in this period
    std::size_t last_peak = 0;
  };

  void drop(int slot, Class& k) noexcept {
    Slot& s = slots_[static_cast<std::size_t>(slot)];
    s.buf.reset();
    --k.held;
    bytes_ -= class_size(s.cls);
    bare_.push_back(slot);  // within the capacity reserved when the slot was made
  }

  std::vector<Slot> slots_;
  std::vector<int> bare_;  // slots without a buffer
  std::array<Class, kClasses> classes_{};
  std::size_t bytes_ = 0;
  std::uint64_t allocations_ = 0;
};

}  // namespace sockit::loop::detail
