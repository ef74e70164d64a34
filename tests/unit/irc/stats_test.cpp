// The counters irc::Server keeps for the metrics page (docs/OPERATIONS.md, "Metrics"):
// registrations, deliveries (direct and held channel lines), flood-delayed lines, timeouts.
#include "fake_peer.hpp"

using namespace sockit::irc;
using namespace sockit::irc::test;
using namespace std::chrono_literals;
using H = Harness;

TEST(IrcStats, RegistrationsAndDeliveries) {
  H h;
  auto [a, b] = h.in_channel("#s", "alice", "bob");
  auto& c = h.user("carol");
  h.send(c, "JOIN #s");
  a.take(), b.take(), c.take();
  EXPECT_EQ(h.server->stats().registrations, 3u);
  auto before = h.server->stats().deliveries;
  h.send(a, "PRIVMSG #s :to two");  // bob and carol
  h.send(a, "PRIVMSG bob :to one");
  EXPECT_EQ(h.server->stats().deliveries - before, 3u);
  EXPECT_EQ(b.take().size(), 2u);
  EXPECT_EQ(c.take().size(), 1u);
}

TEST(IrcStats, HeldChannelLinesCountOncePerReceiverAndLine) {
  H h;
  auto [a, b] = h.in_channel("#s", "alice", "bob");
  auto& c = h.user("carol");
  h.send(c, "JOIN #s");
  a.take(), b.take(), c.take();
  h.server->set_hold_broadcasts(true);
  auto before = h.server->stats().deliveries;
  h.send(a, "PRIVMSG #s :1");
  h.send(a, "PRIVMSG #s :2");
  h.send(b, "PRIVMSG #s :3");
  h.server->flush_broadcasts();
  // alice's 2 lines reach bob and carol (4), bob's line reaches alice and carol (2).
  EXPECT_EQ(h.server->stats().deliveries - before, 6u);
  EXPECT_EQ(a.take().size(), 1u);
  EXPECT_EQ(b.take().size(), 2u);
  EXPECT_EQ(c.take().size(), 3u);
}

TEST(IrcStats, FloodDelayedLines) {
  H h(Config{});  // burst 5, 2 lines/s
  auto& a = h.user("alice");
  h.user("bob");
  for (int i = 0; i < 8; ++i) h.send(a, "PRIVMSG bob :" + std::to_string(i));
  EXPECT_EQ(h.server->stats().flood_delayed, 3u);
}

TEST(IrcStats, TimeoutsByKind) {
  Config cfg = quiet();
  cfg.registration_timeout = 2s;
  cfg.ping_interval = 90s;
  cfg.ping_timeout = 60s;
  H h(cfg);
  h.user("alice");
  h.connect();
  h.advance(2s);
  EXPECT_EQ(h.server->stats().registration_timeouts, 1u);
  EXPECT_EQ(h.server->stats().ping_timeouts, 0u);
  h.advance(150s);
  EXPECT_EQ(h.server->stats().ping_timeouts, 1u);
  h.check();
}
