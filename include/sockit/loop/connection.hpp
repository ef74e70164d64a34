// Public header. Connection: one non-blocking stream socket on an EventLoop (muduo's
// TcpConnection). Reads go into the loop's shared 64 KiB scratch buffer and straight to on_data(),
// so an idle connection owns no buffer at all; output that the kernel does not take at once is
// queued in an OutputQueue and written with sendmsg/writev as the socket drains. Every byte goes
// through the connection's Transport (transport.hpp; none set: the plain socket, called
// directly). The lifecycle (connecting, open, read-closed, draining, write-closed, closed) and
// the output policy are one Lifecycle (lifecycle.hpp), shared with the blocking models.
//
//   - Backpressure: when queued output reaches high_water, reading pauses; it resumes once the
//     queue falls to low_water. Past max_output (if set) the connection closes with
//     send_queue_full: a reader that never reads cannot make the process hold unbounded memory.
//   - Half-close: shutdown_after_flush() sends FIN once the queue is empty, then keeps reading
//     (and discarding) until the peer's FIN or the linger timeout, and only then closes, so the
//     close is a FIN, never an RST over unread data (RFC 1122 4.2.2.13; nginx lingering close).
//     half_close() sends the FIN the same way but goes on delivering input until the peer's own
//     FIN (a proxy or nc forwarding a half-close): the other direction keeps flowing.
//   - Idle timeout: no byte in either direction for idle_timeout closes with idle_timeout. The
//     timer is lazy (re-armed when it fires, not on every read).
//   - Coalesced writes (opts.coalesce_writes): send() only queues, and the socket is written once
//     at the end of the loop turn (EventLoop::at_turn_end), so a server delivering many lines to
//     one receiver in a turn (IRC fan-out) makes one sendmsg() per receiver, not one per line.
//   - Edge-triggered on epoll (opts.edge_triggered): the socket is registered once for input and
//     output with EPOLLET and never modified, so a request/response exchange costs epoll no
//     epoll_ctl and no second poll of a socket already drained. A read that fills the buffer
//     reads_per_event times, or reading resumed after a pause, continues at the end of the turn.
//     select/poll (and epoll while drain notify is on) stay level-triggered.
//   - close(reason): immediate; on_closed(reason) runs exactly once.
//
// Subclass it and implement on_data (and optionally on_eof, on_drain, on_closed). Ownership: held
// by std::shared_ptr; the connection keeps itself alive while one of its callbacks runs, so a
// callback may drop the last outside reference. Thread affinity: everything in the loop thread.
// Memory: an idle connection is this object (sizeof(Connection) plus the subclass; no buffer, no
// queue, no transport object on the plain path) and the loop's 16-byte slot; bytes read and
// written are counted per loop (EventLoop::bytes_in/bytes_out).
#pragma once

#include "sockit/loop/buffer.hpp"
#include "sockit/loop/event_loop.hpp"
#include "sockit/loop/lifecycle.hpp"
#include "sockit/loop/transport.hpp"
#include "sockit/net/address.hpp"
#include "sockit/net/fd.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <sys/types.h>

