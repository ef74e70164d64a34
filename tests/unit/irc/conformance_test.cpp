// Rows of the conformance table (docs/CONFORMANCE.md) that the differential sessions of
// tests/interop/irc_diff cannot check: replies that need the server's own name or a limit the
// other servers set differently. The sans-I/O core with fake peers, as tests/unit/irc/server_test.cpp.
#include "fake_peer.hpp"

#include <sockit/irc/password.hpp>

using namespace sockit::irc;
using namespace sockit::irc::test;
using H = Harness;

// Modern IRC KILL: ERR_CANTKILLSERVER (483) "<client> :You cant kill a server!".
TEST(IrcConformance, KillOfTheServerNameIs483AndKillsNobody) {
  Config cfg = quiet();
  cfg.operators.push_back({"root", hash_password("pw", 1000).value(), "*"});
  H h(cfg);
  auto& b = h.user("bob");
  auto& a = h.user("alice");
  h.send(a, "OPER root pw");
  ASSERT_TRUE(H::has(a.take(), "381"));
  h.send(a, "KILL IRC.sockit.local :bye");  // the server's name, in another case
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 483 alice :You can't kill a server!"});
  EXPECT_TRUE(b.take().empty());
  EXPECT_FALSE(b.peer->closed);
  h.check();
}

// RFC 2812 ERR_BANLISTFULL (478) "<channel> <char> :Channel list is full"; sockit's MAXLIST=b:N
// (sockit gives the mask where the text has the mode letter: a to-fix row of the table).
TEST(IrcConformance, BanPastMaxListIs478AndTheListKeepsItsSize) {
  Config cfg = quiet();
  cfg.max_bans = 2;
  H h(cfg);
  auto [a] = h.in_channel("#a", "alice");
  h.send(a, "MODE #a +bb one!*@* two!*@*");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a +bb one!*@* :two!*@*"});
  h.send(a, "MODE #a +b three!*@*");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind(":irc.sockit.local 478 alice #a ", 0), 0u) << lines[0];
  h.send(a, "MODE #a b");
  EXPECT_EQ(H::only(a.take(), "367").size(), 2u);
  h.check();
}

// Modern IRC RPL_NAMREPLY (353): <symbol> is "@" for a secret channel, "=" for a public one.
TEST(IrcConformance, NamesOfASecretChannelCarryTheAtSymbol) {
  H h;
  auto [a] = h.in_channel("#a", "alice");
  h.send(a, "MODE #a +s");
  a.take();
  h.send(a, "NAMES #a");
  auto lines = H::only(a.take(), "353");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 353 alice @ #a :@alice");
  h.check();
}

// Modern IRC TOPICLEN, KICKLEN, AWAYLEN: texts longer than the advertised length are cut to it.
TEST(IrcConformance, TopicKickAndAwayTextsAreCutToTheirIsupportLengths) {
  Config cfg = quiet();
  cfg.topic_len = 5;
  cfg.kick_len = 4;
  cfg.away_len = 3;
  H h(cfg);
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "TOPIC #a :abcdefgh");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 TOPIC #a :abcde"});
  h.send(b, "AWAY :abcdefgh");
  b.take();
  h.send(a, "PRIVMSG bob :hi");
  EXPECT_EQ(H::only(a.take(), "301"), std::vector<std::string>{":irc.sockit.local 301 alice bob :abc"});
  b.take();
  h.send(a, "KICK #a bob :abcdefgh");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 KICK #a bob :abcd"});
  h.check();
}

// Modern IRC LUSERS: 251 and 255, 252 and 254, 253 for unregistered connections, 265 and 266.
TEST(IrcConformance, LusersRepliesInOrderAndCountsUnregisteredConnections) {
  H h;
  auto& a = h.user("alice");
  auto kinds = [](const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (auto& l : lines) out.push_back(command_of(l));
    return out;
  };
  h.send(a, "LUSERS");
  EXPECT_EQ(kinds(a.take()), (std::vector<std::string>{"251", "252", "254", "255", "265", "266"}));
  h.connect();  // not registered
  h.send(a, "LUSERS");
  auto lines = a.take();
  EXPECT_EQ(kinds(lines), (std::vector<std::string>{"251", "252", "253", "254", "255", "265", "266"}));
  EXPECT_EQ(H::only(lines, "253").at(0), ":irc.sockit.local 253 alice 1 :unknown connection(s)");
}
