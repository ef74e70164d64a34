// sockit::serve::UdpServer driven in-process over real sockets on 127.0.0.1: the same cases for
// the plain recvfrom/sendto loop (batch 1) and for recvmmsg/sendmmsg batches (32 without and with
// UDP GSO coalescing of same-peer replies, and 1024 with it).
#include "sockit/serve/udp_server.hpp"
#include "sockit/net/udp.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/socket.h>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::UdpSocket;
namespace serve = sockit::serve;

namespace {

constexpr std::size_t kMaxUdpPayload = 65507;  // IPv4: 65535 - 20 (IP) - 8 (UDP)

// The echo handler of the simple services, restated so this test depends on serve only.
std::optional<std::size_t> echo(std::span<const std::byte> in, const Address&, std::span<std::byte> out) {
  std::size_t n = std::min(in.size(), out.size());
  if (n > 0) std::memcpy(out.data(), in.data(), n);
  return n;
}

using sockit::test::datagram_payload;

// Sizes step through 12..1472 bytes (a full Ethernet-sized UDP payload) in runs of 4 equal ones,
// so same-size replies to one peer can be coalesced, and a run can end with a shorter one.
std::size_t size_of(std::uint32_t seq) { return 12 + ((seq / 4) * 389u) % 1461u; }

struct DriveResult {
  std::size_t replies = 0;   // replies that matched their datagram byte for byte, in order
  std::size_t bad = 0;       // replies with other content, or out of order
  std::size_t stalls = 0;    // 2 s without any reply while some were outstanding (loss)
  std::uint64_t bytes = 0;   // request bytes sent
  std::string first_error;
};

// `clients` connected sockets, each sending `per_client` datagrams with at most `window` of its
// own outstanding, all driven from this thread with poll(). Every reply is checked against the
// datagram it must echo (same client, next sequence number, same bytes).
DriveResult drive(std::uint16_t port, std::size_t clients, std::size_t per_client, std::size_t window) {
  DriveResult r;
  struct Client {
    UdpSocket sock;
    std::uint32_t sent = 0, got = 0;
  };
  std::vector<Client> cs;
  for (std::size_t i = 0; i < clients; ++i) {
    auto s = UdpSocket::bind(Address::ipv4_loopback(0));
    if (!s || !s->connect(Address::ipv4_loopback(port))) {
      r.first_error = "client socket setup failed";
      return r;
    }
    (void)s->set_recv_buffer(1 << 20);
    cs.push_back(Client{std::move(*s)});
  }
  std::vector<std::byte> in(kMaxUdpPayload + 1);
  auto last_progress = std::chrono::steady_clock::now();
  for (;;) {
    bool done = true;
    for (std::size_t c = 0; c < cs.size(); ++c) {
      auto& cl = cs[c];
      while (cl.sent < per_client && cl.sent - cl.got < window) {
        auto d = datagram_payload(static_cast<std::uint32_t>(c), cl.sent, size_of(cl.sent));
        if (::send(cl.sock.fd(), d.data(), d.size(), MSG_DONTWAIT) != static_cast<ssize_t>(d.size())) break;
        r.bytes += d.size();
        ++cl.sent;
      }
      if (cl.got < per_client) done = false;
    }
    if (done) return r;
    std::vector<pollfd> pfds;
    for (auto& cl : cs) pfds.push_back(pollfd{cl.sock.fd(), POLLIN, 0});
    int n = ::poll(pfds.data(), pfds.size(), 100);
    if (n == 0 && std::chrono::steady_clock::now() - last_progress > 2s) {
      // Lost: give up on what is outstanding so the run ends; the caller asserts stalls == 0.
      ++r.stalls;
      if (r.first_error.empty()) r.first_error = "no reply for 2 s";
      for (auto& cl : cs) cl.got = cl.sent;
      last_progress = std::chrono::steady_clock::now();
      continue;
    }
    for (std::size_t c = 0; c < cs.size(); ++c) {
      if ((pfds[c].revents & POLLIN) == 0) continue;
      auto& cl = cs[c];
      for (;;) {
        ssize_t k = ::recv(cl.sock.fd(), in.data(), in.size(), MSG_DONTWAIT);
        if (k < 0) break;
        last_progress = std::chrono::steady_clock::now();
        auto want = datagram_payload(static_cast<std::uint32_t>(c), cl.got, size_of(cl.got));
        if (static_cast<std::size_t>(k) == want.size() && std::memcmp(in.data(), want.data(), want.size()) == 0) {
          ++r.replies;
        } else {
          ++r.bad;
          if (r.first_error.empty()) {
            r.first_error = "client " + std::to_string(c) + " datagram " + std::to_string(cl.got) + ": reply of " +
                            std::to_string(k) + " bytes differs from the " + std::to_string(want.size()) + " sent";
          }
        }
        ++cl.got;
      }
    }
  }
}

struct Path {
  std::size_t batch;
  bool gso;
  std::string name() const {
    if (batch == 1) return "Plain";
    return "Batch" + std::to_string(batch) + (gso ? "Gso" : "");
  }
};

class UdpServerPaths : public testing::TestWithParam<Path> {
 protected:
  std::unique_ptr<serve::UdpServer> start(serve::DatagramHandler h = echo) {
    serve::UdpServerOptions o;
    o.batch = GetParam().batch;
    o.gso = GetParam().gso;
    auto s = serve::UdpServer::create(Address::ipv4_loopback(0), std::move(h), sockit::loop::kDefaultBackend, o);
    EXPECT_TRUE(s) << (s ? "" : s.error().message());
    if (!s) return nullptr;
    EXPECT_EQ((*s)->batch(), o.batch);
    EXPECT_EQ((*s)->gso(), o.gso && o.batch > 1);
    auto r = (*s)->start();
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return std::move(*s);
  }
  // Stops the server; its counters are final afterwards.
  static serve::UdpStats finish(serve::UdpServer& s) {
    s.stop();
    s.wait();
    return s.stats();
  }
  void TearDown() override { leaks_.expect_no_leak(); }
  sockit::test::FdLeakCheck leaks_;
};

TEST_P(UdpServerPaths, EchoesEveryDatagramWithItsContent) {
  auto s = start();
  ASSERT_TRUE(s);
  auto r = drive(s->local_address().port(), 1, 5000, 64);
  EXPECT_EQ(r.replies, 5000u) << r.first_error;
  EXPECT_EQ(r.bad, 0u) << r.first_error;
  EXPECT_EQ(r.stalls, 0u) << r.first_error;
  auto st = finish(*s);
  EXPECT_EQ(st.received, 5000u);
  EXPECT_EQ(st.sent, 5000u);
  EXPECT_EQ(st.dropped, 0u);
  EXPECT_EQ(st.errors, 0u);
  EXPECT_EQ(st.truncated, 0u);
  EXPECT_EQ(st.bytes_in, r.bytes);
  EXPECT_EQ(st.bytes_out, r.bytes);
}

TEST_P(UdpServerPaths, RepliesGoToEachOfManyClients) {
  // Several clients in flight at once: a batch holds datagrams of different senders, and each
  // reply must go back to its own sender.
  auto s = start();
  ASSERT_TRUE(s);
  auto r = drive(s->local_address().port(), 16, 1000, 16);
  EXPECT_EQ(r.replies, 16'000u) << r.first_error;
  EXPECT_EQ(r.bad, 0u) << r.first_error;
  EXPECT_EQ(r.stalls, 0u) << r.first_error;
  auto st = finish(*s);
  EXPECT_EQ(st.received, 16'000u);
  EXPECT_EQ(st.sent, 16'000u);
}

TEST_P(UdpServerPaths, BurstLongerThanOneReadBudgetIsAllAnswered) {
  // 2000 datagrams queued before the server reads any reply: more than one recvmmsg batch and more
  // than the 256 read per wakeup, so the server comes back to the socket until it is drained. The
  // sizes repeat 64 64 64 32 64 200 200 0: runs that GSO may coalesce (a shorter last one may
  // join, a longer or empty one may not), and every reply must still come back in order.
  static constexpr std::array<std::size_t, 8> kSizes{64, 64, 64, 32, 64, 200, 200, 0};
  auto s = start();
  ASSERT_TRUE(s);
  auto c = UdpSocket::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->connect(s->local_address()));
  ASSERT_TRUE(c->set_recv_buffer(4 << 20));
  constexpr std::uint32_t kBurst = 2000;
  for (std::uint32_t i = 0; i < kBurst; ++i) {
    auto d = datagram_payload(0, i, kSizes[i % kSizes.size()]);
    ASSERT_TRUE(c->send(d, Deadline::after(2s)));
  }
  std::vector<std::byte> in(2048);
  for (std::uint32_t i = 0; i < kBurst; ++i) {
    auto d = c->recv(in, Deadline::after(5s));
    ASSERT_TRUE(d) << "reply " << i << " missing";
    auto want = datagram_payload(0, i, kSizes[i % kSizes.size()]);
    ASSERT_EQ(d->size, want.size()) << "reply " << i;
    ASSERT_TRUE(want.empty() || std::memcmp(in.data(), want.data(), want.size()) == 0) << "reply " << i;
  }
  auto st = finish(*s);
  EXPECT_EQ(st.received, kBurst);
  EXPECT_EQ(st.sent, kBurst);
  EXPECT_GE(st.wakeups, 1u);
  // A drained socket ends every wakeup with one more receive call that saw EAGAIN, unless the
  // budget ended it first.
  EXPECT_LE(st.recv_calls, st.received + st.wakeups);
  if (GetParam().batch == 1) {
    EXPECT_EQ(st.send_calls, st.sent) << "plain loop: one sendto per reply";
    EXPECT_GE(st.recv_calls, st.received) << "plain loop: one recvfrom per datagram";
  }
  if (GetParam().batch > 1 && GetParam().gso) {
    // A queued burst from one peer fills whole batches: runs of equal sizes are coalesced.
    EXPECT_GT(st.coalesced, kBurst / 4) << "no reply went out in a GSO message";
    EXPECT_TRUE(s->gso());
  } else {
    EXPECT_EQ(st.coalesced, 0u);
  }
}

TEST_P(UdpServerPaths, LargestAndEmptyDatagramsComeBackWhole) {
  auto s = start();
  ASSERT_TRUE(s);
  auto c = UdpSocket::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->connect(s->local_address()));
  std::vector<std::byte> in(kMaxUdpPayload + 100);
  for (std::size_t size : {kMaxUdpPayload, std::size_t{0}, std::size_t{1}, kMaxUdpPayload - 1}) {
    auto d = datagram_payload(7, static_cast<std::uint32_t>(size), size);
    ASSERT_TRUE(c->send(d, Deadline::after(2s))) << size;
    auto got = c->recv(in, Deadline::after(5s));
    ASSERT_TRUE(got) << "no reply to a " << size << "-byte datagram";
    EXPECT_FALSE(got->truncated);
    ASSERT_EQ(got->size, size);
    EXPECT_TRUE(size == 0 || std::memcmp(in.data(), d.data(), size) == 0) << size;
  }
  // One byte over the IPv4 limit cannot even be sent; the server goes on serving.
  std::vector<std::byte> big(kMaxUdpPayload + 1);
  auto e = c->send(big, Deadline::after(2s));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), std::errc::message_size);
  auto d = datagram_payload(7, 1, 100);
  ASSERT_TRUE(c->send(d, Deadline::after(2s)));
  auto got = c->recv(in, Deadline::after(5s));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size, 100u);
  auto st = finish(*s);
  EXPECT_EQ(st.received, 5u);
  EXPECT_EQ(st.sent, 5u);
  EXPECT_EQ(st.truncated, 0u);
  EXPECT_EQ(st.bytes_in, 2 * kMaxUdpPayload - 1 + 0 + 1 + 100);
}

