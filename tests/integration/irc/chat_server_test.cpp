// `sockit chat-server` over real loopback sockets: commands and their error numerics, line
// boundaries, limits, signals. Each test starts its own server on 127.0.0.1:0.
#include "irc_client.hpp"

#include "sockit/irc/password.hpp"
#include "sockit/loop/poller.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

using namespace sockit;
using namespace sockit::irc::itest;
using namespace std::chrono_literals;

namespace {
std::string numeric_of(const std::string& line) {
  auto p = irc::parse(line);
  return p ? p.message->command : std::string();
}
const std::vector<std::string> kNoFlood{"--no-flood-control"};
}  // namespace

class ChatServerBackend : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatServerBackend, RegistersJoinsAndTalks) {
  ChatServer srv({"--backend", GetParam(), "--no-flood-control"});
  Client a(srv.address()), b(srv.address());
  a.send("CAP LS 302");
  EXPECT_NE(a.expect("CAP").find("multi-prefix"), std::string::npos);
  a.send("NICK alice");
  a.send("USER alice 0 * :Alice");
  a.send("CAP REQ :multi-prefix");
  a.expect("CAP");
  a.send("CAP END");
  EXPECT_EQ(a.expect("001"), ":irc.sockit.local 001 alice :Welcome to the sockit IRC Network alice!~alice@127.0.0.1");
  EXPECT_NE(a.expect("005").find("CASEMAPPING=rfc1459"), std::string::npos);
  a.expect("422");
  b.register_as("bob");
  a.send("JOIN #room");
  a.expect("366");
  b.send("JOIN #room");
  EXPECT_EQ(b.expect("353"), ":irc.sockit.local 353 bob = #room :@alice bob");
  EXPECT_EQ(a.expect("JOIN"), ":bob!~bob@127.0.0.1 JOIN #room");
  b.send("PRIVMSG #room :hello alice");
  EXPECT_EQ(a.expect("PRIVMSG"), ":bob!~bob@127.0.0.1 PRIVMSG #room :hello alice");
  a.send("NOTICE bob :hi bob");
  EXPECT_EQ(b.expect("NOTICE"), ":alice!~alice@127.0.0.1 NOTICE bob :hi bob");
  srv.child().signal(SIGTERM);
  EXPECT_EQ(srv.child().wait(10s), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ChatServerBackend, ::testing::Values("select", "poll", "epoll", "uring"));

// --backend auto: the io_uring poller where the kernel has it; where it refuses io_uring
// (SOCKIT_NO_URING stands for sysctl, seccomp or an old kernel) one log line says why and the
// server runs on epoll. The banner names the backend that runs.
TEST(ChatServerDefaults, AutoIsUringWhereTheKernelHasItElseEpollWithTheReason) {
  const std::string bin = test::sockit_bin();
  for (bool refused : {false, true}) {
    std::vector<std::string> env;
    if (refused) env.push_back("SOCKIT_NO_URING=1");
    auto child = test::Child::spawn({bin, "chat-server", "-l", "127.0.0.1:0", "--no-flood-control", "--backend", "auto"}, env);
    std::string err = child.read_stderr_until("connect with:", 20s);
    const bool ring = !refused && loop::uring_available();
    const auto at = err.find("io_uring unavailable (io_uring turned off by SOCKIT_NO_URING");
    const auto says = err.find("); the chat server runs on epoll\n", at == std::string::npos ? 0 : at);
    EXPECT_EQ(at != std::string::npos && says != std::string::npos, refused) << err;
    if (refused) {
      EXPECT_EQ(err.find("io_uring", says), std::string::npos) << "one line only:\n" << err;
    }
    const std::string banner = ring ? " (uring)" : " (epoll)";
    auto end = err.find(banner);
    ASSERT_NE(end, std::string::npos) << err;
    {
      Client c(Address::ipv4_loopback(static_cast<std::uint16_t>(std::stoul(err.substr(err.rfind(':', end) + 1)))));
      c.register_as("nick");
    }
    child.signal(SIGTERM);
    EXPECT_EQ(child.wait(10s), 0);
  }
}

// The default --output-hold is 10ms on the uring backend: a receiver that sent nothing lately gets
// its small output up to 10 ms later, with the lines of the turns meanwhile; --output-hold 0 (and
// any other backend) writes it at the end of the turn.
TEST(ChatServerDefaults, OutputHoldIsTenMillisecondsOnUringAndOffOtherwise) {
  auto median_ms = [](std::vector<std::string> args, bool& ring) {
    args.insert(args.end(), {"--no-flood-control", "--backend", "auto"});
    ChatServer srv(args);
    ring = srv.banner().find(" (uring)") != std::string::npos;
    Client a(srv.address()), b(srv.address());
    a.register_as("alice");
    b.register_as("bob");
    std::vector<double> ms;
    for (int i = 0; i < 15; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      a.send("PRIVMSG bob :probe " + std::to_string(i));
      b.expect("PRIVMSG", 10s);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  };
  bool ring = false, ring_off = false;
  const double held = median_ms({}, ring), off = median_ms({"--output-hold", "0"}, ring_off);
  std::printf("PRIVMSG to a passive receiver, median: %.2f ms by default (%s), %.2f ms with --output-hold 0\n", held,
              ring ? "uring" : "not uring", off);
  EXPECT_EQ(ring, ring_off);
  if (ring) {
    EXPECT_GE(held, 8.0);  // the hold is 10 ms from the first line queued
  } else {
    EXPECT_LT(held, 8.0);
  }
  EXPECT_LT(off, 8.0);
}

// One row per command misuse: the command and the numeric it must answer with.
TEST(ChatServer, EveryCommandAnswersItsErrorNumeric) {
  ChatServer srv(kNoFlood);
  Client other(srv.address());
  other.register_as("other");
  other.send("JOIN #busy");
  other.expect("366");
  Client c(srv.address());
  // Before registration.
  const std::vector<std::pair<std::string, std::string>> before = {
      {"JOIN #a", "451"}, {"PRIVMSG x :y", "451"}, {"FOO", "451"}, {"USER a b c", "461"},
      {"NICK", "431"},    {"NICK 9lives", "432"},  {"NICK other", "433"}, {"CAP BOGUS", "410"},
  };
  for (auto& [cmd, num] : before) {
    c.send(cmd);
    auto l = c.line();
    ASSERT_TRUE(l) << cmd;
    EXPECT_EQ(numeric_of(*l), num) << cmd << " -> " << *l;
  }
  c.register_as("me");
  const std::vector<std::pair<std::string, std::string>> after = {
      {"FROBNICATE", "421"},
      {"USER a b c d", "462"},
      {"PASS x", "462"},
      {"JOIN", "461"},
      {"JOIN nochan", "403"},
      {"PART #nowhere", "403"},
      {"PART #busy", "442"},
      {"PRIVMSG", "411"},
      {"PRIVMSG other", "412"},
      {"PRIVMSG ghost :x", "401"},
      {"PRIVMSG a,b,c,d,e :x", "407"},
      {"PRIVMSG #busy :x", "404"},
      {"TOPIC #nowhere", "403"},
      {"TOPIC #busy :x", "442"},
      {"NAMES #nowhere", "366"},
      {"KICK #nowhere x", "403"},
      {"KICK #busy other", "442"},
      {"INVITE ghost #busy", "401"},
      {"INVITE other #busy", "442"},
      {"MODE #nowhere", "403"},
      {"MODE #busy +i", "482"},
      {"MODE other +i", "502"},
      {"MODE me +Z", "501"},
      {"MODE me", "221"},
      {"MODE ghost", "401"},
      {"WHOIS ghost", "401"},
      {"WHOWAS ghost", "406"},
      {"WHO ghost", "315"},
      {"AWAY :brb", "306"},
      {"AWAY", "305"},
      {"MOTD", "422"},
      {"MOTD other.server", "402"},
      {"LUSERS", "251"},
      {"VERSION", "351"},
      {"TIME", "391"},
      {"ADMIN", "256"},
      {"INFO", "371"},
      {"ISON ghost", "303"},
      {"USERHOST other", "302"},
      {"OPER root pw", "491"},
      {"KILL other :x", "481"},
      {"PING", "409"},
      {"NICK", "431"},
      {"NICK b@d", "432"},
      {"NICK other", "433"},
      {"LIST", "321"},
      {"CAP BOGUS", "410"},
  };
  for (auto& [cmd, num] : after) {
    c.send(cmd);
    auto l = c.line();
    ASSERT_TRUE(l) << cmd;
    EXPECT_EQ(numeric_of(*l), num) << cmd << " -> " << *l;
    // Drain the rest of multi-line replies: a PING round trip marks the end.
    c.send("PING :sync");
    while (auto more = c.line()) {
      if (numeric_of(*more) == "PONG") break;
    }
  }
}

TEST(ChatServer, ChannelOperatorFlow) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address()), c(srv.address());
  a.register_as("alice");
  b.register_as("bob");
  c.register_as("carol");
  a.send("JOIN #ops");
  a.expect("366");
  a.send("MODE #ops +i");
  a.expect("MODE");
  b.send("JOIN #ops");
  EXPECT_EQ(numeric_of(b.expect("473")), "473");
  a.send("INVITE bob #ops");
  a.expect("341");
  EXPECT_EQ(b.expect("INVITE"), ":alice!~alice@127.0.0.1 INVITE bob :#ops");
  b.send("JOIN #ops");
  b.expect("366");
  a.send("MODE #ops +o bob");
  EXPECT_EQ(b.expect("MODE"), ":alice!~alice@127.0.0.1 MODE #ops +o :bob");
  b.send("TOPIC #ops :ops only");
  EXPECT_EQ(a.expect("TOPIC"), ":bob!~bob@127.0.0.1 TOPIC #ops :ops only");
  b.send("MODE #ops -i+b carol");
  a.expect("MODE");
  c.send("JOIN #ops");
  c.expect("474");
  b.send("MODE #ops b");
  EXPECT_NE(b.expect("367").find("carol!*@*"), std::string::npos);
  b.expect("368");
  b.send("KICK #ops alice :bye");
  EXPECT_EQ(a.expect("KICK"), ":bob!~bob@127.0.0.1 KICK #ops alice :bye");
  a.send("PRIVMSG #ops :still here?");
  a.expect("404");
  b.send("WHOIS alice");
  b.expect("311");
  b.expect("318");
  a.send("NICK alicia");
  EXPECT_EQ(a.expect("NICK"), ":alice!~alice@127.0.0.1 NICK :alicia");
  b.send("WHOWAS alice");
  EXPECT_NE(b.expect("314").find(" alice ~alice "), std::string::npos);
}

