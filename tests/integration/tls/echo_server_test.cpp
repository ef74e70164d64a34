// `sockit echo-server --tls-cert F --tls-key F`: the binary under every model (iterative, fork,
// thread, pool, epoll), real clients on 127.0.0.1: tls::Stream and openssl s_client byte-exact,
// end of stream both ways, a plaintext client closed while the server keeps serving; bad flags
// and bad PEM files refused in words. Certificates are made at test time (certs.hpp).
#include "certs.hpp"

#include "sockit/net/socket.hpp"
#include "sockit/tls/context.hpp"
#include "sockit/tls/stream.hpp"

#include <gtest/gtest.h>

#include <array>
#include <csignal>
#include <optional>
#include <string>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::TcpStream;
using sockit::test::Child;
namespace tls = sockit::tls;

namespace {

// A running `sockit echo-server` with TLS listeners; port() is 0 when it did not start.
class TlsEchoServer {
 public:
  TlsEchoServer(const sockit::test::TestCerts& certs, const std::string& model, const std::string& service = "echo")
      : child_(Child::spawn({sockit::test::sockit_bin(), "echo-server", "--model", model, "--listen", "127.0.0.1:0",
                             "--service", service, "--tls-cert", certs.cert, "--tls-key", certs.key})) {
    err_ = child_.read_stderr_until("counters: kill -USR1", 20s);
    const std::string key = "listening on tcp 127.0.0.1:";
    auto pos = err_.find(key);
    if (pos != std::string::npos) port_ = static_cast<std::uint16_t>(std::stoul(err_.substr(pos + key.size())));
  }
  ~TlsEchoServer() {
    child_.signal(SIGTERM);
    EXPECT_EQ(child_.wait(10s), 0);
  }
  TlsEchoServer(const TlsEchoServer&) = delete;
  TlsEchoServer& operator=(const TlsEchoServer&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& err() const { return err_; }

 private:
  Child child_;
  std::string err_;
  std::uint16_t port_ = 0;
};

class EchoServerTls : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok); }

  sockit::Result<tls::Stream> connect(std::uint16_t port) {
    tls::ContextOptions o;
    o.ca_file = certs_.ca;  // verified: the server presents --tls-cert
    auto ctx = tls::Context::create(o);
    if (!ctx) return std::move(ctx).error();
    return tls::Stream::connect(*ctx, "localhost", std::to_string(port), Deadline::after(10s));
  }

  /// Reads until the peer's end of stream; returns what came (nullopt on an error or timeout).
  static std::optional<std::string> read_to_end(tls::Stream& s) {
    std::string got;
    std::array<std::byte, 16384> buf{};
    for (;;) {
      auto n = s.read_some(buf, Deadline::after(15s));
      if (!n) {
        ADD_FAILURE() << "read: " << n.error().message() << " after " << got.size() << " bytes";
        return std::nullopt;
      }
      if (*n == 0) return got;
      got.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
  }

  /// Writes `payload` chunk by chunk, each echo read back, then close_notify + FIN; the server's
  /// end of stream must follow with nothing more.
  void echo_session(std::uint16_t port, const std::string& payload) {
    auto s = connect(port);
    ASSERT_TRUE(s) << s.error().message();
    std::string got;
    std::array<std::byte, 16384> buf{};
    for (std::size_t off = 0; off < payload.size(); off += 8192) {
      std::string_view part = std::string_view(payload).substr(off, 8192);
      ASSERT_TRUE(s->write_all(part, Deadline::after(15s)));
      while (got.size() < off + part.size()) {
        auto n = s->read_some(buf, Deadline::after(15s));
        ASSERT_TRUE(n && *n > 0) << "echo cut after " << got.size() << " bytes";
        got.append(reinterpret_cast<const char*>(buf.data()), *n);
      }
    }
    EXPECT_TRUE(got == payload) << "echo differs (" << got.size() << " of " << payload.size() << " bytes)";
    ASSERT_TRUE(s->shutdown_write(Deadline::after(5s)));
    auto rest = read_to_end(*s);
    ASSERT_TRUE(rest);
    EXPECT_EQ(*rest, "") << "the server's end of stream after ours, nothing more";
  }

  sockit::test::TestCerts certs_;
};

std::string pattern(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>((i * 131 + 17) % 256));
  return s;
}

TEST_P(EchoServerTls, StreamEchoByteExactAndEofBothWays) {
  TlsEchoServer srv(certs_, GetParam());
  ASSERT_NE(srv.port(), 0) << srv.err();
  EXPECT_NE(srv.err().find("(TLS)"), std::string::npos) << srv.err();
  EXPECT_NE(srv.err().find("openssl s_client -connect 127.0.0.1:"), std::string::npos) << srv.err();
  echo_session(srv.port(), "hello, tls\n");
  echo_session(srv.port(), pattern(100000));  // records cut reads and writes on both sides
}