namespace sockit::loop {

/// Why a connection closed (the same values as serve::CloseReason).
enum class CloseReason : std::uint8_t { peer_closed, reset, idle_timeout, send_queue_full, protocol, server_stopping, error };
std::string_view to_string(CloseReason r) noexcept;

/// A budget of output bytes queued by every connection that shares it (any loops and threads): a
/// server-wide cap on what slow readers can make the process hold. Connections report what they
/// hold; once half the budget is in use, a connection holding more than the average stops reading
/// (the biggest holders first), and at the limit every connection that holds anything does. It
/// reads again when its own queue drains (the peer reads) below that line, so no connection waits
/// for another. A connection holding nothing reads at most limit - used bytes at a time (at least
/// kMinRead), so the total can pass the limit by at most kMinRead per connection that had nothing
/// queued when the kernel stopped taking its output. Lock-free (relaxed atomics).
class BufferBudget {
 public:
  static constexpr std::size_t kMinRead = 4096;
  explicit BufferBudget(std::size_t limit) noexcept : limit_(limit) {}
  std::size_t limit() const noexcept { return limit_; }
  std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  std::size_t peak() const noexcept { return peak_.load(std::memory_order_relaxed); }
  std::uint64_t pauses() const noexcept { return pauses_.load(std::memory_order_relaxed); }
  /// A connection's holding went from `before` to `after` bytes.
  void update(std::size_t before, std::size_t after) noexcept;
  /// Whether a connection holding `held` bytes must stop reading now.
  bool must_pause(std::size_t held) const noexcept;
  /// How much a connection may read at once now (at most `max`).
  std::size_t read_room(std::size_t max) const noexcept;
  /// read_room(max), counted as used until release(): for readers on several threads, so two of
  /// them cannot both take the same room (the blocking models; one per connection thread).
  std::size_t reserve(std::size_t max) noexcept;
  void release(std::size_t n) noexcept { used_.fetch_sub(n, std::memory_order_relaxed); }
  void count_pause() noexcept { pauses_.fetch_add(1, std::memory_order_relaxed); }
  /// True once per wave: the total fell under 1/64 of the limit after a peak over 1/8 of it, so
  /// now is the time to hand the freed memory back to the system (malloc_trim).
  bool trim_due() noexcept;

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> used_{0}, holders_{0}, peak_{0}, wave_peak_{0};
  std::atomic<std::uint64_t> pauses_{0};
};

struct ConnectionOptions {
  std::size_t high_water = 1 << 20;      ///< pause reading at this much queued output (1 MiB)
  std::size_t low_water = 256 << 10;     ///< resume reading at or below this (256 KiB)
  std::size_t max_output = 4 << 20;      ///< close with send_queue_full above this; 0 = no cap
  std::chrono::nanoseconds idle_timeout{0};        ///< 0 = none
  std::chrono::nanoseconds linger{std::chrono::seconds(2)};  ///< read-and-discard after our FIN
  int reads_per_event = 4;               ///< 64 KiB reads per readiness event (fairness)
  bool coalesce_writes = false;          ///< send() queues; one write at the end of the turn
                                         ///< (or as soon as 16 KiB are pending)
  /// With coalesce_writes: the turn-end write of a connection that sent nothing in this turn or
  /// the one before (a passive receiver of fan-out) waits up to this long while its queue holds
  /// less than hold_bytes, so the lines of several turns leave in one segment (one TCP send and
  /// one wakeup of the reader instead of one per line). A connection that sent input (a reply
  /// to its command), one closing or shutting down, or one with drain notify on is written at the
  /// turn end as before. One timer per loop releases the held connections. 0 = off.
  std::chrono::nanoseconds hold_output{0};
  std::size_t hold_bytes = 2048;         ///< hold_output: a queue this large is written at the turn end
  bool edge_triggered = true;            ///< on epoll: EPOLLET, registered once for in+out
  BufferBudget* budget = nullptr;        ///< shared by a server's connections; none = no cap
  WaterMarks marks() const noexcept { return {high_water, low_water, max_output}; }
};

namespace detail {
struct ConnectionAccess;
class SendRing;  // src/loop/ring_send.hpp: sends through the io_uring poller's ring
class RecvRing;  // src/loop/ring_recv.hpp: reads through the io_uring poller's ring
}  // namespace detail

class Connection : public std::enable_shared_from_this<Connection>, private IoHandler {
 public:
  /// `opts` is not copied: it must outlive the connection (one options object per server).
  Connection(EventLoop& loop, Fd fd, const Address& remote, const ConnectionOptions& opts);
  /// Same, reading and writing through `transport` (null: the plain socket).
  Connection(EventLoop& loop, Fd fd, const Address& remote, const ConnectionOptions& opts,
             std::unique_ptr<Transport> transport);
  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Registers the socket for reading and arms the idle timer; with a transport that has a
  /// handshake, the connection stays `connecting` until it completes (send() queues meanwhile).
  /// Must be called once, in the loop thread, on a connection owned by a shared_ptr. select:
  /// errc::fd_over_setsize.
  Result<void> start();

