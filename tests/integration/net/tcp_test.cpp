// TCP lifecycle over loopback: one behaviour per test.
#include "sockit/net/resolver.hpp"
#include "sockit/net/socket.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include <csignal>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::TcpListener;
using sockit::TcpStream;

namespace {

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  std::mt19937 gen(seed);
  for (auto& b : v) b = static_cast<std::byte>(gen());
  return v;
}

class TcpFamily : public ::testing::TestWithParam<sockit::Family> {
 protected:
  void SetUp() override {
    if (GetParam() == sockit::Family::v6 && !sockit::test::have_ipv6_loopback())
      GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  }
  Address loopback() const {
    return GetParam() == sockit::Family::v6 ? Address::ipv6_loopback() : Address::ipv4_loopback();
  }
};

}  // namespace

TEST_P(TcpFamily, ConnectAcceptEchoAndHalfClose) {
  sockit::test::FdLeakCheck leaks;
  auto listener = TcpListener::bind(loopback());
  ASSERT_TRUE(listener) << listener.error().message();
  auto addr = listener->local_address();
  ASSERT_TRUE(addr);
  EXPECT_NE(addr->port(), 0);

  std::thread server([&] {
    Address peer;
    auto s = listener->accept(Deadline::after(5s), &peer);
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_TRUE(peer.is_loopback());
    std::byte buf[100];
    for (;;) {
      auto n = s->read_some(buf, Deadline::after(5s));
      ASSERT_TRUE(n) << n.error().message();
      if (*n == 0) break;  // EOF is not an error
      ASSERT_TRUE(s->write_all({buf, *n}, Deadline::after(5s)));
    }
    ASSERT_TRUE(s->write_all("bye", Deadline::after(5s)));
  });

  auto c = TcpStream::connect(*addr, Deadline::after(5s));
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_TRUE(c->set_nodelay(true));
  EXPECT_TRUE(*c->nodelay());
  auto peer = c->peer_address();
  ASSERT_TRUE(peer);
  EXPECT_EQ(*peer, *addr);
  ASSERT_TRUE(c->write_all("hello", Deadline::after(5s)));
  std::byte got[5];
  ASSERT_TRUE(c->read_exact(got, Deadline::after(5s)));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(got), 5), "hello");
  ASSERT_TRUE(c->shutdown_write());  // the server sees EOF, answers, closes
  std::byte tail[3];
  ASSERT_TRUE(c->read_exact(tail, Deadline::after(5s)));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(tail), 3), "bye");
  auto eof = c->read_some(tail, Deadline::after(5s));
  ASSERT_TRUE(eof);
  EXPECT_EQ(*eof, 0u);
  server.join();
}

TEST_P(TcpFamily, SixteenMebibytesSurvivePartialReadsAndWrites) {
  sockit::test::FdLeakCheck leaks;
  auto listener = TcpListener::bind(loopback());
  ASSERT_TRUE(listener);
  auto addr = *listener->local_address();
  const auto data = pattern(16 << 20, 7);
  std::vector<std::byte> received;
  std::thread server([&] {
    auto s = listener->accept(Deadline::after(10s));
    ASSERT_TRUE(s);
    std::vector<std::byte> buf(1000);  // odd size: many partial reads
    for (;;) {
      auto n = s->read_some(buf, Deadline::after(20s));
      ASSERT_TRUE(n) << n.error().message();
      if (*n == 0) break;
      received.insert(received.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
  });
  auto c = TcpStream::connect(addr, Deadline::after(5s));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->set_send_buffer(16384));  // a small send buffer forces partial writes
  ASSERT_TRUE(c->write_all(data, Deadline::after(20s)));
  ASSERT_TRUE(c->shutdown_write());
  server.join();
  ASSERT_EQ(received.size(), data.size());
  EXPECT_TRUE(received == data);
}

INSTANTIATE_TEST_SUITE_P(Families, TcpFamily, ::testing::Values(sockit::Family::v4, sockit::Family::v6),
                         [](const auto& p) { return p.param == sockit::Family::v4 ? "IPv4" : "IPv6"; });

TEST(TcpConnect, RefusedIsReportedWithTheAddress) {
  sockit::test::FdLeakCheck leaks;
  Address addr;
  {
    auto l = TcpListener::bind(Address::ipv4_loopback());
    ASSERT_TRUE(l);
    addr = *l->local_address();
  }  // closed: nobody listens on this port now
  auto c = TcpStream::connect(addr, Deadline::after(5s));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), std::errc::connection_refused);
  EXPECT_EQ(c.error().message(), "connect " + addr.to_string() + ": Connection refused");
}

TEST(TcpConnect, TimesOutOnFullBacklog) {
  sockit::test::FdLeakCheck leaks;
  sockit::ListenOptions opts;
  opts.backlog = 0;  // accept queue of one: later SYNs are dropped, connects hang
  auto l = TcpListener::bind(Address::ipv4_loopback(), opts);
  ASSERT_TRUE(l);
  auto addr = *l->local_address();
  std::vector<TcpStream> fillers;
  bool timed_out = false;
  for (int i = 0; i < 8 && !timed_out; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto c = TcpStream::connect(addr, Deadline::after(300ms));
    if (c) {
      fillers.push_back(std::move(*c));
      continue;
    }
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(c.error(), std::errc::timed_out) << c.error().message();
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 2s);
    EXPECT_NE(c.error().message().find("connect " + addr.to_string()), std::string::npos);
    timed_out = true;
  }
  EXPECT_TRUE(timed_out) << "the backlog never filled";
}

