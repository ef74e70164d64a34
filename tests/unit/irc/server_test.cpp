// Commands of irc::Server on the sans-I/O core: fake peers, fake clock.
#include "fake_peer.hpp"

#include "sockit/irc/password.hpp"

#include <algorithm>

using namespace sockit::irc;
using namespace sockit::irc::test;
using namespace std::chrono_literals;
using H = Harness;

namespace {
std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (auto& l : lines) s += l + "\n";
  return s;
}
}  // namespace

TEST(IrcRegistration, WelcomeBurstWithIsupport) {
  H h;
  auto& c = h.connect();
  h.send(c, "NICK alice");
  EXPECT_TRUE(c.take().empty());
  h.send(c, "USER alice 0 * :Alice A");
  auto lines = c.take();
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 001 alice :Welcome to the sockit IRC Network alice!~alice@127.0.0.1");
  EXPECT_EQ(command_of(lines[1]), "002");
  EXPECT_EQ(command_of(lines[2]), "003");
  EXPECT_EQ(lines[3], ":irc.sockit.local 004 alice irc.sockit.local sockit-0.1.0 BZiow CIbeiklmnopstv Ibeklov");
  std::string isupport = joined(H::only(lines, "005"));
  for (auto tok : {"CASEMAPPING=rfc1459", "CHANTYPES=#&", "CHANMODES=beI,k,l,Cimnst", "PREFIX=(ov)@+", "NICKLEN=30",
                   "CHANNELLEN=50", "TOPICLEN=390", "KICKLEN=255", "MODES=4", "TARGMAX=", "UTF8ONLY"}) {
    EXPECT_NE(isupport.find(tok), std::string::npos) << tok;
  }
  EXPECT_TRUE(H::has(lines, "251"));
  EXPECT_TRUE(H::has(lines, "422"));  // no MOTD configured
  h.check();
}

TEST(IrcRegistration, CommandsBeforeRegistrationGet451) {
  H h;
  auto& c = h.connect();
  h.send(c, "JOIN #a");
  auto lines = c.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 451 * :You have not registered");
}

TEST(IrcRegistration, UserAfterRegistrationGets462) {
  H h;
  auto& c = h.user("alice");
  h.send(c, "USER a b c :d");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 462 alice :You may not reregister"});
}

TEST(IrcRegistration, MissingParamsGet461) {
  H h;
  auto& c = h.connect();
  h.send(c, "USER a b c");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 461 * USER :Not enough parameters"});
}

TEST(IrcRegistration, UnknownCommandGets421) {
  H h;
  auto& c = h.user("alice");
  h.send(c, "FROB x");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 421 alice FROB :Unknown command"});
}

TEST(IrcRegistration, NickErrors) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.connect();
  h.send(b, "NICK");
  h.send(b, "NICK 1bad");
  h.send(b, "NICK ALICE");
  auto lines = b.take();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 431 * :No nickname given");
  EXPECT_EQ(lines[1], ":irc.sockit.local 432 * 1bad :Erroneous nickname");
  EXPECT_EQ(lines[2], ":irc.sockit.local 433 * ALICE :Nickname is already in use");
  (void)a;
}

TEST(IrcRegistration, CasemappingCollision) {
  H h;
  h.user("nick[a]");
  auto& b = h.connect();
  h.send(b, "NICK NICK{A}");
  EXPECT_EQ(command_of(b.take().at(0)), "433");
}

TEST(IrcRegistration, CapNegotiationHoldsRegistrationUntilEnd) {
  H h;
  auto& c = h.connect();
  h.send(c, "CAP LS 302");
  h.register_as(c, "alice", "A");
  auto lines = c.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], ":irc.sockit.local CAP * LS :away-notify batch cap-notify chghost echo-message extended-join "
                      "invite-notify labeled-response message-tags multi-prefix server-time setname "
                      "standard-replies userhost-in-names");
  h.send(c, "CAP REQ :multi-prefix bogus");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local CAP alice NAK :multi-prefix bogus"});
  h.send(c, "CAP REQ :multi-prefix");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local CAP alice ACK :multi-prefix"});
  h.send(c, "CAP LIST");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local CAP alice LIST :cap-notify multi-prefix"});  // 302: cap-notify
  h.send(c, "CAP END");
  EXPECT_TRUE(H::has(c.take(), "001"));
  h.send(c, "CAP FOO");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 410 alice FOO :Invalid CAP command"});
}

TEST(IrcRegistration, ServerPassword) {
  Config cfg = quiet();
  cfg.password_hash = hash_password("letmein", 1000).value();
  H h(cfg);
  auto& bad = h.connect();
  h.send(bad, "PASS nope");
  h.register_as(bad, "bad", "x");
  EXPECT_FALSE(H::has(bad.take(), "464"));  // a failure's reply waits (auth_fail_delay)
  h.advance(h.cfg.auth_fail_delay);
  auto lines = bad.take();
  EXPECT_TRUE(H::has(lines, "464"));
  EXPECT_TRUE(bad.peer->closed);
  auto& good = h.connect();
  h.send(good, "PASS letmein");
  h.register_as(good, "good", "x");
  EXPECT_TRUE(H::has(good.take(), "001"));
}

