// sockit::tls's Context and blocking Stream against real peers on 127.0.0.1: openssl s_server and
// s_client, and a Stream server in a thread. Certificates are made at test time (certs.hpp).
#include "certs.hpp"

#include "sockit/net/socket.hpp"
#include "sockit/tls/context.hpp"
#include "sockit/tls/error.hpp"
#include "sockit/tls/stream.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::TcpListener;
namespace tls = sockit::tls;

namespace {

// A client context (no `cert`) or a server context; fails the test if OpenSSL refuses it.
tls::Context make_ctx(tls::Role role, const std::string& cert, const std::string& key, const std::string& ca_file,
                      bool verify, std::vector<std::string> alpn) {
  tls::ContextOptions o;
  o.role = role;
  o.cert_file = cert;
  o.key_file = key;
  o.ca_file = ca_file;
  o.verify = verify;
  o.alpn = std::move(alpn);
  auto c = tls::Context::create(o);
  EXPECT_TRUE(c) << (c ? "" : c.error().message());
  return std::move(*c);
}

tls::Context client_ctx(const std::string& ca_file, bool verify = true, std::vector<std::string> alpn = {}) {
  return make_ctx(tls::Role::client, "", "", ca_file, verify, std::move(alpn));
}

tls::Context server_ctx(const std::string& cert, const std::string& key, std::vector<std::string> alpn = {}) {
  return make_ctx(tls::Role::server, cert, key, "", true, std::move(alpn));
}

// One TLS connection served in a thread: handshake, then echo until the peer's end (or until
// `close_after` bytes), then close_notify + FIN. `error` holds the handshake's failure in words.
class OneShotServer {
 public:
  explicit OneShotServer(tls::Context ctx, std::size_t close_after = SIZE_MAX) {
    auto l = TcpListener::bind(Address::ipv4_loopback(0));
    EXPECT_TRUE(l);
    listener_ = std::move(*l);
    port = listener_.local_address()->port();
    thread_ = std::thread([this, close_after, ctx = std::move(ctx)] {
      auto tcp = listener_.accept(Deadline::after(15s));
      if (!tcp) return;
      auto s = tls::Stream::accept(ctx, std::move(*tcp), Deadline::after(10s));
      if (!s) {
        error = s.error().message();
        return;
      }
      std::array<std::byte, 4096> buf{};
      for (std::size_t echoed = 0; echoed < close_after;) {
        auto n = s->read_some(buf, Deadline::after(10s));
        if (!n || *n == 0) break;
        if (!s->write_all(std::span<const std::byte>(buf.data(), *n), Deadline::after(10s))) break;
        echoed += *n;
      }
      (void)s->shutdown_write(Deadline::after(5s));
    });
  }
  ~OneShotServer() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port = 0;
  std::string error;

 private:
  TcpListener listener_;
  std::thread thread_;
};

std::string read_to_eof(tls::Stream& s, Deadline d) {
  std::string got;
  std::array<std::byte, 4096> buf{};
  for (;;) {
    auto n = s.read_some(buf, d);
    if (!n) {
      ADD_FAILURE() << n.error().message();
      break;
    }
    if (*n == 0) break;
    got.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return got;
}

class TlsStream : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok); }
  sockit::test::TestCerts certs_;
};

TEST_F(TlsStream, EchoByteExactWithVerificationAndEofBothWays) {
  OneShotServer srv(server_ctx(certs_.cert, certs_.key));
  auto s = tls::Stream::connect(client_ctx(certs_.ca), "localhost", std::to_string(srv.port), Deadline::after(10s));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->peer_subject(), "CN=localhost");
  EXPECT_EQ(s->version(), "TLSv1.3");
  std::string payload;
  for (int i = 0; i < 200000; ++i) payload.push_back(static_cast<char>(i * 7 % 256));
  // One thread at a time on a tls::Stream (its header): write a chunk, read its echo back.
  std::string got;
  std::array<std::byte, 8192> buf{};
  for (std::size_t off = 0; off < payload.size(); off += 8192) {
    std::string_view part = std::string_view(payload).substr(off, 8192);
    ASSERT_TRUE(s->write_all(part, Deadline::after(20s)));
    while (got.size() < off + part.size()) {
      auto n = s->read_some(buf, Deadline::after(20s));
      ASSERT_TRUE(n && *n > 0);
      got.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
  }
  EXPECT_TRUE(got == payload) << "echo differs";
  ASSERT_TRUE(s->shutdown_write(Deadline::after(5s)));  // close_notify + FIN: the server ends too
  EXPECT_EQ(read_to_eof(*s, Deadline::after(10s)), "");
  srv.join();
  EXPECT_EQ(srv.error, "");
}

TEST_F(TlsStream, VerifiesAnAddressAgainstTheCertificate) {
  OneShotServer srv(server_ctx(certs_.cert, certs_.key));
  auto s = tls::Stream::connect(client_ctx(certs_.ca), "127.0.0.1", std::to_string(srv.port), Deadline::after(10s));
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_TRUE(s->shutdown_write(Deadline::after(5s)));
  EXPECT_EQ(read_to_eof(*s, Deadline::after(10s)), "");
}

