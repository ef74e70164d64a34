// Hostile clients (issue #24 items 1 and 3) against a real `sockit chat-server` child on
// loopback: a flood of wrong server passwords must not stall other clients (the PBKDF2 checks
// run off the loop), and refused connections must not hold descriptors (no lingering close).
#include "irc_client.hpp"

#include "sockit/irc/password.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace sockit;
using namespace sockit::irc::itest;
using namespace std::chrono_literals;

namespace {

Address from(const std::string& ip) { return Address::from_ip(ip, 0).value(); }

std::size_t open_descriptors(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

/// Milliseconds from sending PRIVMSG on `a` to reading it on `b` (who has nick `to`).
double privmsg_ms(Client& a, Client& b, const std::string& to, int seq) {
  auto t0 = std::chrono::steady_clock::now();
  a.send("PRIVMSG " + to + " :probe " + std::to_string(seq));
  b.expect("PRIVMSG", 10s);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

// 40 clients (4 per address over 10 addresses) keep registering with a wrong server password
// while two legitimate clients exchange PRIVMSGs: their delay stays near the idle figure.
TEST(ChatServerHostile, WrongPasswordFloodDoesNotStallOtherClients) {
  auto hash = irc::hash_password("letmein");  // the default cost: about 30 ms per check
  ASSERT_TRUE(hash);
  std::string path = ::testing::TempDir() + "/irc_hostile_pass.toml";
  {
    std::ofstream f(path);
    f << "[server]\npassword = \"" << *hash << "\"\n[flood]\nrate = 0\n";
  }
  ChatServer srv({"--config", path});
  Client a(srv.address()), b(srv.address());
  for (auto [c, nick] : {std::pair{&a, "alice"}, std::pair{&b, "bob"}}) {
    c->send("PASS letmein");
    c->register_as(nick);
  }
  std::vector<double> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(privmsg_ms(a, b, "bob", i));

  std::atomic<bool> stop{false};
  std::atomic<int> attempts{0};
  std::vector<std::thread> attackers;
  for (int i = 0; i < 40; ++i) {
    attackers.emplace_back([&, i] {
      std::string ip = "127.0.0." + std::to_string(2 + i / 4);
      while (!stop.load()) {
        ConnectOptions co;
        co.source = from(ip);
        auto s = TcpStream::connect(srv.address(), Deadline::after(5s), co);
        if (!s) return;
        std::string reg = "PASS wrong\r\nNICK x" + std::to_string(i) + "\r\nUSER x 0 * :x\r\n";
        if (!s->write_all(reg, Deadline::after(5s))) return;
        ++attempts;
        char buf[512];
        while (!stop.load()) {  // until the server's 464 and close (or the test ends)
          auto n = s->read_some(std::as_writable_bytes(std::span(buf)), Deadline::after(100ms));
          if (n ? *n == 0 : n.error() != std::errc::timed_out) break;
        }
      }
    });
  }
  Deadline ready = Deadline::after(10s);
  while (attempts.load() < 40 && !ready.expired()) std::this_thread::yield();
  std::vector<double> busy;  // back to back for 1.5 s: about the time 40 checks take on a core
  for (auto end = std::chrono::steady_clock::now() + 1500ms; std::chrono::steady_clock::now() < end;) {
    busy.push_back(privmsg_ms(a, b, "bob", static_cast<int>(busy.size())));
  }
  stop = true;
  for (auto& t : attackers) t.join();

  double idle_p99 = percentile(idle, 0.99), busy_p99 = percentile(busy, 0.99);
  std::printf("PRIVMSG delay: idle p50 %.2f ms p99 %.2f ms; under %d wrong logins p50 %.2f ms p99 %.2f ms\n",
              percentile(idle, 0.5), idle_p99, attempts.load(), percentile(busy, 0.5), busy_p99);
  // 40 checks on the loop stalled it for over a second; off the loop the delay stays near idle.
  // The bound is loose (ASan, two shared cores): 2x idle plus 150 ms.
  EXPECT_LT(busy_p99, 2 * idle_p99 + 150.0);
  // A legitimate registration still goes through meanwhile.
  auto t0 = std::chrono::steady_clock::now();
  Client late(srv.address());
  late.send("PASS letmein");
  late.send("NICK late");
  late.send("USER late 0 * :late");
  EXPECT_NE(late.expect_any({"001", "464"}, 30s), "");
  std::printf("late registration %.1f ms\n", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  std::remove(path.c_str());
}

// One address at its per-IP limit opens connection after connection and keeps them open: each
// is refused with ERROR and closed at once (no 2 s lingering close), so the server's descriptors
// stay bounded and another address still gets in.
TEST(ChatServerHostile, RefusedConnectionsReleaseTheirDescriptorsAtOnce) {
  ChatServer srv({"--no-exempt-loopback", "--max-per-ip", "2"});
  Client held1(srv.address(), from("127.0.0.2")), held2(srv.address(), from("127.0.0.2"));
  held1.register_as("held1");
  held2.register_as("held2");
  std::size_t baseline = open_descriptors(srv.child().pid());
  std::vector<std::unique_ptr<Client>> refused;  // kept open: a client that never closes
  for (int i = 0; i < 200; ++i) {
    refused.push_back(std::make_unique<Client>(srv.address(), from("127.0.0.2")));
    EXPECT_EQ(refused.back()->expect("ERROR"), "ERROR :Too many connections from your IP");
    ASSERT_TRUE(refused.back()->closed_within(5s));
  }
  // Every refusal has been answered and closed: the server holds no descriptor for them.
  std::size_t held = open_descriptors(srv.child().pid());
  Deadline dl = Deadline::after(500ms);
  while (held > baseline + 2 && !dl.expired()) {
    std::this_thread::yield();
    held = open_descriptors(srv.child().pid());
  }
  std::printf("server descriptors: %zu before, %zu after 200 refusals kept open by the client\n", baseline, held);
  EXPECT_LE(held, baseline + 2);
  Client other(srv.address(), from("127.0.0.3"));
  other.register_as("other");
  held1.send("PING :still");
  held1.expect("PONG");
}
