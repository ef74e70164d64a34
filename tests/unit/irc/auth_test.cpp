// Password checks (issue #24 item 1): one reply for an unknown operator and a wrong password, a
// failure's reply delayed more after each failure of the connection or its address, and the
// client's later lines held until the verdict. Fake clock, no sockets (the checks run inline:
// FakePeer has no waker).
#include "fake_peer.hpp"

#include "sockit/irc/password.hpp"

#include <gtest/gtest.h>

using namespace sockit::irc;
using namespace sockit::irc::test;
using namespace std::chrono_literals;
using H = Harness;

namespace {
Config with_operator() {
  Config cfg = quiet();
  cfg.operators.push_back({"root", hash_password("pw", 1000).value(), "*"});
  cfg.operators.push_back({"admin", hash_password("other", 1000).value(), "nobody!*@10.0.0.1"});
  return cfg;
}
}  // namespace

TEST(IrcAuth, UnknownOperatorWrongHostAndWrongPasswordGetTheSameReply) {
  H h(with_operator());
  auto& a = h.user("alice", "127.0.0.1");
  auto& b = h.user("bob", "127.0.0.2");
  auto& c = h.user("carol", "127.0.0.3");
  h.send(a, "OPER nobody pw");    // no such name
  h.send(b, "OPER root wrong");   // wrong password
  h.send(c, "OPER admin other");  // right password, host not allowed
  h.advance(h.cfg.auth_fail_delay);
  std::vector<std::string> replies;
  for (auto* cli : {&a, &b, &c}) {
    auto lines = cli->take();
    ASSERT_EQ(lines.size(), 1u);
    replies.push_back(lines[0].substr(lines[0].find(' ', lines[0].find(' ') + 1)));  // after the nick
  }
  EXPECT_EQ(replies[0], " alice :Invalid oper credentials");
  EXPECT_EQ(replies[1], " bob :Invalid oper credentials");
  EXPECT_EQ(replies[2], " carol :Invalid oper credentials");
  h.check();
}

TEST(IrcAuth, FailureRepliesWaitLongerAfterEachFailureOfTheConnectionAndTheAddress) {
  H h(with_operator());
  auto& a = h.user("alice", "10.1.1.1");
  auto& other = h.user("other", "10.2.2.2");
  auto reply_after = [&](H::Cli& c, std::string_view line) {
    h.send(c, line);
    std::chrono::milliseconds waited{0};
    while (c.peer->out.empty() && waited < 60s) {
      h.advance(100ms);
      waited += 100ms;
    }
    c.take();
    return waited;
  };
  EXPECT_EQ(reply_after(a, "OPER root x"), 1000ms);
  EXPECT_EQ(reply_after(a, "OPER root y"), 2000ms);
  EXPECT_EQ(reply_after(a, "OPER root z"), 4000ms);
  // A new connection from the same address starts where the address is (its 4th failure) ...
  auto& again = h.user("again", "10.1.1.1");
  EXPECT_EQ(reply_after(again, "OPER root x"), 8000ms);
  // ... another address does not, and a success is never delayed.
  EXPECT_EQ(reply_after(other, "OPER root x"), 1000ms);
  h.send(a, "OPER root pw");
  EXPECT_TRUE(H::has(a.take(), "381"));
  // The delay is capped.
  for (int i = 0; i < 6; ++i) reply_after(again, "OPER root bad");
  EXPECT_EQ(reply_after(again, "OPER root bad"), std::chrono::duration_cast<std::chrono::milliseconds>(h.cfg.auth_fail_delay_max));
  h.check();
}

TEST(IrcAuth, LinesAfterACheckWaitForItsVerdictAndKeepTheirOrder) {
  H h(with_operator());
  auto& a = h.user("alice");
  h.raw(a, "OPER root wrong\r\nPING :after\r\nOPER root pw\r\nPING :last\r\n");
  EXPECT_TRUE(a.take().empty());
  h.advance(1s);
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(command_of(lines[0]), "491");
  EXPECT_EQ(lines[1], ":irc.sockit.local PONG irc.sockit.local :after");
  EXPECT_EQ(command_of(lines[2]), "381");
  EXPECT_EQ(command_of(lines[3]), "MODE");
  EXPECT_EQ(lines[4], ":irc.sockit.local PONG irc.sockit.local :last");
}

TEST(IrcAuth, WrongServerPasswordIsAnsweredAfterTheDelayAndNothingAfterItRuns) {
  Config cfg = quiet();
  cfg.password_hash = hash_password("letmein", 1000).value();
  H h(cfg);
  auto& bad = h.connect("10.3.3.3");
  h.raw(bad, "PASS nope\r\nNICK bad\r\nUSER bad 0 * :x\r\nJOIN #x\r\n");
  EXPECT_TRUE(bad.take().empty());
  EXPECT_FALSE(bad.peer->closed);
  h.advance(1s);
  auto lines = bad.take();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(command_of(lines[0]), "464");
  EXPECT_EQ(lines[1], "ERROR :Closing Link: 10.3.3.3 (Bad password)");
  EXPECT_TRUE(bad.peer->closed);
  // The address's next try waits twice as long; the right password from it is not delayed.
  auto& next = h.connect("10.3.3.3");
  h.raw(next, "PASS nope\r\nNICK bad2\r\nUSER bad 0 * :x\r\n");
  h.advance(1999ms);
  EXPECT_TRUE(next.take().empty());
  h.advance(1ms);
  EXPECT_TRUE(H::has(next.take(), "464"));
  auto& good = h.connect("10.3.3.3");
  h.raw(good, "PASS letmein\r\nNICK good\r\nUSER good 0 * :x\r\n");
  EXPECT_TRUE(H::has(good.take(), "001"));
  h.check();
}
