// WHOX (354 RPL_WHOSPCRPL) and the WHO flags, MONITOR (730-734) and bot mode (+B, 335), against
// the sans-I/O core with fake peers (issue #17 item 3). Reply formats as Solanum/InspIRCd/Ergo and
// the IRCv3 Monitor and WHOX specifications.
#include "fake_peer.hpp"

#include <sockit/irc/password.hpp>

#include <algorithm>

using namespace sockit::irc;
using namespace sockit::irc::test;
using H = Harness;

namespace {

bool contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

}  // namespace

// ---- WHO flags and WHOX ---------------------------------------------------------------------

TEST(IrcWho, FlagsShowAwayOperPrefixesAndBot) {
  Config cfg = quiet();
  cfg.operators.push_back({"root", hash_password("pw", 1000).value(), "*"});
  H h(cfg);
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(b, "OPER root pw");
  h.send(b, "AWAY :lunch");
  h.send(b, "MODE bob +B");
  h.send(a, "MODE #a +v bob");
  H::drain({&a, &b});
  h.send(a, "WHO #a");
  auto lines = a.take();
  EXPECT_TRUE(contains(lines, ":irc.sockit.local 352 alice #a ~alice 127.0.0.1 irc.sockit.local alice H@ :0 Real alice"));
  EXPECT_TRUE(contains(lines, ":irc.sockit.local 352 alice #a ~bob 127.0.0.1 irc.sockit.local bob G*+B :0 Real bob"));
  EXPECT_EQ(lines.back(), ":irc.sockit.local 315 alice #a :End of WHO list");
  h.check();
}

TEST(IrcWho, MultiPrefixShowsEveryPrefixInTheFlags) {
  H h;
  auto& a = h.connect();
  h.send(a, "CAP REQ :multi-prefix");
  h.register_as(a, "alice", "Real alice");
  h.send(a, "CAP END");
  h.send(a, "JOIN #a");
  h.send(a, "MODE #a +v alice");
  a.take();
  h.send(a, "WHO #a");
  EXPECT_TRUE(contains(a.take(), ":irc.sockit.local 352 alice #a ~alice 127.0.0.1 irc.sockit.local alice H@+ :0 Real alice"));
  h.check();
}

TEST(IrcWho, WhoxSendsTheFieldsInTheFixedOrderWithTheToken) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  // Asked in a scrambled order with an unknown letter (x): the reply keeps t c u i h s n f d l a o r.
  h.send(a, "WHO #a %rxnofadlshiuct,42");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 354 alice 42 #a ~alice 127.0.0.1 127.0.0.1 irc.sockit.local alice H@ 0 0 0 999 "
                      ":Real alice");
  EXPECT_EQ(lines[1], ":irc.sockit.local 354 alice 42 #a ~bob 127.0.0.1 127.0.0.1 irc.sockit.local bob H 0 0 0 n/a "
                      ":Real bob");
  EXPECT_EQ(lines[2], ":irc.sockit.local 315 alice #a :End of WHO list");
  h.check();
}

TEST(IrcWho, WhoxTokenDefaultsToZeroAndIdleCounts) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.advance(std::chrono::seconds(7));
  h.send(a, "WHO bob %tnl");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":irc.sockit.local 354 alice 0 bob 7",
                                                ":irc.sockit.local 315 alice bob :End of WHO list"}));
  h.send(a, "WHO bob %tn,toolong");  // a token of more than 3 characters: "0", as ircu and Solanum
  EXPECT_EQ(a.take()[0], ":irc.sockit.local 354 alice 0 bob");
  h.send(a, "WHO bob %n");  // no t: no token
  EXPECT_EQ(a.take()[0], ":irc.sockit.local 354 alice bob");
  (void)b;
  h.check();
}

TEST(IrcWho, PercentAloneOrOnlyUnknownLettersIsTheClassicReply) {
  H h;
  auto& a = h.user("alice");
  h.user("bob");
  for (const char* q : {"WHO bob %", "WHO bob %xyz", "WHO bob %,12"}) {
    h.send(a, q);
    auto lines = a.take();
    ASSERT_EQ(lines.size(), 2u) << q;
    EXPECT_EQ(lines[0], ":irc.sockit.local 352 alice * ~bob 127.0.0.1 irc.sockit.local bob H :0 Real bob") << q;
  }
  h.check();
}

TEST(IrcWho, OperFlagFiltersButAFieldLetterOIsNotTheFilter) {
  Config cfg = quiet();
  cfg.operators.push_back({"root", hash_password("pw", 1000).value(), "*"});
  H h(cfg);
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.send(b, "OPER root pw");
  b.take();
  h.send(a, "WHO * o");
  auto lines = H::only(a.take(), "352");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(" bob H* "), std::string::npos) << lines[0];
  h.send(a, "WHO * %no");  // `o` after '%' is the op-level field, not the operators-only filter
  EXPECT_EQ(H::only(a.take(), "354").size(), 2u);
  h.send(a, "WHO 0 o%n");  // the filter before '%', fields after
  EXPECT_EQ(H::only(a.take(), "354"), std::vector<std::string>{":irc.sockit.local 354 alice bob"});
  h.check();
}

// ---- bot mode -------------------------------------------------------------------------------