TEST(ChatServer, OperatorWithHashedPasswordCanKill) {
  auto hash = irc::hash_password("hunter2", 1000);
  ASSERT_TRUE(hash);
  std::string path = ::testing::TempDir() + "/irc_oper.toml";
  {
    std::ofstream f(path);
    f << "[server]\nname = \"irc.test.local\"\n[flood]\nrate = 0\n[[operator]]\nname = \"root\"\npassword = \""
      << *hash << "\"\n";
  }
  ChatServer srv({"--config", path});
  Client a(srv.address()), b(srv.address());
  a.register_as("admin");
  b.register_as("victim");
  a.send("OPER root wrong");  // answered after the failure delay (1 s), as an unknown name would be
  EXPECT_EQ(a.expect("491"), ":irc.test.local 491 admin :Invalid oper credentials");
  a.send("OPER root hunter2");
  EXPECT_EQ(a.expect("381"), ":irc.test.local 381 admin :You are now an IRC operator");
  a.send("KILL victim :enough");
  b.expect("KILL");
  EXPECT_EQ(b.expect("ERROR"), "ERROR :Closing Link: 127.0.0.1 (Killed (admin (enough)))");
  EXPECT_TRUE(b.closed_within(5s));
  std::remove(path.c_str());
}

TEST(ChatServerLines, Line510AcceptedAnd511Gets417) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address());
  a.register_as("alice");
  b.register_as("bob");
  std::string body510 = "PRIVMSG bob :" + std::string(510 - 13, 'x');
  ASSERT_EQ(body510.size(), 510u);
  a.send(body510);  // 512 bytes with CR LF
  EXPECT_EQ(b.expect("PRIVMSG").size(), 510u);  // relayed with a longer prefix, cut to 510
  a.send(body510 + "y");  // 513 bytes with CR LF
  EXPECT_EQ(a.expect("417"), ":irc.sockit.local 417 alice :Input line was too long");
  a.send(body510 + "yy");
  a.expect("417");
  a.send("JOIN #still-here");
  a.expect("366");
  a.send("PRIVMSG bob :after");
  EXPECT_EQ(b.expect("PRIVMSG"), ":alice!~alice@127.0.0.1 PRIVMSG bob :after");
}