TEST_P(UdpServerPaths, HandlerSeesTheSenderAndMaySkipTheReply) {
  // The handler gets the sender's address; returning nullopt sends nothing (discard-like).
  std::mutex mu;
  std::vector<Address> seen;
  auto s = start([&](std::span<const std::byte> in, const Address& from,
                     std::span<std::byte> out) -> std::optional<std::size_t> {
    {
      std::lock_guard lock(mu);
      seen.push_back(from);
    }
    if (in.empty() || in[0] != std::byte{'y'}) return std::nullopt;
    return echo(in, from, out);
  });
  ASSERT_TRUE(s);
  auto c = UdpSocket::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->connect(s->local_address()));
  for (const char* m : {"no 1", "yes 1", "no 2", "yes 2"}) {
    ASSERT_TRUE(c->send(std::as_bytes(std::span(m, std::strlen(m))), Deadline::after(2s)));
  }
  std::array<std::byte, 64> in{};
  for (std::string want : {"yes 1", "yes 2"}) {
    auto d = c->recv(in, Deadline::after(5s));
    ASSERT_TRUE(d);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(in.data()), d->size), want);
  }
  EXPECT_FALSE(c->recv(in, Deadline::after(200ms))) << "a skipped datagram was answered";
  auto st = finish(*s);
  EXPECT_EQ(st.received, 4u);
  EXPECT_EQ(st.sent, 2u);
  EXPECT_EQ(st.dropped, 0u);
  auto me = c->local_address();
  ASSERT_TRUE(me);
  ASSERT_EQ(seen.size(), 4u);
  for (const Address& a : seen) EXPECT_EQ(a.to_string(), me->to_string());
}