TEST_F(TlsStream, RefusesSelfSignedWithoutTrustfileInWords) {
  OneShotServer srv(server_ctx(certs_.self_cert, certs_.self_key));
  auto s = tls::Stream::connect(client_ctx(""), "localhost", std::to_string(srv.port), Deadline::after(10s));
  ASSERT_FALSE(s);
  EXPECT_TRUE(tls::is_verify_error(s.error().code()));
  EXPECT_EQ(s.error().message(), "tls: certificate verify failed (CN=localhost): self-signed certificate");
}

TEST_F(TlsStream, RefusesWrongHostInWords) {
  OneShotServer srv(server_ctx(certs_.cert, certs_.key));
  tls::ClientOptions co;
  co.server_name = "irc.example.org";
  auto s = tls::Stream::connect(client_ctx(certs_.ca), "127.0.0.1", std::to_string(srv.port), Deadline::after(10s), co);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "tls: certificate verify failed (CN=localhost): hostname mismatch");
}

TEST_F(TlsStream, RefusesExpiredInWords) {
  OneShotServer srv(server_ctx(certs_.expired, certs_.key));
  auto s = tls::Stream::connect(client_ctx(certs_.ca), "localhost", std::to_string(srv.port), Deadline::after(10s));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "tls: certificate verify failed (CN=localhost): certificate has expired");
}

TEST_F(TlsStream, WithoutVerificationTakesSelfSignedAndNegotiatesAlpn) {
  OneShotServer srv(server_ctx(certs_.self_cert, certs_.self_key, {"irc", "h2"}));
  auto s = tls::Stream::connect(client_ctx("", false, {"h2"}), "localhost", std::to_string(srv.port), Deadline::after(10s));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->alpn(), "h2");
  ASSERT_TRUE(s->shutdown_write(Deadline::after(5s)));
}

TEST_F(TlsStream, TalksToOpensslServerByteExactAndEofBothWays) {
  auto child = sockit::test::Child::spawn({"openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert",
                                           certs_.cert, "-key", certs_.key});
  std::string head = child.read_stdout_until("\n", 10s);
  for (int i = 0; i < 5 && head.find("ACCEPT") == std::string::npos; ++i) head += child.read_stdout_until("\n", 10s);
  auto at = head.find("ACCEPT 127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << head;
  std::string port = head.substr(at + 17, head.find('\n', at) - at - 17);
  auto s = tls::Stream::connect(client_ctx(certs_.ca), "localhost", port, Deadline::after(10s));
  ASSERT_TRUE(s) << s.error().message();
  const std::string to_server = "from sockit \x01\x02\x7f\xc3\xa9 to s_server\n";
  ASSERT_TRUE(s->write_all(to_server, Deadline::after(5s)));
  std::string out = child.read_stdout_until(to_server, 10s);
  EXPECT_NE(out.find(to_server), std::string::npos) << out;
  const std::string to_client = "from s_server to sockit\n";
  ASSERT_TRUE(child.write_stdin(to_client));
  std::string got;
  std::array<std::byte, 256> buf{};
  while (got.size() < to_client.size()) {
    auto n = s->read_some(buf, Deadline::after(10s));
    ASSERT_TRUE(n && *n > 0);
    got.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  EXPECT_EQ(got, to_client);
  child.close_stdin();  // s_server: stdin's end -> close_notify to us
  EXPECT_EQ(read_to_eof(*s, Deadline::after(10s)), "");
  (void)s->shutdown_write(Deadline::after(5s));  // s_server may be gone already (EPIPE)
  EXPECT_EQ(child.wait(10s), 0);
}

TEST_F(TlsStream, Tls11ClientRefused) {
  OneShotServer srv(server_ctx(certs_.cert, certs_.key));
  auto r = sockit::test::run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(srv.port), "-tls1_1",
                              "-cipher", "DEFAULT@SECLEVEL=0"},
                             "", 15s);
  srv.join();
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(srv.error.find("unsupported protocol"), std::string::npos) << srv.error;
}

TEST_F(TlsStream, OpensslClientTalksToStreamServer) {
  OneShotServer srv(server_ctx(certs_.cert, certs_.key), 18);  // then close_notify: s_client ends
  auto r = sockit::test::run({"openssl", "s_client", "-quiet", "-connect", "127.0.0.1:" + std::to_string(srv.port),
                              "-CAfile", certs_.ca, "-verify_return_error", "-verify_hostname", "localhost"},
                             "line one\nline two\n", 15s);
  srv.join();
  EXPECT_EQ(srv.error, "");
  EXPECT_EQ(r.out, "line one\nline two\n") << r.err;
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(TlsContext, BadInputSaysWhat) {
  tls::ContextOptions o;
  o.role = tls::Role::server;
  auto none = tls::Context::create(o);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "tls: a TLS server needs a certificate and its key");
  o.cert_file = "/nonexistent/cert.pem";
  auto missing = tls::Context::create(o);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("tls: certificate /nonexistent/cert.pem"), std::string::npos)
      << missing.error().message();
  tls::ContextOptions c;
  c.ciphers = "NOT-A-CIPHER";
  auto bad = tls::Context::create(c);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "tls: ciphers 'NOT-A-CIPHER': option refused by OpenSSL");
}

TEST(TlsContext, SelfSignedHasASha256Fingerprint) {
  auto c = tls::Context::self_signed({}, "localhost");
  ASSERT_TRUE(c) << c.error().message();
  std::string fp = c->fingerprint();
  EXPECT_EQ(fp.size(), 32u * 3 - 1) << fp;
}

}  // namespace
