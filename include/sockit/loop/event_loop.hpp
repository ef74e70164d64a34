// Public header. EventLoop: one per thread. It waits on a Poller (select, poll or epoll, picked at
// run time), dispatches ready descriptors to their callbacks, runs due timers and the functions
// other threads post(). Modelled on muduo's EventLoop; the phases of one turn, as libuv documents
// its own (see docs/MODELS.md):
//
//   1. compute the timeout from the earliest timer (rounded up to whole ms: never wakes early)
//   2. Poller::wait
//   3. update now(); dispatch every ready descriptor, in the order the backend reported them
//   4. run expired timers
//   5. run the functions posted by post() (a snapshot: functions posted meanwhile wait a turn)
//   6. run the turn-end tasks (at_turn_end: coalesced writes); any they add make the next wait 0
//
// Thread affinity: run() binds the loop to the calling thread. post(), stop() and
// is_in_loop_thread() are safe from any thread; everything else must be called in the loop thread
// (or before run() starts, from the thread that created the loop).
#pragma once

#include "sockit/loop/buffer.hpp"
#include "sockit/loop/poller.hpp"
#include "sockit/loop/timer_queue.hpp"
#include "sockit/net/fd.hpp"
#include "sockit/net/result.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sockit::loop {

namespace detail {
struct LoopAccess;  // src/loop/detail.hpp: the serve layer's private seam into the loop
struct HeldOutput;  // src/loop/detail.hpp: connections whose small output waits (hold_output)
}  // namespace detail

/// Receives readiness for a watched descriptor without a std::function per descriptor (what
/// Connection uses, so an idle connection costs the loop one 16-byte slot). The loop does not own
/// it: unwatch() before it is destroyed.
class IoHandler {
 public:
  virtual void on_ready(const Ready& r) = 0;
  /// Deferred work registered with EventLoop::at_turn_end (coalesced writes).
  virtual void on_turn_end() {}

 protected:
  virtual ~IoHandler() = default;  // virtual: EventLoop, a friend, could otherwise delete through it

 private:
  friend class EventLoop;
  /// Internal (see src/loop/detail.hpp): a cache hint before on_turn_end(); no state change.
  virtual void prefetch_turn_end(int /*stage*/) const noexcept {}
};

class EventLoop {
 public:
  using Functor = std::function<void()>;
  using IoCallback = std::function<void(const Ready&)>;
  using SignalCallback = std::function<void(int signo)>;
  using TurnObserver = std::function<void(Duration busy)>;

  /// Creates the poller and the eventfd used to wake the loop (2 descriptors with epoll).
  static Result<std::unique_ptr<EventLoop>> create(Backend backend = kDefaultBackend);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Runs turns until stop(). Returns at once if stop() was already called.
  void run();
  /// Runs one turn, waiting at most `max_wait` (useful in tests).
  void run_once(std::chrono::milliseconds max_wait);
  /// Asks run() to return after the current turn. Any thread.
  void stop();
  bool stopping() const noexcept { return stop_.load(std::memory_order_acquire); }

  /// Queues `fn` to run in the loop thread and wakes the loop. Any thread. Functions posted from
  /// one thread run in order.
  void post(Functor fn);
  /// Runs `fn` now when called in the loop thread, otherwise post()s it.
  void dispatch(Functor fn);
  bool is_in_loop_thread() const noexcept;

  /// Watches `fd` (not owned) for `interest`; `cb` runs in the loop thread with what is ready.
  /// Errors: the backend's (select: errc::fd_over_setsize).
  Result<void> watch(int fd, Interest interest, IoCallback cb);
  /// Same, calling `handler` (not owned; it must unwatch before it goes away).
  Result<void> watch(int fd, Interest interest, IoHandler* handler);
  /// Changes the interest of a watched descriptor.
  Result<void> update(int fd, Interest interest);
  /// Stops watching `fd`; its callback will not run again, even for events of the current turn.
  /// Safe inside the fd's own callback.
  void unwatch(int fd) noexcept;
  /// Descriptors watched by users (the loop's own eventfd/signalfd are not counted).
  std::size_t watcher_count() const noexcept { return user_watchers_; }

  /// Runs task->on_turn_end() once at the end of this turn, after every ready descriptor, timer
  /// and posted function (tasks added while they run go to the next turn, which then polls
  /// without waiting). Used to coalesce writes and to resume edge-triggered reading:
  /// everything sent to a connection during one turn goes out in one system call. Loop thread
  /// only; cost: one vector push. The loop holds `task` until it has run.
  void at_turn_end(std::shared_ptr<IoHandler> task) { turn_end_.push_back(std::move(task)); }

  TimerId run_at(TimePoint when, Functor fn);
  TimerId run_after(Duration delay, Functor fn);
  template <class Rep, class Period>
  TimerId run_after(std::chrono::duration<Rep, Period> d, Functor fn) {
    return run_after(std::chrono::duration_cast<Duration>(d), std::move(fn));
  }
  /// Every `interval`, the first time after one interval.
  TimerId run_every(Duration interval, Functor fn);
  /// Called at the end of every turn with the time the turn took once its wait returned
  /// (dispatch, timers, posted functions, turn-end writes): for a turn-duration histogram (the
  /// servers' --metrics). One clock read per turn while set; none otherwise. Loop thread, or
  /// before run().
  void set_turn_observer(TurnObserver fn) { turn_observer_ = std::move(fn); }
  bool cancel(TimerId id) { return timers_.cancel(id); }
  /// When a pending timer is due (nullopt once it ran or was cancelled).
  std::optional<TimePoint> timer_expiry(TimerId id) const { return timers_.expiry(id); }
  std::size_t timer_count() const noexcept { return timers_.size(); }

