// `sockit chat` against a real `sockit chat-server` (or no server) on loopback: what the user
// reads (issue #23 item 7): a /quit, a server without MOTD, a bad nick, a script whose server is
// not there.
#include "irc_client.hpp"

using namespace sockit;
using namespace sockit::irc::itest;
using namespace std::chrono_literals;

namespace {
const std::vector<std::string> kNoFlood{"--no-flood-control"};

// A port nothing listens on: bound to 127.0.0.1:0 and released.
std::uint16_t dead_port() {
  auto l = TcpListener::bind(Address::ipv4_loopback(0));
  if (!l) return 9;
  auto a = l->local_address();
  return a ? a->port() : std::uint16_t{9};
}
}  // namespace

// #23.7: a normal /quit reads as the end the user asked for, and a server without a MOTD is no
// error: nothing on stderr, no "Server error", no "Disconnected".
TEST(ChatClientMessages, QuitAndMissingMotdAreNotErrors) {
  ChatServer srv(kNoFlood);
  auto chat = test::Child::spawn({test::sockit_bin(), "chat", "127.0.0.1", std::to_string(srv.port()), "--nick",
                                  "alice", "--plain", "--no-reconnect"});
  std::string out = chat.read_stdout_until("MOTD", 10s);  // the end of the welcome burst
  ASSERT_TRUE(chat.write_stdin("/quit bye\n"));
  chat.close_stdin();
  out += chat.read_stdout(10s);
  std::string err = chat.read_stderr(1s);
  EXPECT_EQ(chat.wait(10s), 0) << out << err;
  EXPECT_EQ(err, "");
  EXPECT_NE(out.find("[status] * No message of the day (MOTD File is missing)"), std::string::npos) << out;
  EXPECT_NE(out.find("[status] * Left the server (Closing Link: "), std::string::npos) << out;
  EXPECT_EQ(out.find("Server error"), std::string::npos) << out;
  EXPECT_EQ(out.find("Disconnected"), std::string::npos) << out;
}

// #23.7: a usage error names the command once ("sockit chat: not a valid nick").
TEST(ChatClientMessages, BadNickIsOneUsageLine) {
  auto r = test::run({test::sockit_bin(), "chat", "127.0.0.1", "6667", "--nick", "1bad"}, "", 10s);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("sockit chat: not a valid nick: '1bad'\n", 0), 0u) << r.err;
}

// #23.7: in line mode with stdin at its end and nothing ever sent, a server that cannot be
// reached ends the run (exit 1) instead of retrying forever.
TEST(ChatClientMessages, LineModeGivesUpWhenStdinHasEndedAndNoServer) {
  std::uint16_t port = dead_port();
  auto start = std::chrono::steady_clock::now();
  auto r = test::run({test::sockit_bin(), "chat", "127.0.0.1", std::to_string(port), "--plain"}, "hi\n", 20s);
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_NE(r.err.find("standard input has ended: giving up"), std::string::npos) << r.err;
}
