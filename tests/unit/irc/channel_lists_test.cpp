// Ban exceptions +e (EXCEPTS=e), invite exceptions +I (INVEX=I), the list limit MAXLIST=beI:N with
// 478 ERR_BANLISTFULL "<channel> <char>", and the no-CTCP channel mode +C (issue #17 item 3). The
// sans-I/O core with fake peers, as tests/unit/irc/server_test.cpp.
#include "fake_peer.hpp"

using namespace sockit::irc;
using namespace sockit::irc::test;
using H = Harness;

namespace {

/// The 005 tokens of a new client's welcome burst, each between spaces.
std::string isupport_of(H& h) {
  H::Cli& c = h.connect();
  h.register_as(c, "alice", "Alice");
  std::string all = " ";
  for (const auto& l : H::only(c.take(), "005")) all += l + " ";
  return all;
}

}  // namespace

// Modern IRC EXCEPTS / INVEX: RPL_EXCEPTLIST (348) "<client> <channel> <mask>", RPL_ENDOFEXCEPTLIST
// (349), RPL_INVITELIST (346), RPL_ENDOFINVITELIST (347); masks completed as bans are.
TEST(IrcChannelLists, ExceptAndInviteListsWithTheirReplies) {
  H h;
  auto [a] = h.in_channel("#a", "alice");
  h.send(a, "MODE #a +eI friend *@10.0.0.1");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a +eI friend!*@* :*!*@10.0.0.1"});
  h.send(a, "MODE #a e");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":irc.sockit.local 348 alice #a friend!*@* alice 1800000000",
                                                 ":irc.sockit.local 349 alice #a :End of channel exception list"}));
  h.send(a, "MODE #a I");
  EXPECT_EQ(a.take(),
            (std::vector<std::string>{":irc.sockit.local 346 alice #a *!*@10.0.0.1 alice 1800000000",
                                      ":irc.sockit.local 347 alice #a :End of channel invite exception list"}));
  h.send(a, "MODE #a +e FRIEND");  // already there (case folded): nothing to echo
  EXPECT_TRUE(a.take().empty());
  h.send(a, "MODE #a -e+b friend!*@* friend");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a -e+b friend!*@* :friend!*@*"});
  h.send(a, "MODE #a e");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 349 alice #a :End of channel exception list"});
  h.check();
}

// Only channel operators change the lists (482), as for bans.
TEST(IrcChannelLists, OnlyOperatorsChangeTheLists) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(b, "MODE #a +e bob");
  EXPECT_TRUE(H::has(b.take(), "482"));
  h.send(b, "MODE #a +I bob");
  EXPECT_TRUE(H::has(b.take(), "482"));
  EXPECT_TRUE(a.take().empty());
  h.check();
}

// A ban that matches is overridden by a matching ban exception at JOIN; the others stay banned.
TEST(IrcChannelLists, BanExceptionLetsAMatchingUserJoin) {
  H h;
  auto [a] = h.in_channel("#a", "alice");
  h.send(a, "MODE #a +be *!*@* bob");
  a.take();
  auto& b = h.user("bob");
  auto& c = h.user("carol");
  h.send(b, "JOIN #a");
  EXPECT_TRUE(H::has(b.take(), "JOIN"));
  h.send(c, "JOIN #a");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 474 carol #a :Cannot join channel (+b)"});
  h.check();
}

// +i is passed by a matching invite exception as by an INVITE; the others get 473.
TEST(IrcChannelLists, InviteExceptionPassesInviteOnly) {
  H h;
  auto [a] = h.in_channel("#a", "alice");
  h.send(a, "MODE #a +iI *!*@10.0.0.*");
  a.take();
  auto& b = h.user("bob", "10.0.0.7");
  auto& c = h.user("carol");
  h.send(b, "JOIN #a");
  EXPECT_TRUE(H::has(b.take(), "JOIN"));
  h.send(c, "JOIN #a");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 473 carol #a :Cannot join channel (+i)"});
  h.check();
}

// A banned member cannot speak (404) unless voiced, opped or excepted (+e), as InspIRCd and Solanum.
TEST(IrcChannelLists, BannedMemberSpeaksOnlyWhenExcepted) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "MODE #a +b bob");
  b.take();
  h.send(b, "PRIVMSG #a :hello");
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local 404 bob #a :Cannot send to channel"});
  a.take();
  h.send(a, "MODE #a +e *!~bob@*");
  b.take();
  a.take();
  h.send(b, "PRIVMSG #a :excepted");
  EXPECT_TRUE(b.take().empty());
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 PRIVMSG #a :excepted"});
  h.check();
}

// MAXLIST=beI:N bounds the three lists together; past it 478 names the mode letter (RFC 2812
// "<channel> <char> :Channel list is full").
TEST(IrcChannelLists, ListFullIs478WithTheLetterAcrossTheThreeLists) {
  Config cfg = quiet();
  cfg.max_bans = 2;
  H h(cfg);
  auto [a] = h.in_channel("#a", "alice");
  h.send(a, "MODE #a +be one two");
  a.take();
  h.send(a, "MODE #a +I three");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 478 alice #a I :Channel list is full"});
  h.send(a, "MODE #a +e three");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 478 alice #a e :Channel list is full"});
  h.send(a, "MODE #a -b+I one three");  // room again
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a -b+I one!*@* :three!*@*"});
  h.check();
}

// ISUPPORT and 004 advertise exactly what MODE accepts.
TEST(IrcChannelLists, IsupportNamesTheListsAndTheLimit) {
  Config cfg = quiet();
  cfg.max_bans = 7;
  H h(cfg);
  std::string tokens = isupport_of(h);
  for (auto tok : {" CHANMODES=beI,k,l,Cimnst ", " EXCEPTS=e ", " INVEX=I ", " MAXLIST=beI:7 "}) {
    EXPECT_NE(tokens.find(tok), std::string::npos) << tok << " in " << tokens;
  }
  h.check();
}

// +C (InspIRCd's noctcp): a CTCP other than ACTION to the channel is refused with 404 and a reason;
// ACTION and plain text pass; a NOTICE CTCP is dropped without a reply; 324 shows the mode.
TEST(IrcChannelLists, NoCtcpModeRefusesCtcpButNotAction) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "MODE #a +C");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a :+C"});
  b.take();
  h.send(b, "PRIVMSG #a :\x01VERSION\x01");
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local 404 bob #a :Cannot send CTCP to channel (+C)"});
  h.send(b, "NOTICE #a :\x01PING 1\x01");
  EXPECT_TRUE(b.take().empty());
  EXPECT_TRUE(a.take().empty());
  h.send(b, "PRIVMSG #a :\x01" "ACTION waves\x01");
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 PRIVMSG #a :\x01" "ACTION waves\x01"});
  h.send(b, "PRIVMSG alice :\x01VERSION\x01");  // to a nick: +C does not apply
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 PRIVMSG alice :\x01VERSION\x01"});
  h.send(a, "MODE #a");
  EXPECT_EQ(H::only(a.take(), "324"), std::vector<std::string>{":irc.sockit.local 324 alice #a +Cnt"});
  h.check();
}
