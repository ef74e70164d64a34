// Rows of the conformance table (docs/CONFORMANCE.md) that the differential sessions of
// tests/interop/irc_diff cannot check: replies that need the server's own name or a limit the
// other servers set differently. The sans-I/O core with fake peers, as tests/unit/irc/server_test.cpp.
#include "fake_peer.hpp"

#include <sockit/irc/password.hpp>

using namespace sockit::irc;
using namespace sockit::irc::test;
using H = Harness;

namespace {

/// A configuration with one operator, root (password pw).
Config with_operator() {
  Config cfg = quiet();
  cfg.operators.push_back({"root", hash_password("pw", 1000).value(), "*"});
  return cfg;
}

/// `c` becomes operator root (381).
void oper(H& h, H::Cli& c) {
  h.send(c, "OPER root pw");
  EXPECT_TRUE(H::has(c.take(), "381"));
}

}  // namespace

// Modern IRC KILL: ERR_CANTKILLSERVER (483) "<client> :You cant kill a server!".
TEST(IrcConformance, KillOfTheServerNameIs483AndKillsNobody) {
  H h(with_operator());
  auto& b = h.user("bob");
  auto& a = h.user("alice");
  oper(h, a);
  h.send(a, "KILL IRC.sockit.local :bye");  // the server's name, in another case
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 483 alice :You can't kill a server!"});
  EXPECT_TRUE(b.take().empty());
  EXPECT_FALSE(b.peer->closed);
  h.check();
}

// RFC 2812 ERR_BANLISTFULL (478) "<channel> <char> :Channel list is full" (the mode letter, not
// the mask); sockit's MAXLIST=beI:N.
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
  EXPECT_EQ(lines[0], ":irc.sockit.local 478 alice #a b :Channel list is full");
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

// 265/266's max is the most registered users at once: kept as a running count (a walk of every
// client per registration made a 10,000-client storm quadratic), down at each QUIT; an
// unregistered connection is no user.
TEST(IrcConformance, LusersMaxIsTheMostRegisteredUsersAtOnce) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  auto& c = h.user("carol");
  h.send(b, "QUIT");
  h.send(c, "QUIT");
  h.connect();  // not registered
  h.user("dave");
  a.take();
  h.send(a, "LUSERS");
  auto lines = a.take();
  EXPECT_EQ(H::only(lines, "265").at(0), ":irc.sockit.local 265 alice 2 3 :Current local users 2, max 3");
  EXPECT_EQ(H::only(lines, "266").at(0), ":irc.sockit.local 266 alice 2 3 :Current global users 2, max 3");
  h.user("erin");
  h.user("frank");
  h.send(a, "LUSERS");
  EXPECT_EQ(H::only(a.take(), "265").at(0), ":irc.sockit.local 265 alice 4 4 :Current local users 4, max 4");
  h.check();
}

// 251's invisible and 252's operators are kept as counts too (stats() no longer walks every client
// per registration's LUSERS): MODE +i/-i, OPER, MODE -o, a QUIT of a +i operator, and a +i user
// who quits move them; check() compares them with a walk.
TEST(IrcConformance, LusersInvisibleAndOperatorCountsFollowModesAndQuits) {
  H h(with_operator());
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  auto& c = h.user("carol");
  auto counts = [&]() {
    a.take();
    h.send(a, "LUSERS");
    auto lines = a.take();
    return H::only(lines, "251").at(0) + " | " + H::only(lines, "252").at(0);
  };
  EXPECT_EQ(counts(), ":irc.sockit.local 251 alice :There are 3 users and 0 invisible on 1 servers | "
                      ":irc.sockit.local 252 alice 0 :operator(s) online");
  h.send(b, "MODE bob +i");
  h.send(c, "MODE carol +i");
  h.send(c, "MODE carol +i");  // no change: counted once
  oper(h, b);
  h.check();
  EXPECT_EQ(counts(), ":irc.sockit.local 251 alice :There are 1 users and 2 invisible on 1 servers | "
                      ":irc.sockit.local 252 alice 1 :operator(s) online");
  h.send(c, "MODE carol -i");
  h.send(b, "MODE bob -o");
  EXPECT_EQ(counts(), ":irc.sockit.local 251 alice :There are 2 users and 1 invisible on 1 servers | "
                      ":irc.sockit.local 252 alice 0 :operator(s) online");
  oper(h, b);
  h.send(b, "QUIT");  // a +i operator leaves: both counts fall
  h.check();
  EXPECT_EQ(counts(), ":irc.sockit.local 251 alice :There are 2 users and 0 invisible on 1 servers | "
                      ":irc.sockit.local 252 alice 0 :operator(s) online");
  h.check();
}

