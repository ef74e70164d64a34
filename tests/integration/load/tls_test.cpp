// sockit load --tls and the handshake mode (issue #16 item 5) against the real `sockit
// echo-server --tls-cert F --tls-key F` on 127.0.0.1:0: every TCP mode over TLS, verification off
// by default and on with --tls-ca, handshakes with and without session resumption, a plaintext
// server counted as a TLS error; and the tls::Transport write failure load flood --tls found.
// Certificates are made at test time (tests/integration/tls).
#include "integration/tls/certs.hpp"
#include "make_options.hpp"
#include "support/support.hpp"

#include "sockit/net/io.hpp"
#include "sockit/net/socket.hpp"
#include "sockit/tls/context.hpp"
#include "sockit/tls/stream.hpp"
#include "sockit/tls/transport.hpp"
#include "tools/load/engine.hpp"
#include "tools/load/options.hpp"
#include "tools/load/report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sockit::load::ErrorKind;
using sockit::load::Mode;
using sockit::load::test::err;
using sockit::load::test::make;
using sockit::test::Child;

// `sockit echo-server` (epoll) on 127.0.0.1:0, with TLS listeners given a certificate and key;
// target() is empty when it did not start.
class TlsEchoServer {
 public:
  TlsEchoServer(const std::string& cert, const std::string& key)
      : TlsEchoServer(std::vector<std::string>{"--tls-cert", cert, "--tls-key", key}) {}
  explicit TlsEchoServer(std::vector<std::string> flags)
      : child_(Child::spawn([&] {
          std::vector<std::string> argv{sockit::test::sockit_bin(), "echo-server", "--listen", "127.0.0.1:0"};
          argv.insert(argv.end(), flags.begin(), flags.end());
          return argv;
        }())) {
    const std::string err = child_.read_stderr_until("counters: kill -USR1", 20s);
    const std::string at = "listening on tcp ";
    if (auto pos = err.find(at); pos != std::string::npos)
      target_ = err.substr(pos + at.size(), err.find_first_of(" \n", pos + at.size()) - pos - at.size());
  }
  ~TlsEchoServer() {
    child_.signal(SIGTERM);
    EXPECT_EQ(child_.wait(10s), 0);
  }
  const std::string& target() const { return target_; }
  std::uint16_t port() const { return static_cast<std::uint16_t>(std::stoul(target_.substr(target_.rfind(':') + 1))); }

 private:
  Child child_;
  std::string target_;
};

class LoadTls : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok); }

  // A server-side tls::Transport on an accepted, non-blocking socket, its handshake done against a
  // blocking tls::Stream client (verification off): the pieces the tests below drive by hand.
  struct Handshaked {
    std::optional<sockit::TcpStream> conn;
    std::optional<sockit::Result<sockit::tls::Stream>> client;
    std::optional<sockit::tls::Transport> server;
    int fd = -1;
  };
  void handshake(Handshaked& h, std::chrono::steady_clock::time_point until) {
    auto listener = sockit::TcpListener::bind(sockit::Address::ipv4_loopback(0));
    ASSERT_TRUE(listener);
    const auto port = listener->local_address()->port();
    sockit::tls::ContextOptions so;
    so.role = sockit::tls::Role::server;
    so.cert_file = certs_.cert;
    so.key_file = certs_.key;
    so.verify = false;
    auto sctx = sockit::tls::Context::create(so);
    ASSERT_TRUE(sctx);
    sockit::tls::ContextOptions co;
    co.verify = false;
    auto cctx = sockit::tls::Context::create(co);
    ASSERT_TRUE(cctx);
    std::thread t([&] { h.client = sockit::tls::Stream::connect(*cctx, "127.0.0.1", std::to_string(port), sockit::Deadline::after(10s)); });
    auto conn = listener->accept(sockit::Deadline::after(10s));
    if (!conn) t.join();
    ASSERT_TRUE(conn);
    h.conn.emplace(std::move(*conn));
    ASSERT_TRUE(sockit::set_nonblocking(h.conn->fd()));
    h.fd = h.conn->fd();
    auto& server = h.server.emplace(*sctx);
    while (!server.handshake(h.fd) && server.failure() == 0 && std::chrono::steady_clock::now() < until) {
      pollfd p{h.fd, static_cast<short>(sockit::loop::has(server.wants(), sockit::loop::Want::write) ? POLLOUT : POLLIN), 0};
      ::poll(&p, 1, 100);
    }
    t.join();
    ASSERT_TRUE(server.established()) << server.failure_text();
    ASSERT_TRUE(h.client && *h.client);
  }

  sockit::test::TestCerts certs_;
};

}  // namespace

