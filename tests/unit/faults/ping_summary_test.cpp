// sockit ping's summary (issue #23 item 5): "packet loss" counts every transmission, as ping(8)
// users read it, and a second line gives the requests that failed after all retransmissions.
#include "tools/ping/probe.hpp"

#include <gtest/gtest.h>

namespace sockit::ping {
namespace {

using namespace std::chrono_literals;

TEST(PingSummary, PacketLossCountsEveryCopyAndRequestsLineShowsWhatRetriesSaved) {
  Tracker t;
  auto t0 = Clock::now();
  for (std::uint32_t i = 0; i < 4; ++i) t.sent(i, t0, t0 + 1s);
  EXPECT_EQ(t.on_reply(0, 0, 1ms), ReplyKind::fresh);  // 1 copy, answered
  t.retransmitted(1);
  t.retransmitted(1);
  EXPECT_EQ(t.on_reply(1, 2, 1ms), ReplyKind::fresh);  // 3 copies, the third answered
  for (int i = 0; i < 3; ++i) t.retransmitted(2);      // 4 copies, none answered
  t.retransmitted(3);
  EXPECT_EQ(t.on_reply(3, 0, 1ms), ReplyKind::fresh);  // 2 copies, both answered
  EXPECT_EQ(t.on_reply(3, 1, 1ms), ReplyKind::redundant);
  EXPECT_EQ(t.on_reply(3, 1, 1ms), ReplyKind::duplicate);  // the network's copy: not a second packet
  t.expire(t0 + 2s);
  auto s = t.summary(3s);
  EXPECT_EQ(s.transmitted, 4u);
  EXPECT_EQ(s.received, 3u);
  EXPECT_EQ(s.retransmissions, 6u);
  EXPECT_EQ(s.packets_transmitted, 10u);
  EXPECT_EQ(s.packets_received, 4u);
  EXPECT_DOUBLE_EQ(s.packet_loss_percent, 60.0);
  EXPECT_DOUBLE_EQ(s.loss_percent, 25.0);
  const std::string text = format_summary("h", s);
  EXPECT_NE(text.find("\n10 packets transmitted, 4 received, +1 duplicates, 60% packet loss, time 3000ms\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n4 requests, 3 answered, 25% failed after 6 retransmissions\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n1 answered twice after a retransmission\n"), std::string::npos) << text;
}

TEST(PingSummary, LateReplyIsNotAReceivedPacket) {
  Tracker t;
  auto t0 = Clock::now();
  t.sent(0, t0, t0 + 100ms);
  t.retransmitted(0);
  t.expire(t0 + 200ms);
  EXPECT_EQ(t.on_reply(0, 1, 150ms), ReplyKind::late);
  auto s = t.summary(1s);
  EXPECT_EQ(s.packets_transmitted, 2u);
  EXPECT_EQ(s.packets_received, 0u);
  EXPECT_DOUBLE_EQ(s.packet_loss_percent, 100.0);
  EXPECT_NE(format_summary("h", s).find("2 packets transmitted, 0 received, 100% packet loss"), std::string::npos);
}

TEST(PingSummary, WithoutRetransmissionsBothViewsAgreeAndOneLineSuffices) {
  Tracker t;
  auto t0 = Clock::now();
  for (std::uint32_t i = 0; i < 3; ++i) t.sent(i, t0, t0 + 1s);
  t.on_reply(0, 0, 1ms);
  t.expire(t0 + 2s);
  auto s = t.summary(2s);
  EXPECT_EQ(s.packets_transmitted, s.transmitted);
  EXPECT_EQ(s.packets_received, s.received);
  EXPECT_DOUBLE_EQ(s.packet_loss_percent, s.loss_percent);
  const std::string text = format_summary("h", s);
  EXPECT_NE(text.find("3 packets transmitted, 1 received, 66.67% packet loss, time 2000ms\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("requests"), std::string::npos) << text;
}

}  // namespace
}  // namespace sockit::ping
