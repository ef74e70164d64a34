// Internal header of sockit::loadgen: one worker thread of a load run, on a sockit::loop
// EventLoop, and the Strategy interface each load mode implements (strategies.cpp).
//
// The worker owns the sockets of its connections (connection i of the run goes to worker
// i % threads) and everything mode-independent about them: opening a TCP client (with the
// source-address spread), closing it, failing it with an error kind, the per-connection
// schedule, the counters and the payload pattern. What a connection does with its socket is the
// mode's Strategy, chosen once per run (make_strategy). The hot path stays what made the old raw
// epoll loop lean (docs/LOAD.md): level-triggered, write interest only while a write is blocked,
// one recv per readiness after a short read, deadlines checked by a sweep every 50 ms.
#pragma once

#include "engine.hpp"

#include "sockit/loop/event_loop.hpp"
#include "sockit/tls/context.hpp"
#include "sockit/tls/transport.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace sockit::load {

inline constexpr std::int64_t kNever = INT64_MAX;
inline constexpr std::int64_t kNsPerMs = 1'000'000;
inline constexpr std::int64_t kNsPerSecond = 1'000'000'000;
/// Registration and join phases get at least this long, whatever --timeout says.
inline constexpr std::int64_t kSettleMinNs = 30 * kNsPerSecond;

/// CLOCK_MONOTONIC in nanoseconds (the clock of sockit::loop's TimePoint).
std::int64_t now_ns() noexcept;

/// State shared by the workers and the controlling thread.
struct Shared {
  explicit Shared(const Options& opts) : o(opts) {}
  const Options& o;
  std::atomic<std::int64_t> t_measure{kNever};
  std::atomic<std::int64_t> t_end{kNever};
  std::atomic<bool> stop{false};
  std::atomic<int> phase{0};              // hold: 0 connect, 1 hold, 2 verify; irc: 0 join, 1 send
  std::atomic<std::uint32_t> settled{0};  // hold: established or failed; irc: joined
  std::unique_ptr<std::atomic<int>[]> inflight;              // irc, per sender
  std::unique_ptr<std::atomic<std::int64_t>[]> progress_at;  // irc, per sender
  std::atomic<std::int64_t> owed{0};  // irc: deliveries of measured PRIVMSGs not received yet
  std::atomic<std::uint64_t> nick_seq{0};
  std::optional<tls::Context> tls;  ///< --tls: the client context (set before the workers start)
};

class Worker;

/// One client connection (or UDP socket) of a worker. Its own IoHandler on the worker's loop:
/// an idle connection costs the loop one slot and no std::function.
struct Conn final : loop::IoHandler {
  enum State : std::uint8_t { closed, connecting, handshaking, open };  // handshaking: TLS only
  void on_ready(const loop::Ready& r) override;

  Worker* worker = nullptr;
  int fd = -1;
  std::uint32_t gid = 0;  ///< index in the whole run
  State st = closed;
  bool out_armed = false;
  bool busy = false;      ///< a message (or a registration) is in flight
  bool joined = false;    ///< irc
  bool established = false;
  std::uint64_t seq = 0;
  std::uint64_t tx = 0;   ///< bytes of the current message written (flood: stream offset)
  std::uint64_t rx = 0;
  std::int64_t t_intended = 0, t_sent = 0, deadline = 0, t_next = 0, t_start = 0, timer_at = 0;
  std::string in, out, nick;  // irc
  std::unique_ptr<tls::Transport> tls;  ///< --tls: the connection's TLS (null: plaintext, the hot path)
  enum WsState : std::uint8_t { ws_none, ws_upgrading, ws_open, ws_closing };
  WsState ws = ws_none;  ///< --websocket (irc): where the WebSocket stands; `in` holds unparsed bytes
  std::string ws_key;    ///< --websocket: the Sec-WebSocket-Key sent; then a fragmented message so far
  bool ws_fragment = false;  ///< --websocket: a fragmented message is coming in (in ws_key)
};

/// Where the run stands, for Strategy::control (controlling thread).
struct RunClock {
  std::int64_t now = 0;
  std::int64_t settle_deadline = kNever;  ///< give up waiting for joins/connects at this time
  bool ended = false;                     ///< the measured interval is over
};

/// What a connection closed by an error was doing (Strategy::on_failed).
struct FailedConn {
  bool was_busy = false;
  bool was_established = false;
};

/// One load mode. The worker calls it for every event of its connections; one instance per
/// worker, made once by make_strategy(). The run-level methods at the end (phases, progress,
/// result) use no per-worker state: the controlling thread calls them on worker 0's instance.
class Strategy {
 public:
  explicit Strategy(Worker& w);
  virtual ~Strategy() = default;
  Strategy(const Strategy&) = delete;
  Strategy& operator=(const Strategy&) = delete;

