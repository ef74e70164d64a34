#include "sockit/net/socket.hpp"
#include "sockit/net/udp.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::UdpSocket;

TEST(Udp, SendToAndRecvFromOverIpv4AndIpv6) {
  sockit::test::FdLeakCheck leaks;
  std::vector<Address> locals{Address::ipv4_loopback()};
  if (sockit::test::have_ipv6_loopback()) locals.push_back(Address::ipv6_loopback());
  for (const auto& local : locals) {
    auto server = UdpSocket::bind(local);
    ASSERT_TRUE(server) << server.error().message();
    auto saddr = *server->local_address();
    auto client = UdpSocket::open(local.family());
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->send_to(sockit::as_bytes("ping"), saddr, Deadline::after(1s)));
    std::byte buf[64];
    auto d = server->recv_from(buf, Deadline::after(2s));
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(d->size, 4u);
    EXPECT_FALSE(d->truncated);
    EXPECT_TRUE(d->from.is_loopback());
    EXPECT_EQ(d->from.port(), client->local_address()->port());  // auto-bound on first send
    ASSERT_TRUE(server->send_to({buf, d->size}, d->from, Deadline::after(1s)));
    auto back = client->recv_from(buf, Deadline::after(2s));
    ASSERT_TRUE(back);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), back->size), "ping");
  }
}

TEST(Udp, DatagramTooBigForTheBufferIsReportedTruncated) {
  auto server = UdpSocket::bind(Address::ipv4_loopback());
  ASSERT_TRUE(server);
  auto client = UdpSocket::open(sockit::Family::v4);
  ASSERT_TRUE(client);
  std::string big(1000, 'x');
  ASSERT_TRUE(client->send_to(sockit::as_bytes(big), *server->local_address()));
  std::byte buf[100];
  auto d = server->recv_from(buf, Deadline::after(2s));
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->truncated);
  EXPECT_EQ(d->size, 100u);
  EXPECT_EQ(d->wire_size, 1000u);
}

TEST(Udp, ZeroByteDatagramIsADatagram) {
  auto server = UdpSocket::bind(Address::ipv4_loopback());
  ASSERT_TRUE(server);
  auto client = UdpSocket::open(sockit::Family::v4);
  ASSERT_TRUE(client->send_to({}, *server->local_address()));
  std::byte buf[10];
  auto d = server->recv_from(buf, Deadline::after(2s));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->size, 0u);
  EXPECT_FALSE(d->truncated);
}

TEST(Udp, RecvTimesOutAtDeadline) {
  auto s = UdpSocket::bind(Address::ipv4_loopback());
  ASSERT_TRUE(s);
  std::byte buf[10];
  auto start = std::chrono::steady_clock::now();
  auto d = s->recv_from(buf, Deadline::after(150ms));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), std::errc::timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
}

TEST(Udp, ConnectedSocketSeesPortUnreachableAsRefused) {
  Address dead;
  {
    auto tmp = UdpSocket::bind(Address::ipv4_loopback());
    dead = *tmp->local_address();
  }
  auto c = UdpSocket::open(sockit::Family::v4);
  ASSERT_TRUE(c->connect(dead));
  ASSERT_TRUE(c->send(sockit::as_bytes("x")));
  std::byte buf[4];
  auto d = c->recv(buf, Deadline::after(2s));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), std::errc::connection_refused) << d.error().message();
}

TEST(UnixStream, ListenConnectAndStaleSocketReplacement) {
  sockit::test::FdLeakCheck leaks;
  auto path = std::filesystem::temp_directory_path() / ("sockit-test-" + std::to_string(::getpid()) + ".sock");
  auto addr = *Address::unix_path(path.string());
  {
    auto l = sockit::UnixListener::bind(addr);
    ASSERT_TRUE(l) << l.error().message();
    auto c = sockit::UnixStream::connect(addr, Deadline::after(2s));
    ASSERT_TRUE(c) << c.error().message();
    auto s = l->accept(Deadline::after(2s));
    ASSERT_TRUE(s);
    ASSERT_TRUE(c->write_all("unix", Deadline::after(2s)));
    std::byte buf[4];
    ASSERT_TRUE(s->read_exact(buf, Deadline::after(2s)));
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 4), "unix");
  }
  // The listener closed without unlinking: a stale socket file is replaced.
  ASSERT_TRUE(std::filesystem::exists(path));
  auto again = sockit::UnixListener::bind(addr);
  ASSERT_TRUE(again) << again.error().message();
  std::filesystem::remove(path);
}

TEST(UnixStream, AbstractNamesAndPairs) {
  auto addr = *Address::unix_path("@sockit-test-" + std::to_string(::getpid()));
  auto l = sockit::UnixListener::bind(addr);
  ASSERT_TRUE(l) << l.error().message();
  auto c = sockit::UnixStream::connect(addr, Deadline::after(2s));
  ASSERT_TRUE(c);
  auto p = sockit::UnixStream::pair();
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->first.write_all("x"));
  std::byte b[1];
  ASSERT_TRUE(p->second.read_exact(b, Deadline::after(1s)));
}