TEST(TcpConnect, TriesEachResolvedAddressInTurn) {
  sockit::test::FdLeakCheck leaks;
  auto l = TcpListener::bind(Address::ipv4_loopback());
  ASSERT_TRUE(l);
  auto good = *l->local_address();
  Address dead;
  {
    auto l2 = TcpListener::bind(Address::ipv4_loopback());
    dead = *l2->local_address();
  }
  std::vector<Address> addrs{dead, good};
  auto c = TcpStream::connect(std::span<const Address>(addrs), Deadline::after(5s));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*c->peer_address(), good);
  auto s = l->accept(Deadline::after(5s));
  EXPECT_TRUE(s);
}

TEST(TcpConnect, ResolvesLocalhostByName) {
  auto l = TcpListener::bind(Address::ipv4_loopback());
  ASSERT_TRUE(l);
  auto port = std::to_string(l->local_address()->port());
  auto c = TcpStream::connect("localhost", port, Deadline::after(5s), sockit::Family::v4);
  ASSERT_TRUE(c) << c.error().message();
}

TEST(TcpStream, ReadTimesOutAtDeadline) {
  sockit::test::FdLeakCheck leaks;
  auto l = TcpListener::bind(Address::ipv4_loopback());
  ASSERT_TRUE(l);
  auto c = TcpStream::connect(*l->local_address(), Deadline::after(5s));
  ASSERT_TRUE(c);
  auto s = l->accept(Deadline::after(5s));
  ASSERT_TRUE(s);
  std::byte buf[10];
  auto start = std::chrono::steady_clock::now();
  auto n = c->read_some(buf, Deadline::after(200ms));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error(), std::errc::timed_out);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 1500ms);
}

TEST(TcpListener, AcceptTimesOutAtDeadline) {
  auto l = TcpListener::bind(Address::ipv4_loopback());
  ASSERT_TRUE(l);
  auto s = l->accept(Deadline::after(100ms));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), std::errc::timed_out);
}

TEST(TcpStream, ReadExactReportsEarlyEof) {
  auto l = TcpListener::bind(Address::ipv4_loopback());
  ASSERT_TRUE(l);
  auto c = TcpStream::connect(*l->local_address(), Deadline::after(5s));
  ASSERT_TRUE(c);
  {
    auto s = l->accept(Deadline::after(5s));
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->write_all("abc", Deadline::after(5s)));
  }
  std::byte buf[10];
  auto r = c->read_exact(buf, Deadline::after(5s));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), sockit::errc::unexpected_eof);
  EXPECT_NE(r.error().message().find("got 3 of 10"), std::string::npos) << r.error().message();
}

TEST(TcpStream, PeerResetWhileWritingIsAnErrorNotSigpipe) {
  sockit::test::FdLeakCheck leaks;
  // No SIGPIPE handler installed on purpose: MSG_NOSIGNAL must protect the process.
  auto old = std::signal(SIGPIPE, SIG_DFL);
  auto l = TcpListener::bind(Address::ipv4_loopback());
  ASSERT_TRUE(l);
  auto c = TcpStream::connect(*l->local_address(), Deadline::after(5s));
  ASSERT_TRUE(c);
  {
    auto s = l->accept(Deadline::after(5s));
    ASSERT_TRUE(s);
    s->reset();  // RST
  }
  std::vector<std::byte> chunk(64 * 1024);
  sockit::Result<void> w;
  for (int i = 0; i < 100 && w; ++i) w = c->write_all(chunk, Deadline::after(5s));
  ASSERT_FALSE(w);
  EXPECT_TRUE(w.error() == std::errc::connection_reset || w.error() == std::errc::broken_pipe) << w.error().message();
  std::signal(SIGPIPE, old);
}

TEST(TcpStream, KeepaliveAndLingerOptionsApply) {
  auto l = TcpListener::bind(Address::ipv4_loopback());
  ASSERT_TRUE(l);
  auto c = TcpStream::connect(*l->local_address(), Deadline::after(5s));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->set_keepalive(sockit::KeepAlive{30s, 5s, 3}));
  EXPECT_TRUE(c->set_keepalive(std::nullopt));
  EXPECT_TRUE(c->set_linger(2s));
  EXPECT_TRUE(c->set_linger(std::nullopt));
  EXPECT_TRUE(c->set_send_buffer(65536));
  EXPECT_GE(*c->send_buffer(), 65536);
}

TEST(TcpListener, ReusePortLetsTwoListenersShareAPort) {
  sockit::ListenOptions opts;
  opts.reuse_port = true;
  auto a = TcpListener::bind(Address::ipv4_loopback(), opts);
  ASSERT_TRUE(a);
  auto b = TcpListener::bind(*a->local_address(), opts);
  EXPECT_TRUE(b) << b.error().message();
  auto c = TcpListener::bind(*a->local_address());  // without the option: refused
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), std::errc::address_in_use);
}

TEST(TcpListener, DualStackAcceptsIpv4Clients) {
  if (!sockit::test::have_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback";
  sockit::ListenOptions opts;
  opts.v6_only = false;
  auto l = TcpListener::bind(Address::ipv6_any(0), opts);
  ASSERT_TRUE(l) << l.error().message();
  auto port = l->local_address()->port();
  auto c = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
  ASSERT_TRUE(c) << c.error().message();
  Address peer;
  auto s = l->accept(Deadline::after(5s), &peer);
  ASSERT_TRUE(s);
  EXPECT_TRUE(peer.is_v4_mapped());
  EXPECT_EQ(peer.unmapped().ip_string(), "127.0.0.1");

  opts.v6_only = true;
  auto l6 = TcpListener::bind(Address::ipv6_any(0), opts);
  ASSERT_TRUE(l6);
  auto c4 = TcpStream::connect(Address::ipv4_loopback(l6->local_address()->port()), Deadline::after(2s));
  EXPECT_FALSE(c4);
}