  // ---- a worker's connections (loop thread) ----
  /// The run starts: open this worker's clients, or schedule their first opening.
  virtual void start(std::int64_t now);
  /// The TCP connect of connection k completed.
  virtual void on_connected(std::size_t k, std::int64_t now) = 0;
  /// Connection k is readable (or has an error or hang-up) and/or writable.
  virtual void on_io(std::size_t k, const loop::Ready& r, std::int64_t now) = 0;
  /// The time Worker::schedule() set for connection k came.
  virtual void on_timer(std::size_t k, std::int64_t now);
  /// Connection k failed; the error is counted and the socket closed. Default: reconnect after
  /// kRetryNs.
  virtual void on_failed(std::size_t k, FailedConn was, std::int64_t now);
  /// Work not driven by readiness (every tick: 10 ms, 1 ms for irc over several threads).
  virtual void tick(std::int64_t /*now*/) {}
  /// Deadline checks (every 50 ms). Default: connects and busy messages past their deadline.
  virtual void sweep(std::int64_t now);
  /// This worker has nothing left to do.
  virtual bool finished(std::int64_t now) const;
  /// The tick period of this mode.
  virtual std::int64_t tick_ns() const noexcept;
  /// The run is over and open connection k is about to be closed (a WebSocket says goodbye).
  virtual void closing(std::size_t /*k*/, std::int64_t /*now*/) {}

  // ---- the run (controlling thread; Shared state only) ----
  /// Whether the measured interval starts with the run (false: once control() starts it).
  virtual bool measures_from_start() const noexcept { return true; }
  /// Moves the run through its phases (join, hold...). Returns the end of the measured interval
  /// when the mode sets it itself (hold), else kNever (Shared::t_end holds it).
  virtual std::int64_t control(Shared& /*sh*/, RunResult& /*res*/, const RunClock& /*at*/) { return kNever; }
  /// The progress line's text before the measured interval ("connected 10/100"), or empty.
  virtual std::string settling_text(const Shared& /*sh*/) const { return {}; }
  /// What one unit is called on the progress line ("messages/s").
  virtual std::string_view unit_name() const noexcept { return "messages"; }
  /// Last touches on the merged result (hold counts connections held).
  virtual void finish(RunResult& /*res*/) const {}
  /// Whether the measured interval is the configured one (not the observed begin/end).
  virtual bool fixed_interval() const noexcept { return true; }

 protected:
  /// Open loop: starts the next unit of connection k now if its intended time has come (latency
  /// counts from that time, however late), else schedules it.
  void next_or_wait(std::size_t k, std::int64_t now);
  /// Starts one unit of work (a message, a connection) intended at `intended`.
  virtual void begin_unit(std::size_t k, std::int64_t intended, std::int64_t now);
  /// Opens connection k's client (Worker::open_tcp, spread when spread_).
  virtual void open_client(std::size_t k, std::int64_t now);
  /// A closed connection's retry time came. Default: open_client().
  virtual void reopen(std::size_t k, std::int64_t now);
  /// Open loop: connection k's first intended time, the connections spread over one interval.
  std::int64_t first_time(std::size_t k, std::int64_t now) const noexcept;

  bool spread_ = false;  ///< bind source addresses 127.0.0.1-200 (many connections to loopback)

  Worker& w_;
  const Options& o_;
};

std::unique_ptr<Strategy> make_strategy(Worker& w);

class Worker {
 public:
  static constexpr std::size_t kPeriod = 251;            ///< the payload pattern repeats every 251 bytes
  static constexpr std::size_t kScratch = 64 * 1024;
  static constexpr std::int64_t kSweepNs = 50 * kNsPerMs;   ///< deadline checks
  static constexpr std::int64_t kRetryNs = 100 * kNsPerMs;  ///< reconnect backoff after an error
  static constexpr std::uint32_t kSpread = 200;            ///< 127.0.0.1 .. 127.0.0.200

  Worker(Shared& sh, std::uint32_t index, std::uint32_t threads);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Runs this worker's share of the load on its own EventLoop until its strategy is finished.
  void run();
  /// The mode of this worker (for the controlling thread's run-level calls).
  Strategy& strategy() noexcept { return *strategy_; }

  Stats stats;
  std::atomic<std::uint64_t> live_units{0};
  std::atomic<std::uint64_t> live_errors{0};
  std::atomic<bool> done{false};
  std::string fatal;
  std::string note;  ///< the first failure worth a word in the report (a refused WebSocket upgrade)

  // ---- for the strategies (loop thread) ----
  Shared& sh;
  const Options& o;
  const std::uint32_t id;
  const std::uint32_t threads;
  std::vector<Conn> conns;
  std::int64_t interval = 0;  ///< open loop: time between two units of one connection
  std::int64_t t_measure = kNever, t_end = kNever;

  loop::EventLoop& loop() noexcept { return *loop_; }
  bool in_window(std::int64_t now) const noexcept { return now >= t_measure && now < t_end; }
  bool quota_done() const noexcept { return quota_ && stats.units >= quota_; }
  std::uint64_t quota() const noexcept { return quota_; }
  const char* pattern(std::uint64_t seq) const noexcept { return tbl_.data() + (seq * 17) % kPeriod; }
  const char* stream_pattern(std::uint64_t offset) const noexcept { return tbl_.data() + offset % kPeriod; }
  char* scratch() noexcept { return scratch_.data(); }
  std::size_t scratch_size() const noexcept { return scratch_.size(); }