// ---- the TOFIX differences of tests/interop/irc_diff (issue #17, docs/CHAT-SERVER.md) ----------

// Modern IRC KICK: the default message is for when no comment is given; "KICK #a bob :" gives an
// empty one. kick-empty-comment.
TEST(IrcConformance, KickWithAnEmptyCommentRelaysItEmpty) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "KICK #a bob :");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 KICK #a bob :"});
  h.send(a, "JOIN #b");
  h.send(b, "JOIN #b");
  a.take();
  b.take();
  h.send(a, "KICK #b bob");  // no comment: the kicker's nick
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 KICK #b bob :alice"});
  h.check();
}

// Modern IRC TOPIC: members receive TOPIC "if the topic of a channel is changed or cleared"; the
// same topic again changes nothing (InspIRCd sends nothing either). topic-unchanged. And Modern
// RPL_TOPICWHOTIME (333) "<client> <channel> <nick> <setat>": the setter's nick, not its mask
// (ngIRCd and InspIRCd send the nick too; so does IrcTopic.SetQueryAndLock). topicwhotime-nick.
TEST(IrcConformance, SettingTheSameTopicAgainSendsNothing) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "TOPIC #a :same");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 TOPIC #a :same"});
  a.take();
  h.wall += std::chrono::seconds(5);
  h.send(a, "TOPIC #a :same");
  EXPECT_TRUE(a.take().empty());
  EXPECT_TRUE(b.take().empty());
  h.send(b, "TOPIC #a");  // nor is the time of the topic set again
  EXPECT_EQ(H::only(b.take(), "333"), std::vector<std::string>{":irc.sockit.local 333 bob #a alice 1800000000"});
  h.send(a, "TOPIC #a :");  // clearing is a change
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 TOPIC #a :"});
  h.check();
}

// RFC 2812 USERHOST: "a list of up to 5 nicknames"; a sixth is ignored. userhost-five.
TEST(IrcConformance, UserhostAnswersFiveNicks) {
  H h;
  auto& a = h.user("alice");
  for (const char* n : {"bob", "carol", "dave", "erin", "frank"}) h.user(n);
  h.send(a, "USERHOST bob carol dave erin frank alice");
  EXPECT_EQ(a.take(), std::vector<std::string>{
                          ":irc.sockit.local 302 alice :bob=+~bob@127.0.0.1 carol=+~carol@127.0.0.1 "
                          "dave=+~dave@127.0.0.1 erin=+~erin@127.0.0.1 frank=+~frank@127.0.0.1"});
  h.check();
}

// Modern IRC INVITE: "The target channel SHOULD exist [...] Otherwise, the server SHOULD reject
// the command with the ERR_NOSUCHCHANNEL numeric." invite-nosuch-channel.
TEST(IrcConformance, InviteToAChannelThatDoesNotExistIs403) {
  H h;
  auto& b = h.user("bob");
  auto& a = h.user("alice");
  h.send(a, "INVITE bob #nosuch");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 403 alice #nosuch :No such channel"});
  EXPECT_TRUE(b.take().empty());
  h.check();
}

// Modern IRC QUIT: "Quit: " is prepended "even if <reason> is empty, in which case the reason sent
// to other clients SHOULD be just this "Quit: " string". quit-prefix-empty.
TEST(IrcConformance, QuitWithoutOrWithAnEmptyReasonRelaysQuitColonSpace) {
  H h;
  auto [a, b, c] = h.in_channel("#a", "alice", "bob", "carol");
  h.send(b, "QUIT");
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 QUIT :Quit: "});
  EXPECT_TRUE(b.peer->closed);
  h.send(c, "QUIT :");
  EXPECT_EQ(a.take(), std::vector<std::string>{":carol!~carol@127.0.0.1 QUIT :Quit: "});
  EXPECT_TRUE(c.peer->closed);
  h.check();
}

// RFC 2812 and Modern IRC KILL: "<nickname> <comment>"; without the comment 461, nobody killed
// (ngIRCd and InspIRCd alike). kill-needs-comment.
TEST(IrcConformance, KillWithoutACommentIs461AndKillsNobody) {
  H h(with_operator());
  auto& b = h.user("bob");
  auto& a = h.user("alice");
  oper(h, a);
  h.send(a, "KILL bob");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 461 alice KILL :Not enough parameters"});
  EXPECT_TRUE(b.take().empty());
  EXPECT_FALSE(b.peer->closed);
  h.check();
}

