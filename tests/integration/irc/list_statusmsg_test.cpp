// `sockit chat-server` over real loopback sockets: LIST filters and masks, STATUSMSG with three
// clients, and the conformance rows fixed with them (PART :, KICK #c :, $mask from a user,
// VERSION's 005 lines), issue #17 items 1 and 3.
#include "irc_client.hpp"

#include <algorithm>

using namespace sockit;
using namespace sockit::irc::itest;
using namespace std::chrono_literals;

namespace {
const std::vector<std::string> kNoFlood{"--no-flood-control"};

std::string command_of(const std::string& line) {
  auto p = irc::parse(line);
  return p ? p.message->command : std::string();
}

/// Sends `query` and reads up to its 323: the channels its 322 lines name, sorted.
std::vector<std::string> list(Client& c, const std::string& query) {
  c.send(query);
  std::vector<std::string> names;
  c.expect("321");
  while (true) {
    std::string l = c.expect_any({"322", "323"});
    if (command_of(l) != "322") break;
    names.push_back(irc::parse(l).message->params.at(1));
  }
  std::sort(names.begin(), names.end());
  return names;
}

using Names = std::vector<std::string>;

}  // namespace

// ELIST=CMNTU advertised; U (user counts), M and N (masks), several channels and the secret
// channel hidden from a non-member, on a real server.
TEST(ChatServerList, FiltersMasksAndSeveralChannels) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address());
  a.send("NICK alice");
  a.send("USER alice 0 * :Alice");
  std::string isupport;
  while (true) {
    std::string l = a.expect_any({"005", "376", "422"});
    if (command_of(l) != "005") break;
    isupport += l;
  }
  EXPECT_NE(isupport.find(" ELIST=CMNTU "), std::string::npos) << isupport;
  EXPECT_NE(isupport.find(" STATUSMSG=@+ "), std::string::npos) << isupport;
  b.register_as("bob");
  a.send("JOIN #lone,#pair,#secret");
  a.send("MODE #secret +s");
  a.expect("MODE");
  b.send("JOIN #pair");
  b.expect("366");
  EXPECT_EQ(list(b, "LIST >1"), (Names{"#pair"}));
  EXPECT_EQ(list(b, "LIST <2"), (Names{"#lone"}));
  EXPECT_EQ(list(b, "LIST #p*"), (Names{"#pair"}));
  EXPECT_EQ(list(b, "LIST !#p*"), (Names{"#lone"}));
  EXPECT_EQ(list(b, "LIST #lone,#pair,#secret"), (Names{"#lone", "#pair"}));
  EXPECT_EQ(list(a, "LIST #lone,#pair,#secret"), (Names{"#lone", "#pair", "#secret"}));
  EXPECT_EQ(list(b, "LIST C<5"), (Names{"#lone", "#pair"}));
}

// STATUSMSG with three clients: @#c reaches the operator only, +#c the voiced and the operator;
// the prefix stays in the target.
TEST(ChatServerStatusMsg, ReachesOnlyMembersWithThatStatusOrHigher) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address()), c(srv.address());
  a.register_as("alice");
  b.register_as("bob");
  c.register_as("carol");
  a.send("JOIN #s");
  a.expect("366");
  b.send("JOIN #s");
  b.expect("366");
  c.send("JOIN #s");
  c.expect("366");
  a.send("MODE #s +v bob");
  b.expect("MODE");
  c.expect("MODE");
  c.send("PRIVMSG @#s :ops only");
  c.send("PRIVMSG +#s :voiced and ops");
  c.send("PRIVMSG #s :everyone");
  EXPECT_EQ(a.expect("PRIVMSG"), ":carol!~carol@127.0.0.1 PRIVMSG @#s :ops only");
  EXPECT_EQ(a.expect("PRIVMSG"), ":carol!~carol@127.0.0.1 PRIVMSG +#s :voiced and ops");
  EXPECT_EQ(a.expect("PRIVMSG"), ":carol!~carol@127.0.0.1 PRIVMSG #s :everyone");
  EXPECT_EQ(b.expect("PRIVMSG"), ":carol!~carol@127.0.0.1 PRIVMSG +#s :voiced and ops");
  EXPECT_EQ(b.expect("PRIVMSG"), ":carol!~carol@127.0.0.1 PRIVMSG #s :everyone");
  c.send("PING done");
  c.expect("PONG");
  for (const auto& l : c.seen()) EXPECT_NE(command_of(l), "PRIVMSG") << l;
}

// The conformance rows fixed with them: PART : and KICK #c : are 461, PRIVMSG $mask from a user
// is 481, VERSION sends 351 then 005.
TEST(ChatServerConformance, EmptyPartAndKickServerMaskAndVersion) {
  ChatServer srv(kNoFlood);
  Client a(srv.address());
  a.register_as("alice");
  a.send("JOIN #c");
  a.expect("366");
  a.send("PART :");
  EXPECT_EQ(a.expect("461"), ":irc.sockit.local 461 alice PART :Not enough parameters");
  a.send("KICK #c :");
  EXPECT_EQ(a.expect("461"), ":irc.sockit.local 461 alice KICK :Not enough parameters");
  a.send("PRIVMSG $*.local :all");
  EXPECT_EQ(a.expect("481"), ":irc.sockit.local 481 alice :Permission Denied- You're not an IRC operator");
  a.send("VERSION");
  EXPECT_EQ(command_of(a.expect("351")), "351");
  std::string next = a.line(5s).value_or("");
  EXPECT_EQ(command_of(next), "005") << next;
}