// Every TCP mode runs over TLS against the echo server: the echoes are checked byte by byte as in
// plaintext; no certificate check by default (a load tool), so the test CA is not needed.
TEST_F(LoadTls, EveryTcpModeOverTlsAgainstTheEchoServer) {
  TlsEchoServer srv(certs_.cert, certs_.key);
  ASSERT_FALSE(srv.target().empty());
  auto run = [&](Mode m, std::vector<std::string> extra) {
    extra.push_back("--tls");
    auto o = make(m, srv.target(), extra);
    auto r = sockit::load::run(o);
    EXPECT_TRUE(r.ok());
    return r ? *r : sockit::load::RunResult{};
  };
  auto pp = run(Mode::pingpong, {"-c", "4", "-n", "200", "--size", "3000", "-d", "20s"});
  EXPECT_EQ(pp.stats.units, 200u);
  EXPECT_EQ(pp.stats.error_total(), 0u);
  auto fl = run(Mode::flood, {"-c", "2", "-d", "300ms", "--size", "4KiB", "--window", "64KiB"});
  EXPECT_GT(fl.stats.units, 10u);
  EXPECT_EQ(fl.stats.error_total(), 0u);
  auto cn = run(Mode::connect, {"-c", "3", "-n", "30", "-d", "20s"});
  EXPECT_EQ(cn.stats.units, 30u);
  EXPECT_EQ(cn.stats.error_total(), 0u);
  auto hd = run(Mode::hold, {"-c", "20", "-d", "200ms"});
  EXPECT_EQ(hd.stats.held, 20u);
  EXPECT_EQ(hd.stats.alive, 20u);
  EXPECT_EQ(hd.stats.error_total(), 0u);
}

// `load flood --tls` left the echo server spinning at 100 % CPU, serving no one: its clients end
// with a FIN while echoes are still coming, so the server read the end of the stream, wrote, and
// the peer's reset failed the next write; OpenSSL names that failure by the end already read
// (SSL_ERROR_ZERO_RETURN), tls::Transport::write returned 0, and the event loop's write loop
// retried it forever. Here the same steps on one server-side Transport: the write must fail.
TEST_F(LoadTls, TransportWriteAfterThePeersEndAndResetFailsInsteadOfReturningZero) {
  // SIGPIPE at its default (death): a library must not raise it. OpenSSL's own socket BIO
  // write(2)s, so the write after the reset killed this process before tls:: had a BIO of its own
  // (detail::attach_socket, MSG_NOSIGNAL).
  const auto old_pipe = std::signal(SIGPIPE, SIG_DFL);
  const auto until = std::chrono::steady_clock::now() + 10s;
  Handshaked h;
  ASSERT_NO_FATAL_FAILURE(handshake(h, until));
  auto& server = *h.server;
  auto& client = h.client;
  const int fd = h.fd;
  ASSERT_TRUE((*client)->shutdown_write(sockit::Deadline::after(5s)));  // close_notify, FIN
  client->value().tcp().close();
  std::array<std::byte, 1024> buf{};
  ssize_t n = -1;
  while ((n = server.read(fd, buf)) < 0 && errno == EAGAIN && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 100);
  }
  ASSERT_EQ(n, 0);  // the client's end
  const std::string chunk(16 * 1024, 'x');
  const auto bytes = std::as_bytes(std::span(chunk));
  // Written until the closed client's reset is in (it answers the first bytes with RST, or did
  // already: the TLS 1.3 session tickets it never read).
  ssize_t w = 1;
  for (int i = 0; i < 100 && (w = server.write(fd, bytes)) > 0; ++i) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 10);  // until the reset is in
  }
  EXPECT_EQ(w, -1) << "a failed write must not read as 'no progress'";
  EXPECT_TRUE(errno == EPIPE || errno == ECONNRESET) << std::strerror(errno);
  std::signal(SIGPIPE, old_pipe);
}

