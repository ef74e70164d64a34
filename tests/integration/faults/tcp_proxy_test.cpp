// Fault suite: TCP through `sockit proxy` with latency, slicing, bandwidth limits, stalls and
// resets. Data must arrive byte-exact, deadlines must fire when they should and not before, and
// closes and resets must be propagated (RELIABILITY-PLAN scenarios 15 and 17).
#include "harness.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>

namespace sockit::test::faults {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<std::byte> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng() & 0xff);
  return v;
}

long long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// The next read on `s` must fail with a reset: no byte, no clean EOF, no timeout.
void expect_reset(TcpStream& s) {
  std::array<std::byte, 16> buf{};
  auto n = s.read_some(buf, Deadline::after(5s));
  ASSERT_FALSE(n) << "expected a reset, got " << *n << " bytes";
  EXPECT_EQ(n.error(), std::errc::connection_reset) << n.error().message();
}

// Sends `data` (from a writer thread, so a big transfer cannot deadlock), half-closes, and reads
// everything the echo sends back until EOF.
std::vector<std::byte> echo_through(const Address& proxy, const std::vector<std::byte>& data,
                                    Deadline deadline = Deadline::after(30s)) {
  auto s = TcpStream::connect(proxy, Deadline::after(2s));
  EXPECT_TRUE(s) << s.error().message();
  if (!s) return {};
  std::thread writer([&] {
    EXPECT_TRUE(s->write_all(data, deadline));
    EXPECT_TRUE(s->shutdown_write());
  });
  std::vector<std::byte> got;
  std::vector<std::byte> buf(65536);
  for (;;) {
    auto n = s->read_some(buf, deadline);
    if (!n) {
      ADD_FAILURE() << "read: " << n.error().message();
      break;
    }
    if (*n == 0) break;  // the half-close came back through the proxy
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  writer.join();
  return got;
}

TEST(TcpThroughProxy, DelayJitterAndSlicingKeepDataByteExact) {
  FdLeakCheck leaks;
  TcpEcho echo;
  auto proxy = ProxyProcess::start({"--upstream", echo.address().to_string(), "--delay", "30ms", "--jitter", "10ms",
                                    "--slice", "7", "--seed", "9"});
  auto data = random_bytes(64 * 1024, 1);
  const auto t0 = Clock::now();
  auto got = echo_through(proxy->listen(), data);
  const auto ms = ms_since(t0);
  EXPECT_TRUE(got == data) << "got " << got.size() << " bytes of " << data.size();
  EXPECT_GE(ms, 40) << "at least 20ms of delay each way";
  std::string stats = proxy->stop();
  EXPECT_EQ(ProxyProcess::counter(stats, "bytes_up"), 64 * 1024) << stats;
  EXPECT_EQ(ProxyProcess::counter(stats, "bytes_down"), 64 * 1024) << stats;
  EXPECT_EQ(ProxyProcess::counter(stats, "connections"), 0) << "the connection was closed cleanly: " << stats;
}

TEST(TcpThroughProxy, ReadDeadlineFiresOnlyAfterItAndDataFollowsTheDelay) {
  FdLeakCheck leaks;
  TcpEcho echo;
  auto proxy = ProxyProcess::start({"--upstream", echo.address().to_string(), "--delay", "150ms"});
  auto s = TcpStream::connect(proxy->listen(), Deadline::after(2s));
  ASSERT_TRUE(s);
  const auto t0 = Clock::now();
  ASSERT_TRUE(s->write_all("ping\n", Deadline::after(2s)));
  std::array<std::byte, 5> buf{};
  auto early = s->read_exact(buf, Deadline::after(100ms));
  const auto early_ms = ms_since(t0);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error(), std::errc::timed_out);
  EXPECT_GE(early_ms, 100) << "a deadline never fires early";
  EXPECT_LE(early_ms, 250);
  auto late = s->read_exact(buf, Deadline::after(2s));
  const auto rtt = ms_since(t0);
  ASSERT_TRUE(late) << late.error().message();
  EXPECT_EQ(std::memcmp(buf.data(), "ping\n", 5), 0);
  EXPECT_GE(rtt, 300) << "150ms each way";
  EXPECT_LE(rtt, 1000);
  s->close();
  proxy->stop();
}

