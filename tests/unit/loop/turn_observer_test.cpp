// EventLoop::set_turn_observer: called once per turn with the turn's busy time (the servers'
// sockit_loop_turn_seconds histogram). No sockets, no sleeps: turns run on posted functions.
#include "sockit/loop/event_loop.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace sockit::loop {
namespace {

TEST(LoopTurnObserver, CalledOncePerTurnWithTheWorkOfTheTurn) {
  auto l = EventLoop::create(Backend::poll);
  ASSERT_TRUE(l);
  EventLoop& loop = **l;
  std::vector<Duration> turns;
  loop.set_turn_observer([&turns](Duration busy) { turns.push_back(busy); });
  // A posted function that spins for 2 ms (on the loop's own clock): that turn must report it.
  loop.post([] {
    auto until = Clock::now() + std::chrono::milliseconds(2);
    while (Clock::now() < until) {
    }
  });
  loop.run_once(std::chrono::milliseconds(1000));
  ASSERT_EQ(turns.size(), 1u);
  EXPECT_GE(turns[0], std::chrono::milliseconds(2));
  loop.post([] {});
  loop.run_once(std::chrono::milliseconds(1000));
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_LT(turns[1], std::chrono::milliseconds(2000));
  loop.set_turn_observer(nullptr);
  loop.post([] {});
  loop.run_once(std::chrono::milliseconds(1000));
  EXPECT_EQ(turns.size(), 2u);
}

}  // namespace
}  // namespace sockit::loop