TEST(ChatServerLines, SixtyFourKiBWithoutNewlineIsRecvQExceeded) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address());
  a.register_as("alice");
  b.register_as("bob");
  a.raw(std::string(64 * 1024, 'z'));
  EXPECT_EQ(a.expect("ERROR"), "ERROR :Closing Link: 127.0.0.1 (RecvQ exceeded)");
  EXPECT_TRUE(a.closed_within(5s));
  b.send("PING :alive");
  b.expect("PONG");  // the server serves others
}

TEST(ChatServerLines, ByteByByteDelivery) {
  ChatServer srv(kNoFlood);
  Client a(srv.address());
  for (char ch : std::string("NICK slow\r\nUSER slow 0 * :Slow Poke\r\nJOIN #bytes\r\n")) {
    a.raw(std::string(1, ch));
    // deliberate idle: a pause between bytes so they arrive as separate reads; the replies are
    // then awaited with a deadline by expect().
    std::this_thread::sleep_for(1ms);
  }
  a.expect("001");
  EXPECT_EQ(a.expect("JOIN"), ":slow!~slow@127.0.0.1 JOIN #bytes");
}

TEST(ChatServerLines, BareLfEmptyLinesNulAndHttp) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address());
  a.raw("NICK lf\nUSER lf 0 * :x\n\r\n\n");
  a.expect("001");
  b.register_as("bob");
  const char nul[] = "PRIVMSG bob :a\0b\r\nPRIVMSG bob :clean\r\n";
  a.raw(std::string(nul, sizeof nul - 1));
  EXPECT_EQ(b.expect("PRIVMSG"), ":lf!~lf@127.0.0.1 PRIVMSG bob :clean");
  Client http(srv.address());
  http.raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(http.expect("ERROR"), "ERROR :Closing Link: 127.0.0.1 (This is not an HTTP server)");
  EXPECT_TRUE(http.closed_within(5s));
}

