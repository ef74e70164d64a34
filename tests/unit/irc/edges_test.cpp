// Protocol edges of irc::parse and irc::Server on the sans-I/O core (issue #24 item 5, issue #23
// item 8); the same behaviour over loopback is in tests/integration/irc/edges_test.cpp.
#include "fake_peer.hpp"

using namespace sockit::irc;
using namespace sockit::irc::test;
using H = Harness;

TEST(IrcParseEdges, TabSeparatedWordsAreOneBadCommand) {
  auto r = parse("JOIN\t#a");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error, ParseError::bad_command);
  EXPECT_EQ(r.bad_command, "JOIN\t#a");
  EXPECT_EQ(parse(":srv 12345 x").bad_command, "12345");
}

TEST(IrcEdges, TabSeparatedCommandGets421OrBefore001Gets451) {
  H h;
  auto& pre = h.connect();
  h.send(pre, "NICK\tx");
  EXPECT_EQ(pre.take(), std::vector<std::string>{":irc.sockit.local 451 * :You have not registered"});
  auto& a = h.user("alice");
  h.send(a, "JOIN\t#a");
  EXPECT_EQ(a.take(), std::vector<std::string>{
                          ":irc.sockit.local 421 alice JOIN\t#a :Unknown command (separate words with spaces, not tabs)"});
}

TEST(IrcEdges, WordsPastTheLastParameterJoinIt) {
  H h;
  auto [a, b] = h.in_channel("#t", "alice", "bob");
  h.send(a, "PRIVMSG bob hi there you");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 PRIVMSG bob :hi there you"});
  h.send(a, "QUIT a b c");
  EXPECT_EQ(b.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 QUIT :Quit: a b c"});
  h.check();
}

TEST(IrcEdges, KeysWithSpaceCommaOrLeadingColonAreRefused) {
  H h;
  auto [a] = h.in_channel("#k", "alice");
  for (const char* mode : {"MODE #k +k :a b", "MODE #k +k ::x", "MODE #k +k a,b"}) {
    h.send(a, mode);
    EXPECT_EQ(a.take(), std::vector<std::string>{":irc.sockit.local 525 alice #k :Key is not well-formed"}) << mode;
  }
  h.send(a, "MODE #k");
  EXPECT_EQ(a.take().at(0), ":irc.sockit.local 324 alice #k +nt");
}