TEST(IrcRegistration, HttpRequestIsRefused) {
  H h;
  auto& c = h.connect();
  h.send(c, "GET / HTTP/1.1");
  auto lines = c.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "ERROR :Closing Link: 127.0.0.1 (This is not an HTTP server)");
  EXPECT_TRUE(c.peer->closed);
}

TEST(IrcPing, PingPongAndNoOrigin) {
  H h;
  auto& c = h.user("alice");
  h.send(c, "PING :abc");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local PONG irc.sockit.local :abc"});
  h.send(c, "PING");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 409 alice :No origin specified"});
}

TEST(IrcChannel, JoinSendsJoinNamesAndGivesOpToCreator) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "JOIN #Test");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], ":alice!~alice@127.0.0.1 JOIN #Test");
  EXPECT_EQ(lines[1], ":irc.sockit.local 353 alice = #Test :@alice");
  EXPECT_EQ(lines[2], ":irc.sockit.local 366 alice #Test :End of /NAMES list");
  auto& b = h.user("bob");
  h.send(b, "JOIN #test");
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 JOIN #Test"});
  lines = b.take();
  EXPECT_EQ(lines.at(1), ":irc.sockit.local 353 bob = #Test :@alice bob");
  h.check();
}

TEST(IrcChannel, JoinSeveralWithKeysAndJoinZero) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "JOIN #a,#b");
  h.send(a, "MODE #b +k sesame");
  auto& b = h.user("bob");
  h.send(b, "JOIN #a,#b,bad");
  auto lines = b.take();
  EXPECT_EQ(H::only(lines, "475"), std::vector<std::string>{":irc.sockit.local 475 bob #b :Cannot join channel (+k)"});
  EXPECT_EQ(H::only(lines, "403"), std::vector<std::string>{":irc.sockit.local 403 bob bad :No such channel"});
  h.send(b, "JOIN #b sesame");
  EXPECT_TRUE(H::has(b.take(), "JOIN"));
  a.take();
  h.send(b, "JOIN 0");
  lines = b.take();
  EXPECT_EQ(H::only(lines, "PART").size(), 2u);
  EXPECT_EQ(H::only(a.take(), "PART").size(), 2u);
  h.check();
}

TEST(IrcChannel, JoinRestrictions) {
  Config cfg = quiet();
  cfg.max_channels_per_client = 3;
  H h(cfg);
  auto& a = h.user("alice");
  h.send(a, "JOIN #i,#l,#b");
  h.send(a, "MODE #i +i");
  h.send(a, "MODE #l +l 1");
  h.send(a, "MODE #b +b bob");
  a.take();
  auto& b = h.user("bob");
  h.send(b, "JOIN #i");
  h.send(b, "JOIN #l");
  h.send(b, "JOIN #b");
  h.send(b, "JOIN #x,#y,#z,#w");
  auto lines = b.take();
  EXPECT_TRUE(H::has(lines, "473"));
  EXPECT_TRUE(H::has(lines, "471"));
  EXPECT_TRUE(H::has(lines, "474"));
  EXPECT_TRUE(H::has(lines, "405"));
  h.send(a, "INVITE bob #i");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 341 alice bob #i"});
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 INVITE bob :#i"});
  h.send(b, "PART #x");
  h.send(b, "JOIN #i");
  EXPECT_TRUE(H::has(b.take(), "JOIN"));
  h.check();
}

TEST(IrcChannel, PartErrors) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.send(a, "JOIN #a");
  h.send(b, "PART #a");
  h.send(b, "PART #nope");
  auto lines = b.take();
  EXPECT_EQ(lines.at(0), ":irc.sockit.local 442 bob #a :You're not on that channel");
  EXPECT_EQ(lines.at(1), ":irc.sockit.local 403 bob #nope :No such channel");
  a.take();
  h.send(a, "PART #a :bye now");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PART #a :bye now"});
  h.send(a, "NAMES #a");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 366 alice #a :End of /NAMES list"});
  h.check();
}

TEST(IrcMessage, PrivmsgToChannelAndUser) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "PRIVMSG #a :hello all");
  EXPECT_TRUE(a.take().empty());
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG #a :hello all"});
  h.send(b, "NOTICE alice :psst");
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 NOTICE alice :psst"});
  h.send(a, "PRIVMSG bob,#a :both");
  EXPECT_EQ(b.take().size(), 2u);
}

TEST(IrcMessage, PrivmsgErrors) {
  Config cfg = quiet();
  cfg.max_targets = 2;
  H h(cfg);
  auto& a = h.user("alice");
  h.send(a, "PRIVMSG");
  h.send(a, "PRIVMSG bob");
  h.send(a, "PRIVMSG bob :x");
  h.send(a, "PRIVMSG a,b,c :x");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 411 alice :No recipient given (PRIVMSG)");
  EXPECT_EQ(lines[1], ":irc.sockit.local 412 alice :No text to send");
  EXPECT_EQ(lines[2], ":irc.sockit.local 401 alice bob :No such nick/channel");
  EXPECT_EQ(lines[3], ":irc.sockit.local 407 alice a,b,c :Too many recipients");
  h.send(a, "NOTICE bob :x");
  EXPECT_TRUE(a.take().empty());  // NOTICE never answers with errors
}