TEST(ChatServerLines, InvalidUtf8IsRejected) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address());
  a.register_as("alice");
  b.register_as("bob");
  a.send("PRIVMSG bob :bad\xAA");
  EXPECT_EQ(a.expect("FAIL"), ":irc.sockit.local FAIL PRIVMSG INVALID_UTF8 :Message rejected: not UTF-8");
  a.send("PRIVMSG bob :caf\xC3\xA9");
  EXPECT_EQ(b.expect("PRIVMSG"), ":alice!~alice@127.0.0.1 PRIVMSG bob :caf\xC3\xA9");
}

TEST(ChatServerLimits, ExcessFloodDisconnectsTheFlooder) {
  ChatServer srv;  // default fakelag: burst 5, 2/s, 20 queued
  Client a(srv.address()), b(srv.address());
  a.register_as("flooder");
  b.register_as("bob");
  std::string burst;
  for (int i = 0; i < 40; ++i) burst += "PRIVMSG bob :" + std::to_string(i) + "\r\n";
  a.raw(burst);
  EXPECT_EQ(a.expect("ERROR"), "ERROR :Closing Link: 127.0.0.1 (Excess Flood)");
  EXPECT_TRUE(a.closed_within(5s));
  b.send("PING :ok");
  b.expect("PONG");
}

