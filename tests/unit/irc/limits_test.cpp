// Limits of irc::Server with an injected clock: line lengths, RecvQ, registration and ping
// timeouts, fakelag flood control, SendQ, per-IP caps, max clients, UTF-8, shutdown.
#include "fake_peer.hpp"

using namespace sockit::irc;
using namespace sockit::irc::test;
using namespace std::chrono_literals;
using H = Harness;

TEST(IrcLimits, Line510IsAcceptedAnd511Gets417AndClientStays) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  std::string ok = "PRIVMSG #a :" + std::string(510 - 12, 'x');
  h.send(a, ok);
  EXPECT_EQ(b.take().size(), 1u);
  h.send(a, ok + "y");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 417 alice :Input line was too long"});
  EXPECT_TRUE(b.take().empty());
  h.send(a, "PRIVMSG #a :still here");
  EXPECT_EQ(b.take().size(), 1u);
}

TEST(IrcLimits, RelayedLinesAreCutTo512) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.send(a, "PRIVMSG bob :" + std::string(497, 'x'));
  auto lines = b.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), 510u);
}

TEST(IrcLimits, ByteByByteDelivery) {
  H h;
  auto& c = h.connect();
  for (char ch : std::string("NICK alice\r\nUSER a 0 * :A\r\n")) h.raw(c, std::string(1, ch));
  EXPECT_TRUE(H::has(c.take(), "001"));
}

TEST(IrcLimits, BareLfAndBareCrEndLines) {
  H h;
  auto& c = h.connect();
  h.raw(c, "NICK alice\nUSER a 0 * :A\r\r\n\nPING :x\r");
  auto lines = c.take();
  EXPECT_TRUE(H::has(lines, "001"));
  EXPECT_TRUE(H::has(lines, "PONG"));
}

TEST(IrcLimits, NulLineIsDropped) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  const char kBytes[] = "PRIVMSG bob :a\0b\r\nPRIVMSG bob :ok\r\n";
  h.raw(a, std::string(kBytes, sizeof kBytes - 1));
  auto lines = b.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], ":alice!~alice@127.0.0.1 PRIVMSG bob :ok");
}

TEST(IrcLimits, NoInjectionThroughParameters) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.send(a, "PRIVMSG bob :hi :fake!x@y PRIVMSG bob :z");
  auto lines = b.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(parse(lines[0]).message->prefix, "alice!~alice@127.0.0.1");
  h.send(a, ":evil!x@y PRIVMSG bob :forged");  // a client prefix is ignored
  lines = b.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(parse(lines[0]).message->prefix, "alice!~alice@127.0.0.1");
}

TEST(IrcLimits, RecvQExceededWithoutNewline) {
  H h;
  auto& a = h.user("alice");
  h.raw(a, std::string(64 * 1024, 'x'));
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "ERROR :Closing Link: 127.0.0.1 (RecvQ exceeded)");
  EXPECT_TRUE(a.peer->closed);
  EXPECT_EQ(h.server->stats().connections, 0u);
}

TEST(IrcLimits, LongLineWithNewlineIn64KChunkGets417) {
  H h;
  auto& a = h.user("alice");
  h.raw(a, "PRIVMSG bob :" + std::string(64 * 1024, 'x') + "\r\nPING :ok\r\n");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(command_of(lines[0]), "417");
  EXPECT_EQ(command_of(lines[1]), "PONG");
  EXPECT_FALSE(a.peer->closed);
}

TEST(IrcLimits, RegistrationTimeout) {
  Config cfg = quiet();
  cfg.registration_timeout = 2s;
  H h(cfg);
  auto& c = h.connect();
  h.send(c, "NICK slow");
  h.advance(1999ms);
  EXPECT_FALSE(c.peer->closed);
  h.advance(1ms);
  EXPECT_EQ(c.take(), std::vector<std::string>{"ERROR :Closing Link: 127.0.0.1 (Registration timed out)"});
  EXPECT_TRUE(c.peer->closed);
  h.check();
}

TEST(IrcLimits, PingOnIdleThenTimeout) {
  Config cfg = quiet();
  cfg.ping_interval = 90s;
  cfg.ping_timeout = 60s;
  H h(cfg);
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.advance(89s);
  EXPECT_TRUE(b.take().empty());
  h.advance(1s);
  EXPECT_EQ(b.take(), std::vector<std::string>{"PING :irc.sockit.local"});
  h.send(a, "PONG :irc.sockit.local");
  h.advance(59s);
  EXPECT_FALSE(b.peer->closed);
  h.advance(1s);
  EXPECT_EQ(b.take(), std::vector<std::string>{"ERROR :Closing Link: 127.0.0.1 (Ping timeout: 150 seconds)"});
  EXPECT_TRUE(b.peer->closed);
  EXPECT_EQ(H::only(a.take(), "QUIT"),
            std::vector<std::string>{":bob!~bob@127.0.0.1 QUIT :Ping timeout: 150 seconds"});
  EXPECT_FALSE(a.peer->closed);
}

TEST(IrcLimits, FakelagBurstThenSteadyRate) {
  H h(Config{});  // burst 5, 2 lines/s, 20 queued
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  for (int i = 0; i < 15; ++i) h.send(a, "PRIVMSG bob :" + std::to_string(i));
  EXPECT_EQ(b.take().size(), 5u);
  h.advance(499ms);
  EXPECT_TRUE(b.take().empty());
  h.advance(2ms);
  EXPECT_EQ(b.take().size(), 1u);
  h.advance(2000ms);
  auto lines = b.take();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines.back(), ":alice!~alice@127.0.0.1 PRIVMSG bob :9");  // in order
  h.advance(10s);
  EXPECT_EQ(b.take().size(), 5u);
  EXPECT_FALSE(a.peer->closed);
}