TEST(IrcMessage, CannotSendToChannel) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.send(a, "JOIN #a");
  h.send(b, "PRIVMSG #a :outside");  // +n by default
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local 404 bob #a :Cannot send to channel"});
  h.send(b, "JOIN #a");
  h.send(a, "MODE #a +m");
  b.take();
  h.send(b, "PRIVMSG #a :moderated");
  EXPECT_TRUE(H::has(b.take(), "404"));
  h.send(a, "MODE #a +v bob");
  b.take();
  a.take();
  h.send(b, "PRIVMSG #a :voiced");
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 PRIVMSG #a :voiced"});
}

TEST(IrcMessage, AwayReplyAndEchoMessage) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.send(b, "AWAY :lunch");
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local 306 bob :You have been marked as being away"});
  h.send(a, "PRIVMSG bob :hi");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 301 alice bob :lunch"});
  h.send(b, "AWAY");
  EXPECT_TRUE(H::has(b.take(), "305"));
  h.send(a, "CAP REQ echo-message");
  a.take();
  h.send(a, "PRIVMSG bob :echo");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG bob :echo"});
}

TEST(IrcMessage, ServerTimeTag) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "CAP REQ :server-time");
  a.take();
  h.send(a, "PING x");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "@time=2027-01-15T08:00:00.000Z :irc.sockit.local PONG irc.sockit.local :x");
}

TEST(IrcMessage, ServerTimeTagOnBroadcastsOnlyForThoseWhoAskedForIt) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  auto& c = h.user("carol");
  auto& d = h.user("dave");
  h.send(a, "CAP REQ :server-time");
  h.send(c, "CAP REQ :server-time");
  h.join("#a", {&a, &b, &c, &d});
  H::drain({&a, &b, &c, &d});
  // The tagged form is built once per broadcast and shared; untagged receivers get the plain line.
  h.send(d, "PRIVMSG #a :hi all");
  const std::string plain = ":dave!~dave@127.0.0.1 PRIVMSG #a :hi all";
  EXPECT_EQ(a.take(), std::vector<std::string>{"@time=2027-01-15T08:00:00.000Z " + plain});
  EXPECT_EQ(b.take(), std::vector<std::string>{plain});
  EXPECT_EQ(c.take(), std::vector<std::string>{"@time=2027-01-15T08:00:00.000Z " + plain});
  EXPECT_TRUE(d.take().empty());
  // The same for a line sent to every neighbour (QUIT), and for the next line (a new time).
  h.wall += std::chrono::milliseconds(1500);
  h.send(b, "QUIT :bye");
  const std::string quit = ":bob!~bob@127.0.0.1 QUIT :Quit: bye";
  EXPECT_EQ(a.take(), std::vector<std::string>{"@time=2027-01-15T08:00:01.500Z " + quit});
  EXPECT_EQ(c.take(), std::vector<std::string>{"@time=2027-01-15T08:00:01.500Z " + quit});
  EXPECT_EQ(d.take(), std::vector<std::string>{quit});
  h.check();
}

TEST(IrcMessage, LinesReadTogetherReachEachMemberInOneSendInOrder) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  auto& c = h.user("carol");
  h.send(c, "CAP REQ :server-time");
  h.join("#a", {&a, &b, &c});
  H::drain({&a, &b, &c});
  const std::size_t before = b.peer->sends;
  h.raw(a, "PRIVMSG #a :one\r\nPRIVMSG #a :two\r\nNOTICE #a :three\r\n");
  EXPECT_EQ(b.peer->sends, before + 1);
  EXPECT_EQ(b.take(), (std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG #a :one",
                                                ":alice!~alice@127.0.0.1 PRIVMSG #a :two",
                                                ":alice!~alice@127.0.0.1 NOTICE #a :three"}));
  const std::string t = "@time=2027-01-15T08:00:00.000Z ";
  EXPECT_EQ(c.take(), (std::vector<std::string>{t + ":alice!~alice@127.0.0.1 PRIVMSG #a :one",
                                                t + ":alice!~alice@127.0.0.1 PRIVMSG #a :two",
                                                t + ":alice!~alice@127.0.0.1 NOTICE #a :three"}));
  EXPECT_TRUE(a.take().empty());
  h.check();
}