  /// Counts one completed unit (in the measured interval and under the quota only).
  void record(std::int64_t now, std::int64_t intended, std::int64_t sent, std::uint64_t bytes);
  /// Counts units and input bytes measured otherwise (flood chunks, irc deliveries).
  void record_units(std::uint64_t units, std::uint64_t bytes_in);
  void count_error(ErrorKind kind);
  /// Runs strategy().on_timer(k) at `at` (ns precision; replaces k's earlier time).
  void schedule(std::size_t k, std::int64_t at);

  /// Opens a TCP client for connection k (spread over source addresses when `spread`);
  /// strategy().on_connected(k) once connected; fail(k) when it cannot (no socket: `fatal` too).
  void open_tcp(std::size_t k, std::int64_t now, bool spread);
  /// Opens a connected UDP socket for connection k; false (counted) on failure.
  bool open_udp(std::size_t k);
  void close_conn(std::size_t k);
  /// Counts `kind`, closes k and tells the strategy.
  void fail(std::size_t k, ErrorKind kind, std::int64_t now);
  /// One non-blocking send on k: the bytes sent, or 0 when the socket is full (write interest
  /// armed) or the send failed (k failed). With TLS: one SSL_write (a retry after 0 offers the
  /// same bytes again, or more: the strategies do).
  std::size_t send_some(std::size_t k, const void* p, std::size_t len, std::int64_t now) {
    if (tls_on_) return tls_send_some(k, p, len, now);
    return plain_send_some(k, p, len, now);
  }
  /// One recv on k into `buf`: the bytes read; 0 at EOF; -1 when there is nothing (EAGAIN) or
  /// after an error, which failed k. With TLS: records until `len` or nothing more, so a short
  /// result still means "drained" (what the socket holds; a record's rest is read by on_ready).
  ssize_t recv_some(std::size_t k, char* buf, std::size_t len, std::int64_t now) {
    if (tls_on_) return tls_recv_some(k, buf, len, now);
    return plain_recv_some(k, buf, len, now);
  }
  /// --tls: sends close_notify and FIN on k (a clean TLS close; reading goes on).
  void tls_close_notify(std::size_t k);
  /// --resume: the session the next connections offer (the last resumable one seen).
  void keep_session(std::size_t k);
  /// The first TLS handshake failure's reason in words (empty: none).
  const std::string& tls_error() const noexcept { return tls_error_; }
  void arm_out(std::size_t k);
  void disarm_out(std::size_t k);
  std::uint32_t connecting() const noexcept { return connecting_; }
  /// Runs strategy().tick() at the end of this loop turn (once, however often asked).
  void tick_at_turn_end();

  void on_ready(std::size_t k, const loop::Ready& r);

 private:
  struct Ticker;
  struct Clock;
  void finish_connect(std::size_t k, std::int64_t now);
  /// TCP is up on k: the TLS handshake starts (--tls), or the strategy's on_connected().
  void tcp_up(std::size_t k, std::int64_t now);
  void drive_handshake(std::size_t k, std::int64_t now);
  /// --tls: what the strategy left in k's TLS records after its read (SSL_pending).
  void drain_tls(std::size_t k, std::int64_t now);
  std::size_t plain_send_some(std::size_t k, const void* p, std::size_t len, std::int64_t now);
  ssize_t plain_recv_some(std::size_t k, char* buf, std::size_t len, std::int64_t now);
  std::size_t tls_send_some(std::size_t k, const void* p, std::size_t len, std::int64_t now);
  ssize_t tls_recv_some(std::size_t k, char* buf, std::size_t len, std::int64_t now);
  void run_due(std::int64_t now);
  void arm_clock(std::int64_t at);
  void on_tick();
  bool setup();

  std::unique_ptr<loop::EventLoop> loop_;
  std::unique_ptr<Strategy> strategy_;
  std::vector<char> tbl_;
  std::vector<char> scratch_;
  // The per-connection schedule: one heap, on a timerfd armed at its earliest entry. The loop's
  // own timers round waits up to whole milliseconds; an open-loop send time must not.
  std::priority_queue<std::pair<std::int64_t, std::uint32_t>, std::vector<std::pair<std::int64_t, std::uint32_t>>,
                      std::greater<>>
      timers_;
  std::unique_ptr<Clock> clock_;
  std::shared_ptr<Ticker> ticker_;
  bool tick_queued_ = false;
  std::uint64_t quota_ = 0;
  std::uint32_t connecting_ = 0;
  bool tls_on_ = false;                       // --tls (one predictable branch on the plain path)
  std::shared_ptr<SSL_SESSION> tls_session_;  // --resume
  std::string tls_name_;                      // --tls: the address checked with --tls-ca
  std::string tls_error_;
};

}  // namespace sockit::load
