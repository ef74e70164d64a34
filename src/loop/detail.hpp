// Internal header (not installed): the private seam between the loop and the serve layer. What
// lives here is speed machinery, not API: pooled output queues, the loop's splice pipe, the
// per-loop I/O counters and echo by splice. Included by src/loop and src/serve only (every layer
// has src/ on its private include path) and by the loop's unit tests.
#pragma once

#include "sockit/loop/acceptor.hpp"
#include "sockit/loop/connection.hpp"
#include "sockit/loop/event_loop.hpp"

#include <cstdint>
#include <deque>

namespace sockit::loop::detail {

class SendRing;  // ring_send.hpp
class RecvRing;  // ring_recv.hpp
class AcceptRing;  // ring_accept.hpp

/// Connections whose small output waits past the turn end (ConnectionOptions::hold_output), in
/// the order they began to wait, and the one timer armed for the first deadline. With one hold
/// time per loop that is the order of the deadlines; a shorter hold behind a longer one (two
/// servers on one loop) waits until the one before it is due. Loop thread only.
struct HeldOutput {
  struct Entry {
    std::weak_ptr<Connection> conn;
    TimePoint due;
  };
  std::deque<Entry> waiting;
  TimerId timer = 0;
};

struct LoopAccess {
  static OutputQueuePool& output_queues(EventLoop& l) noexcept { return l.output_queues_; }
  static HeldOutput& held_output(EventLoop& l) {
    if (!l.held_output_) l.held_output_ = std::make_unique<HeldOutput>();
    return *l.held_output_;
  }
  static bool splice_pipe(EventLoop& l, int& r, int& w) noexcept { return l.splice_pipe(r, w); }
  static void drop_splice_pipe(EventLoop& l) noexcept {
    l.splice_read_.reset();
    l.splice_write_.reset();
    l.pipe_state_ = EventLoop::PipeState::untried;
  }
  static void count_io(EventLoop& l, std::uint64_t in, std::uint64_t out) noexcept {
    // One writer (the loop thread): a load and a store, no read-modify-write.
    if (in != 0) l.bytes_in_.store(l.bytes_in_.load(std::memory_order_relaxed) + in, std::memory_order_relaxed);
    if (out != 0) {
      l.bytes_out_.store(l.bytes_out_.load(std::memory_order_relaxed) + out, std::memory_order_relaxed);
      l.writes_.store(l.writes_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
  }
  /// The uring poller's sends (ring_send.hpp), or null (another backend, or sends off).
  static SendRing* send_ring(EventLoop& l) noexcept;
  /// The uring poller's reads (ring_recv.hpp), or null (another backend, or reads off).
  static RecvRing* recv_ring(EventLoop& l) noexcept;
  /// The uring poller's multishot accepts (ring_accept.hpp), or null (another backend, or off).
  static AcceptRing* accept_ring(EventLoop& l) noexcept;
  /// Completions that brought bytes through the uring poller's buffer ring (0 elsewhere).
  static std::uint64_t ring_recvs(EventLoop& l) noexcept;
  static void count_spliced(EventLoop& l, std::uint64_t n) noexcept {
    l.bytes_spliced_.store(l.bytes_spliced_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

/// Drained output queues kept for reuse by the loop's connections (loop thread only).
inline OutputQueuePool& output_queues(EventLoop& l) noexcept { return LoopAccess::output_queues(l); }
/// The loop's held connections (ConnectionOptions::hold_output), made on first use.
inline HeldOutput& held_output(EventLoop& l) { return LoopAccess::held_output(l); }
/// The loop's pipe for splice(): created on first use, 1 MiB where the system allows it, and
/// empty between uses. False when there is none: pipe2 failed (EMFILE), or SIGPIPE is not ignored
/// (a splice into a reset socket would raise it). Loop thread only.
inline bool splice_pipe(EventLoop& l, int& read_end, int& write_end) noexcept {
  return LoopAccess::splice_pipe(l, read_end, write_end);
}
/// Closes the pipe (its content is unknown after a failed read); the next splice_pipe() makes a
/// new one.
inline void drop_splice_pipe(EventLoop& l) noexcept { LoopAccess::drop_splice_pipe(l); }
/// Counts bytes read and written by the loop's connections (EventLoop::bytes_in/bytes_out). A
/// nonzero `out` is one write (EventLoop::writes). Loop thread only.
inline void count_io(EventLoop& l, std::uint64_t in, std::uint64_t out) noexcept { LoopAccess::count_io(l, in, out); }
inline void count_spliced(EventLoop& l, std::uint64_t n) noexcept { LoopAccess::count_spliced(l, n); }
inline SendRing* send_ring(EventLoop& l) noexcept { return LoopAccess::send_ring(l); }
inline RecvRing* recv_ring(EventLoop& l) noexcept { return LoopAccess::recv_ring(l); }
inline AcceptRing* accept_ring(EventLoop& l) noexcept { return LoopAccess::accept_ring(l); }
/// Reads that came through the io_uring buffer ring (ring_recv.hpp) on this loop: 0 on other
/// backends, and with SOCKIT_URING_RECV=0. For tests and stats.
inline std::uint64_t ring_recvs(EventLoop& l) noexcept { return LoopAccess::ring_recvs(l); }

/// Connections an Acceptor took through io_uring's multishot accept (also in core().accepted()).
struct AcceptorAccess {
  static std::uint64_t ring_accepts(const Acceptor& a) noexcept { return a.ring_accepts_; }
};
inline std::uint64_t ring_accepts(const Acceptor& a) noexcept { return AcceptorAccess::ring_accepts(a); }

struct ConnectionAccess {
  static void set_echo_splice(Connection& c, bool on) noexcept { c.set_echo_splice(on); }
  static constexpr std::size_t kSpliceMin = Connection::kSpliceMin;
};

/// For an echo (every byte read goes back unchanged, and nothing else is sent): once a read
/// brings kSpliceMin bytes or more, the following reads move the bytes back to the peer with
/// splice() through the loop's pipe, socket to pipe to socket, never copied into user space, and
/// on_data() does not see them; a smaller read goes back to recv() and on_data(). Bytes the socket
/// does not take at once leave the pipe for the output queue (order kept, backpressure as for
/// send()). Without a pipe nothing changes, nor with a transport (splice would bypass it).
inline void set_echo_splice(Connection& c, bool on) noexcept { ConnectionAccess::set_echo_splice(c, on); }
inline constexpr std::size_t kSpliceMin = ConnectionAccess::kSpliceMin;

}  // namespace sockit::loop::detail