TEST(IrcMessage, LinesReadTogetherKeepTheirOrderAroundOtherOutput) {
  H h;
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  auto& d = h.user("dave");
  h.send(a, "JOIN #a");
  h.send(a, "JOIN #b");
  h.send(b, "JOIN #a");
  h.send(b, "JOIN #b");
  H::drain({&a, &b, &d});
  // One read: channel lines, a line to another channel, a private message, an error reply,
  // then dave joins and bob parts: each sees exactly what it would line by line.
  h.raw(a, "PRIVMSG #a :1\r\nPRIVMSG #b :2\r\nPRIVMSG #a :3\r\nPRIVMSG bob :4\r\nPRIVMSG #nope :5\r\n"
           "PRIVMSG #a :6\r\n");
  h.raw(d, "JOIN #a\r\n");
  h.raw(a, "PRIVMSG #a :7\r\n");
  h.raw(b, "PART #a\r\n");
  h.raw(a, "PRIVMSG #a :8\r\nKICK #a dave :out\r\nPRIVMSG #a :9\r\n");
  const std::string al = ":alice!~alice@127.0.0.1 ";
  EXPECT_EQ(b.take(), (std::vector<std::string>{al + "PRIVMSG #a :1", al + "PRIVMSG #b :2", al + "PRIVMSG #a :3",
                                                al + "PRIVMSG bob :4", al + "PRIVMSG #a :6",
                                                ":dave!~dave@127.0.0.1 JOIN #a", al + "PRIVMSG #a :7",
                                                ":bob!~bob@127.0.0.1 PART #a"}));
  auto dl = d.take();
  ASSERT_FALSE(dl.empty());
  EXPECT_EQ(dl.front(), ":dave!~dave@127.0.0.1 JOIN #a");
  std::vector<std::string> seen;
  for (auto& l : dl) {
    if (command_of(l) == "PRIVMSG" || command_of(l) == "KICK" || command_of(l) == "PART") seen.push_back(l);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{al + "PRIVMSG #a :7", ":bob!~bob@127.0.0.1 PART #a", al + "PRIVMSG #a :8",
                                            al + "KICK #a dave :out"}));
  EXPECT_EQ(H::only(a.take(), "401"), std::vector<std::string>{":irc.sockit.local 401 alice #nope :No such nick/channel"});
  h.check();
}

TEST(IrcMessage, HeldLinesOfSeveralSendersGoOutInOnePassWithoutTheirOwn) {
  H h;
  h.server->set_hold_broadcasts(true);
  auto [a, b, c, d] = h.in_channel("#a", "alice", "bob", "carol", "dave");
  h.send(c, "CAP REQ :server-time");
  H::drain({&c});
  const std::size_t a0 = a.peer->sends, b0 = b.peer->sends, c0 = c.peer->sends, d0 = d.peer->sends;
  h.raw(a, "PRIVMSG #a :1\r\n");
  h.raw(b, "PRIVMSG #a :2\r\nNOTICE #a :3\r\n");
  h.raw(a, "PRIVMSG #a :4\r\n");
  EXPECT_TRUE(d.take().empty());  // held until the turn ends
  EXPECT_EQ(d.peer->sends, d0);
  h.server->flush_broadcasts();
  const std::string al = ":alice!~alice@127.0.0.1 ", bo = ":bob!~bob@127.0.0.1 ";
  const std::vector<std::string> all{al + "PRIVMSG #a :1", bo + "PRIVMSG #a :2", bo + "NOTICE #a :3", al + "PRIVMSG #a :4"};
  EXPECT_EQ(d.take(), all);
  EXPECT_EQ(d.peer->sends, d0 + 1);  // one buffer, one send
  EXPECT_EQ(a.take(), (std::vector<std::string>{bo + "PRIVMSG #a :2", bo + "NOTICE #a :3"}));
  EXPECT_EQ(a.peer->sends, a0 + 1);
  EXPECT_EQ(b.take(), (std::vector<std::string>{al + "PRIVMSG #a :1", al + "PRIVMSG #a :4"}));
  EXPECT_EQ(b.peer->sends, b0 + 2);  // its own lines sit between: two parts
  const std::string t = "@time=2027-01-15T08:00:00.000Z ";
  std::vector<std::string> tagged;
  for (const auto& l : all) tagged.push_back(t + l);
  EXPECT_EQ(c.take(), tagged);
  EXPECT_EQ(c.peer->sends, c0 + 1);
  h.server->flush_broadcasts();  // nothing held: nothing sent
  EXPECT_EQ(d.peer->sends, d0 + 1);
  h.check();
}

TEST(IrcMessage, HeldLinesGoOutBeforeOtherOutputAndMembershipChanges) {
  H h;
  h.server->set_hold_broadcasts(true);
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  auto& e = h.user("erin");
  H::drain({&e});
  const std::string al = ":alice!~alice@127.0.0.1 ";
  h.raw(a, "PRIVMSG #a :before private\r\n");
  h.raw(a, "PRIVMSG bob :private\r\n");  // other output: the held line goes first
  EXPECT_EQ(b.take(), (std::vector<std::string>{al + "PRIVMSG #a :before private", al + "PRIVMSG bob :private"}));
  h.raw(a, "PRIVMSG #a :before join\r\n");
  h.raw(e, "JOIN #a\r\n");  // a new member does not get what was said before it joined
  auto el = e.take();
  EXPECT_FALSE(std::any_of(el.begin(), el.end(), [](const std::string& l) { return command_of(l) == "PRIVMSG"; }));
  EXPECT_EQ(H::only(b.take(), "PRIVMSG"), std::vector<std::string>{al + "PRIVMSG #a :before join"});
  h.raw(a, "PRIVMSG #a :before quit\r\n");
  h.raw(b, "QUIT :bye\r\n");  // a member leaving still gets what was said before it left
  EXPECT_EQ(H::only(b.take(), "PRIVMSG"), std::vector<std::string>{al + "PRIVMSG #a :before quit"});
  h.server->set_hold_broadcasts(false);
  h.raw(a, "PRIVMSG #a :not held\r\n");
  EXPECT_EQ(H::only(e.take(), "PRIVMSG"), (std::vector<std::string>{al + "PRIVMSG #a :before quit", al + "PRIVMSG #a :not held"}));
  h.check();
}

