// sockit load against tiny in-test servers on 127.0.0.1:0: each mode runs well under a second and
// the tests check counts, error kinds and JSON keys, never timings.
#include "make_options.hpp"
#include "support/support.hpp"

#include "tools/load/engine.hpp"
#include "tools/load/options.hpp"
#include "tools/load/report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using sockit::load::Mode;
using sockit::load::Options;
using sockit::load::test::err;
using sockit::load::test::make;

enum class Behaviour { echo, corrupt, irc };

// A single-threaded poll() server: TCP echo (or echo with every 10th byte flipped, or a minimal
// IRC server: NICK/USER -> 001, JOIN -> 366, PRIVMSG relayed to the channel), plus UDP echo.
class TestServer {
 public:
  explicit TestServer(Behaviour b, bool udp = false) : b_(b) {
    lfd_ = ::socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    if (!udp) {
      EXPECT_EQ(::listen(lfd_, 512), 0);
    }
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::fcntl(lfd_, F_SETFL, O_NONBLOCK);
    EXPECT_EQ(::pipe(wake_), 0);
    udp_ = udp;
    thread_ = std::thread([this] { loop(); });
  }
  ~TestServer() {
    ::write(wake_[1], "x", 1);
    thread_.join();
    for (auto& [fd, c] : clients_) ::close(fd);
    ::close(lfd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  int accepted() const { return accepted_.load(); }

 private:
  struct Client {
    std::string in, nick;
    bool joined = false;
  };

  void send_all(int fd, std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      if (n > 0) {
        s.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 100);
      } else {
        return;
      }
    }
  }

  void irc_line(int fd, Client& c, const std::string& line) {
    if (line.rfind("NICK ", 0) == 0) {
      c.nick = line.substr(5);
    } else if (line.rfind("USER ", 0) == 0) {
      send_all(fd, ":test 001 " + c.nick + " :Welcome\r\n");
    } else if (line.rfind("JOIN ", 0) == 0) {
      c.joined = true;
      send_all(fd, ":test 366 " + c.nick + " " + line.substr(5) + " :End of /NAMES list.\r\n");
    } else if (line.rfind("PRIVMSG ", 0) == 0) {
      const std::string out = ":" + c.nick + "!u@h " + line + "\r\n";
      for (auto& [ofd, other] : clients_)
        if (ofd != fd && other.joined) send_all(ofd, out);
    }
  }

  void loop() {
    char buf[65536];
    while (true) {
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {lfd_, POLLIN, 0}};
      for (auto& [fd, c] : clients_) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 1000) < 0) continue;
      if (fds[0].revents) return;
      if (fds[1].revents) {
        if (udp_) {
          sockaddr_storage peer{};
          socklen_t plen = sizeof peer;
          const ssize_t n = ::recvfrom(lfd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &plen);
          if (n > 0) ::sendto(lfd_, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&peer), plen);
        } else {
          for (;;) {
            const int cfd = ::accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK);
            if (cfd < 0) break;
            clients_[cfd];
            accepted_.fetch_add(1);
          }
        }
      }
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        const int fd = fds[i].fd;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
          ::close(fd);
          clients_.erase(fd);
          continue;
        }
        if (n < 0) continue;
        const auto len = static_cast<std::size_t>(n);
        if (b_ == Behaviour::echo) {
          send_all(fd, std::string_view(buf, len));
        } else if (b_ == Behaviour::corrupt) {
          for (std::size_t k = 0; k < len; ++k)
            if ((count_++ % 10) == 9) buf[k] = static_cast<char>(buf[k] ^ 0x55);
          send_all(fd, std::string_view(buf, len));
        } else {
          Client& c = clients_[fd];
          c.in.append(buf, len);
          std::size_t nl;
          while ((nl = c.in.find('\n')) != std::string::npos) {
            std::string line = c.in.substr(0, nl);
            c.in.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            irc_line(fd, c, line);
          }
        }
      }
    }
  }

  Behaviour b_;
  bool udp_ = false;
  int lfd_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::uint64_t count_ = 0;
  std::map<int, Client> clients_;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A port nobody listens on: bind, read it back, close.
std::string closed_port_target() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

}  // namespace

