// Public header. TimerQueue: one-shot and repeating timers in a binary min-heap keyed on the
// deadline (muduo's TimerQueue idea; not Redis's unsorted list, which is O(N) per turn).
// Cancellation is lazy: the heap entry stays and is skipped when it reaches the top.
// Cost: add O(log n), cancel O(1), run_expired O(k log n) for k due timers.
//
// Pure data structure: it reads no clock and owns no descriptor; EventLoop asks next_expiry() for
// its poll timeout and calls run_expired(now). Thread affinity: one thread (the loop's).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

namespace sockit::loop {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
/// Identifies a timer; 0 is never a valid id.
using TimerId = std::uint64_t;

class TimerQueue {
 public:
  using Callback = std::function<void()>;

  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  /// Runs `cb` at `when`, then every `interval` if it is positive. Returns the timer's id.
  TimerId add(TimePoint when, Callback cb, Duration interval = Duration::zero());
  /// Cancels a pending timer (also from inside its own or another timer's callback). Returns false
  /// when it already ran (one-shot) or was never added.
  bool cancel(TimerId id);
  /// When timer `id` is due, if it is pending.
  std::optional<TimePoint> expiry(TimerId id) const {
    auto it = timers_.find(id);
    if (it == timers_.end()) return std::nullopt;
    return it->second.when;
  }
  /// The earliest pending deadline, if any.
  std::optional<TimePoint> next_expiry();
  /// Runs every timer due at `now` in deadline order; returns how many ran. Timers added by a
  /// callback for a time <= now run on the next call, so a zero-delay re-arm cannot starve the loop.
  std::size_t run_expired(TimePoint now);
  /// Pending timers.
  std::size_t size() const noexcept { return timers_.size(); }
  bool empty() const noexcept { return timers_.empty(); }

 private:
  struct Entry {
    TimePoint when;
    TimerId id;
  };
  struct Timer {
    TimePoint when;
    Duration interval;
    Callback cb;
  };
  static bool later(const Entry& a, const Entry& b) noexcept {
    return a.when > b.when || (a.when == b.when && a.id > b.id);
  }
  void push(TimePoint when, TimerId id);
  void drop_stale_top();

  std::vector<Entry> heap_;
  std::unordered_map<TimerId, Timer> timers_;
  std::vector<TimerId> due_;
  TimerId next_id_ = 1;
};

}  // namespace sockit::loop