  /// Delivers `signals` into the loop through a signalfd. The caller must already have blocked
  /// them in every thread (pthread_sigmask before starting threads; see block_signals()), or the
  /// default action still happens. One call per loop.
  Result<void> watch_signals(std::span<const int> signals, SignalCallback cb);

  std::string_view backend_name() const noexcept { return poller_->name(); }
  bool supports_edge() const noexcept { return poller_->supports_edge(); }
  Backend backend() const noexcept { return backend_; }
  /// The time the current turn started (cheap; no clock read).
  TimePoint now() const noexcept { return now_; }
  /// A 64 KiB read buffer shared by everything on this loop (valid inside one callback only).
  std::span<std::byte> scratch() noexcept { return {scratch_.get(), kScratchSize}; }
  std::uint64_t turns() const noexcept { return turns_; }
  /// One pointer for the loop's owner (libuv's loop->data): lets per-connection objects find
  /// per-loop state without storing a pointer each. Not used by the loop itself.
  void set_user_data(void* p) noexcept { user_data_ = p; }
  void* user_data() const noexcept { return user_data_; }
  /// Bytes read and written by the connections of this loop (a connection carries no counters
  /// of its own). Readable from any thread.
  std::uint64_t bytes_in() const noexcept { return bytes_in_.load(std::memory_order_relaxed); }
  std::uint64_t bytes_out() const noexcept { return bytes_out_.load(std::memory_order_relaxed); }
  /// Writes that moved bytes: one send(), or one flush of a queue (possibly several sendmsg()
  /// calls). With coalesced writes, at most one per connection per turn unless a burst passes
  /// the coalescing limit.
  std::uint64_t writes() const noexcept { return writes_.load(std::memory_order_relaxed); }
  /// Of bytes_out(), those moved by splice() without a copy into user space.
  std::uint64_t bytes_spliced() const noexcept { return bytes_spliced_.load(std::memory_order_relaxed); }

  static constexpr std::size_t kScratchSize = 65536;

 private:
  friend struct detail::LoopAccess;
  EventLoop(Backend backend, std::unique_ptr<Poller> poller, Fd wake);
  bool splice_pipe(int& read_end, int& write_end) noexcept;
  void turn(int timeout_ms);
  void run_posted();
  void run_turn_end();
  void prefetch_handler(int fd) const noexcept;
  static void prefetch_object(const void* p) noexcept;
  void on_wake();

  // One per descriptor number: 16 bytes. Callback watchers own a CallbackHandler kept in
  // callbacks_ (few: acceptors, UDP sockets, connectors); handler watchers own nothing.
  struct CallbackHandler final : IoHandler {
    explicit CallbackHandler(IoCallback f) : fn(std::move(f)) {}
    void on_ready(const Ready& r) override { fn(r); }
    IoCallback fn;
  };
  struct Slot {
    IoHandler* handler = nullptr;
    std::uint32_t generation = 0;
    bool owned = false;  // handler is a CallbackHandler in callbacks_
  };
  Result<void> watch_slot(int fd, Interest interest, IoHandler* handler, bool owned);

  Backend backend_;
  std::unique_ptr<Poller> poller_;
  Fd wake_fd_;
  Fd signal_fd_;
  SignalCallback signal_cb_;
  std::vector<Slot> slots_;
  std::uint32_t generation_ = 0;
  std::unordered_map<int, std::shared_ptr<CallbackHandler>> callbacks_;
  std::size_t user_watchers_ = 0;
  std::vector<Ready> ready_;
  std::vector<std::uint32_t> ready_gen_;
  TimerQueue timers_;
  TimePoint now_;
  TurnObserver turn_observer_;
  std::unique_ptr<std::byte[]> scratch_;
  std::uint64_t turns_ = 0;
  void* user_data_ = nullptr;
  OutputQueuePool output_queues_;
  std::unique_ptr<detail::HeldOutput> held_output_;  // made on first use (ConnectionOptions::hold_output)
  std::atomic<std::uint64_t> bytes_in_{0};
  std::atomic<std::uint64_t> bytes_out_{0};
  std::atomic<std::uint64_t> bytes_spliced_{0};
  std::atomic<std::uint64_t> writes_{0};
  Fd splice_read_;
  Fd splice_write_;
  enum class PipeState : std::uint8_t { untried, ready, unavailable } pipe_state_ = PipeState::untried;

  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> thread_{};
  std::mutex mu_;
  std::vector<Functor> posted_;        // guarded by mu_
  std::vector<Functor> running_;       // loop thread only
  std::vector<std::shared_ptr<IoHandler>> turn_end_;          // loop thread only
  std::vector<std::shared_ptr<IoHandler>> turn_end_running_;  // loop thread only
  std::atomic<bool> wake_pending_{false};
};

/// Blocks `signals` in the calling thread (and so in threads it starts later); use before
/// EventLoop::watch_signals or sigwait. Returns the previous mask through `old` when given.
Result<void> block_signals(std::span<const int> signals, sigset_t* old = nullptr);

}  // namespace sockit::loop