TEST(IrcTopic, SetQueryAndLock) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(b, "TOPIC #a");
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local 331 bob #a :No topic is set"});
  h.send(b, "TOPIC #a :mine");
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local 482 bob #a :You're not channel operator"});
  h.send(a, "TOPIC #a :the topic");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 TOPIC #a :the topic"});
  h.send(b, "TOPIC #a");
  auto lines = b.take();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 332 bob #a :the topic");
  EXPECT_EQ(lines[1], ":irc.sockit.local 333 bob #a alice 1800000000");
  h.send(b, "TOPIC #nope");
  EXPECT_TRUE(H::has(b.take(), "403"));
}

TEST(IrcKick, KickAndErrors) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  auto& c = h.user("carol");
  h.send(b, "KICK #a alice");
  EXPECT_TRUE(H::has(b.take(), "482"));
  h.send(c, "KICK #a bob");
  EXPECT_TRUE(H::has(c.take(), "442"));
  h.send(a, "KICK #a carol");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 441 alice carol #a :They aren't on that channel"});
  h.send(a, "KICK #a bob :behave");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 KICK #a bob :behave"});
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 KICK #a bob :behave"});
  h.send(b, "PRIVMSG #a :x");
  EXPECT_TRUE(H::has(b.take(), "404"));
  h.send(a, "KICK #a alice");  // kicking yourself out of your own channel ends it
  h.send(a, "LIST");
  auto lines = a.take();
  EXPECT_FALSE(H::has(lines, "322"));
  h.check();
}

TEST(IrcMode, ChannelModesQueryAndBroadcast) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "MODE #a");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 324 alice #a +nt");
  EXPECT_EQ(lines[1], ":irc.sockit.local 329 alice #a 1800000000");
  h.send(a, "MODE #a +kl-t key 5");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a +kl-t key :5"});
  h.send(a, "MODE #a +o bob");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a +o :bob"});
  h.send(b, "MODE #a +ms");
  a.take();
  b.take();
  h.send(b, "MODE #a");
  EXPECT_EQ(b.take().at(0), ":irc.sockit.local 324 bob #a +klmns key 5");
  h.send(a, "MODE #a +z");
  EXPECT_EQ(H::only(a.take(), "472"),
            std::vector<std::string>{":irc.sockit.local 472 alice z :is unknown mode char to me for #a"});
  auto& c = h.user("carol");
  h.send(c, "MODE #a +i");
  EXPECT_TRUE(H::has(c.take(), "482"));
  h.send(a, "MODE #a +o nobody");
  EXPECT_TRUE(H::has(a.take(), "401"));
  h.send(a, "MODE #a +v carol");
  EXPECT_TRUE(H::has(a.take(), "441"));
  h.send(a, "MODE #nope");
  EXPECT_TRUE(H::has(a.take(), "403"));
}

TEST(IrcMode, BanList) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "JOIN #a");
  h.send(a, "MODE #a +b bad");
  h.send(a, "MODE #a +b *@10.0.0.1");
  a.take();
  h.send(a, "MODE #a b");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 367 alice #a bad!*@* alice 1800000000");
  EXPECT_EQ(lines[1], ":irc.sockit.local 367 alice #a *!*@10.0.0.1 alice 1800000000");
  EXPECT_EQ(lines[2], ":irc.sockit.local 368 alice #a :End of channel ban list");
  h.send(a, "MODE #a -b bad!*@*");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a -b :bad!*@*"});
}

TEST(IrcMode, UserModes) {
  H h;
  auto& a = h.user("alice");
  h.user("bob");
  h.send(a, "MODE alice +iw");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice MODE alice :+iw"});
  h.send(a, "MODE alice +o");
  EXPECT_TRUE(a.take().empty());
  h.send(a, "MODE alice");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 221 alice +iw"});
  h.send(a, "MODE bob +i");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 502 alice :Can't change mode for other users"});
  h.send(a, "MODE alice +x");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 501 alice :Unknown MODE flag"});
}

TEST(IrcMode, ParametersGoToTheirLettersInOrder) {
  // b, o, v and k take a parameter both ways, l only when set, flags and unknown letters never.
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "MODE #a +ob-v+k bob ban bob key1");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a +obk bob ban!*@* :key1"});
  a.take();
  h.send(a, "MODE #a -k+x-l+i whatever");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":irc.sockit.local 472 alice x :is unknown mode char to me for #a",
                                                ":alice!~alice@127.0.0.1 MODE #a -k+i :*"}));
  h.send(a, "MODE #a -o+l bob");
  EXPECT_EQ(a.take(), (std::vector<std::string>{
                          ":irc.sockit.local 696 alice #a l * :You must specify a parameter for the limit mode",
                          ":alice!~alice@127.0.0.1 MODE #a -o :bob"}));
  h.send(a, "MODE #a ++--+b-b+b x y z");
  EXPECT_EQ(a.take(), (std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a +bb x!*@* :z!*@*"}));
  h.check();
}

TEST(IrcMode, ParameterChangesStopAtTheModesLimit) {
  H h;  // MODES=4
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "MODE #a +bbbbb a b c d e");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a +bbbb a!*@* b!*@* c!*@* :d!*@*"});
  h.send(a, "MODE #a +imnst-t");  // flags do not count
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a :+ims-t"});
}

