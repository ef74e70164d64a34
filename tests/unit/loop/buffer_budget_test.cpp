// loop::BufferBudget, the server-wide cap on queued output (issue 24 item 4), without sockets.
#include "sockit/loop/connection.hpp"

#include <gtest/gtest.h>

using sockit::loop::BufferBudget;

TEST(BufferBudget, BiggestHoldersPauseFirstThenEveryHolderAtTheLimit) {
  BufferBudget b(1000);
  b.update(0, 100);  // three holders: 100, 200, 250 = 550 (over half)
  b.update(0, 200);
  b.update(0, 250);
  EXPECT_EQ(b.used(), 550u);
  EXPECT_FALSE(b.must_pause(0));    // holding nothing: never paused
  EXPECT_FALSE(b.must_pause(100));  // under the average (183)
  EXPECT_TRUE(b.must_pause(200));
  EXPECT_TRUE(b.must_pause(250));
  b.update(100, 550);  // 1000: the limit
  EXPECT_TRUE(b.must_pause(1));
  EXPECT_FALSE(b.must_pause(0));
  EXPECT_EQ(b.peak(), 1000u);
}

TEST(BufferBudget, UnderHalfNobodyPauses) {
  BufferBudget b(1000);
  b.update(0, 499);
  EXPECT_FALSE(b.must_pause(499));
}

TEST(BufferBudget, ReadRoomShrinksToTheMinimumNearTheLimit) {
  BufferBudget b(1 << 20);
  EXPECT_EQ(b.read_room(65536), 65536u);
  b.update(0, (1 << 20) - 10000);
  EXPECT_EQ(b.read_room(65536), 10000u);
  b.update((1 << 20) - 10000, 1 << 20);
  EXPECT_EQ(b.read_room(65536), BufferBudget::kMinRead);
}

TEST(BufferBudget, TrimIsDueOncePerWave) {
  BufferBudget b(64 << 20);
  b.update(0, 16 << 20);  // a wave over 1/8 of the budget
  EXPECT_FALSE(b.trim_due());  // still held
  b.update(16 << 20, 0);
  EXPECT_EQ(b.used(), 0u);
  EXPECT_TRUE(b.trim_due());
  EXPECT_FALSE(b.trim_due());  // once
  b.update(0, 1 << 20);  // a small wave: nothing to hand back
  b.update(1 << 20, 0);
  EXPECT_FALSE(b.trim_due());
}
