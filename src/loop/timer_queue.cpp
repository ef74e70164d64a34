// TimerQueue: a min-heap of (deadline, id) plus a map id -> timer; stale heap entries (cancelled
// or re-armed timers) are dropped when they surface.
#include "sockit/loop/timer_queue.hpp"

#include <algorithm>

namespace sockit::loop {

void TimerQueue::push(TimePoint when, TimerId id) {
  heap_.push_back(Entry{when, id});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

TimerId TimerQueue::add(TimePoint when, Callback cb, Duration interval) {
  TimerId id = next_id_++;
  timers_.emplace(id, Timer{when, interval, std::move(cb)});
  push(when, id);
  return id;
}

bool TimerQueue::cancel(TimerId id) { return timers_.erase(id) > 0; }

void TimerQueue::drop_stale_top() {
  while (!heap_.empty()) {
    const Entry& top = heap_.front();
    auto it = timers_.find(top.id);
    if (it != timers_.end() && it->second.when == top.when) return;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
}

std::optional<TimePoint> TimerQueue::next_expiry() {
  drop_stale_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

std::size_t TimerQueue::run_expired(TimePoint now) {
  due_.clear();
  for (;;) {
    drop_stale_top();
    if (heap_.empty() || heap_.front().when > now) break;
    due_.push_back(heap_.front().id);
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
  std::size_t ran = 0;
  // due_ may be reused by a nested call only through run_expired, which callbacks do not make.
  std::vector<TimerId> due;
  due.swap(due_);
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier callback of this turn
    ++ran;
    if (it->second.interval <= Duration::zero()) {
      Callback cb = std::move(it->second.cb);
      timers_.erase(it);
      cb();
      continue;
    }
    Callback cb = std::move(it->second.cb);
    Duration interval = it->second.interval;
    TimePoint when = it->second.when;
    cb();
    it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled itself
    when += interval;
    if (when <= now) when = now + interval;  // fell behind: do not fire a burst to catch up
    it->second.when = when;
    it->second.cb = std::move(cb);
    push(when, id);
  }
  due.clear();
  due_.swap(due);
  return ran;
}

}  // namespace sockit::loop