TEST(LoadPingpong, CountsExactlyTheRequestedMessages) {
  sockit::test::FdLeakCheck leaks;
  TestServer s(Behaviour::echo);
  auto o = make(Mode::pingpong, s.target(), {"-c", "4", "-n", "400", "--threads", "2"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 400u);
  EXPECT_EQ(r->stats.error_total(), 0u);
  EXPECT_EQ(r->stats.latency.count(), 400u);
  EXPECT_EQ(sockit::load::exit_status(o, *r), 0);
  const auto j = sockit::load::to_json(o, *r);
  for (const char* key : {"schema", "mode", "units", "rate_per_s", "latency_us", "errors", "duration_s", "client_cpu_s"})
    EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"p50", "p90", "p99", "p99_9", "max"}) EXPECT_TRUE(j["latency_us"].contains(key)) << key;
  for (const char* key : {"refused", "reset", "timeout", "short_read", "mismatch"})
    EXPECT_TRUE(j["errors"].contains(key)) << key;
}

// HOST:PORT,HOST:PORT: connection g goes to target g % n (the nodes of a chat cluster).
TEST(LoadPingpong, ConnectionsSpreadRoundRobinOverSeveralTargets) {
  TestServer a(Behaviour::echo), b(Behaviour::echo), c(Behaviour::echo);
  auto o = make(Mode::pingpong, a.target() + "," + b.target() + "," + c.target(), {"-c", "7", "-n", "700"});
  ASSERT_EQ(o.targets.size(), 3u);
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 700u);
  EXPECT_EQ(r->stats.error_total(), 0u);
  EXPECT_EQ(a.accepted(), 3);  // g = 0, 3, 6
  EXPECT_EQ(b.accepted(), 2);  // 1, 4
  EXPECT_EQ(c.accepted(), 2);  // 2, 5
  EXPECT_EQ(sockit::load::to_json(o, *r)["target"], a.target() + "," + b.target() + "," + c.target());
}

