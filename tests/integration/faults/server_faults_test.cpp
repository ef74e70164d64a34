// Fault suite: the servers under the system-call faults that end connections (SOCKIT_FAULTS
// reset and emfile, include/sockit/net/sys.hpp). A reset ends only the connection it hits, an
// EMFILE sheds one pending connection; the server stays up and keeps serving everyone else.
// (The exact-output suites run again under eintr/short/eagain: ctest faults.integ_echo.*,
// faults.integ_irc.*.)
#include "harness.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sockit::test::faults {
namespace {

using namespace std::chrono_literals;

// Per call: 2 % of reads and writes reset, 5 % of accepts fail with EMFILE, 5 % of calls EINTR.
const std::vector<std::string> kEndingFaults = {"SOCKIT_FAULTS=reset=0.02,emfile=0.05,eintr=0.05,seed=7"};

std::uint16_t port_after(const std::string& text, const std::string& key) {
  auto pos = text.find(key);
  if (pos == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::stoul(text.substr(pos + key.size())));
}

// A line client: every failure to connect, write or read is "the connection ended" (a fault the
// server injected on its side); bytes that arrive must still be the right ones.
class LineClient {
 public:
  explicit LineClient(std::uint16_t port) {
    auto s = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(2s));
    if (s) stream_ = std::move(*s);
  }
  bool open() const { return stream_.is_open(); }
  bool send(const std::string& text) {
    if (!open()) return false;
    if (stream_.write_all(text, Deadline::after(2s))) return true;
    stream_.close();
    return false;
  }
  /// The next line containing `needle`, or nullopt when the connection ended first.
  std::optional<std::string> line_with(const std::string& needle) {
    Deadline dl = Deadline::after(3s);
    while (open()) {
      for (auto eol = buf_.find('\n'); eol != std::string::npos; eol = buf_.find('\n')) {
        std::string l = buf_.substr(0, eol);
        buf_.erase(0, eol + 1);
        if (l.find(needle) != std::string::npos) return l;
      }
      char tmp[4096];
      auto n = stream_.read_some(std::as_writable_bytes(std::span(tmp)), dl);
      if (!n || *n == 0) {
        if (!n && n.error() == std::errc::timed_out) ADD_FAILURE() << "no '" << needle << "' within 3 s, no close either";
        stream_.close();
        break;
      }
      buf_.append(tmp, *n);
    }
    return std::nullopt;
  }

 private:
  TcpStream stream_;
  std::string buf_;
};

struct Tally {
  int served = 0, ended = 0, served_after_first_end = 0;
  void add(bool ok) {
    if (ok) {
      ++served;
      if (ended > 0) ++served_after_first_end;
    } else {
      ++ended;
    }
  }
};

// The server is still running, answers a fresh client within 5 s, and exits 0 on SIGTERM.
void expect_survived(Child& server, const std::function<bool()>& served_once, const Tally& t) {
  EXPECT_FALSE(server.wait(0ms)) << "the server died under the faults";
  EXPECT_GE(t.ended, 1) << "no connection ended: the faults did not reach the server";
  EXPECT_GE(t.served_after_first_end, 10) << "clients were not served after the first fault";
  EXPECT_TRUE(wait_until(served_once, 5s, 1ms)) << "no fresh client served";
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(20s), 0);
}

class EchoUnderEndingFaults : public testing::TestWithParam<const char*> {};

TEST_P(EchoUnderEndingFaults, ResetsAndEmfileEndOnlyTheirConnections) {
  Child server = Child::spawn({sockit_bin(), "echo-server", "--model", GetParam(), "--listen", "127.0.0.1:0"},
                              kEndingFaults);
  std::uint16_t port = port_after(server.read_stderr_until("counters: kill -USR1", 20s), "listening on tcp 127.0.0.1:");
  ASSERT_NE(port, 0);
  auto exchange = [](LineClient& c, int i) {
    std::string line = "hello " + std::to_string(i);
    if (!c.send(line + "\n")) return false;
    auto back = c.line_with("hello");
    if (back) {
      EXPECT_EQ(*back, line);
    }
    return back.has_value();
  };
  std::vector<LineClient> held;  // long-lived clients, one exchange per round each
  for (int i = 0; i < 8; ++i) held.emplace_back(port);
  Tally t;
  for (int round = 0; round < 150; ++round) {
    LineClient c(port);
    t.add(exchange(c, round));
    LineClient& h = held[static_cast<std::size_t>(round) % held.size()];
    if (h.open()) t.add(exchange(h, round));
  }
  std::printf("[ figures ] echo %s: %d exchanges served, %d connections ended by faults (%d served after the first)\n",
              GetParam(), t.served, t.ended, t.served_after_first_end);
  expect_survived(server, [&] {
    LineClient c(port);
    return exchange(c, -1);
  }, t);
}

INSTANTIATE_TEST_SUITE_P(Models, EchoUnderEndingFaults, testing::Values("epoll", "thread"),
                         [](const testing::TestParamInfo<const char*>& p) { return std::string(p.param); });

TEST(ChatUnderEndingFaults, ResetsAndEmfileEndOnlyTheirClients) {
  Child server = Child::spawn({sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "-q", "--no-flood-control"},
                              kEndingFaults);
  std::uint16_t port = port_after(server.read_stderr_until("\n", 20s), "listening on 127.0.0.1:");
  ASSERT_NE(port, 0);
  auto join = [](LineClient& c, const std::string& nick) {
    return c.send("NICK " + nick + "\r\nUSER " + nick + " 0 * :" + nick + "\r\nJOIN #f\r\n") &&
           c.line_with(" 366 ").has_value();
  };
  Tally t;
  for (int i = 0; i < 80; ++i) {
    LineClient c(port);
    std::string nick = "u" + std::to_string(i);
    t.add(join(c, nick) && c.send("PRIVMSG #f :from " + nick + "\r\nQUIT\r\n") && c.line_with("ERROR").has_value());
  }
  std::printf("[ figures ] chat: %d clients served, %d ended by faults (%d served after the first)\n", t.served,
              t.ended, t.served_after_first_end);
  int fresh = 0;
  expect_survived(server, [&] {
    LineClient c(port);
    return join(c, "fresh" + std::to_string(fresh++));
  }, t);
}

}  // namespace
}  // namespace sockit::test::faults