// The Transport reads ahead (SSL_set_read_ahead: one recv per record instead of the 5-byte header
// and then the body, bench/tls-compare.sh), so one recv can take several records off the socket.
// pending_input() must count the ones not decoded yet: a reader that stops before EAGAIN (the
// event loop's reads_per_event) asks it whether to come back, as the socket will not say so again.
// With SSL_pending() alone it said 0 here, with two records waiting in OpenSSL's buffer.
TEST_F(LoadTls, TransportReportsRecordsReadAheadAsPendingInput) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  Handshaked h;
  ASSERT_NO_FATAL_FAILURE(handshake(h, until));
  const std::string line(100, 'r');
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*h.client)->write_all(line, sockit::Deadline::after(5s)));  // 3 records
  // All three in the server's receive queue: 100 bytes + 22 of TLS 1.3 framing each.
  int queued = 0;
  while (::ioctl(h.fd, FIONREAD, &queued) == 0 && queued < 3 * 122 && std::chrono::steady_clock::now() < until) {
    pollfd p{h.fd, POLLIN, 0};
    ::poll(&p, 1, 10);
  }
  ASSERT_GE(queued, 3 * 122);
  std::string got;
  std::array<std::byte, 100> buf{};
  ssize_t n = h.server->read(h.fd, buf);
  ASSERT_EQ(n, 100);
  got.append(reinterpret_cast<const char*>(buf.data()), 100);
  pollfd p{h.fd, POLLIN, 0};
  const bool socket_says = ::poll(&p, 1, 0) == 1;
  EXPECT_TRUE(socket_says || h.server->pending_input() > 0)
      << "two records unread, but neither the socket nor pending_input() says so";
  while (got.size() < 300 && (n = h.server->read(h.fd, buf)) > 0) got.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
  EXPECT_EQ(got, line + line + line);
  EXPECT_EQ(h.server->pending_input(), 0u);
  // The start of a record (3 of its 5 header bytes): read() wants more from the socket, and what
  // OpenSSL holds is not input to come back for (a blocking model would poll with a zero timeout
  // until the rest arrived).
  const std::string start("\x17\x03\x03", 3);
  ASSERT_EQ(::send((*h.client)->tcp().fd(), start.data(), start.size(), MSG_NOSIGNAL), 3);
  while (::ioctl(h.fd, FIONREAD, &queued) == 0 && queued < 3 && std::chrono::steady_clock::now() < until) {
    pollfd q{h.fd, POLLIN, 0};
    ::poll(&q, 1, 10);
  }
  ASSERT_EQ(queued, 3);
  EXPECT_EQ(h.server->read(h.fd, buf), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(h.server->pending_input(), 0u) << "half a record header reported as input";
}

// --tls-ca turns verification on: the CA-signed certificate (which names 127.0.0.1) passes, a
// self-signed one is refused as a `tls` error with the reason in the note; without --tls-ca the
// self-signed server is loaded as any other.
TEST_F(LoadTls, VerificationOffByDefaultOnWithTlsCa) {
  {
    TlsEchoServer srv(certs_.cert, certs_.key);
    ASSERT_FALSE(srv.target().empty());
    auto o = make(Mode::pingpong, srv.target(), {"--tls", "--tls-ca", certs_.ca, "-c", "2", "-n", "20", "-d", "10s"});
    auto r = sockit::load::run(o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->stats.units, 20u);
    EXPECT_EQ(r->stats.error_total(), 0u);
  }
  TlsEchoServer self(certs_.self_cert, certs_.self_key);
  ASSERT_FALSE(self.target().empty());
  auto off = make(Mode::pingpong, self.target(), {"--tls", "-c", "2", "-n", "20", "-d", "10s"});
  auto r = sockit::load::run(off);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 20u);
  auto on = make(Mode::pingpong, self.target(), {"--tls", "--tls-ca", certs_.ca, "-c", "1", "-d", "300ms"});
  r = sockit::load::run(on);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 0u);
  EXPECT_GT(err(*r, ErrorKind::tls), 0u);
  EXPECT_NE(r->note.find("tls: certificate verify failed (CN=localhost): self-signed certificate"), std::string::npos)
      << r->note;
  EXPECT_EQ(sockit::load::exit_status(on, *r), 1);
}

