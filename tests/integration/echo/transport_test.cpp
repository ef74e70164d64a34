// The echo suite's TCP cases under every model with a test transport that slices every read and
// write to one byte (slice_transport.hpp, ServerOptions::transport): the server runs in-process
// (serve::Server with the echo service), so the transport is the test's own. Every case checks
// what real clients on 127.0.0.1 see, and that the bytes went through the transport.
#include "echo_server.hpp"
#include "slice_transport.hpp"

#include "sockit/net/socket.hpp"
#include "sockit/proto/services.hpp"
#include "sockit/serve/server.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::TcpStream;
namespace serve = sockit::serve;

namespace {

class EchoTransport : public testing::TestWithParam<serve::Model> {
 protected:
  void TearDown() override {
    if (server_) {
      server_->stop(5s);
      server_->wait();
    }
    server_.reset();
    leaks_.expect_no_leak();
  }

  /// Starts the echo service with the one-byte transport; `tune` adjusts the options first.
  std::uint16_t start(const std::function<void(serve::ServerOptions&)>& tune = {}) {
    serve::ServerOptions opts;
    opts.model = GetParam();
    opts.listen = {Address::ipv4_loopback(0)};
    opts.backlog = 512;
    opts.pool_queue = 512;
    opts.transport = sockit::test::SliceTransport::factory(1, counters_);
    if (tune) tune(opts);
    auto s = serve::Server::create(std::move(opts), sockit::proto::make_session_factory(sockit::proto::Service::echo));
    EXPECT_TRUE(s) << (s ? "" : s.error().message());
    if (!s) return 0;
    server_ = std::move(*s);
    EXPECT_TRUE(server_->start());
    return server_->local_addresses()[0].port();
  }

  bool forks() const { return GetParam() == serve::Model::fork; }
  /// The transport carried at least `n` bytes each way (fork: in the children, not visible here).
  void expect_through_transport(std::uint64_t n) {
    if (forks()) return;
    EXPECT_GE(counters_.transports.load(), 1u);
    EXPECT_GE(counters_.bytes_read.load(), n);
    EXPECT_GE(counters_.bytes_written.load(), n);
  }

  static void expect_echo(std::uint16_t port, const std::string& text) {
    auto got = sockit::test::echo_once(port, text, 10s);
    ASSERT_TRUE(got) << "no echo of '" << text << "'";
    EXPECT_EQ(*got, text);
  }

  sockit::test::SliceCounters counters_;
  std::unique_ptr<serve::Server> server_;
  sockit::test::FdLeakCheck leaks_;
};

TEST_P(EchoTransport, OneClient) {
  std::uint16_t port = start();
  ASSERT_NE(port, 0);
  auto got = sockit::test::echo_once(port, "hello, echo\n");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "hello, echo\n");
  expect_through_transport(12);
  if (!forks()) {
    EXPECT_GE(counters_.shutdowns.load(), 1u) << "the FIN went around the transport";
  }
}

TEST_P(EchoTransport, ZeroByteMessage) {
  std::uint16_t port = start();
  ASSERT_NE(port, 0);
  auto got = sockit::test::echo_once(port, "");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "");
}

TEST_P(EchoTransport, FiftyConcurrentClients) {
  std::uint16_t port = start();
  ASSERT_NE(port, 0);
  auto r = sockit::test::run_echo_clients(port, 50, 2048, 30s);
  EXPECT_EQ(r.ok, 50u) << r.first_error;
  expect_through_transport(50 * 2048);
}

TEST_P(EchoTransport, QuarterMiBMessageIsByteExact) {
  std::uint16_t port = start();
  ASSERT_NE(port, 0);
  std::string big = sockit::test::pattern(256 << 10, 42);
  auto got = sockit::test::echo_once(port, big, 30s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), big.size());
  EXPECT_TRUE(*got == big) << "echo differs from what was sent";
  expect_through_transport(big.size());
}

TEST_P(EchoTransport, PipelinedWritesComeBackInOrder) {
  std::uint16_t port = start();
  ASSERT_NE(port, 0);
  auto c = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
  ASSERT_TRUE(c);
  std::string all;
  for (int i = 0; i < 500; ++i) {
    std::string msg = "message " + std::to_string(i) + "\n";
    ASSERT_TRUE(c->write_all(msg, Deadline::after(10s)));
    all += msg;
  }
  ASSERT_TRUE(c->shutdown_write());
  auto got = sockit::test::read_to_eof(*c, Deadline::after(10s));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, all);
}

