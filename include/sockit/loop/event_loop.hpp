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
//   6. run the turn-end tasks (at_turn_end: coalesced writes), until none is left
//
// Thread affinity: run() binds the loop to the calling thread. post(), stop() and
// is_in_loop_thread() are safe from any thread; everything else must be called in the loop thread
// (or before run() starts, from the thread that created the loop).
#pragma once

#include "sockit/loop/poller.hpp"
#include "sockit/loop/timer_queue.hpp"
#include "sockit/net/fd.hpp"
#include "sockit/net/result.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

namespace sockit::loop {

/// Work deferred to the end of the current loop turn (see EventLoop::at_turn_end).
class TurnEndTask {
 public:
  virtual void on_turn_end() = 0;

 protected:
  ~TurnEndTask() = default;
};

class EventLoop {
 public:
  using Functor = std::function<void()>;
  using IoCallback = std::function<void(const Ready&)>;
  using SignalCallback = std::function<void(int signo)>;

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
  /// Changes the interest of a watched descriptor.
  Result<void> update(int fd, Interest interest);
  /// Stops watching `fd`; its callback will not run again, even for events of the current turn.
  /// Safe inside the fd's own callback.
  void unwatch(int fd) noexcept;
  /// Descriptors watched by users (the loop's own eventfd/signalfd are not counted).
  std::size_t watcher_count() const noexcept { return user_watchers_; }

  /// Runs task->on_turn_end() once at the end of this turn, after every ready descriptor, timer
  /// and posted function (tasks added meanwhile run in the same phase). Used to coalesce writes:
  /// everything sent to a connection during one turn goes out in one system call. Loop thread
  /// only; cost: one vector push. The loop holds `task` until it has run.
  void at_turn_end(std::shared_ptr<TurnEndTask> task) { turn_end_.push_back(std::move(task)); }

  TimerId run_at(TimePoint when, Functor fn);
  TimerId run_after(Duration delay, Functor fn);
  template <class Rep, class Period>
  TimerId run_after(std::chrono::duration<Rep, Period> d, Functor fn) {
    return run_after(std::chrono::duration_cast<Duration>(d), std::move(fn));
  }
  /// Every `interval`, the first time after one interval.
  TimerId run_every(Duration interval, Functor fn);
  bool cancel(TimerId id) { return timers_.cancel(id); }
  std::size_t timer_count() const noexcept { return timers_.size(); }

  /// Delivers `signals` into the loop through a signalfd. The caller must already have blocked
  /// them in every thread (pthread_sigmask before starting threads; see block_signals()), or the
  /// default action still happens. One call per loop.
  Result<void> watch_signals(std::span<const int> signals, SignalCallback cb);

  std::string_view backend_name() const noexcept { return poller_->name(); }
  Backend backend() const noexcept { return backend_; }
  /// The time the current turn started (cheap; no clock read).
  TimePoint now() const noexcept { return now_; }
  /// A 64 KiB read buffer shared by everything on this loop (valid inside one callback only).
  std::span<std::byte> scratch() noexcept { return {scratch_.get(), kScratchSize}; }
  std::uint64_t turns() const noexcept { return turns_; }

  static constexpr std::size_t kScratchSize = 65536;

 private:
  EventLoop(Backend backend, std::unique_ptr<Poller> poller, Fd wake);
  void turn(int timeout_ms);
  void run_posted();
  void run_turn_end();
  void on_wake();

  struct Slot {
    std::shared_ptr<IoCallback> cb;
    std::uint64_t generation = 0;
  };

  Backend backend_;
  std::unique_ptr<Poller> poller_;
  Fd wake_fd_;
  Fd signal_fd_;
  SignalCallback signal_cb_;
  std::vector<Slot> slots_;
  std::uint64_t generation_ = 0;
  std::size_t user_watchers_ = 0;
  std::vector<Ready> ready_;
  std::vector<std::uint64_t> ready_gen_;
  TimerQueue timers_;
  TimePoint now_;
  std::unique_ptr<std::byte[]> scratch_;
  std::uint64_t turns_ = 0;

  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> thread_{};
  std::mutex mu_;
  std::vector<Functor> posted_;        // guarded by mu_
  std::vector<Functor> running_;       // loop thread only
  std::vector<std::shared_ptr<TurnEndTask>> turn_end_;          // loop thread only
  std::vector<std::shared_ptr<TurnEndTask>> turn_end_running_;  // loop thread only
  std::atomic<bool> wake_pending_{false};
};

/// Blocks `signals` in the calling thread (and so in threads it starts later); use before
/// EventLoop::watch_signals or sigwait. Returns the previous mask through `old` when given.
Result<void> block_signals(std::span<const int> signals, sigset_t* old = nullptr);

}  // namespace sockit::loop