// The handshake mode: -n handshakes exactly, none resumed without --resume; with it, every
// connection after the first ones offers the last session and the server resumes it.
TEST_F(LoadTls, HandshakeModeCountsHandshakesAndResumedSessions) {
  TlsEchoServer srv(certs_.cert, certs_.key);
  ASSERT_FALSE(srv.target().empty());
  auto full = make(Mode::handshake, srv.target(), {"-c", "2", "-n", "40", "-d", "20s"});
  EXPECT_TRUE(full.tls);
  auto r = sockit::load::run(full);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 40u);
  EXPECT_EQ(r->stats.resumed, 0u);
  EXPECT_EQ(r->stats.error_total(), 0u);
  EXPECT_EQ(r->stats.latency.count(), 40u);

  auto resumed = make(Mode::handshake, srv.target(), {"-c", "2", "-n", "40", "-d", "20s", "--resume"});
  r = sockit::load::run(resumed);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 40u);
  EXPECT_EQ(r->stats.error_total(), 0u);
  // The first connection of each worker (two at once, before any session) is a full handshake.
  EXPECT_GE(r->stats.resumed, 37u);
  const auto j = sockit::load::to_json(resumed, *r);
  EXPECT_EQ(j["unit"], "handshake");
  EXPECT_EQ(j["resumed"], r->stats.resumed);
  EXPECT_EQ(j["tls"], true);
  EXPECT_NE(sockit::load::to_text(resumed, *r).find("resumed"), std::string::npos);
}

// A server that speaks no TLS (this one echoes the ClientHello back) is a `tls` error, not a
// hang; the run ends on time.
TEST_F(LoadTls, PlaintextServerIsATlsError) {
  TlsEchoServer plain(std::vector<std::string>{});  // no certificate: plaintext
  ASSERT_FALSE(plain.target().empty());
  auto o = make(Mode::handshake, plain.target(), {"-c", "1", "-d", "300ms", "--timeout", "1s"});
  auto r = sockit::load::run(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.units, 0u);
  EXPECT_GT(err(*r, ErrorKind::tls), 0u);
  EXPECT_NE(r->note.find("tls: "), std::string::npos) << r->note;
}

// The binary: the handshake mode's text report, and a --tls-ca file OpenSSL cannot read (exit 1,
// named).
TEST_F(LoadTls, CliHandshakeReportAndBadCaFile) {
  TlsEchoServer srv(certs_.cert, certs_.key);
  ASSERT_FALSE(srv.target().empty());
  auto res = sockit::test::run({sockit::test::sockit_bin(), "load", "handshake", srv.target(), "-c", "2", "-n", "20",
                                "-d", "20s", "--resume"}, "", 60s);
  EXPECT_EQ(res.status, 0) << res.out << res.err;
  EXPECT_NE(res.out.find("handshakes   20 ("), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("  tls          resumed "), std::string::npos) << res.out;
  res = sockit::test::run({sockit::test::sockit_bin(), "load", "pingpong", srv.target(), "--tls", "--tls-ca",
                           certs_.dir + "/missing.pem", "-n", "1"}, "", 20s);
  EXPECT_EQ(res.status, 1);
  EXPECT_NE(res.err.find("sockit load: tls: trust file " + certs_.dir + "/missing.pem"), std::string::npos) << res.err;
}
