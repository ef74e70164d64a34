// `sockit chat-server` over real loopback sockets: the protocol edges of issue #24 item 5, QUIT
// with several words (issue #23 item 8) and SIGUSR1 (issue #23 item 4).
#include "irc_client.hpp"

#include <csignal>
#include <cstdio>
#include <memory>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

using namespace sockit;
using namespace sockit::irc::itest;
using namespace std::chrono_literals;

namespace {
const std::vector<std::string> kNoFlood{"--no-flood-control"};

std::string numeric_of(const std::string& line) {
  auto p = irc::parse(line);
  return p ? p.message->command : std::string();
}

}  // namespace

// #23.8: established servers ignore surplus parameters of QUIT instead of calling them too few;
// sockit joins them to the reason, as InspIRCd does.
TEST(ChatServerEdges, QuitWithSeveralWordsQuitsWithThem) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address());
  a.register_as("alice");
  b.register_as("bob");
  a.send("JOIN #t");
  a.expect("366");
  b.send("JOIN #t");
  b.expect("366");
  a.send("QUIT a b c");
  std::string err = a.expect_any({"ERROR", "461"});
  EXPECT_EQ(numeric_of(err), "ERROR") << err;
  EXPECT_EQ(b.expect("QUIT"), ":alice!~alice@127.0.0.1 QUIT :Quit: a b c");
}

// #24.5: more than 15 words: the parser folds the rest into the 15th parameter and the command
// takes what it needs; nothing says "Not enough parameters".
TEST(ChatServerEdges, SixteenWordsAreNotTooFewParameters) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address());
  a.register_as("alice");
  b.register_as("bob");
  a.send("PRIVMSG bob 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17");
  a.send("PING done");
  EXPECT_EQ(b.expect("PRIVMSG"), ":alice!~alice@127.0.0.1 PRIVMSG bob :1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17");
  a.expect("PONG");
  for (const auto& l : a.seen()) EXPECT_NE(numeric_of(l), "461") << l;
}

// #24.5: keys with a space, a comma or a leading ':' cannot be used in JOIN nor shown in 324 as
// one parameter: 525, and the channel stays without a key.
TEST(ChatServerEdges, MalformedChannelKeysAreRefused) {
  ChatServer srv(kNoFlood);
  Client a(srv.address());
  a.register_as("alice");
  a.send("JOIN #k");
  a.expect("366");
  for (std::string mode : {"MODE #k +k :a b", "MODE #k +k ::x", "MODE #k +k a,b"}) {
    a.send(mode);
    EXPECT_EQ(a.expect_any({"525", "MODE"}), ":irc.sockit.local 525 alice #k :Key is not well-formed") << mode;
  }
  a.send("MODE #k");
  EXPECT_EQ(a.expect("324"), ":irc.sockit.local 324 alice #k +nt");
  a.send("MODE #k +k good");
  EXPECT_EQ(a.expect("MODE"), ":alice!~alice@127.0.0.1 MODE #k +k :good");
  a.send("MODE #k");
  EXPECT_EQ(a.expect("324"), ":irc.sockit.local 324 alice #k +knt good");
}

// #24.5: words separated by tabs are one unknown command (parameters are separated by spaces):
// a 421 that says so, not silence.
TEST(ChatServerEdges, TabSeparatedCommandGetsAnAnswer) {
  ChatServer srv(kNoFlood);
  Client a(srv.address());
  a.register_as("alice");
  a.send("JOIN\t#t");
  EXPECT_EQ(a.expect("421"),
            ":irc.sockit.local 421 alice JOIN\t#t :Unknown command (separate words with spaces, not tabs)");
}

// #24.5: NAMES without a channel: one 366 with "*", as InspIRCd and Ergo answer (Modern IRC),
// whose text says what to ask instead.
TEST(ChatServerEdges, NamesWithoutChannelSaysWhy) {
  ChatServer srv(kNoFlood);
  Client a(srv.address());
  a.register_as("alice");
  a.send("JOIN #t");
  a.expect("366");
  a.send("NAMES");
  EXPECT_EQ(a.expect("366"), ":irc.sockit.local 366 alice * :End of /NAMES list (name a channel: NAMES #channel)");
}