TEST(IrcMode, OneRefusalPerCommandForANonOperator) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(b, "MODE #a +imt-l+b x");
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local 482 bob #a :You're not channel operator"});
  h.send(b, "MODE #a +b");  // listing needs no privilege
  EXPECT_EQ(b.take(), std::vector<std::string>{":irc.sockit.local 368 bob #a :End of channel ban list"});
  EXPECT_TRUE(a.take().empty());
}

TEST(IrcMode, KeyAndLimitValuesAreChecked) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "JOIN #a");
  a.take();
  h.send(a, "MODE #a +k a,b");
  EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 525 alice #a :Key is not well-formed"});
  h.send(a, "MODE #a +k :");
  EXPECT_EQ(a.take(), std::vector<std::string>{
                          ":irc.sockit.local 696 alice #a k * :You must specify a parameter for the key mode"});
  for (const char* bad : {"abc", "0", "-3", "7x"}) {
    h.send(a, std::string("MODE #a +l ") + bad);
    EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 696 alice #a l " + std::string(bad) +
                                                 " :Invalid limit"});
  }
  h.send(a, "MODE #a +k averyveryverylongkeythatexceeds23chars");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a +k :averyveryverylongkeytha"});
  h.send(a, "MODE #a -k");
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 MODE #a -k :*"});
  h.send(a, "MODE #a -k");
  EXPECT_TRUE(a.take().empty());
}

TEST(IrcCommands, EveryFamilyIsInTheOneTable) {
  // One command of each family file, and every other command the server knows: none is 421.
  H h;
  auto& a = h.user("alice");
  for (const char* cmd : {"ADMIN", "AWAY", "CAP", "INFO", "INVITE", "ISON", "JOIN", "KICK", "KILL", "LIST", "LUSERS",
                          "MODE", "MOTD", "NAMES", "NICK", "NOTICE", "OPER", "PART", "PASS", "PING", "PONG", "PRIVMSG",
                          "TIME", "TOPIC", "USER", "USERHOST", "VERSION", "WALLOPS", "WHO", "WHOIS", "WHOWAS"}) {
    h.send(a, cmd);
    EXPECT_FALSE(H::has(a.take(), "421")) << cmd;
  }
  h.send(a, "QUIT");
  EXPECT_FALSE(H::has(a.take(), "421"));
  h.check();
}

TEST(IrcNames, MultiPrefixAndUserhostInNames) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "CAP REQ :multi-prefix userhost-in-names");
  h.send(a, "JOIN #a");
  h.send(a, "MODE #a +v alice");
  a.take();
  h.send(a, "NAMES #a");
  auto lines = a.take();
  EXPECT_EQ(lines.at(0), ":irc.sockit.local 353 alice = #a :@+alice!~alice@127.0.0.1");
}

TEST(IrcNames, NamesSplitsLongLists) {
  H h;
  auto& a = h.user("alice");
  h.send(a, "JOIN #big");
  for (int i = 0; i < 80; ++i) {
    auto& u = h.user("user_with_long_name" + std::to_string(i));
    h.send(u, "JOIN #big");
  }
  a.take();
  h.send(a, "NAMES #big");
  auto lines = H::only(a.take(), "353");
  EXPECT_GT(lines.size(), 1u);
  for (auto& l : lines) EXPECT_LE(l.size() + 2, kMaxLineBytes);
}

TEST(IrcQuery, WhoWhoisWhowas) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(a, "WHO #a");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], ":irc.sockit.local 352 alice #a ~alice 127.0.0.1 irc.sockit.local alice H@ :0 Real alice");
  EXPECT_EQ(lines[2], ":irc.sockit.local 315 alice #a :End of WHO list");
  h.now += 42s;
  h.send(a, "WHOIS bob");
  lines = a.take();
  EXPECT_EQ(lines.at(0), ":irc.sockit.local 311 alice bob ~bob 127.0.0.1 * :Real bob");
  EXPECT_EQ(lines.at(1), ":irc.sockit.local 319 alice bob :#a");
  EXPECT_TRUE(H::has(lines, "312"));
  EXPECT_EQ(H::only(lines, "317").at(0), ":irc.sockit.local 317 alice bob 42 1800000000 :seconds idle, signon time");
  EXPECT_EQ(lines.back(), ":irc.sockit.local 318 alice bob :End of /WHOIS list");
  h.send(a, "WHOIS nobody");
  EXPECT_TRUE(H::has(a.take(), "401"));
  h.send(b, "NICK robert");
  h.send(a, "WHOWAS bob");
  lines = a.take();
  EXPECT_TRUE(H::has(lines, "NICK"));
  EXPECT_EQ(H::only(lines, "314").at(0), ":irc.sockit.local 314 alice bob ~bob 127.0.0.1 * :Real bob");
  EXPECT_TRUE(H::has(lines, "369"));
  h.send(a, "WHOWAS zed");
  EXPECT_TRUE(H::has(a.take(), "406"));
}