TEST(LoadPingpong, OpenLoopReportsCorrectedAndRawLatency) {
  TestServer s(Behaviour::echo);
  auto o = make(Mode::pingpong, s.target(), {"-c", "2", "-d", "400ms", "--rate", "500", "--size", "1KiB"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->stats.units, 50u);
  EXPECT_LT(r->stats.units, 400u);  // paced: about 200 in 400 ms
  EXPECT_EQ(r->stats.latency.count(), r->stats.latency_raw.count());
  EXPECT_TRUE(sockit::load::to_json(o, *r).contains("latency_raw_us"));
}

TEST(LoadPingpong, MismatchedEchoIsCounted) {
  TestServer s(Behaviour::corrupt);
  auto o = make(Mode::pingpong, s.target(), {"-c", "1", "-d", "300ms"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(err(*r, sockit::load::ErrorKind::mismatch), 0u);
  EXPECT_EQ(sockit::load::exit_status(o, *r), 1);
}

TEST(LoadPingpong, RefusedConnectionsAreCounted) {
  auto o = make(Mode::pingpong, closed_port_target(), {"-c", "2", "-d", "300ms"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(err(*r, sockit::load::ErrorKind::refused), 0u);
  EXPECT_EQ(r->stats.units, 0u);
  EXPECT_EQ(sockit::load::exit_status(o, *r), 1);
}

TEST(LoadFlood, MovesBytesBothWays) {
  TestServer s(Behaviour::echo);
  auto o = make(Mode::flood, s.target(), {"-c", "2", "-d", "300ms", "--size", "4KiB", "--window", "16KiB"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->stats.units, 10u);
  EXPECT_GT(r->stats.bytes_in, 40000u);
  EXPECT_EQ(r->stats.error_total(), 0u);
}

TEST(LoadConnect, ChurnsTheRequestedConnections) {
  sockit::test::FdLeakCheck leaks;
  TestServer s(Behaviour::echo);
  auto o = make(Mode::connect, s.target(), {"-c", "3", "-n", "60"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 60u);
  EXPECT_EQ(r->stats.error_total(), 0u);
  EXPECT_EQ(sockit::load::to_json(o, *r)["unit"], "connection");
}

TEST(LoadHold, HoldsConnectionsAndReportsServerMemory) {
  TestServer s(Behaviour::echo);
  // The server runs in this process, so --server-pid is our own PID.
  auto o = make(Mode::hold, s.target(), {"-c", "50", "-d", "200ms", "--server-pid", std::to_string(getpid())});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.held, 50u);
  EXPECT_EQ(r->stats.alive, 50u);
  EXPECT_EQ(r->stats.failed, 0u);
  const auto j = sockit::load::to_json(o, *r);
  ASSERT_TRUE(j.contains("server"));
  for (const char* key : {"cpu_s", "rss_kib", "rss_before_kib", "rss_held_kib", "rss_anon_per_conn_bytes"})
    EXPECT_TRUE(j["server"].contains(key)) << key;
}

// A worker has at most 256 connects in progress: the rest open as those complete.
TEST(LoadHold, OpensPastTheConnectsInProgressCap) {
  sockit::test::FdLeakCheck leaks;
  TestServer s(Behaviour::echo);
  auto o = make(Mode::hold, s.target(), {"-c", "300", "-d", "100ms"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.held, 300u);
  EXPECT_EQ(r->stats.alive, 300u);
  EXPECT_EQ(r->stats.error_total(), 0u);
}

TEST(LoadHold, RejectsMoreConnectionsThanDescriptors) {
  auto o = make(Mode::hold, "127.0.0.1:9", {"-c", "900000"});
  auto r = sockit::load::run(o);
  EXPECT_FALSE(r.ok());
}

TEST(LoadUdp, EchoesDatagramsWithIds) {
  TestServer s(Behaviour::echo, true);
  auto o = make(Mode::udp, s.target(), {"-c", "2", "-n", "300", "--window", "4"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 300u);
  EXPECT_EQ(r->stats.error_total(), 0u);
  const auto j = sockit::load::to_json(o, *r);
  for (const char* key : {"sent", "received", "lost", "late", "loss_ratio"}) EXPECT_TRUE(j.contains(key)) << key;
}

TEST(LoadUdp, NoServerCountsRefusedOrTimeout) {
  auto o = make(Mode::udp, closed_port_target(), {"-d", "300ms", "--timeout", "100ms"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 0u);
  EXPECT_GT(err(*r, sockit::load::ErrorKind::refused) + err(*r, sockit::load::ErrorKind::timeout), 0u);
}

TEST(LoadIrc, DeliversToEveryOtherClient) {
  TestServer s(Behaviour::irc);
  auto o = make(Mode::irc, s.target(), {"-c", "6", "--senders", "2", "-d", "300ms", "--threads", "2"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->stats.sent, 0u);
  EXPECT_GT(r->stats.units, 0u);
  EXPECT_EQ(r->stats.error_total(), 0u);
  EXPECT_TRUE(r->note.empty()) << r->note;
  const auto j = sockit::load::to_json(o, *r);
  for (const char* key : {"deliveries", "deliveries_per_s", "fanout", "senders", "clients"})
    EXPECT_TRUE(j.contains(key)) << key;
  // 5 receivers per message, minus the ones in flight when the window closed.
  EXPECT_GT(j["fanout"].get<double>(), 3.0);
}

// One thread: a sender's next PRIVMSG leaves in the loop turn in which the witness received the
// last one, not at the next 10 ms tick (which would allow at most 50 in 500 ms).
TEST(LoadIrc, OneThreadSendsAgainInTheTurnOfTheAcknowledgement) {
  TestServer s(Behaviour::irc);
  auto o = make(Mode::irc, s.target(), {"-c", "3", "--senders", "1", "-d", "500ms"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->stats.sent, 100u);
  EXPECT_EQ(r->stats.error_total(), 0u);
}

TEST(LoadIrc, RegistrationStormCountsRegistrations) {
  TestServer s(Behaviour::irc);
  auto o = make(Mode::irc_register, s.target(), {"-c", "3", "-n", "30"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 30u);
  EXPECT_EQ(r->stats.error_total(), 0u);
}

TEST(LoadCli, JsonSummaryOnStdout) {
  TestServer s(Behaviour::echo);
  auto res = sockit::test::run({sockit::test::sockit_bin(), "load", "pingpong", s.target(), "-c", "2", "-n", "100",
                                "--json"});
  ASSERT_EQ(res.status, 0) << res.err;
  auto j = nlohmann::json::parse(res.out);
  EXPECT_EQ(j["units"], 100);
  EXPECT_EQ(j["schema"], 1);
}

TEST(LoadCli, HistOutWritesASpectrum) {
  TestServer s(Behaviour::echo);
  char path[] = "/tmp/sockit-load-hist-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto res = sockit::test::run({sockit::test::sockit_bin(), "load", "pingpong", s.target(), "-n", "200",
                                "--hist-out", path});
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_NE(res.out.find("latency"), std::string::npos);
  auto cat = sockit::test::run({"cat", path});
  ::unlink(path);
  EXPECT_NE(cat.out.find("Percentile"), std::string::npos);
  EXPECT_NE(cat.out.find("Total count = 200"), std::string::npos);
}

TEST(LoadCli, BadModeIsAUsageError) {
  auto res = sockit::test::run({sockit::test::sockit_bin(), "load", "blast", "127.0.0.1:9"});
  EXPECT_EQ(res.status, 2);
  EXPECT_NE(res.err.find("unknown mode"), std::string::npos) << res.err;
}
