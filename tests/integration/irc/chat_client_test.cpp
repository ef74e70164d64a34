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

namespace {
// One connection of a scripted IRC server: reads lines until one starts with `prefix`.
bool read_until_line(TcpStream& s, std::string& buf, std::string_view prefix, std::chrono::milliseconds timeout) {
  Deadline dl = Deadline::after(timeout);
  for (;;) {
    for (std::size_t eol; (eol = buf.find("\r\n")) != std::string::npos;) {
      const std::string line = buf.substr(0, eol);
      buf.erase(0, eol + 2);
      if (line.rfind(prefix, 0) == 0) return true;
    }
    char tmp[4096];
    auto n = s.read_some(std::as_writable_bytes(std::span(tmp)), dl);
    if (!n || *n == 0) return false;
    buf.append(tmp, *n);
  }
}
}  // namespace

// The client on sockit's loop: when the server closes, the reconnect timer (backoff) brings it
// back, it registers again and rejoins its channel; after /quit it waits for the server's close
// at most its quit deadline, then exits 0.
TEST(ChatClientLoop, ReconnectsAfterServerCloseRejoinsAndQuitsOnDeadline) {
  auto l = TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l);
  const auto port = l->local_address()->port();
  auto chat = test::Child::spawn({test::sockit_bin(), "chat", "127.0.0.1", std::to_string(port), "--nick", "alice",
                                  "--plain", "--join", "#t", "--reconnect-min", "50ms", "--reconnect-max", "100ms"});
  std::string buf;
  auto first = l->accept(Deadline::after(10s));
  ASSERT_TRUE(first);
  ASSERT_TRUE(read_until_line(*first, buf, "USER ", 10s));
  ASSERT_TRUE(first->write_all(":srv 001 alice :Welcome\r\n", Deadline::after(5s)));
  ASSERT_TRUE(read_until_line(*first, buf, "JOIN #t", 10s));
  ASSERT_TRUE(first->write_all(":alice!a@h JOIN #t\r\n", Deadline::after(5s)));
  ASSERT_TRUE(first->shutdown_write());  // a FIN; then wait for the client's close (no RST)
  EXPECT_FALSE(read_until_line(*first, buf, "never", 10s));
  first->close();

  auto second = l->accept(Deadline::after(10s));
  ASSERT_TRUE(second);
  buf.clear();
  ASSERT_TRUE(read_until_line(*second, buf, "USER ", 10s));
  ASSERT_TRUE(second->write_all(":srv 001 alice :Welcome back\r\n", Deadline::after(5s)));
  EXPECT_TRUE(read_until_line(*second, buf, "JOIN #t", 10s));

  ASSERT_TRUE(chat.write_stdin("/quit\n"));
  EXPECT_TRUE(read_until_line(*second, buf, "QUIT", 10s));
  chat.close_stdin();  // the server never closes: the client's quit deadline ends it
  EXPECT_EQ(chat.wait(10s), 0);
  const std::string out = chat.read_stdout(1s);
  const std::string err = chat.read_stderr(1s);
  EXPECT_NE(out.find("[status] Reconnecting in "), std::string::npos) << out;
  EXPECT_NE(err.find("chat: Disconnected: the server closed the connection"), std::string::npos) << err;
}
