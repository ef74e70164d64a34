#include "tcp_tracker.hpp"

#include <gtest/gtest.h>

using namespace sockit::dump;

namespace {

std::string g_payloads[64];
int g_next = 0;

TcpInfo seg(bool from_client, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags, const std::string& data = {}) {
  TcpInfo t;
  t.src = from_client ? "127.0.0.1" : "127.0.0.2";
  t.dst = from_client ? "127.0.0.2" : "127.0.0.1";
  t.sport = from_client ? 40000 : 7007;
  t.dport = from_client ? 7007 : 40000;
  t.seq = seq;
  t.ack = ack;
  t.flags = flags;
  std::string& keep = g_payloads[g_next++ % 64];
  keep = data;
  t.payload = {reinterpret_cast<const std::uint8_t*>(keep.data()), keep.size()};
  t.payload_len = static_cast<std::uint32_t>(keep.size());
  return t;
}

std::string stream(const Connection& c, int dir) {
  std::string s;
  for (const auto& ch : c.chunks)
    if (ch.dir == dir) s += ch.missing ? "[gap " + std::to_string(ch.missing) + "]" : ch.data;
  return s;
}

void handshake(TcpTracker& t) {
  t.add(seg(true, 1000, 0, kTcpSyn), 1.000);
  t.add(seg(false, 5000, 1001, kTcpSyn | kTcpAck), 1.002);
  t.add(seg(true, 1001, 5001, kTcpAck), 1.003);
}

}  // namespace

TEST(TcpTracker, HandshakeRttAndBytesEachWay) {
  TcpTracker t;
  handshake(t);
  t.add(seg(true, 1001, 5001, kTcpAck | kTcpPush, "hello"), 1.1);
  t.add(seg(false, 5001, 1006, kTcpAck | kTcpPush, "hello"), 1.2);
  t.add(seg(true, 1006, 5006, kTcpAck | kTcpFin), 1.3);
  t.add(seg(false, 5006, 1007, kTcpAck | kTcpFin), 1.4);
  t.finish();
  ASSERT_EQ(t.connections().size(), 1U);
  const Connection& c = t.connections()[0];
  EXPECT_EQ(c.name(), "127.0.0.1.40000 > 127.0.0.2.7007");
  ASSERT_TRUE(c.handshake_rtt());
  EXPECT_NEAR(*c.handshake_rtt(), 0.002, 1e-9);
  EXPECT_EQ(c.bytes[0], 5U);
  EXPECT_EQ(c.bytes[1], 5U);
  EXPECT_EQ(c.packets[0] + c.packets[1], 7U);
  EXPECT_EQ(c.state(), "closed");
}

TEST(TcpTracker, ReorderedSegmentsAreDeliveredInSequenceOrder) {
  TcpTracker t;
  handshake(t);
  t.add(seg(true, 1006, 5001, kTcpAck, "world"), 1.1);  // arrives first
  t.add(seg(true, 1011, 5001, kTcpAck, "!"), 1.2);
  t.add(seg(true, 1001, 5001, kTcpAck, "hello"), 1.3);
  t.finish();
  const Connection& c = t.connections()[0];
  EXPECT_EQ(stream(c, 0), "helloworld!");
  EXPECT_EQ(c.out_of_order, 2U);
  EXPECT_EQ(c.retransmits, 0U);
}

TEST(TcpTracker, RetransmissionsAreNotDuplicated) {
  TcpTracker t;
  handshake(t);
  t.add(seg(false, 5001, 1001, kTcpAck, "abc"), 1.1);
  t.add(seg(false, 5001, 1001, kTcpAck, "abc"), 1.2);     // full retransmission
  t.add(seg(false, 5002, 1001, kTcpAck, "bcdef"), 1.3);   // overlaps two known bytes
  t.finish();
  const Connection& c = t.connections()[0];
  EXPECT_EQ(stream(c, 1), "abcdef");
  EXPECT_EQ(c.retransmits, 1U);
  EXPECT_EQ(c.bytes[1], 6U);
}

TEST(TcpTracker, GapsThatNeverFillAreReportedAtTheEnd) {
  TcpTracker t;
  handshake(t);
  t.add(seg(true, 1001, 5001, kTcpAck, "ab"), 1.1);
  t.add(seg(true, 1010, 5001, kTcpAck, "xy"), 1.2);
  t.finish();
  const Connection& c = t.connections()[0];
  EXPECT_EQ(stream(c, 0), "ab[gap 7]xy");
  EXPECT_EQ(c.missing[0], 7U);
}

TEST(TcpTracker, ResetsAreCounted) {
  TcpTracker t;
  t.add(seg(true, 1000, 0, kTcpSyn), 1.0);
  t.add(seg(false, 0, 1001, kTcpRst | kTcpAck), 1.001);
  t.finish();
  const Connection& c = t.connections()[0];
  EXPECT_EQ(c.resets, 1U);
  EXPECT_EQ(c.state(), "reset");
  EXPECT_FALSE(c.handshake_rtt());
}

TEST(TcpTracker, MidStreamCaptureStartsAtTheFirstSegment) {
  TcpTracker t;
  t.add(seg(false, 777, 1, kTcpAck, "late"), 1.0);
  t.add(seg(true, 1, 781, kTcpAck, "reply"), 1.1);
  t.finish();
  ASSERT_EQ(t.connections().size(), 1U);
  const Connection& c = t.connections()[0];
  EXPECT_EQ(c.client, "127.0.0.2");  // the first sender is taken as the client
  EXPECT_EQ(stream(c, 0), "late");
  EXPECT_EQ(stream(c, 1), "reply");
}

TEST(TcpTracker, NewSynOnAClosedPairStartsANewConnection) {
  TcpTracker t;
  handshake(t);
  t.add(seg(true, 1001, 5001, kTcpAck | kTcpFin), 1.1);
  t.add(seg(false, 5001, 1002, kTcpAck | kTcpFin), 1.2);
  t.add(seg(true, 90000, 0, kTcpSyn), 2.0);
  t.finish();
  EXPECT_EQ(t.connections().size(), 2U);
}