TEST_P(EchoTransport, ClientThatNeverReadsIsCappedAndOthersAreServed) {
  std::uint16_t port = start([](serve::ServerOptions& o) {
    o.high_water = 32 << 10;  // small marks: a one-byte transport fills them in bounded time
    o.low_water = 8 << 10;
    o.send_queue_cap = 1 << 20;
  });
  ASSERT_NE(port, 0);
  auto hog = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
  ASSERT_TRUE(hog);
  ASSERT_TRUE(hog->set_recv_buffer(4096));
  std::string chunk(16 << 10, 'x');
  std::size_t pushed = 0;
  auto until = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    auto n = hog->write_some(sockit::as_bytes(chunk), Deadline::after(300ms));
    if (!n) break;  // stalled: the server stopped reading from us
    pushed += *n;
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "server never stopped reading";
  }
  EXPECT_GT(pushed, 0u);
  EXPECT_LT(pushed, 32u << 20) << "server kept reading from a client that never reads";
  // Everyone else keeps service meanwhile; the iterative model serves the next client only
  // once the hog is gone (documented head-of-line blocking).
  if (GetParam() != serve::Model::iterative) expect_echo(port, "still there?");
  hog->reset();
  if (GetParam() == serve::Model::iterative) expect_echo(port, "next");
}

TEST_P(EchoTransport, ClientsThatResetOrVanishMidMessageDoNotHurtOthers) {
  std::uint16_t port = start();
  ASSERT_NE(port, 0);
  for (int i = 0; i < 10; ++i) {
    auto c = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
    ASSERT_TRUE(c);
    std::string half = sockit::test::pattern(20'000, static_cast<std::uint32_t>(i));
    (void)c->write_all(half, Deadline::after(5s));
    if (i % 2 == 0) {
      c->reset();
    } else {
      c->close();
    }
  }
  expect_echo(port, "after the storm");
}

// A service that only reads: nothing it writes can wake an edge-triggered loop, so a one-byte
// read must not be taken for "drained" (a transport's short read is not the kernel's).
TEST_P(EchoTransport, DiscardReadsEverySliceToTheEnd) {
  serve::ServerOptions opts;
  opts.model = GetParam();
  opts.listen = {Address::ipv4_loopback(0)};
  opts.transport = sockit::test::SliceTransport::factory(1, counters_);
  auto s = serve::Server::create(std::move(opts), sockit::proto::make_session_factory(sockit::proto::Service::discard));
  ASSERT_TRUE(s) << s.error().message();
  server_ = std::move(*s);
  ASSERT_TRUE(server_->start());
  auto c = TcpStream::connect(Address::ipv4_loopback(server_->local_addresses()[0].port()), Deadline::after(5s));
  ASSERT_TRUE(c);
  std::string data = sockit::test::pattern(16 << 10, 7);
  ASSERT_TRUE(c->write_all(data, Deadline::after(10s)));
  if (!forks()) {
    // No FIN yet (a FIN would make the loop read to EAGAIN anyway): every byte must be read.
    EXPECT_TRUE(sockit::test::wait_until([&] { return counters_.bytes_read.load() == data.size(); }, 5s))
        << "the server stopped reading at " << counters_.bytes_read.load() << " of " << data.size() << " bytes";
  }
  ASSERT_TRUE(c->shutdown_write());
  auto got = sockit::test::read_to_eof(*c, Deadline::after(10s));
  ASSERT_TRUE(got) << "no end of stream from the server";
  EXPECT_EQ(*got, "");
}

TEST_P(EchoTransport, StopDrainsWithFinThroughTheTransport) {
  std::uint16_t port = start();
  ASSERT_NE(port, 0);
  auto idle = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
  ASSERT_TRUE(idle);
  ASSERT_TRUE(idle->write_all("ping", Deadline::after(5s)));
  char b[4];
  ASSERT_TRUE(idle->read_exact(std::as_writable_bytes(std::span(b)), Deadline::after(5s)));
  server_->stop(5s);
  char x;
  auto n = idle->read_some(std::as_writable_bytes(std::span(&x, 1)), Deadline::after(5s));
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 0u) << "the drain must end with FIN, not a reset";
  idle->close();
  server_->wait();
  EXPECT_TRUE(server_->finished());
}

TEST_P(EchoTransport, IdleConnectionTimesOut) {
  std::uint16_t port = start([](serve::ServerOptions& o) { o.idle_timeout = 200ms; });
  ASSERT_NE(port, 0);
  auto c = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
  ASSERT_TRUE(c);
  char x;
  auto n = c->read_some(std::as_writable_bytes(std::span(&x, 1)), Deadline::after(5s));
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 0u);
  if (!forks()) {
    EXPECT_TRUE(sockit::test::wait_until([&] { return server_->stats().timeouts == 1; }, 5s));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, EchoTransport,
                         testing::Values(serve::Model::iterative, serve::Model::fork, serve::Model::thread,
                                         serve::Model::pool, serve::Model::select, serve::Model::poll,
                                         serve::Model::epoll),
                         [](const testing::TestParamInfo<serve::Model>& p) {
                           return std::string(serve::to_string(p.param));
                         });

}  // namespace
