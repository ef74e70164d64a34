// sockit ping's probe codec and reply tracker, driven with made-up timings (no sockets).
#include "tools/ping/probe.hpp"

#include <gtest/gtest.h>

#include <array>

namespace sockit::ping {
namespace {

using namespace std::chrono_literals;

TEST(PingProbe, EncodeDecodeRoundTrip) {
  std::array<std::byte, kDefaultSize> buf{};
  Probe p{0x0123456789abcdefULL, 4000000000u, 3, 987654321012345ULL};
  encode(p, buf);
  auto d = decode(buf);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->session, p.session);
  EXPECT_EQ(d->seq, p.seq);
  EXPECT_EQ(d->attempt, p.attempt);
  EXPECT_EQ(d->sent_ns, p.sent_ns);
}

TEST(PingProbe, RejectsShortAndForeignDatagrams) {
  std::array<std::byte, kDefaultSize> buf{};
  encode(Probe{1, 2, 0, 3}, buf);
  EXPECT_FALSE(decode(std::span<const std::byte>(buf.data(), kHeaderSize - 1)));
  buf[0] = std::byte{'X'};
  EXPECT_FALSE(decode(buf));
}

TEST(PingTracker, FirstAnswerIsFreshSameCopyAgainIsDuplicate) {
  Tracker t;
  auto t0 = Clock::now();
  t.sent(0, t0, t0 + 1s);
  EXPECT_EQ(t.on_reply(0, 0, 1ms), ReplyKind::fresh);
  EXPECT_EQ(t.on_reply(0, 0, 2ms), ReplyKind::duplicate);
  auto s = t.summary(10ms);
  EXPECT_EQ(s.received, 1u);
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.lost, 0u);
}

TEST(PingTracker, AnswerToARetransmissionOfAnAnsweredProbeIsRedundantNotDuplicate) {
  Tracker t;
  auto t0 = Clock::now();
  t.sent(0, t0, t0 + 1s);
  t.retransmitted(0);
  EXPECT_EQ(t.on_reply(0, 1, 1ms), ReplyKind::fresh);
  EXPECT_EQ(t.on_reply(0, 0, 300ms), ReplyKind::redundant);
  auto s = t.summary(1s);
  EXPECT_EQ(s.received, 1u);
  EXPECT_EQ(s.duplicates, 0u);
  EXPECT_EQ(s.redundant, 1u);
  EXPECT_EQ(s.retransmissions, 1u);
}

TEST(PingTracker, ReplyAfterTheTimeoutIsLateAndStaysLost) {
  Tracker t;
  auto t0 = Clock::now();
  t.sent(0, t0, t0 + 100ms);
  t.sent(1, t0 + 10ms, t0 + 110ms);
  auto lost = t.expire(t0 + 105ms);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0], 0u);
  EXPECT_EQ(t.on_reply(0, 0, 150ms), ReplyKind::late);
  EXPECT_EQ(t.on_reply(1, 0, 50ms), ReplyKind::fresh);
  auto s = t.summary(200ms);
  EXPECT_EQ(s.transmitted, 2u);
  EXPECT_EQ(s.received, 1u);
  EXPECT_EQ(s.lost, 1u);
  EXPECT_EQ(s.late, 1u);
  EXPECT_DOUBLE_EQ(s.loss_percent, 50.0);
}

TEST(PingTracker, UnknownSeqAndAttemptAreIgnored) {
  Tracker t;
  auto t0 = Clock::now();
  t.sent(0, t0, t0 + 1s);
  EXPECT_EQ(t.on_reply(7, 0, 1ms), ReplyKind::unknown);
  EXPECT_EQ(t.on_reply(0, 1, 1ms), ReplyKind::unknown) << "attempt 1 was never sent";
  EXPECT_EQ(t.summary(1s).received, 0u);
}

TEST(PingTracker, OlderSeqAnsweredAfterANewerOneIsOutOfOrder) {
  Tracker t;
  auto t0 = Clock::now();
  t.sent(0, t0, t0 + 1s);
  t.sent(1, t0, t0 + 1s);
  EXPECT_EQ(t.on_reply(1, 0, 1ms), ReplyKind::fresh);
  EXPECT_EQ(t.on_reply(0, 0, 2ms), ReplyKind::fresh);
  EXPECT_TRUE(t.find(0)->reordered);
  EXPECT_FALSE(t.find(1)->reordered);
  EXPECT_EQ(t.summary(1s).reordered, 1u);
}

TEST(PingTracker, RttStatisticsMatchPing) {
  Tracker t;
  auto t0 = Clock::now();
  for (std::uint32_t i = 0; i < 3; ++i) t.sent(i, t0, t0 + 1s);
  t.on_reply(0, 0, 1ms);
  t.on_reply(1, 0, 2ms);
  t.on_reply(2, 0, 3ms);
  auto s = t.summary(2s);
  EXPECT_DOUBLE_EQ(*s.rtt_min, 1.0);
  EXPECT_DOUBLE_EQ(*s.rtt_max, 3.0);
  EXPECT_DOUBLE_EQ(*s.rtt_avg, 2.0);
  EXPECT_NEAR(*s.rtt_mdev, 0.816, 0.001);  // sqrt(mean(x^2) - mean(x)^2), as iputils
  auto text = format_summary("h", s);
  EXPECT_NE(text.find("--- h ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 2000ms\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rtt min/avg/max/mdev = 1.000/2.000/3.000/0.816 ms"), std::string::npos) << text;
}

TEST(PingTracker, InterruptedRunCountsPendingProbesLost) {
  Tracker t;
  auto t0 = Clock::now();
  t.sent(0, t0, t0 + 1s);
  t.sent(1, t0, t0 + 1s);
  t.on_reply(0, 0, 1ms);
  t.expire_all();
  auto s = t.summary(5ms);
  EXPECT_EQ(s.transmitted, s.received + s.lost);
  EXPECT_EQ(s.lost, 1u);
}

TEST(PingTracker, ErrorsAreLostAndShownInTheSummary) {
  Tracker t;
  auto t0 = Clock::now();
  t.sent(0, t0, t0 + 1s);
  t.on_error(0, "Destination Port Unreachable");
  auto s = t.summary(1ms);
  EXPECT_EQ(s.errors, 1u);
  EXPECT_EQ(s.lost, 1u);
  EXPECT_NE(format_summary("h", s).find("1 packets transmitted, 0 received, +1 errors, 100% packet loss"),
            std::string::npos);
}

}  // namespace
}  // namespace sockit::ping
