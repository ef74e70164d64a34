// `sockit chat-server` over real loopback sockets: WHOX and the WHO flags, MONITOR with its limit
// from the configuration file, bot mode (+B, 335) (issue #17 item 3).
#include "irc_client.hpp"

#include <fstream>

using namespace sockit;
using namespace sockit::irc::itest;
using namespace std::chrono_literals;

namespace {
const std::vector<std::string> kNoFlood{"--no-flood-control"};
}  // namespace

TEST(ChatServerWhoMonitor, MonitorNotifiesAcrossConnectionsAndHonoursTheConfiguredLimit) {
  std::string conf = ::testing::TempDir() + "/irc_monitor.toml";
  {
    std::ofstream f(conf);
    f << "[limits]\nmonitor_limit = 2\n[flood]\nrate = 0\n";
  }
  ChatServer srv({"--config", conf});
  Client a(srv.address());
  a.register_as("alice");
  bool advertised = false;
  for (const std::string& l : a.seen()) advertised |= l.find(" MONITOR=2 ") != std::string::npos;
  EXPECT_TRUE(advertised) << a.dump();
  a.send("MONITOR + bob,carol,dave");
  EXPECT_EQ(a.expect("731"), ":irc.sockit.local 731 alice :bob,carol");
  EXPECT_EQ(a.expect("734"), ":irc.sockit.local 734 alice 2 dave :Monitor list is full.");
  {
    Client b(srv.address());
    b.register_as("Bob");
    EXPECT_EQ(a.expect("730"), ":irc.sockit.local 730 alice :Bob!~Bob@127.0.0.1");
    b.send("NICK carol");
    EXPECT_EQ(a.expect("731"), ":irc.sockit.local 731 alice :Bob");
    EXPECT_EQ(a.expect("730"), ":irc.sockit.local 730 alice :carol!~Bob@127.0.0.1");
  }  // b's connection closes without QUIT: still an offline notice
  EXPECT_EQ(a.expect("731"), ":irc.sockit.local 731 alice :carol");
  a.send("MONITOR L");
  EXPECT_EQ(a.expect("732"), ":irc.sockit.local 732 alice :bob,carol");
  a.expect("733");
  std::remove(conf.c_str());
}

TEST(ChatServerWhoMonitor, WhoxAndBotFlagOverTheWire) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address());
  a.register_as("alice");
  b.register_as("bot1");
  b.send("MODE bot1 +B");
  EXPECT_EQ(b.expect("MODE"), ":bot1 MODE bot1 :+B");
  a.send("JOIN #c");
  a.expect("366");
  b.send("JOIN #c");
  b.expect("366");
  a.send("WHO #c %tcnf,7");
  EXPECT_EQ(a.expect("354"), ":irc.sockit.local 354 alice 7 #c alice H@");
  EXPECT_EQ(a.expect("354"), ":irc.sockit.local 354 alice 7 #c bot1 HB");
  EXPECT_EQ(a.expect("315"), ":irc.sockit.local 315 alice #c :End of WHO list");
  a.send("WHOIS bot1");
  EXPECT_EQ(a.expect("335"), ":irc.sockit.local 335 alice bot1 :is a bot on sockit");
  a.expect("318");
}