TEST(ChatServerLimits, FakelagDelaysButDelivers) {
  ChatServer srv({"--flood-burst", "2", "--flood-rate", "20"});
  Client a(srv.address()), b(srv.address());
  a.register_as("fast");
  b.register_as("bob");
  std::string burst;
  for (int i = 0; i < 10; ++i) burst += "PRIVMSG bob :" + std::to_string(i) + "\r\n";
  auto t0 = std::chrono::steady_clock::now();
  a.raw(burst);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(b.expect("PRIVMSG"), ":fast!~fast@127.0.0.1 PRIVMSG bob :" + std::to_string(i));
  }
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 350ms);  // 8 delayed lines at 20/s
}

TEST(ChatServerLimits, RegistrationTimeout) {
  ChatServer srv({"--registration-timeout", "500ms"});
  Client a(srv.address());
  a.send("NICK lazy");
  EXPECT_EQ(a.expect("ERROR", 5s), "ERROR :Closing Link: 127.0.0.1 (Registration timed out)");
  EXPECT_TRUE(a.closed_within(5s));
}

TEST(ChatServerLimits, PingOnIdleAndPingTimeout) {
  ChatServer srv({"--ping-interval", "300ms", "--ping-timeout", "300ms"});
  Client a(srv.address()), b(srv.address());
  a.register_as("sleepy");
  b.register_as("awake");
  EXPECT_EQ(a.expect("PING", 5s), "PING :irc.sockit.local");
  EXPECT_EQ(b.expect("PING", 5s), "PING :irc.sockit.local");
  b.send("PONG :irc.sockit.local");
  EXPECT_NE(a.expect("ERROR", 5s).find("Ping timeout"), std::string::npos);
  EXPECT_TRUE(a.closed_within(5s));
  b.send("PING :still");
  b.expect("PONG");
}

TEST(ChatServerLimits, PerIpLimitWithLoopbackExemptionOff) {
  ChatServer srv({"--no-exempt-loopback", "--max-per-ip", "2"});
  auto from = [](const char* ip) { return Address::from_ip(ip, 0).value(); };
  Client a1(srv.address(), from("127.0.0.2")), a2(srv.address(), from("127.0.0.2"));
  a1.send("PING :1");
  a1.expect("PONG");
  a2.send("PING :2");
  a2.expect("PONG");
  Client a3(srv.address(), from("127.0.0.2"));
  EXPECT_EQ(a3.expect("ERROR"), "ERROR :Too many connections from your IP");
  EXPECT_TRUE(a3.closed_within(5s));
  Client other(srv.address(), from("127.0.0.3"));
  other.send("PING :3");
  other.expect("PONG");
}

TEST(ChatServerLimits, SlowReaderIsDroppedWithSendQExceeded) {
  ChatServer srv({"--no-flood-control", "--sendq", "64k"});
  Client sender(srv.address()), ok(srv.address()), slow(srv.address());
  ASSERT_TRUE(slow.stream().set_recv_buffer(4096));
  sender.register_as("sender");
  ok.register_as("reader");
  slow.register_as("slow");
  for (Client* c : {&sender, &ok, &slow}) {
    c->send("JOIN #flood");
    c->expect("366");
  }
  std::string text(400, 'm');
  const int kCount = 15000;  // 6 MB: past 64 KiB plus what loopback socket buffers absorb (~4 MB)
  std::thread writer([&] {
    std::string batch;
    for (int i = 0; i < kCount; ++i) {
      batch += "PRIVMSG #flood :" + std::to_string(i) + " " + text + "\r\n";
      if (batch.size() > 32 * 1024) {
        sender.raw(batch);
        batch.clear();
      }
    }
    sender.raw(batch);
  });
  int got = 0;
  bool saw_quit = false;
  std::string other;  // the last line that was not a PRIVMSG (the server's ERROR if it drops us)
  const auto start = std::chrono::steady_clock::now();
  while (got < kCount) {
    auto l = ok.line(10s);
    // A drop (EOF, an ERROR line before it) comes well within the 10 s; a stall takes all of it.
    ASSERT_TRUE(l) << "reader stalled after " << got << ", "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()
                   << " ms in; last other line: '" << other << "'";
    auto p = irc::parse(*l);
    if (p->command != "PRIVMSG") other = *l;
    if (p->command == "PRIVMSG") {
      ASSERT_EQ(p->params[1].substr(0, p->params[1].find(' ')), std::to_string(got));
      ++got;
    } else if (p->command == "QUIT") {
      EXPECT_EQ(*l, ":slow!~slow@127.0.0.1 QUIT :SendQ exceeded");
      saw_quit = true;
    }
  }
  writer.join();
  EXPECT_TRUE(saw_quit);
  EXPECT_EQ(got, kCount);
}

