// Issue 24 item 2 over real sockets on loopback: `sockit echo-server --udp` must not be a reflector.
// Datagrams from the source ports of UDP services get no reply, one source's flood is held to its
// reply budget while another source is still answered, chargen's reply is no larger than the
// request, and no warning is printed for a loopback address.
#include "echo_server.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using sockit::test::EchoServer;
using sockit::test::Variant;

namespace {

// A UDP socket bound to `ip`:`port` (0: any port); -1 when the port is taken or not permitted.
int udp_from(const char* ip, std::uint16_t port, int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &a.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_to(int fd, std::uint16_t port, std::size_t size) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string d(size, 'q');
  ASSERT_EQ(::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(size));
}

// The size of the next datagram on `fd` within `timeout`, or -1.
ssize_t recv_within(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return -1;
  char buf[70000];
  return ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
}

// Datagrams already queued on `fd`, without waiting.
std::size_t drain(int fd) {
  char buf[70000];
  std::size_t n = 0;
  while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++n;
  return n;
}

// The counters once `ready` holds (the server publishes a readiness event's counts at its end,
// after the replies went out), or the last ones after 5 s.
std::map<std::string, std::uint64_t> counters_when(EchoServer& s,
                                                   const std::function<bool(std::map<std::string, std::uint64_t>&)>& ready) {
  auto end = std::chrono::steady_clock::now() + 5s;
  auto c = s.counters_now();
  while (!ready(c) && std::chrono::steady_clock::now() < end) c = s.counters_now();
  return c;
}

void stop_ok(EchoServer& s) {
  auto st = s.stop();
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, 0) << s.err();
}

}  // namespace

TEST(UdpReflection, DatagramsFromServicePortsGetNoReply) {
  EchoServer s(Variant{"epoll"}, {"--udp", "127.0.0.1:0"});
  ASSERT_TRUE(s.ok()) << s.err();
  // 1900 and 11211 need no privilege; 7, 19, 53, 123 (and 1000 for the low-port rule) do.
  std::vector<int> low;
  std::vector<std::uint16_t> ports{1900, 11211};
  if (::geteuid() == 0) ports.insert(ports.end(), {7, 19, 53, 123, 1000});
  for (std::uint16_t p : ports) {
    int fd = udp_from("127.0.0.1", p);
    if (fd < 0) continue;  // taken on this machine
    low.push_back(fd);
    send_to(fd, s.udp_port(), 10);
  }
  ASSERT_FALSE(low.empty());
  // The server reads its socket in order: once a later datagram from an ordinary port is
  // answered, the earlier ones were handled.
  int ok = udp_from("127.0.0.1", 0);
  send_to(ok, s.udp_port(), 10);
  EXPECT_EQ(recv_within(ok, 5s), 10);
  for (int fd : low) EXPECT_EQ(drain(fd), 0u) << "a reply reached a service port";
  auto c = counters_when(s, [](auto& m) { return m["udp.sent"] >= 1; });
  EXPECT_EQ(c["udp.refused"], low.size());
  EXPECT_EQ(c["udp.sent"], 1u);
  for (int fd : low) ::close(fd);
  ::close(ok);
  stop_ok(s);
}

TEST(UdpReflection, AllowLowPortsStillRefusesServicePorts) {
  if (::geteuid() != 0) GTEST_SKIP() << "binding ports below 1024 needs root";
  EchoServer s(Variant{"epoll"}, {"--udp", "127.0.0.1:0", "--udp-allow-low-ports"});
  ASSERT_TRUE(s.ok()) << s.err();
  int seven = udp_from("127.0.0.1", 7);
  int thousand = udp_from("127.0.0.1", 1000);
  if (seven < 0 || thousand < 0) GTEST_SKIP() << "port 7 or 1000 taken here";
  send_to(seven, s.udp_port(), 10);
  send_to(thousand, s.udp_port(), 10);
  EXPECT_EQ(recv_within(thousand, 5s), 10);
  EXPECT_EQ(drain(seven), 0u);
  ::close(seven);
  ::close(thousand);
  stop_ok(s);
}

TEST(UdpReflection, FloodFromOneSourceIsHeldToItsBudgetAnotherSourceIsAnswered) {
  EchoServer s(Variant{"epoll"},
               {"--udp", "127.0.0.1:0", "--udp-rate", "100/s", "--udp-rate-loopback"});
  ASSERT_TRUE(s.ok()) << s.err();
  int flooder = udp_from("127.0.0.1", 0, 4 << 20);
  int other = udp_from("127.0.0.2", 0);  // another source address (all of 127/8 is loopback)
  ASSERT_GE(flooder, 0);
  ASSERT_GE(other, 0);
  constexpr int kFlood = 2000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kFlood; ++i) send_to(flooder, s.udp_port(), 32);
  send_to(other, s.udp_port(), 32);
  EXPECT_EQ(recv_within(other, 5s), 32) << "the other source was not answered";
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t got = drain(flooder);
  auto budget = static_cast<std::size_t>(100 + 100 * secs) + 1;  // burst of one second + refill
  EXPECT_LE(got, budget) << "replies to the flooding source over " << secs << " s";
  EXPECT_GE(got, 50u);
  auto c = counters_when(s, [&](auto& m) { return m["udp.sent"] >= got + 1; });
  EXPECT_EQ(c["udp.sent"], got + 1);
  EXPECT_EQ(c["udp.limited"], c["udp.received"] - got - 1);
  ::close(flooder);
  ::close(other);
  stop_ok(s);
}

TEST(UdpReflection, ChargenReplyIsNoLargerThanTheRequest) {
  EchoServer s(Variant{"epoll"}, {"--udp", "127.0.0.1:0", "--service", "chargen"});
  ASSERT_TRUE(s.ok()) << s.err();
  int fd = udp_from("127.0.0.1", 0);
  send_to(fd, s.udp_port(), 0);
  EXPECT_EQ(recv_within(fd, 5s), 0) << "a 0-byte request gets an empty datagram";
  send_to(fd, s.udp_port(), 40);
  EXPECT_EQ(recv_within(fd, 5s), 40);
  send_to(fd, s.udp_port(), 1400);
  auto big = recv_within(fd, 5s);
  EXPECT_GE(big, 418);
  EXPECT_LE(big, 512);
  ::close(fd);
  stop_ok(s);
}

TEST(UdpReflection, ChargenFullAnswersAnEmptyRequestWithTheRfcLength) {
  EchoServer s(Variant{"epoll"},
               {"--udp", "127.0.0.1:0", "--service", "chargen", "--udp-chargen-full"});
  ASSERT_TRUE(s.ok()) << s.err();
  int fd = udp_from("127.0.0.1", 0);
  send_to(fd, s.udp_port(), 0);
  auto n = recv_within(fd, 5s);
  EXPECT_GE(n, 418);
  EXPECT_LE(n, 512);
  ::close(fd);
  stop_ok(s);
}

TEST(UdpReflection, NoWarningForALoopbackAddress) {
  EchoServer s(Variant{"epoll"}, {"--udp", "127.0.0.1:0"});
  ASSERT_TRUE(s.ok()) << s.err();
  EXPECT_EQ(s.err().find("warning"), std::string::npos) << s.err();
  stop_ok(s);
}