  /// Writes now what the kernel takes and queues the rest (with coalesce_writes: queues, and the
  /// loop writes at the end of the turn). Dropped after close or shutdown.
  void send(std::string_view bytes);
  void send(std::string&& bytes);
  /// Bytes shared with other connections (one broadcast line for many receivers): queued by
  /// reference when they have to wait, so a fan-out copies each line once, not once per receiver.
  /// `part` lies inside `*owner` (all of it when omitted).
  void send(SharedBytes owner, std::string_view part);
  void send(SharedBytes owner) {
    std::string_view all = owner ? std::string_view(*owner) : std::string_view();
    send(std::move(owner), all);
  }
  /// Half-close once the queued output is written (see the header comment). `reason` is what
  /// on_closed() reports when the close then completes normally.
  void shutdown_after_flush(CloseReason reason = CloseReason::peer_closed);
  /// Half-close that keeps reading: once the queued output and the transport's own pending
  /// output are written, our direction ends through the transport (Transport::shutdown_write:
  /// plain FIN; TLS close_notify first), and input still goes to on_data() until the peer's FIN.
  /// That FIN calls on_eof() and then closes with `reason`; if the peer's FIN came first, the
  /// connection closes with `reason` as soon as ours is out (possibly inside this call). send()
  /// is dropped from now on; the idle timeout still applies. A failing shutdown (not ENOTCONN)
  /// closes with reset or error. No effect once shutting down or closed. Lifecycle:
  /// open -> draining -> write_closed; read_closed -> read_closed_draining -> closed.
  void half_close(CloseReason reason = CloseReason::peer_closed);
  /// Closes now, dropping queued output (reason protocol/server_stopping/...). Idempotent.
  void close(CloseReason reason, std::error_code ec = {});
  /// Closes now after one non-blocking attempt to write what is queued, discarding unread input
  /// first (so the close is more likely a FIN than an RST): for refusals, which must not hold a
  /// descriptor for the linger time. What the socket does not take is dropped.
  void close_after_one_write(CloseReason reason);
  /// Stops/starts reading (independently of backpressure).
  void pause_reading();
  void resume_reading();
  /// While on, on_drain() runs whenever the socket is writable and at most low_water bytes are
  /// queued: a producer (chargen) refills from there instead of queueing without bound.
  void set_drain_notify(bool on);
  bool is_open() const noexcept { return fd_.valid(); }
  bool shutting_down() const noexcept { return lc_.shutting_down(); }
  ConnState state() const noexcept { return lc_.state(); }
  std::size_t queued_bytes() const noexcept { return out_ ? out_->size() : 0; }
  bool reading() const noexcept { return lc_.reads(); }
  int fd() const noexcept { return fd_.get(); }
  /// The peer's address (rebuilt from a compact copy: cheap, but not a reference).
  Address remote() const { return remote_.get(); }
  EventLoop& loop() const noexcept { return *loop_; }
  const ConnectionOptions& options() const noexcept { return *opts_; }

 protected:
  /// Bytes just read (a view into the loop's scratch buffer: copy what must outlive the call).
  virtual void on_data(std::span<const std::byte> data) = 0;
  /// The peer sent FIN. Default: shutdown_after_flush() (echo semantics).
  virtual void on_eof() { shutdown_after_flush(); }
  /// There is room to write (see set_drain_notify).
  virtual void on_drain() {}
  /// Called once, after the socket is closed.
  virtual void on_closed(CloseReason /*reason*/, std::error_code /*ec*/) {}

 private:
  friend struct detail::ConnectionAccess;  // src/loop/detail.hpp: echo by splice
  static constexpr std::size_t kCoalesceLimit = 16 * 1024;  // write a coalesced burst at this size
  static constexpr std::size_t kSpliceMin = 4096;
  void on_ready(const Ready& r) override;
  void on_turn_end() override;
  void prefetch_turn_end(int stage) const noexcept override;
  void set_echo_splice(bool on) noexcept;
  /// --model uring: reads through the ring from now on (an echo whose reads turned small).
  void enter_ring();
  /// Drives the transport's handshake (state connecting): true once it is done.
  bool handshake();

