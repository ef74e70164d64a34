// `sockit chat-server` over real loopback sockets: ban exceptions +e, invite exceptions +I and the
// no-CTCP mode +C with three clients (issue #17 item 3).
#include "irc_client.hpp"

using namespace sockit;
using namespace sockit::irc::itest;
using namespace std::chrono_literals;

namespace {
const std::vector<std::string> kNoFlood{"--no-flood-control"};
}  // namespace

// +b everyone, +e bob and carol, +I carol: bob joins past the ban once -i, carol past +i and the
// ban, dave gets 473; the exception lists 348/349; a CTCP VERSION to the +C channel is 404 while
// an ACTION and the excepted member's text reach the others.
TEST(ChatServerChannelLists, ExceptInvexAndNoCtcpOverSockets) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address()), c(srv.address()), d(srv.address());
  a.register_as("alice");
  b.register_as("bob");
  c.register_as("carol");
  d.register_as("dave");
  a.send("JOIN #x");
  a.expect("366");
  a.send("MODE #x +ibeeI *!*@* bob carol carol");
  EXPECT_EQ(a.expect("MODE"), ":alice!~alice@127.0.0.1 MODE #x +ibeeI *!*@* bob!*@* carol!*@* :carol!*@*");
  b.send("JOIN #x");
  EXPECT_EQ(b.expect_any({"473", "JOIN"}), ":irc.sockit.local 473 bob #x :Cannot join channel (+i)");
  a.send("MODE #x -i");
  a.expect("MODE");
  b.send("JOIN #x");
  EXPECT_EQ(b.expect_any({"474", "JOIN"}).rfind(":bob!~bob@127.0.0.1 JOIN ", 0), 0u);
  a.send("MODE #x +i");
  a.expect("MODE");
  c.send("JOIN #x");
  EXPECT_EQ(c.expect_any({"473", "474", "JOIN"}).rfind(":carol!~carol@127.0.0.1 JOIN ", 0), 0u);
  d.send("JOIN #x");
  EXPECT_EQ(d.expect_any({"473", "474", "JOIN"}), ":irc.sockit.local 473 dave #x :Cannot join channel (+i)");
  a.send("MODE #x e");
  EXPECT_EQ(a.expect("348").rfind(":irc.sockit.local 348 alice #x bob!*@* alice ", 0), 0u);
  EXPECT_EQ(a.expect("348").rfind(":irc.sockit.local 348 alice #x carol!*@* alice ", 0), 0u);
  a.expect("349");
  a.send("MODE #x +C");
  // bob saw the +i set after he joined, then the +C: his CTCP goes after both took effect.
  EXPECT_EQ(b.expect("MODE"), ":alice!~alice@127.0.0.1 MODE #x :+i");
  EXPECT_EQ(b.expect("MODE"), ":alice!~alice@127.0.0.1 MODE #x :+C");
  b.send("PRIVMSG #x :\x01VERSION\x01");
  EXPECT_EQ(b.expect("404"), ":irc.sockit.local 404 bob #x :Cannot send CTCP to channel (+C)");
  b.send("PRIVMSG #x :\x01" "ACTION waves\x01");
  EXPECT_EQ(c.expect("PRIVMSG"), ":bob!~bob@127.0.0.1 PRIVMSG #x :\x01" "ACTION waves\x01");
  b.send("PRIVMSG #x :banned but excepted");
  EXPECT_EQ(a.expect("PRIVMSG"), ":bob!~bob@127.0.0.1 PRIVMSG #x :\x01" "ACTION waves\x01");
  EXPECT_EQ(a.expect("PRIVMSG"), ":bob!~bob@127.0.0.1 PRIVMSG #x :banned but excepted");
}

// MAXLIST=beI:N from the configuration bounds the three lists together: 478 names the letter.
TEST(ChatServerChannelLists, ListsShareMaxlistAnd478NamesTheLetter) {
  ChatServer srv(kNoFlood);
  Client a(srv.address());
  a.send("NICK alice");
  a.send("USER alice 0 * :Alice");
  std::string isupport;
  while (true) {
    std::string l = a.expect_any({"005", "376", "422"});
    if (l.find(" 005 ") == std::string::npos) break;
    isupport += l;
  }
  for (auto tok : {" CHANMODES=beI,k,l,Cimnst ", " EXCEPTS=e ", " INVEX=I ", " MAXLIST=beI:100 "}) {
    EXPECT_NE(isupport.find(tok), std::string::npos) << tok << " in " << isupport;
  }
  a.send("JOIN #x");
  a.expect("366");
  for (int i = 0; i < 100; i += 4) {
    std::string n = std::to_string(i);
    a.send("MODE #x +beIb b" + n + " e" + n + " i" + n + " c" + n);
    a.expect("MODE");
  }
  a.send("MODE #x +I full");
  EXPECT_EQ(a.expect_any({"478", "MODE"}), ":irc.sockit.local 478 alice #x I :Channel list is full");
}
