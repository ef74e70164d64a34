// Issue #23.6: `sockit load irc` against a chat server with flood control measured the limiter
// without a word. flood_limiter_step() recognises its mark in the delivery latencies.
#include "tools/load/report.hpp"

#include <gtest/gtest.h>

namespace {

using sockit::load::Mode;
using sockit::load::Options;
using sockit::load::Stats;

constexpr std::int64_t kMs = 1'000'000;

Options irc() {
  Options o;
  o.mode = Mode::irc;
  o.senders = 2;
  o.connections = 10;
  return o;
}

}  // namespace

TEST(LoadFloodHint, LatenciesInStepsOfTheLimiterIntervalAreFlagged) {
  // What sockit chat-server's default (burst 5, 2 lines/s) gave: the burst at ~1 ms, then 500 ms steps.
  Stats s;
  for (int i = 0; i < 80; ++i) s.latency.record(1 * kMs + i * 1000);
  for (int i = 0; i < 18; ++i) s.latency.record(457 * kMs);  // the first held line waits less
  for (int i = 0; i < 54; ++i) s.latency.record(500 * kMs + (i % 3) * kMs);
  auto step = sockit::load::flood_limiter_step(irc(), s);
  ASSERT_TRUE(step);
  EXPECT_NEAR(static_cast<double>(*step), 500.0 * kMs, 10.0 * kMs);
  // A wider window: lines wait one, two or three intervals.
  Stats w;
  for (int k = 1; k <= 3; ++k)
    for (int i = 0; i < 30; ++i) w.latency.record(k * 100 * kMs + i * 100'000);
  step = sockit::load::flood_limiter_step(irc(), w);
  ASSERT_TRUE(step);
  EXPECT_NEAR(static_cast<double>(*step), 100.0 * kMs, 5.0 * kMs);
  // --window 3 against the default server (measured): the first held line of each run of three
  // waited 453 ms, the next ones 956 and 1460, and 1500 ms once the window was full.
  Stats w3;
  for (const std::int64_t v : {1 * kMs, 6 * kMs, 1 * kMs, 5 * kMs}) w3.latency.record(v, 18);
  for (const std::int64_t v : {453 * kMs, 956 * kMs, 1460 * kMs, 1500 * kMs}) w3.latency.record(v, 18);
  step = sockit::load::flood_limiter_step(irc(), w3);
  ASSERT_TRUE(step);
  EXPECT_NEAR(static_cast<double>(*step), 503.0 * kMs, 15.0 * kMs);
}

TEST(LoadFloodHint, AFastOrMerelySlowServerIsNotFlagged) {
  Stats fast;  // loopback without a limiter: every delivery within a few ms
  for (int i = 0; i < 1000; ++i) fast.latency.record(200'000 + i * 5'000);
  EXPECT_FALSE(sockit::load::flood_limiter_step(irc(), fast));
  Stats busy;  // an overloaded server: latencies spread evenly from 60 ms to 2 s
  for (int i = 0; i < 1000; ++i) busy.latency.record(60 * kMs + i * 1940 * kMs / 1000);
  EXPECT_FALSE(sockit::load::flood_limiter_step(irc(), busy));
  Stats queued;  // open loop past the server's capacity: latencies grow evenly from 50 ms to 1.7 s
  for (int i = 0; i < 1000; ++i) queued.latency.record(50 * kMs + i * 1650 * kMs / 1000);
  for (int i = 0; i < 300; ++i) queued.latency.record(5 * kMs);
  EXPECT_FALSE(sockit::load::flood_limiter_step(irc(), queued));
  Stats few;  // too few samples to say anything
  for (int i = 0; i < 5; ++i) few.latency.record(500 * kMs);
  EXPECT_FALSE(sockit::load::flood_limiter_step(irc(), few));
  Options pingpong = irc();
  pingpong.mode = Mode::pingpong;
  Stats s;
  for (int i = 0; i < 100; ++i) s.latency.record(500 * kMs);
  EXPECT_FALSE(sockit::load::flood_limiter_step(pingpong, s));
}

TEST(LoadFloodHint, OpenLoopSendersFarBelowTheOfferedRateAreFlagged) {
  // `--rate 100 -c 10 --senders 2 -d 3s` against a default chat server (measured): 52 PRIVMSGs got
  // out in 3 s, the rest waited behind full windows while the limiter let 2 lines/s through.
  Options o = irc();
  o.rate = 100;
  sockit::load::RunResult r;
  r.measured_s = 3.0;
  r.stats.sent = 52;
  const auto achieved = sockit::load::open_loop_shortfall(o, r);
  ASSERT_TRUE(achieved);
  EXPECT_NEAR(*achieved, 52.0 / 3.0, 0.01);
  EXPECT_NE(sockit::load::to_text(o, r).find("hint         the senders got 17.3 PRIVMSGs/s out of the 100/s offered"),
            std::string::npos);
  EXPECT_TRUE(sockit::load::to_json(o, r).contains("hint"));
  r.stats.sent = 290;  // nearly all of the offered 300 went out: nothing to say
  EXPECT_FALSE(sockit::load::open_loop_shortfall(o, r));
  EXPECT_EQ(sockit::load::to_text(o, r).find("hint"), std::string::npos);
  o.rate = 0;  // closed loop: the senders' pace is the server's, there is no offered rate
  r.stats.sent = 52;
  EXPECT_FALSE(sockit::load::open_loop_shortfall(o, r));
}