TEST(TcpThroughProxy, StallHoldsDataUntilReleasedThroughControl) {
  FdLeakCheck leaks;
  TcpEcho echo;
  auto proxy = ProxyProcess::start({"--upstream", echo.address().to_string(), "--stall"});
  auto s = TcpStream::connect(proxy->listen(), Deadline::after(2s));
  ASSERT_TRUE(s);
  auto data = random_bytes(10000, 2);
  ASSERT_TRUE(s->write_all(data, Deadline::after(2s)));
  std::vector<std::byte> got(data.size());
  const auto t0 = Clock::now();
  auto r = s->read_exact(got, Deadline::after(300ms));
  const auto ms = ms_since(t0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::timed_out);
  EXPECT_GE(ms, 300);
  EXPECT_LE(ms, 450);
  EXPECT_NE(proxy->command("stall off").find("stall=off"), std::string::npos);
  auto r2 = s->read_exact(got, Deadline::after(2s));
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_TRUE(got == data);
  s->close();
  proxy->stop();
}

TEST(TcpThroughProxy, BandwidthLimitPacesTheTransfer) {
  FdLeakCheck leaks;
  TcpEcho echo;
  auto proxy = ProxyProcess::start({"--upstream", echo.address().to_string(), "--bandwidth", "256KiB/s"});
  auto data = random_bytes(128 * 1024, 3);
  const auto t0 = Clock::now();
  auto got = echo_through(proxy->listen(), data);
  const auto ms = ms_since(t0);
  EXPECT_TRUE(got == data);
  // 128 KiB at 256 KiB/s takes 0.5 s one way; the two directions overlap (pipelined).
  EXPECT_GE(ms, 450);
  EXPECT_LE(ms, 2500);
  fmt::print("128 KiB echoed through a 256 KiB/s proxy in {} ms\n", ms);
  proxy->stop();
}

TEST(TcpThroughProxy, ResetAfterBytesResetsTheClient) {
  FdLeakCheck leaks;
  TcpEcho echo;
  auto proxy = ProxyProcess::start({"--upstream", echo.address().to_string(), "--reset-after", "1000"});
  auto s = TcpStream::connect(proxy->listen(), Deadline::after(2s));
  ASSERT_TRUE(s);
  auto data = random_bytes(4000, 4);
  (void)s->write_all(data, Deadline::after(2s));  // may already fail with the reset
  std::vector<std::byte> buf(8192);
  std::size_t total = 0;
  std::error_code end;
  for (;;) {
    auto n = s->read_some(buf, Deadline::after(3s));
    if (!n) {
      end = n.error().code();
      break;
    }
    if (*n == 0) break;
    total += *n;
  }
  EXPECT_EQ(end, std::errc::connection_reset) << end.message();
  EXPECT_LE(total, 1000u);
  s->close();
  std::string stats = proxy->stop();
  EXPECT_EQ(ProxyProcess::counter(stats, "injected_resets"), 1) << stats;
  EXPECT_EQ(ProxyProcess::counter(stats, "bytes_up") + ProxyProcess::counter(stats, "bytes_down"), 1000) << stats;
}

TEST(TcpThroughProxy, RefusedUpstreamResetsTheClient) {
  FdLeakCheck leaks;
  Address closed;
  {
    auto l = TcpListener::bind(Address::ipv4_loopback(0));
    ASSERT_TRUE(l);
    closed = *l->local_address();
  }
  auto proxy = ProxyProcess::start({"--upstream", closed.to_string()});
  auto s = TcpStream::connect(proxy->listen(), Deadline::after(2s));
  if (!s) {
    // The proxy accepted and reset before this thread looked at SO_ERROR: the reset shows up in
    // connect() itself. Still a reset, not a refusal or a timeout.
    EXPECT_EQ(s.error(), std::errc::connection_reset) << s.error().message();
  } else {
    expect_reset(*s);
    s->close();
  }
  std::string stats = proxy->stop();
  EXPECT_EQ(ProxyProcess::counter(stats, "refused_upstream"), 1) << stats;
}

TEST(TcpThroughProxy, HalfCloseIsPropagatedBothWays) {
  FdLeakCheck leaks;
  // Upstream: reads until EOF, then answers and closes; it only answers if the client's FIN
  // arrived through the proxy.
  auto l = TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l);
  std::thread server([&] {
    auto c = l->accept(Deadline::after(5s));
    ASSERT_TRUE(c);
    std::vector<std::byte> buf(1024);
    std::size_t total = 0;
    for (;;) {
      auto n = c->read_some(buf, Deadline::after(5s));
      ASSERT_TRUE(n);
      if (*n == 0) break;
      total += *n;
    }
    ASSERT_TRUE(c->write_all(fmt::format("got {}\n", total), Deadline::after(2s)));
  });
  auto proxy = ProxyProcess::start({"--upstream", l->local_address()->to_string(), "--delay", "10ms"});
  auto s = TcpStream::connect(proxy->listen(), Deadline::after(2s));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_all("hello", Deadline::after(2s)));
  ASSERT_TRUE(s->shutdown_write());
  std::string reply;
  std::vector<std::byte> buf(256);
  for (;;) {
    auto n = s->read_some(buf, Deadline::after(5s));
    ASSERT_TRUE(n) << n.error().message();
    if (*n == 0) break;
    reply.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  EXPECT_EQ(reply, "got 5\n");
  server.join();
  s->close();
  proxy->stop();
}