TEST(IrcQuery, NickChangeSeenByChannelPeersOnce) {
  H h;
  auto [a, b] = h.in_channel("#a,#b", "alice", "bob");
  h.send(a, "NICK Alicia");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 NICK :Alicia"});
  EXPECT_EQ(a.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 NICK :Alicia"});
  h.send(b, "PRIVMSG alicia :found you");
  EXPECT_EQ(a.take().size(), 1u);
  h.check();
}

TEST(IrcQuery, InfoCommands) {
  H h;
  h.cfg.motd = {"hello", "world"};
  h.server->reload(h.cfg);
  auto& a = h.user("alice");
  h.send(a, "MOTD");
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], ":irc.sockit.local 372 alice :- hello");
  h.send(a, "VERSION");
  lines = a.take();
  EXPECT_EQ(lines.at(0), ":irc.sockit.local 351 alice sockit-0.1.0. irc.sockit.local :sockit chat server");
  h.send(a, "TIME");
  EXPECT_EQ(a.take().at(0), ":irc.sockit.local 391 alice irc.sockit.local :Fri Jan 15 2027 -- 08:00:00 +00:00");
  h.send(a, "ADMIN");
  EXPECT_EQ(a.take().size(), 4u);
  h.send(a, "INFO");
  EXPECT_TRUE(H::has(a.take(), "374"));
  h.send(a, "LUSERS");
  EXPECT_TRUE(H::has(a.take(), "266"));
  h.send(a, "TIME other.server");
  EXPECT_EQ(a.take().at(0), ":irc.sockit.local 402 alice other.server :No such server");
  h.send(a, "ISON alice nobody ALICE");
  EXPECT_EQ(a.take().at(0), ":irc.sockit.local 303 alice :alice alice");
  h.send(a, "USERHOST alice");
  EXPECT_EQ(a.take().at(0), ":irc.sockit.local 302 alice :alice=+~alice@127.0.0.1");
}

TEST(IrcOper, OperAndKill) {
  Config cfg = quiet();
  cfg.operators.push_back({"root", hash_password("pw", 1000).value(), "*"});
  H h(cfg);
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(b, "KILL alice :x");
  EXPECT_TRUE(H::has(b.take(), "481"));
  h.send(a, "OPER nobody pw");
  h.advance(1s);
  EXPECT_TRUE(H::has(a.take(), "491"));
  h.send(a, "OPER root wrong");
  h.advance(2s);  // the second failure waits twice as long
  EXPECT_TRUE(H::has(a.take(), "491"));
  h.send(a, "OPER root pw");
  auto lines = a.take();
  EXPECT_TRUE(H::has(lines, "381"));
  h.send(a, "KILL nobody :x");
  EXPECT_TRUE(H::has(a.take(), "401"));
  h.send(a, "KILL bob :spam");
  lines = b.take();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], ":alice!~alice@127.0.0.1 KILL bob :spam");
  EXPECT_EQ(lines[1], "ERROR :Closing Link: 127.0.0.1 (Killed (alice (spam)))");
  EXPECT_TRUE(b.peer->closed);
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 QUIT :Killed (alice (spam))"});
  h.check();
}

TEST(IrcQuit, QuitIsBroadcastAndConnectionClosed) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.send(b, "QUIT :gone fishing");
  EXPECT_EQ(b.take(), std::vector<std::string>{"ERROR :Closing Link: 127.0.0.1 (Quit: gone fishing)"});
  EXPECT_TRUE(b.peer->closed);
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 QUIT :Quit: gone fishing"});
  EXPECT_EQ(h.server->stats().connections, 1u);
  h.check();
}

// Clients leaving at once (issue #21: 10,000 members of one channel closing together made the
// server queue 1.9 GB of QUITs): the QUITs of one turn are held like channel lines and go to each
// member that stays in one send, in order; each leaver still gets its ERROR (and, having closed
// its end, not the lines held before it).
TEST(IrcQuit, QuitsOfOneTurnGoOutTogether) {
  H h;
  h.server->set_hold_broadcasts(true);
  auto [a, b, c, d] = h.in_channel("#a", "alice", "bob", "carol", "dave");
  const std::size_t a0 = a.peer->sends;
  h.raw(d, "PRIVMSG #a :before\r\n");
  h.server->eof(*b.id, h.now);
  h.server->eof(*c.id, h.now);
  EXPECT_TRUE(a.take().empty());  // held until the turn ends
  h.server->flush_broadcasts();
  EXPECT_EQ(a.take(), (std::vector<std::string>{":dave!~dave@127.0.0.1 PRIVMSG #a :before",
                                                 ":bob!~bob@127.0.0.1 QUIT :Connection closed",
                                                 ":carol!~carol@127.0.0.1 QUIT :Connection closed"}));
  EXPECT_EQ(a.peer->sends, a0 + 1);  // one buffer, one send
  EXPECT_EQ(H::only(b.take(), "ERROR"), std::vector<std::string>{"ERROR :Closing Link: 127.0.0.1 (Connection closed)"});
  EXPECT_EQ(d.take(), (std::vector<std::string>{":bob!~bob@127.0.0.1 QUIT :Connection closed",
                                                 ":carol!~carol@127.0.0.1 QUIT :Connection closed"}));
  EXPECT_EQ(h.server->stats().connections, 2u);
  h.check();
}

