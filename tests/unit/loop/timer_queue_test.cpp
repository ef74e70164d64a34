// TimerQueue ordering, cancellation and repetition, with a fake clock (no sleeps).
#include "sockit/loop/timer_queue.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace std::chrono_literals;
using sockit::loop::TimePoint;
using sockit::loop::TimerQueue;

TEST(TimerQueue, RunsInDeadlineOrder) {
  TimerQueue q;
  TimePoint t0{};
  std::string order;
  q.add(t0 + 30ms, [&] { order += "c"; });
  q.add(t0 + 10ms, [&] { order += "a"; });
  q.add(t0 + 20ms, [&] { order += "b"; });
  EXPECT_EQ(*q.next_expiry(), t0 + 10ms);
  EXPECT_EQ(q.run_expired(t0 + 15ms), 1u);
  EXPECT_EQ(order, "a");
  EXPECT_EQ(q.run_expired(t0 + 100ms), 2u);
  EXPECT_EQ(order, "abc");
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.next_expiry());
}

TEST(TimerQueue, CancelledTimerNeverRuns) {
  TimerQueue q;
  TimePoint t0{};
  int ran = 0;
  auto id = q.add(t0 + 10ms, [&] { ++ran; });
  q.add(t0 + 20ms, [&] { ++ran; });
  EXPECT_TRUE(q.cancel(id));
  EXPECT_FALSE(q.cancel(id));
  EXPECT_EQ(*q.next_expiry(), t0 + 20ms);
  q.run_expired(t0 + 1s);
  EXPECT_EQ(ran, 1);
}

TEST(TimerQueue, CallbackMayCancelALaterDueTimer) {
  TimerQueue q;
  TimePoint t0{};
  int second = 0;
  sockit::loop::TimerId b = 0;
  q.add(t0 + 1ms, [&] { q.cancel(b); });
  b = q.add(t0 + 2ms, [&] { ++second; });
  q.run_expired(t0 + 10ms);
  EXPECT_EQ(second, 0);
}

TEST(TimerQueue, RepeatingTimerRearmsAndCanCancelItself) {
  TimerQueue q;
  TimePoint t0{};
  int ran = 0;
  sockit::loop::TimerId id = 0;
  id = q.add(
      t0 + 10ms,
      [&] {
        if (++ran == 3) q.cancel(id);
      },
      10ms);
  q.run_expired(t0 + 10ms);
  EXPECT_EQ(*q.next_expiry(), t0 + 20ms);
  q.run_expired(t0 + 20ms);
  q.run_expired(t0 + 30ms);
  q.run_expired(t0 + 40ms);
  EXPECT_EQ(ran, 3);
  EXPECT_TRUE(q.empty());
}

TEST(TimerQueue, TimerAddedByCallbackForNowWaitsForNextCall) {
  TimerQueue q;
  TimePoint t0{};
  int ran = 0;
  q.add(t0, [&] { q.add(t0, [&] { ++ran; }); });
  EXPECT_EQ(q.run_expired(t0), 1u);
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(q.run_expired(t0), 1u);
  EXPECT_EQ(ran, 1);
}