  template <typename... Bytes>
  void queue_coalesced(Bytes&&... bytes);
  void release_queue() noexcept;
  void schedule_turn_end();
  void schedule_reread();
  OutputQueue& queue();
  void after_queue();
  /// Reads up to reads_per_event buffers. A short read ends it (the socket is drained) unless
  /// `to_eagain`: edge mode when EOF may be queued behind the data, or when resuming.
  void handle_read(bool to_eagain = false);
  /// --model uring: hands the reads the ring brought to on_data() in order. True when the socket
  /// must be read with recv() now (the buffer ring ran dry, or the connection left the ring).
  bool read_ring();
  /// The peer's FIN was read (recv() returned 0, or the ring's EOF).
  void read_eof();
  /// One splice() read and its splice() back (set_echo_splice): the bytes read, 0 at end of
  /// stream, -1 with errno (EAGAIN: nothing to read, or no pipe: `splicing_` is then off).
  ssize_t splice_echo(std::size_t max);
  void handle_write();
  void check_dead_while_paused();  // edge mode: a reset reported while reading is paused
  /// Writes what the transport holds of its own (pending_output).
  void flush_transport();
  void after_write_progress();
  void update_interest();
  /// Reports queued_bytes() to opts_->budget and pauses or resumes reading by it.
  void sync_budget();
  void arm_idle_timer();
  void on_idle_timer();
  void do_shutdown_write();
  /// The completion of a send through the ring (ring_send.hpp): bytes sent or -errno.
  static void ring_sent(void* self, int result);
  void on_ring_sent(int result);
  /// hold_output: true when this turn-end write waits (the connection joins the loop's held list).
  bool hold_turn_end_write();
  /// The held connections whose hold is over are written (the loop's hold timer).
  static void release_due(EventLoop& loop);
  void release_hold();

  // Laid out for size (an idle connection is mostly this object): state and flags beside the fd.
  EventLoop* loop_;
  Fd fd_;
  Interest interest_ = Interest::none;
  CloseReason finish_reason_ = CloseReason::peer_closed;
  Lifecycle lc_;                      // the state machine and its output policy
  bool watched_ : 1 = false;          // registered with the loop (start() succeeded)
  bool drain_notify_ : 1 = false;
  bool flush_scheduled_ : 1 = false;  // coalesced output waits for the turn end (no write interest)
  bool edge_ : 1 = false;             // registered edge-triggered (epoll)
  bool reread_ : 1 = false;           // edge mode: read again at the turn end
  bool turn_end_queued_ : 1 = false;  // in the loop's at_turn_end list
  bool echo_splice_ : 1 = false;      // set_echo_splice
  bool splicing_ : 1 = false;         // the last read was large: splice the next one
  bool held_ : 1 = false;             // hold_output: in the loop's held list, flush_scheduled_ kept
  std::uint32_t input_turn_ = 0;      // the loop turn (low bits) of the last on_data
  CompactAddress remote_;
  const ConnectionOptions* opts_;
  std::unique_ptr<OutputQueue> out_;  // only while output is queued: an idle connection has none
  std::unique_ptr<Transport> transport_;  // null: the plain socket (no virtual call)
  std::size_t budgeted_ = 0;  // queued bytes last reported to opts_->budget
  TimerId timer_ = 0;  // the idle timer, or once our FIN is sent the linger timer
  TimePoint last_activity_;
  // --model uring, plain socket: output leaves through the poller's ring at the turn end. While a
  // send is out (ring_slot_ >= 0) its bytes stay at the front of out_ and nothing else writes;
  // ring_hold_ keeps the connection alive until the completion.
  // A connection splicing its echo (large reads) writes with splice(2) outside the ring: the
  // splice path needs an empty queue at read time, which a send out in the ring never leaves.
  detail::SendRing* ring_ = nullptr;
  int ring_slot_ = -1;
  std::shared_ptr<Connection> ring_hold_;
  bool ring_sends() const noexcept { return ring_ != nullptr && !splicing_; }
  // --model uring, plain socket in edge mode: reads come from a multishot RECV into the loop's
  // buffer ring (ring_recv.hpp), armed while lc_.reads() (recv_on_), cancelled while paused. A
  // read of kSpliceMin or more on an echo that splices leaves the ring (recv_leaving_) for
  // readiness and splice(2); the slot goes once its last completion is handled. Such an echo
  // starts on readiness, and enters the ring when a read is small (recv_ring_ set, no slot).
  detail::RecvRing* recv_ring_ = nullptr;
  int recv_slot_ = -1;
  bool recv_on_ = false;
  bool recv_leaving_ = false;
};

}  // namespace sockit::loop