TEST_P(EchoServerTls, ServerEndsItsStreamFirst) {
  // daytime: the server writes a line and ends its direction (close_notify, FIN) on its own.
  TlsEchoServer srv(certs_, GetParam(), "daytime");
  ASSERT_NE(srv.port(), 0) << srv.err();
  auto s = connect(srv.port());
  ASSERT_TRUE(s) << s.error().message();
  auto got = read_to_end(*s);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->ends_with("\r\n")) << *got;
  EXPECT_GT(got->size(), 10u) << *got;
}

TEST_P(EchoServerTls, OpensslClientByteExact) {
  TlsEchoServer srv(certs_, GetParam());
  ASSERT_NE(srv.port(), 0) << srv.err();
  std::string payload;
  for (int i = 0; i < 2000; ++i) payload += "line " + std::to_string(i) + " of the openssl client\n";
  // -no_ign_eof: s_client ends at its stdin's end (close_notify, then it exits), closed here once
  // the whole echo has come back.
  Child c = Child::spawn({"openssl", "s_client", "-quiet", "-no_ign_eof", "-connect",
                          "127.0.0.1:" + std::to_string(srv.port()), "-CAfile", certs_.ca, "-verify_return_error",
                          "-verify_hostname", "localhost"});
  ASSERT_TRUE(c.write_stdin(payload));
  std::string out = c.read_stdout_until("line 1999 of the openssl client\n", 20s);
  c.close_stdin();
  out += c.read_stdout(10s);
  EXPECT_EQ(out.size(), payload.size());
  EXPECT_TRUE(out == payload) << "s_client's echo differs";
  EXPECT_EQ(c.wait(10s), 0) << c.read_stderr(1s);
}

TEST_P(EchoServerTls, PlaintextClientClosedServerKeepsServing) {
  TlsEchoServer srv(certs_, GetParam());
  ASSERT_NE(srv.port(), 0) << srv.err();
  std::string got;
  EXPECT_TRUE(sockit::test::plaintext_client_closed(srv.port(), "GET / HTTP/1.0\r\n\r\n", got))
      << "the plaintext client was not closed";
  EXPECT_EQ(got.find("GET"), std::string::npos) << "plaintext echoed back";
  echo_session(srv.port(), "still serving\n");
}

INSTANTIATE_TEST_SUITE_P(Models, EchoServerTls, testing::Values("iterative", "fork", "thread", "pool", "epoll"),
                         [](const testing::TestParamInfo<std::string>& p) { return p.param; });

// Bad flags: exit 2 with the reason; a missing or bad PEM file: exit 1 with the file named.
TEST(EchoServerTlsFlags, BadFlagsAndFilesSayWhat) {
  sockit::test::TestCerts certs;
  ASSERT_TRUE(certs.ok);
  const std::string bin = sockit::test::sockit_bin();
  auto r = sockit::test::run({bin, "echo-server", "--listen", "127.0.0.1:0", "--tls-cert", certs.cert}, "", 10s);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--tls-cert needs --tls-key"), std::string::npos) << r.err;
  r = sockit::test::run({bin, "echo-server", "--listen", "127.0.0.1:0", "--tls-key", certs.key}, "", 10s);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--tls-key needs --tls-cert"), std::string::npos) << r.err;
  r = sockit::test::run({bin, "echo-server", "--no-tcp", "--udp", "127.0.0.1:0", "--tls-cert", certs.cert, "--tls-key",
                         certs.key},
                        "", 10s);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("not with --no-tcp"), std::string::npos) << r.err;
  const std::string missing = certs.dir + "/missing.pem";
  r = sockit::test::run({bin, "echo-server", "--listen", "127.0.0.1:0", "--tls-cert", missing, "--tls-key", certs.key},
                        "", 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("tls: certificate " + missing), std::string::npos) << r.err;
  // A key given as the certificate: not a certificate PEM.
  r = sockit::test::run({bin, "echo-server", "--listen", "127.0.0.1:0", "--tls-cert", certs.key, "--tls-key", certs.key},
                        "", 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("tls: certificate " + certs.key), std::string::npos) << r.err;
  // A key that does not match the certificate.
  r = sockit::test::run({bin, "echo-server", "--listen", "127.0.0.1:0", "--tls-cert", certs.cert, "--tls-key",
                         certs.self_key},
                        "", 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("tls:"), std::string::npos) << r.err;
}

}  // namespace