INSTANTIATE_TEST_SUITE_P(Batch, UdpServerPaths,
                         testing::Values(Path{1, false}, Path{32, false}, Path{32, true}, Path{1024, true}),
                         [](const testing::TestParamInfo<Path>& i) { return i.param.name(); });

TEST(UdpServer, RejectsBatchOutOfRange) {
  sockit::test::FdLeakCheck leaks;
  for (std::size_t b : {std::size_t{0}, serve::UdpServer::kMaxBatch + 1}) {
    serve::UdpServerOptions o;
    o.batch = b;
    auto s = serve::UdpServer::create(Address::ipv4_loopback(0), echo, sockit::loop::kDefaultBackend, o);
    ASSERT_FALSE(s) << b;
    EXPECT_EQ(s.error().code(), sockit::errc::invalid_argument) << s.error().message();
    EXPECT_NE(s.error().message().find("batch"), std::string::npos) << s.error().message();
  }
  auto d = serve::UdpServer::create(Address::ipv4_loopback(0), echo);
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)->batch(), serve::UdpServer::kDefaultBatch);
  EXPECT_TRUE((*d)->gso());
  serve::UdpServerOptions plain;
  plain.batch = 1;
  auto p = serve::UdpServer::create(Address::ipv4_loopback(0), echo, sockit::loop::kDefaultBackend, plain);
  ASSERT_TRUE(p);
  EXPECT_FALSE((*p)->gso()) << "the plain loop never uses GSO";
}

}  // namespace
