// Internal header (not installed): reads through the io_uring poller's ring instead of a recv()
// system call per read. The uring poller (poller_uring.cpp) implements it; a plain edge-mode
// Connection on a loop whose poller has it (on by default where the kernel passes the probe;
// SOCKIT_URING_RECV=0 and SOCKIT_FAULTS turn it off)
// opens a slot before it registers its descriptor: the descriptor's multishot poll then watches
// for writability and hang-ups only, and one IORING_OP_RECV with IORING_RECV_MULTISHOT and
// IOSQE_BUFFER_SELECT, armed once, reads into the loop's provided-buffer ring
// (IORING_REGISTER_PBUF_RING). Each of its completions becomes an Item queued on the slot, and
// the descriptor is reported readable; the Connection's read handling takes the items in order,
// hands their bytes to on_data() (the same path the recv() one feeds) and gives the buffer back.
//
//  * paused reading (back-pressure, pause_reading): stop() cancels the multishot recv; items that
//    arrived meanwhile stay queued; arm() on resume starts a new one (once the old one has posted
//    its last completion, so two never run on one socket).
//  * ENOBUFS (the buffer ring ran dry): the recv ends; the item tells the owner to read with
//    recv() itself this time (the bytes are in the socket), then arm() again.
//  * leave() (a connection that starts splicing its echo): the recv is cancelled, the
//    descriptor's poll watches for input again, and an `end` item follows the last completion.
//  * a cap per connection: each multishot recv is armed with a byte limit (the SQE's optlen) of
//    kMaxHeld buffers minus those the slot still holds, so the kernel ends it there, however much
//    arrives within one wait. If it ends with the slot full, a no_buffers item tells the owner to
//    read with recv() (back-pressure and water marks as on readiness) and arm() again. One
//    connection whose output does not drain cannot take the loop's buffer ring, and its peer's
//    writer meets back-pressure as with readiness reads.
//  * close(): the recv is cancelled at once (a submitted cancel: the socket is not held), queued
//    items' buffers go back at the next wait, and the slot is reused after the last completion.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sockit::loop::detail {

class RecvRing {
 public:
  struct Item {
    enum Kind : std::uint8_t { data, eof, error, no_buffers, end, stale /* internal: front() skips it */ };
    Kind kind = data;
    int err = 0;                       // error: errno
    const std::byte* bytes = nullptr;  // data: valid until pop()
    std::size_t size = 0;
  };
  virtual ~RecvRing() = default;
  /// False with SOCKIT_URING_RECV=0, under SOCKIT_FAULTS, or when the kernel failed the probe.
  virtual bool recvs_enabled() const noexcept = 0;
  /// Reads of `fd` through the ring (its poll leaves out input from now on: call with the socket
  /// drained). Returns the slot, or -1 (read with recv()).
  virtual int open(int fd) = 0;
  /// The front item of `slot`, if any.
  virtual bool front(int slot, Item& out) noexcept = 0;
  /// Done with the front item: its buffer goes back to the ring.
  virtual void pop(int slot) noexcept = 0;
  /// Reads wanted: the multishot recv is armed (with the next wait), now or after the last one ends.
  virtual void arm(int slot) = 0;
  /// Reads not wanted for now: the multishot recv is cancelled; queued items stay.
  virtual void stop(int slot) noexcept = 0;
  /// Back to readiness for this descriptor: see the header comment (an `end` item comes).
  virtual void leave(int slot) noexcept = 0;
  /// The owner closes its descriptor (call before unwatching it).
  virtual void close(int slot) noexcept = 0;
  /// Completions that brought bytes through the ring, since the loop started.
  virtual std::uint64_t recvs() const noexcept = 0;
  /// The most buffers one slot held at once (not yet taken by its owner), since the loop started.
  virtual std::size_t held_peak() const noexcept = 0;
  // Chosen by measurement (docs/MODELS.md): 64 B pingpong over 1,000 connections needs about one
  // buffer per connection served in a turn; bigger reads take several.
  static constexpr std::size_t kBufferSize = 4096;
  static constexpr unsigned kBuffers = 2048;
  // Bytes one RECV may bring, in buffers (256 KiB): a pingpong connection holds one buffer at a
  // time; 8 bulk connections at the cap hold a quarter of the ring. (Short reads can make a slot
  // hold more buffers than this, never more bytes.)
  static constexpr std::size_t kMaxHeld = 64;
};

}  // namespace sockit::loop::detail
