// tls::Transport through the transport seam: the echo service in-process (serve::Server) with
// ServerOptions::transport = tls::transport_factory(...), under the epoll, poll and thread
// models; real clients on 127.0.0.1 (tls::Stream, openssl s_client -tls1_1, a plaintext TcpStream;
// s_client against a TLS listener byte-exact: interop.nc_tls).
#include "certs.hpp"

#include "sockit/net/socket.hpp"
#include "sockit/proto/services.hpp"
#include "sockit/serve/server.hpp"
#include "sockit/tls/context.hpp"
#include "sockit/tls/stream.hpp"
#include "sockit/tls/transport.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::TcpStream;
namespace serve = sockit::serve;
namespace tls = sockit::tls;

namespace {

class TlsTransport : public testing::TestWithParam<serve::Model> {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok); }
  void TearDown() override {
    if (server_) {
      server_->stop(5s);
      server_->wait();
    }
  }

  std::uint16_t start(std::chrono::nanoseconds handshake_timeout = 10s) {
    tls::ContextOptions o;
    o.role = tls::Role::server;
    o.cert_file = certs_.cert;
    o.key_file = certs_.key;
    auto ctx = tls::Context::create(o);
    EXPECT_TRUE(ctx) << (ctx ? "" : ctx.error().message());
    if (!ctx) return 0;
    serve::ServerOptions opts;
    opts.model = GetParam();
    opts.listen = {Address::ipv4_loopback(0)};
    tls::TransportOptions to;
    to.handshake_timeout = handshake_timeout;
    opts.transport = tls::transport_factory(std::move(*ctx), to);
    auto s = serve::Server::create(std::move(opts), sockit::proto::make_session_factory(sockit::proto::Service::echo));
    EXPECT_TRUE(s) << (s ? "" : s.error().message());
    if (!s) return 0;
    server_ = std::move(*s);
    EXPECT_TRUE(server_->start());
    return server_->local_addresses()[0].port();
  }

  sockit::Result<tls::Stream> connect(std::uint16_t port) {
    tls::ContextOptions o;
    o.ca_file = certs_.ca;
    auto ctx = tls::Context::create(o);
    if (!ctx) return std::move(ctx).error();
    return tls::Stream::connect(*ctx, "localhost", std::to_string(port), Deadline::after(10s));
  }

  /// Sends `payload` (from a second thread), reads the echo back, ends with close_notify + FIN
  /// and expects the server's end of stream.
  void echo_session(std::uint16_t port, const std::string& payload) {
    auto s = connect(port);
    ASSERT_TRUE(s) << s.error().message();
    // One thread at a time on a tls::Stream (its header): write a chunk, read its echo back.
    std::string got;
    std::array<std::byte, 16384> buf{};
    bool cut = false;
    for (std::size_t off = 0; off < payload.size() && !cut; off += 8192) {
      std::string_view part = std::string_view(payload).substr(off, 8192);
      EXPECT_TRUE(s->write_all(part, Deadline::after(20s)));
      while (got.size() < off + part.size()) {
        auto n = s->read_some(buf, Deadline::after(20s));
        if (!n || *n == 0) {
          ADD_FAILURE() << "echo cut after " << got.size() << " bytes: " << (n ? "EOF" : n.error().message());
          cut = true;
          break;
        }
        got.append(reinterpret_cast<const char*>(buf.data()), *n);
      }
    }
    EXPECT_TRUE(got == payload) << "echo differs (" << got.size() << " of " << payload.size() << " bytes)";
    ASSERT_TRUE(s->shutdown_write(Deadline::after(5s)));
    auto end = s->read_some(buf, Deadline::after(10s));
    ASSERT_TRUE(end) << end.error().message();
    EXPECT_EQ(*end, 0u) << "the server's close_notify/FIN after ours";
  }

  sockit::test::TestCerts certs_;
  std::unique_ptr<serve::Server> server_;
};

TEST_P(TlsTransport, EchoSessionByteExactAndEofBothWays) {
  std::uint16_t port = start();
  ASSERT_NE(port, 0);
  echo_session(port, "hello, tls\n");
  std::string big;
  for (int i = 0; i < 300000; ++i) big.push_back(static_cast<char>((i * 31 + 7) % 256));
  echo_session(port, big);  // records cut writes and reads: partial I/O both ways
}

TEST_P(TlsTransport, PlaintextClientClosedCleanlyOthersServed) {
  std::uint16_t port = start();
  ASSERT_NE(port, 0);
  auto plain = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
  ASSERT_TRUE(plain);
  ASSERT_TRUE(plain->write_all("GET / HTTP/1.0\r\n\r\n", Deadline::after(5s)));
  std::array<std::byte, 512> buf{};
  bool ended = false;
  for (int i = 0; i < 10 && !ended; ++i) {  // at most an alert record, then the end
    auto n = plain->read_some(buf, Deadline::after(10s));
    ended = !n ? n.error() != std::errc::timed_out : *n == 0;
  }
  EXPECT_TRUE(ended) << "the plaintext client was not closed";
  echo_session(port, "still serving\n");
}

TEST_P(TlsTransport, SilentClientClosedAtHandshakeTimeout) {
  std::uint16_t port = start(300ms);
  ASSERT_NE(port, 0);
  auto plain = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
  ASSERT_TRUE(plain);
  std::array<std::byte, 64> buf{};
  auto t0 = std::chrono::steady_clock::now();
  auto n = plain->read_some(buf, Deadline::after(10s));
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  echo_session(port, "after the timeout\n");
}

TEST_P(TlsTransport, Tls11ClientRefusedOthersServed) {
  std::uint16_t port = start();
  ASSERT_NE(port, 0);
  auto r = sockit::test::run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-tls1_1",
                              "-cipher", "DEFAULT@SECLEVEL=0"},
                             "", 15s);
  EXPECT_NE(r.status, 0) << r.out;
  echo_session(port, "tls 1.3 still welcome\n");
}

INSTANTIATE_TEST_SUITE_P(Models, TlsTransport,
                         testing::Values(serve::Model::epoll, serve::Model::poll, serve::Model::thread),
                         [](const testing::TestParamInfo<serve::Model>& p) {
                           return std::string(serve::to_string(p.param));
                         });

}  // namespace