TEST(IrcBot, PlusBIsSetByTheClientAndShownInWhoisAndModeAndIsupport) {
  H h;
  auto& a = h.connect();
  h.register_as(a, "alice", "Real alice");
  auto burst = a.take();
  bool bot_token = false, monitor_token = false, whox_token = false;
  for (auto& l : H::only(burst, "005")) {
    bot_token |= l.find(" BOT=B ") != std::string::npos;
    monitor_token |= l.find(" MONITOR=100 ") != std::string::npos;
    whox_token |= l.find(" WHOX ") != std::string::npos;
  }
  EXPECT_TRUE(bot_token);
  EXPECT_TRUE(monitor_token);
  EXPECT_TRUE(whox_token);
  auto& b = h.user("bob");
  h.send(b, "MODE bob +B");
  EXPECT_EQ(b.take(), std::vector<std::string>{":bob MODE bob :+B"});
  h.send(b, "MODE bob");
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local 221 bob +B"});
  h.send(a, "WHOIS bob");
  auto lines = a.take();
  EXPECT_TRUE(contains(lines, ":irc.sockit.local 335 alice bob :is a bot on sockit"));
  h.send(a, "MODE bob +B");  // not on another user
  EXPECT_TRUE(H::has(a.take(), "502"));
  h.send(b, "MODE bob -B");
  EXPECT_EQ(b.take(), std::vector<std::string>{":bob MODE bob :-B"});
  h.send(a, "WHOIS bob");
  EXPECT_FALSE(H::has(a.take(), "335"));
  h.check();
}

// ---- MONITOR --------------------------------------------------------------------------------

TEST(IrcMonitor, AddReportsOnlineAndOfflineAndListShowsTheSpellingGiven) {
  H h;
  auto& a = h.user("alice");
  h.user("bob");
  h.send(a, "MONITOR + Bob,carol");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":irc.sockit.local 730 alice :bob!~bob@127.0.0.1",
                                                ":irc.sockit.local 731 alice :carol"}));
  h.send(a, "MONITOR L");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":irc.sockit.local 732 alice :Bob,carol",
                                                ":irc.sockit.local 733 alice :End of MONITOR list"}));
  h.send(a, "MONITOR S");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":irc.sockit.local 730 alice :bob!~bob@127.0.0.1",
                                                ":irc.sockit.local 731 alice :carol"}));
  h.send(a, "MONITOR - BOB");  // casemapped
  h.send(a, "MONITOR L");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":irc.sockit.local 732 alice :carol",
                                                ":irc.sockit.local 733 alice :End of MONITOR list"}));
  h.send(a, "MONITOR C");
  h.send(a, "MONITOR L");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 733 alice :End of MONITOR list"});
  h.send(a, "MONITOR +");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 461 alice MONITOR :Not enough parameters"});
  h.check();
}

TEST(IrcMonitor, RegistrationNickChangeAndQuitNotifyTheWatchers) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "MONITOR + carol,dave");
  a.take();
  auto& c = h.connect();
  h.register_as(c, "Carol", "Real carol");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 730 alice :Carol!~Carol@127.0.0.1"});
  h.send(c, "NICK CAROL");  // a change of case only: still online, nothing to say
  EXPECT_TRUE(a.take().empty());
  h.send(c, "NICK dave");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":irc.sockit.local 731 alice :CAROL",
                                                ":irc.sockit.local 730 alice :dave!~Carol@127.0.0.1"}));
  h.send(c, "QUIT :bye");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 731 alice :dave"});
  h.check();
}

TEST(IrcMonitor, ListFullIs734WithTheTargetsNotAdded) {
  Config cfg = quiet();
  cfg.monitor_limit = 2;
  H h(cfg);
  auto& a = h.user("alice");
  h.send(a, "MONITOR + n1,n2,n3,n4");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":irc.sockit.local 731 alice :n1,n2",
                                                ":irc.sockit.local 734 alice 2 n3,n4 :Monitor list is full."}));
  h.send(a, "MONITOR + N1");  // already there: no entry used, its status again
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 731 alice :N1"});
  h.check();
}

TEST(IrcMonitor, AWatcherThatQuitsLeavesNothingInTheIndex) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.send(a, "MONITOR + bob,carol");
  h.send(b, "MONITOR + alice");
  H::drain({&a, &b});
  h.check();
  h.send(a, "QUIT");
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local 731 bob :alice"});
  h.check();  // check_invariants: no watcher entry left for bob or carol
  auto& c = h.user("carol");  // nobody watches carol any more
  (void)c;
  EXPECT_TRUE(b.take().empty());
  h.send(b, "NICK bobby");
  h.check();
}

TEST(IrcMonitor, InvalidNicksAreSkippedAndLongListsAreSplit) {
  H h;
  auto& a = h.user("alice");
  std::string targets = "#chan,1bad";
  for (int i = 10; i < 50; ++i) targets += ",n" + std::to_string(i) + "abcdefg";
  h.send(a, "MONITOR + " + targets);
  auto lines = a.take();
  std::size_t names = 0;
  for (auto& l : lines) {
    EXPECT_EQ(command_of(l), "731");
    EXPECT_LE(l.size(), 510u);
    EXPECT_EQ(l.find("#chan"), std::string::npos);
    EXPECT_EQ(l.find("1bad"), std::string::npos);
    names += static_cast<std::size_t>(std::count(l.begin(), l.end(), ',')) + 1;
  }
  EXPECT_GT(lines.size(), 1u);
  EXPECT_EQ(names, 40u);
  h.check();
}