TEST(IrcLimits, ExcessFloodWhenQueueOverflows) {
  H h(Config{});
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  std::string burst;
  for (int i = 0; i < 30; ++i) burst += "PRIVMSG bob :" + std::to_string(i) + "\r\n";
  h.raw(a, burst);
  EXPECT_EQ(a.take().back(), "ERROR :Closing Link: 127.0.0.1 (Excess Flood)");
  EXPECT_TRUE(a.peer->closed);
  EXPECT_EQ(h.server->stats().excess_flood, 1u);
  (void)b;
}

TEST(IrcLimits, SendQExceededDropsOnlyTheSlowReader) {
  Config cfg = quiet();
  cfg.sendq = 4096;
  cfg.flood_rate = 0;  // flood control off
  H h(cfg);
  auto [a, slow, ok] = h.in_channel("#f", "alice", "slow", "ok");
  slow.peer->stalled = true;
  for (int i = 0; i < 100; ++i) h.send(a, "PRIVMSG #f :" + std::string(100, 'x'));
  EXPECT_TRUE(slow.peer->closed_now);
  EXPECT_EQ(slow.peer->close_reason, "SendQ exceeded");
  auto lines = ok.take();
  EXPECT_EQ(H::only(lines, "PRIVMSG").size(), 100u);
  EXPECT_EQ(H::only(lines, "QUIT"), std::vector<std::string>{":slow!~slow@127.0.0.1 QUIT :SendQ exceeded"});
  EXPECT_EQ(h.server->stats().sendq_exceeded, 1u);
  h.check();
}

TEST(IrcLimits, PerIpCapWithLoopbackExempt) {
  Config cfg = quiet();
  cfg.max_per_ip = 2;
  H h(cfg);
  h.connect("10.0.0.1");
  h.connect("10.0.0.1");
  auto& third = h.connect("10.0.0.1");
  EXPECT_FALSE(third.id.has_value());
  EXPECT_EQ(third.take(), std::vector<std::string>{"ERROR :Too many connections from your IP"});
  EXPECT_TRUE(third.peer->closed);
  EXPECT_TRUE(h.connect("10.0.0.2").id.has_value());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(h.connect("127.0.0.1").id.has_value());
}

TEST(IrcLimits, PerIpCapOnLoopbackWhenNotExempt) {
  Config cfg = quiet();
  cfg.max_per_ip = 1;
  cfg.exempt_loopback = false;
  H h(cfg);
  auto& first = h.connect("127.0.0.2");
  EXPECT_FALSE(h.connect("127.0.0.2").id.has_value());
  EXPECT_TRUE(h.connect("127.0.0.3").id.has_value());
  h.send(first, "QUIT");
  EXPECT_TRUE(h.connect("127.0.0.2").id.has_value());  // the slot was released
}

TEST(IrcLimits, MaxClients) {
  Config cfg = quiet();
  cfg.max_clients = 2;
  H h(cfg);
  h.connect();
  h.connect();
  auto& c = h.connect();
  EXPECT_FALSE(c.id.has_value());
  EXPECT_EQ(c.take(), std::vector<std::string>{"ERROR :Server full"});
}

TEST(IrcLimits, InvalidUtf8IsRejectedNotRelayed) {
  H h;
  auto [a, b] = h.in_channel("#t", "alice", "bob");
  h.send(a, "PRIVMSG #t :hi\xAA");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local FAIL PRIVMSG INVALID_UTF8 :Message rejected: not UTF-8"});
  EXPECT_TRUE(b.take().empty());
  h.send(a, "NICK \xC0\xAF");
  EXPECT_TRUE(H::has(a.take(), "432"));
  h.send(a, "PRIVMSG #t :caf\xC3\xA9");
  EXPECT_EQ(b.take().size(), 1u);
}

TEST(IrcLimits, InvalidUtf8RelayedWhenNotEnforced) {
  Config cfg = quiet();
  cfg.enforce_utf8 = false;
  H h(cfg);
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.send(a, "PRIVMSG bob :hi\xAA");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG bob :hi\xAA"});
}

TEST(IrcLimits, ShutdownSendsErrorToEveryone) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.connect();
  h.server->shutdown("Server shutting down");
  EXPECT_EQ(a.take(), std::vector<std::string>{"ERROR :Closing Link: 127.0.0.1 (Server shutting down)"});
  EXPECT_EQ(b.take(), std::vector<std::string>{"ERROR :Closing Link: 127.0.0.1 (Server shutting down)"});
  EXPECT_TRUE(a.peer->closed && b.peer->closed);
  EXPECT_FALSE(a.peer->closed_now);
  EXPECT_FALSE(h.connect().id.has_value());
}

TEST(IrcLimits, ReloadChangesLimits) {
  H h;
  auto& a = h.user("alice");
  Config cfg = h.cfg;
  cfg.motd = {"new motd"};
  cfg.nick_len = 5;
  h.server->reload(cfg);
  h.send(a, "MOTD");
  EXPECT_TRUE(H::has(a.take(), "372"));
  h.send(a, "NICK toolong");
  EXPECT_TRUE(H::has(a.take(), "432"));
}