TEST(IrcQuit, PeerLostIsAQuit) {
  H h;
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  h.server->disconnected(*b.id, "Connection reset by peer");
  EXPECT_EQ(a.take(), std::vector<std::string>{":bob!~bob@127.0.0.1 QUIT :Connection reset by peer"});
  h.check();
}

// Quits that are not the client closing its end take the same shared buffer (issue #21): lost
// peers and SendQ overflows (reaped at the end of the entry point) and ping timeouts of one turn
// reach each member that stays in one send, after the lines said before them.
TEST(IrcQuit, LostPeersAndPingTimeoutsOfOneTurnGoOutTogether) {
  Config cfg = quiet();
  cfg.ping_interval = 90s;
  cfg.ping_timeout = 60s;
  H h(cfg);
  h.server->set_hold_broadcasts(true);
  auto [a, b, c, d, e] = h.in_channel("#a", "alice", "bob", "carol", "dave", "erin");
  h.advance(90s);  // everyone is pinged; alice and dave answer, carol and erin do not
  h.send(a, "PONG :irc.sockit.local");
  h.send(d, "PONG :irc.sockit.local");
  h.server->flush_broadcasts();
  (void)a.take();
  (void)d.take();
  const std::size_t a0 = a.peer->sends;
  h.raw(d, "PRIVMSG #a :before\r\n");
  h.server->disconnected(*b.id, "Connection reset by peer");  // a lost peer: reaped, its QUIT held
  h.advance(60s);                                            // carol and erin time out
  EXPECT_TRUE(a.take().empty());                             // held until the turn ends
  h.server->flush_broadcasts();
  const std::vector<std::string> quits{":bob!~bob@127.0.0.1 QUIT :Connection reset by peer",
                                       ":carol!~carol@127.0.0.1 QUIT :Ping timeout: 150 seconds",
                                       ":erin!~erin@127.0.0.1 QUIT :Ping timeout: 150 seconds"};
  std::vector<std::string> want{":dave!~dave@127.0.0.1 PRIVMSG #a :before"};
  want.insert(want.end(), quits.begin(), quits.end());
  EXPECT_EQ(a.take(), want);
  EXPECT_EQ(a.peer->sends, a0 + 1);  // one buffer, one send
  EXPECT_EQ(d.take(), quits);
  EXPECT_EQ(H::only(c.take(), "ERROR"), std::vector<std::string>{"ERROR :Closing Link: 127.0.0.1 (Ping timeout: 150 seconds)"});
  EXPECT_TRUE(c.peer->closed);
  EXPECT_TRUE(e.peer->closed);
  EXPECT_EQ(h.server->stats().connections, 2u);
  h.check();
}

// Without the turn-level hold, QUITs of members that one flush pushed over their SendQ go out at
// the end of that entry point, together, not at the next one.
TEST(IrcQuit, SendQOverflowsOfOneFlushGoOutTogetherAtOnce) {
  Config cfg = quiet();
  cfg.sendq = 4096;
  cfg.flood_rate = 0;  // flood control off
  H h(cfg);
  auto [a, s1, s2, ok] = h.in_channel("#f", "alice", "slow1", "slow2", "ok");
  s1.peer->stalled = true;
  s2.peer->stalled = true;
  const std::string big(400, 'y');
  // Both slow readers filled to within one long line of the cap, then that line overflows both.
  while (std::min(s1.peer->out.size(), s2.peer->out.size()) + big.size() + 40 <= cfg.sendq) {
    h.send(a, "PRIVMSG #f :" + std::string(100, 'x'));
  }
  ASSERT_FALSE(s1.peer->closed_now || s2.peer->closed_now);
  (void)ok.take();
  const std::size_t ok0 = ok.peer->sends;
  h.send(a, "PRIVMSG #f :" + big);
  ASSERT_TRUE(s1.peer->closed_now);
  ASSERT_TRUE(s2.peer->closed_now);
  // The line that overflowed both, then both QUITs in one more send, within that entry point.
  EXPECT_EQ(ok.peer->sends, ok0 + 2);
  // (Reaped in reverse order of their doom: slow2 first.)
  EXPECT_EQ(ok.take(), (std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG #f :" + big,
                                                 ":slow2!~slow2@127.0.0.1 QUIT :SendQ exceeded",
                                                 ":slow1!~slow1@127.0.0.1 QUIT :SendQ exceeded"}));
  EXPECT_EQ(h.server->stats().sendq_exceeded, 2u);
  h.check();
}