TEST(TcpThroughProxy, BlackholeSwallowsDataWithoutClosing) {
  FdLeakCheck leaks;
  TcpEcho echo;
  auto proxy = ProxyProcess::start({"--upstream", echo.address().to_string(), "--blackhole"});
  auto s = TcpStream::connect(proxy->listen(), Deadline::after(2s));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_all("anyone there?\n", Deadline::after(2s)));
  std::array<std::byte, 64> buf{};
  const auto t0 = Clock::now();
  auto n = s->read_some(buf, Deadline::after(300ms));
  ASSERT_FALSE(n) << "the blackhole answered or closed";
  EXPECT_EQ(n.error(), std::errc::timed_out);
  EXPECT_GE(ms_since(t0), 300);
  s->close();
  std::string stats = proxy->stop();
  EXPECT_EQ(ProxyProcess::counter(stats, "blackholed"), 14) << stats;
  EXPECT_EQ(ProxyProcess::counter(stats, "bytes_up"), 0) << stats;
}

TEST(TcpThroughProxy, SyscallFaultsLeaveTheBytesUnchanged) {
  // The proxy runs with EINTR and short reads/writes injected into every socket call
  // (SOCKIT_FAULTS): the output must be identical to the fault-free transfer.
  FdLeakCheck leaks;
  TcpEcho echo;
  auto data = random_bytes(1024 * 1024, 5);
  auto clean = ProxyProcess::start({"--upstream", echo.address().to_string()});
  auto got_clean = echo_through(clean->listen(), data);
  clean->stop();
  auto faulty = ProxyProcess::start({"--upstream", echo.address().to_string(), "--slice", "4096"},
                                    {"SOCKIT_FAULTS=eintr=0.1,short=0.2,seed=42"});
  auto got_faulty = echo_through(faulty->listen(), data);
  faulty->stop();
  EXPECT_TRUE(got_clean == data);
  EXPECT_TRUE(got_faulty == got_clean) << got_faulty.size() << " vs " << got_clean.size();
}

TEST(TcpThroughProxy, UnansweredUpstreamConnectTimesOutAndResetsTheClient) {
  FdLeakCheck leaks;
  // An upstream whose accept queue is full (backlog 0 holds one connection nobody accepts):
  // Linux drops the next SYN, so the proxy's connect stays pending until --connect-timeout.
  ListenOptions lo;
  lo.backlog = 0;
  auto l = TcpListener::bind(Address::ipv4_loopback(0), lo);
  ASSERT_TRUE(l);
  auto filler = TcpStream::connect(*l->local_address(), Deadline::after(2s));
  ASSERT_TRUE(filler);
  auto proxy = ProxyProcess::start({"--upstream", l->local_address()->to_string(), "--connect-timeout", "300ms"});
  const auto t0 = Clock::now();
  auto s = TcpStream::connect(proxy->listen(), Deadline::after(2s));
  ASSERT_TRUE(s) << s.error().message();
  expect_reset(*s);
  EXPECT_GE(ms_since(t0), 250);
  s->close();
  std::string stats = proxy->stop();
  EXPECT_EQ(ProxyProcess::counter(stats, "refused_upstream"), 1) << stats;
  EXPECT_EQ(ProxyProcess::counter(stats, "connections"), 0) << stats;
}

TEST(TcpThroughProxy, IdleTimeoutClosesBothSidesWithAFin) {
  FdLeakCheck leaks;
  TcpEcho echo;
  auto proxy = ProxyProcess::start({"--upstream", echo.address().to_string(), "--idle-timeout", "300ms"});
  auto s = TcpStream::connect(proxy->listen(), Deadline::after(2s));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_all("ping", Deadline::after(2s)));
  std::array<std::byte, 16> buf{};
  auto n = s->read_some(buf, Deadline::after(2s));
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 4u);
  const auto t0 = Clock::now();
  n = s->read_some(buf, Deadline::after(5s));  // then silence: the proxy closes with a FIN
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 0u);
  EXPECT_GE(ms_since(t0), 200);
  s->close();
  std::string stats = proxy->stop();
  EXPECT_EQ(ProxyProcess::counter(stats, "connections"), 0) << stats;
  EXPECT_EQ(ProxyProcess::counter(stats, "bytes_up"), 4) << stats;
}

}  // namespace
}  // namespace sockit::test::faults