TEST(ChatServerSignals, SigtermSendsErrorToEveryClientAndExitsZero) {
  ChatServer srv(kNoFlood);
  Client a(srv.address()), b(srv.address()), unregistered(srv.address());
  a.register_as("alice");
  b.register_as("bob");
  unregistered.send("PING :x");
  unregistered.expect("PONG");
  srv.child().signal(SIGTERM);
  for (Client* c : {&a, &b, &unregistered}) {
    EXPECT_EQ(c->expect("ERROR"), "ERROR :Closing Link: 127.0.0.1 (Server shutting down)");
    EXPECT_TRUE(c->closed_within(5s));
  }
  EXPECT_EQ(srv.child().wait(10s), 0);
}

TEST(ChatServerSignals, SighupReloadsAndABrokenConfigKeepsTheOld) {
  std::string dir = ::testing::TempDir();
  std::string conf = dir + "/irc_reload.toml", motd = dir + "/irc_reload.motd";
  auto write = [](const std::string& p, const std::string& text) {
    std::ofstream f(p);
    f << text;
  };
  write(motd, "first motd\n");
  write(conf, "[server]\nmotd_file = \"" + motd + "\"\n[flood]\nrate = 0\n");
  ChatServer srv({"--config", conf});
  Client a(srv.address());
  a.register_as("alice");
  a.send("MOTD");
  EXPECT_EQ(a.expect("372"), ":irc.sockit.local 372 alice :- first motd");
  write(conf, "[server\nbroken = \n");
  srv.child().signal(SIGHUP);
  auto err = srv.wait_log("keeping the old", 5s);
  EXPECT_NE(err.find("reload failed, keeping the old configuration"), std::string::npos) << err;
  a.send("MOTD");
  EXPECT_EQ(a.expect("372"), ":irc.sockit.local 372 alice :- first motd");
  write(motd, "second motd\n");
  write(conf, "[server]\nmotd_file = \"" + motd + "\"\n[flood]\nrate = 0\n");
  srv.child().signal(SIGHUP);
  err = srv.wait_log("reloaded", 5s);
  a.send("MOTD");
  EXPECT_EQ(a.expect("372"), ":irc.sockit.local 372 alice :- second motd");
  std::remove(conf.c_str());
  std::remove(motd.c_str());
}

TEST(ChatServerCli, BusyPortExitsOneWithOneLine) {
  ChatServer srv;
  auto r = test::run({test::sockit_bin(), "chat-server", "-l", "127.0.0.1:" + std::to_string(srv.port())}, "", 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("Address already in use"), std::string::npos) << r.err;
}

TEST(ChatServerCli, UsageErrorsAndHashPassword) {
  auto r = test::run({test::sockit_bin(), "chat-server", "--backend", "kqueue"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("invalid --backend"), std::string::npos) << r.err;
  r = test::run({test::sockit_bin(), "chat-server", "-l", "nonsense"});
  EXPECT_EQ(r.status, 2);
  std::string conf = ::testing::TempDir() + "/irc_bad.toml";
  {
    std::ofstream f(conf);
    f << "[limits]\nsendq = \"lots\"\n";
  }
  r = test::run({test::sockit_bin(), "chat-server", "--config", conf});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("irc_bad.toml:2:9: limits.sendq: not a size"), std::string::npos) << r.err;
  std::remove(conf.c_str());
  r = test::run({test::sockit_bin(), "chat-server", "--hash-password", "--iterations", "1000"}, "pw\n");
  EXPECT_EQ(r.status, 0);
  std::string hash = r.out.substr(0, r.out.find('\n'));
  EXPECT_TRUE(irc::verify_password("pw", hash)) << hash;
}