// Modern IRC JOIN: ERR_NEEDMOREPARAMS for "JOIN :" once registered (ngIRCd 461); before
// registration it stays silent (irssi sends it while negotiating CAP). join-empty-param.
TEST(IrcConformance, EmptyJoinAfterRegistrationIs461) {
  H h;
  auto& early = h.connect();
  h.send(early, "JOIN :");
  EXPECT_TRUE(early.take().empty());
  auto& a = h.user("alice");
  h.send(a, "JOIN :");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 461 alice JOIN :Not enough parameters"});
  h.check();
}

// Modern IRC PART: ERR_NEEDMOREPARAMS when no channel is given; "PART :" gives none (ngIRCd 461).
// part-empty-param.
TEST(IrcConformance, EmptyPartIs461) {
  H h;
  auto [a] = h.in_channel("#a", "alice");
  h.send(a, "PART :");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 461 alice PART :Not enough parameters"});
  h.send(a, "NAMES #a");
  EXPECT_EQ(H::only(a.take(), "353").size(), 1u);  // still a member
  h.check();
}

// Modern IRC KICK lists ERR_NEEDMOREPARAMS among its replies and not ERR_NOSUCHNICK: "KICK #a :"
// names no user, so 461 (ngIRCd and InspIRCd answer 401 for the empty nick). kick-empty-nick.
TEST(IrcConformance, KickWithAnEmptyUserIs461) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "KICK #a :");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 461 alice KICK :Not enough parameters"});
  EXPECT_TRUE(b.take().empty());
  h.check();
}

// RFC 2812 PRIVMSG/NOTICE "$mask": for operators only; a user gets 481 as from ngIRCd and
// InspIRCd, and nobody receives anything. server-mask-privmsg.
TEST(IrcConformance, ServerMaskFromAUserIs481) {
  H h;
  auto& b = h.user("bob");
  auto& a = h.user("alice");
  h.send(a, "PRIVMSG $*.local :to everyone");
  EXPECT_EQ(a.take(),
            std::vector<std::string>{":irc.sockit.local 481 alice :Permission Denied- You're not an IRC operator"});
  h.send(a, "NOTICE $* :to everyone");
  EXPECT_TRUE(a.take().empty());
  EXPECT_TRUE(b.take().empty());
  h.check();
}

// RFC 2812 "$mask" from an operator: `$*` and a mask of this server's name reach every local
// user (the target kept); 413 ERR_NOTOPLEVEL without a dot, 414 ERR_WILDTOPLEVEL with a wildcard
// after the last dot; a mask of another server reaches nobody.
TEST(IrcConformance, ServerMaskFromAnOperatorReachesEveryLocalUser) {
  H h(with_operator());
  auto& b = h.user("bob");
  auto& c = h.user("carol");
  auto& a = h.user("alice");
  oper(h, a);
  h.send(a, "PRIVMSG $*.sockit.local :hello all");
  EXPECT_TRUE(a.take().empty());
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG $*.sockit.local :hello all"});
  EXPECT_EQ(c.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG $*.sockit.local :hello all"});
  h.send(a, "NOTICE $* :notice all");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 NOTICE $* :notice all"});
  EXPECT_EQ(c.take().size(), 1u);
  h.send(a, "PRIVMSG $*.other.net :elsewhere");
  EXPECT_TRUE(a.take().empty());
  EXPECT_TRUE(b.take().empty());
  h.send(a, "PRIVMSG $local :x");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 413 alice $local :No toplevel domain specified"});
  h.send(a, "PRIVMSG $irc.sockit.* :x");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 414 alice $irc.sockit.* :Wildcard in toplevel domain"});
  EXPECT_TRUE(b.take().empty());
  h.check();
}

// Modern IRC VERSION: RPL_VERSION (351), then the server SHOULD send its RPL_ISUPPORT (005) lines.
TEST(IrcConformance, VersionSends351ThenIsupport) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "VERSION");
  auto lines = a.take();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(command_of(lines[0]), "351") << lines[0];
  for (std::size_t i = 1; i < lines.size(); ++i) EXPECT_EQ(command_of(lines[i]), "005") << lines[i];
  h.check();
}