// #24.5: with --backend select, a connection whose descriptor select() cannot watch (>= 1024)
// reads an ERROR line before the close. The server inherits descriptors up to 1023 with a few
// low ones left free, so its first connections fit and the next ones land past FD_SETSIZE.
TEST(ChatServerEdges, SelectBackendSaysErrorPastFdSetsize) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1200) GTEST_SKIP() << "RLIMIT_NOFILE hard limit under 1200";
  rlimit raised = rl;
  raised.rlim_cur = std::min<rlim_t>(rl.rlim_max, 4096);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &raised), 0);
  std::vector<int> held;
  while (true) {
    int fd = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC: the server inherits it
    ASSERT_GE(fd, 0);
    held.push_back(fd);
    if (fd >= FD_SETSIZE - 1) break;
  }
  for (std::size_t i = 0; i < 16 && i < held.size(); ++i) ::close(held[i]);
  std::optional<ChatServer> srv;
  srv.emplace(std::vector<std::string>{"--backend", "select", "--no-flood-control", "--max-per-ip", "0"});
  for (std::size_t i = 16; i < held.size(); ++i) ::close(held[i]);
  ::setrlimit(RLIMIT_NOFILE, &rl);

  std::vector<std::unique_ptr<Client>> clients;
  std::string refused;
  for (int i = 0; i < 200 && refused.empty(); ++i) {
    auto c = std::make_unique<Client>(srv->address());
    ASSERT_TRUE(c->connected());
    c->send("PING x" + std::to_string(i));
    auto l = c->line(5s);
    ASSERT_TRUE(l) << "connection " << i << " got neither PONG nor ERROR";
    if (numeric_of(*l) == "ERROR") refused = *l;
    clients.push_back(std::move(c));
  }
  EXPECT_EQ(refused, "ERROR :Server full");
  std::string err = srv->wait_log("FD_SETSIZE", 5s);
  EXPECT_NE(err.find("over FD_SETSIZE"), std::string::npos) << err;
  // The connections it watches still work.
  clients.front()->send("PING still");
  EXPECT_NE(clients.front()->expect("PONG").find("still"), std::string::npos);
}

// #23.4: SIGUSR1 prints the counters and the server keeps serving (it used to die, status 138).
TEST(ChatServerSignals, Usr1PrintsCountersAndKeepsServing) {
  ChatServer srv(kNoFlood);
  Client a(srv.address());
  a.register_as("alice");
  a.send("JOIN #t");
  a.expect("366");
  srv.child().signal(SIGUSR1);
  std::string err = srv.wait_log("bytes_out=", 5s);
  EXPECT_NE(err.find("counters: users=1 registered=1 operators=0 channels=1"), std::string::npos) << err;
  EXPECT_EQ(srv.child().wait(0ms), std::nullopt) << "the server died of SIGUSR1";
  a.send("PING after");
  EXPECT_NE(a.expect("PONG").find("after"), std::string::npos);
  srv.child().signal(SIGTERM);
  EXPECT_EQ(srv.child().wait(10s), 0);
}

// The harness drains the server's stderr all the time: 600 clients that connect, register and quit
// make the server log at debug about three times a pipe's 64 KiB (three lines each, ~300 bytes; at
// the default level a connection is one line); a harness that read only the banner left the server
// stalled on write(2) and the later clients unanswered.
TEST(ChatServerHarness, ServerThatLogsMoreThanAPipeHoldsKeepsAnswering) {
  ChatServer srv({"--no-flood-control", "--max-per-ip", "0", "--log-level", "debug"});
  constexpr int kClients = 600, kBatch = 50;
  for (int base = 0; base < kClients; base += kBatch) {
    std::vector<std::unique_ptr<Client>> batch;
    for (int i = 0; i < kBatch; ++i) {
      batch.push_back(std::make_unique<Client>(srv.address()));
      ASSERT_TRUE(batch.back()->connected()) << "client " << base + i;
      const std::string nick = "n" + std::to_string(base + i);
      batch.back()->raw("NICK " + nick + "\r\nUSER u 0 * :u\r\nQUIT :bye\r\n");
    }
    for (int i = 0; i < kBatch; ++i) {
      ASSERT_FALSE(batch[static_cast<std::size_t>(i)]->expect("001", 10s).empty()) << "client " << base + i;
      ASSERT_TRUE(batch[static_cast<std::size_t>(i)]->closed_within(10s)) << "client " << base + i;
    }
  }
  // The last client's quit line arrives; by then the server wrote > 64 KiB.
  const std::string last_quit = "nick=n" + std::to_string(kClients - 1) + " ip=127.0.0.1 reason=";
  EXPECT_NE(srv.wait_log(last_quit, 10s).find(last_quit), std::string::npos) << srv.log().substr(0, 2000);
  EXPECT_GT(srv.log_bytes(), 64u * 1024);
  Client late(srv.address());
  late.register_as("late");
  late.send("PING :alive");
  EXPECT_EQ(late.expect("PONG"), ":irc.sockit.local PONG irc.sockit.local :alive");
  std::printf("harness: %d clients, %zu bytes of server log drained\n", kClients, srv.log_bytes());
}
