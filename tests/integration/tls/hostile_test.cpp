// Bad input against the TLS servers (issue #16's tests): `sockit echo-server --tls-cert` (epoll and
// thread models) and `sockit chat-server --tls-listen`, real sockets on 127.0.0.1. Garbage bytes, a
// real ClientHello (captured from `openssl s_client`) cut at several points after which the peer
// closes or stalls, an SSLv2 hello and TLS 1.0/1.1-only offers: each connection is closed (the
// stalled ones at --tls-handshake-timeout), a good TLS client keeps being served meanwhile and the
// server's descriptors come back to their count before. 1,000 half-done handshakes at once: the
// good client's round trips stay fast and all 1,000 are closed at the limit. The outcomes are
// counted in sockit_tls_handshakes_total{result} (--metrics) and chat-server logs each failed
// handshake (JSON log: the peer and OpenSSL's reason).
#include "certs.hpp"

#include "sockit/net/socket.hpp"
#include "sockit/tls/context.hpp"
#include "sockit/tls/stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using sockit::Deadline;
using sockit::test::Child;
using Clock = std::chrono::steady_clock;
namespace tls = sockit::tls;

namespace {

constexpr auto kHandshakeLimit = 1s;  // --tls-handshake-timeout of every server here

std::size_t count_fds(pid_t pid) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

std::uint16_t port_after(const std::string& text, const std::string& key) {
  auto pos = text.find(key);
  if (pos == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::stoul(text.substr(pos + key.size())));
}

// A raw TCP connection to 127.0.0.1:port (no TLS of ours): bytes out, then wait for the close.
class Raw {
 public:
  explicit Raw(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Raw() {
    if (fd_ >= 0) ::close(fd_);
  }
  Raw(Raw&& o) noexcept : fd_(std::exchange(o.fd_, -1)), ok_(o.ok_) {}
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;
  Raw& operator=(Raw&&) = delete;

  bool ok() const { return ok_; }
  int fd() const { return fd_; }
  bool send(std::string_view bytes) { return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()); }
  void end() { ::shutdown(fd_, SHUT_WR); }
  /// One read after POLLIN: true once the server's end came (0 or a reset); alert bytes are skipped.
  bool read_end() {
    std::array<char, 4096> buf{};
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  /// Waits for the server to close (after at most an alert record); false at `limit`.
  bool closed_within(std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) > 0 && read_end()) return true;
    }
  }

 private:
  int fd_;
  bool ok_ = false;
};

// A real ClientHello: what `openssl s_client` sends first, caught by a listener of ours.
const std::string& client_hello() {
  static const std::string hello = [] {
    std::string got;
    auto l = sockit::TcpListener::bind(sockit::Address::ipv4_loopback(0));
    if (!l) return got;
    auto port = l->local_address()->port();
    Child c = Child::spawn({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-servername",
                            "localhost", "-tls1_3"});
    auto s = l->accept(Deadline::after(10s));
    if (!s) return got;
    std::array<std::byte, 4096> buf{};
    // One handshake record: 5-byte header, then its length.
    auto record_end = [&got] {
      return std::size_t{5} + (std::size_t{static_cast<unsigned char>(got[3])} << 8) + static_cast<unsigned char>(got[4]);
    };
    while (got.size() < 5 || got.size() < record_end()) {
      auto n = s->read_some(buf, Deadline::after(10s));
      if (!n || *n == 0) break;
      got.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    return got;  // c's destructor kills s_client (its PID only)
  }();
  return hello;
}

// An SSLv2-format ClientHello (2-byte record header with the high bit, msg type 1, version 0x0002).
std::string sslv2_hello() {
  std::string body = {'\x01', '\x00', '\x02', '\x00', '\x03', '\x00', '\x00', '\x00', '\x10',
                      '\x07', '\x00', '\xc0'};
  body += std::string(16, '\x42');  // challenge
  std::string rec = {static_cast<char>(0x80 | (body.size() >> 8)), static_cast<char>(body.size() & 0xff)};
  return rec + body;
}

enum class Kind { echo_epoll, echo_thread, chat };

std::string kind_name(Kind k) {
  switch (k) {
    case Kind::echo_epoll: return "EchoEpoll";
    case Kind::echo_thread: return "EchoThread";
    case Kind::chat: return "Chat";
  }
  return "?";
}

// The server under test, with --tls-handshake-timeout 1s and --metrics.
class TlsServer {
 public:
  /// `limit_flag` false: no --tls-handshake-timeout (the configuration file in `extra` says it).
  TlsServer(const sockit::test::TestCerts& certs, Kind kind, std::vector<std::string> extra = {}, bool limit_flag = true)
      : kind_(kind) {
    const std::string limit = std::to_string(std::chrono::milliseconds(kHandshakeLimit).count()) + "ms";
    std::vector<std::string> argv;
    if (kind == Kind::chat) {
      argv = {sockit::test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0",
              "--no-flood-control", "--max-clients", "5000"};
    } else {
      argv = {sockit::test::sockit_bin(), "echo-server", "--model", kind == Kind::echo_epoll ? "epoll" : "thread",
              "--listen", "127.0.0.1:0"};
    }
    for (std::string a : {"--tls-cert", certs.cert.c_str(), "--tls-key", certs.key.c_str()}) argv.push_back(a);
    if (limit_flag) {
      argv.push_back("--tls-handshake-timeout");
      argv.push_back(limit);
    }
    argv.push_back("--metrics");
    argv.push_back("127.0.0.1:0");
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_.emplace(Child::spawn(argv));
    err_ = child_->read_stderr_until(kind == Kind::chat ? "TLS)" : "counters: kill -USR1", 20s);
    if (kind == Kind::chat) {
      auto end = err_.find(", TLS)");  // "listening on 127.0.0.1:PORT (BACKEND, TLS)": the one chosen
      if (end != std::string::npos) {
        auto colon = err_.rfind(':', end);
        port_ = static_cast<std::uint16_t>(std::stoul(err_.substr(colon + 1, end - colon - 1)));
      }
    } else {
      port_ = port_after(err_, "listening on tcp 127.0.0.1:");
    }
    metrics_port_ = port_after(err_, "metrics on http://127.0.0.1:");
  }
  ~TlsServer() {
    child_->signal(SIGTERM);
    EXPECT_EQ(child_->wait(15s), 0);
  }
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint16_t metrics_port() const { return metrics_port_; }
  Kind kind() const { return kind_; }
  pid_t pid() const { return child_->pid(); }
  std::size_t fds() const { return count_fds(child_->pid()); }
  /// Everything the server wrote on stderr so far (reads what is there now).
  const std::string& err(std::chrono::milliseconds wait = 0ms) {
    err_ += child_->read_stderr(wait);
    return err_;
  }
  std::string read_err_until(const std::string& needle, std::chrono::milliseconds limit) {
    if (err_.find(needle) == std::string::npos) err_ += child_->read_stderr_until(needle, limit);
    return err_;
  }

  /// GET /metrics; "" on failure.
  std::string scrape() const {
    auto s = sockit::TcpStream::connect(sockit::Address::ipv4_loopback(metrics_port_), Deadline::after(5s));
    if (!s || !s->write_all("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", Deadline::after(5s))) return {};
    std::string page;
    std::array<std::byte, 16384> buf{};
    for (;;) {
      auto n = s->read_some(buf, Deadline::after(10s));
      if (!n || *n == 0) return page;
      page.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
  }
  /// The value of one sample line of the page ("name{labels}"), -1 if absent.
  static double sample(const std::string& page, const std::string& series) {
    auto pos = page.find("\n" + series + " ");
    if (pos == std::string::npos) return -1;
    return std::stod(page.substr(pos + series.size() + 2));
  }

 private:
  Kind kind_;
  std::optional<Child> child_;
  std::string err_;
  std::uint16_t port_ = 0, metrics_port_ = 0;
};

// A good TLS client that keeps a session open: an echo round trip, or a PING/PONG once registered.
class GoodClient {
 public:
  GoodClient(const sockit::test::TestCerts& certs, const TlsServer& srv) : chat_(srv.kind() == Kind::chat) {
    tls::ContextOptions o;
    o.ca_file = certs.ca;
    auto ctx = tls::Context::create(o);
    if (!ctx) return;
    auto s = tls::Stream::connect(*ctx, "localhost", std::to_string(srv.port()), Deadline::after(10s));
    if (!s) {
      ADD_FAILURE() << "good client: " << s.error().message();
      return;
    }
    s_.emplace(std::move(*s));
    if (chat_ && !(send("NICK good\r\nUSER good 0 * :good\r\n") && expect(" 001 good "))) s_.reset();
  }
  bool ok() const { return s_.has_value(); }
  /// One round trip; its duration, or nullopt when it failed.
  std::optional<std::chrono::microseconds> round_trip() {
    if (!s_) return std::nullopt;
    const std::string token = "t" + std::to_string(++n_);
    const auto t0 = Clock::now();
    bool good = chat_ ? send("PING :" + token + "\r\n") && expect("PONG") && buf_.find(token) != std::string::npos
                      : send(token + "\n") && expect(token + "\n");
    if (!good) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
  }

 private:
  bool send(const std::string& text) { return static_cast<bool>(s_->write_all(text, Deadline::after(5s))); }
  // Reads until `needle` is in the buffer; the buffer then holds what came with it.
  bool expect(const std::string& needle) {
    std::string seen = std::move(rest_);
    rest_.clear();
    const auto deadline = Deadline::after(10s);
    std::array<std::byte, 4096> b{};
    while (seen.find(needle) == std::string::npos) {
      auto n = s_->read_some(b, deadline);
      if (!n || *n == 0) return false;
      seen.append(reinterpret_cast<const char*>(b.data()), *n);
    }
    auto cut = seen.find('\n', seen.find(needle));
    buf_ = seen.substr(0, cut == std::string::npos ? seen.size() : cut + 1);
    rest_ = cut == std::string::npos ? std::string() : seen.substr(cut + 1);
    return true;
  }

  bool chat_;
  std::optional<tls::Stream> s_;
  std::string buf_, rest_;
  int n_ = 0;
};

class TlsHostile : public testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok);
    ASSERT_GT(client_hello().size(), 100u) << "no ClientHello caught from openssl s_client";
    ASSERT_EQ(client_hello()[0], '\x16');
  }
  sockit::test::TestCerts certs_;
};

// Every bad opening is closed (a stalled one at the handshake limit, never before), the good
// client is served between them, the server's descriptors come back to their count.
TEST_P(TlsHostile, BadOpeningsClosedGoodClientServedNoDescriptorLeak) {
  TlsServer srv(certs_, GetParam());
  ASSERT_NE(srv.port(), 0) << srv.err();
  GoodClient good(certs_, srv);
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(good.round_trip());
  const std::size_t idle = srv.fds();

  auto served = [&](const std::string& after) { EXPECT_TRUE(good.round_trip()) << "good client not served after " << after; };
  // Garbage (not a TLS record), and an HTTP request.
  for (std::string_view junk : {std::string_view("\x01\x02\x03garbage garbage garbage\r\n\r\n"),
                                std::string_view("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}) {
    Raw r(srv.port());
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r.send(junk));
    EXPECT_TRUE(r.closed_within(5s)) << "garbage not closed";
    served("garbage");
  }
  // 64 KiB of 0x16 bytes: a record header claiming 5,654 bytes, then more headers: refused.
  {
    Raw r(srv.port());
    ASSERT_TRUE(r.ok());
    (void)r.send(std::string(65536, '\x16'));
    EXPECT_TRUE(r.closed_within(5s)) << "a flood of 0x16 not closed";
    served("0x16 flood");
  }
  // A real ClientHello cut at several points: the peer then closes, or stalls.
  const std::string& hello = client_hello();
  for (std::size_t cut : {std::size_t{1}, std::size_t{3}, std::size_t{5}, std::size_t{6}, std::size_t{40}, hello.size() / 2,
                          hello.size() - 1}) {
    {
      Raw r(srv.port());
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE(r.send(std::string_view(hello).substr(0, cut)));
      r.end();
      EXPECT_TRUE(r.closed_within(5s)) << "ClientHello cut at " << cut << " then FIN: not closed";
    }
    served("a ClientHello cut at " + std::to_string(cut) + " then FIN");
  }
  // Stalled ones, all at once: closed at the limit, not before.
  {
    std::vector<Raw> stalled;
    const auto t0 = Clock::now();
    for (std::size_t cut : {std::size_t{1}, std::size_t{5}, std::size_t{40}, hello.size() - 1}) {
      stalled.emplace_back(srv.port());
      ASSERT_TRUE(stalled.back().ok());
      ASSERT_TRUE(stalled.back().send(std::string_view(hello).substr(0, cut)));
    }
    served("stalled ClientHellos");
    for (Raw& r : stalled) EXPECT_TRUE(r.closed_within(kHandshakeLimit + 10s)) << "a stalled handshake was not closed";
    EXPECT_GE(Clock::now() - t0, kHandshakeLimit - 100ms) << "closed before the handshake limit";
    served("stalled ClientHellos closed");
  }
  // An SSLv2 ClientHello.
  {
    Raw r(srv.port());
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r.send(sslv2_hello()));
    EXPECT_TRUE(r.closed_within(5s)) << "SSLv2 hello not closed";
    served("SSLv2 hello");
  }
  // TLS 1.0 and 1.1 only: refused (s_client fails the handshake, names the protocol alert).
  for (std::string v : {"-tls1", "-tls1_1"}) {
    auto res = sockit::test::run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(srv.port()), v,
                                  "-cipher", "DEFAULT@SECLEVEL=0"},
                                 "", 20s);
    EXPECT_NE(res.status, 0) << v << " accepted:\n" << res.out;
    EXPECT_NE(res.err.find("alert protocol version"), std::string::npos) << v << ": " << res.err;
    served(v);
  }
  EXPECT_TRUE(sockit::test::wait_until([&] { return srv.fds() == idle; }, 10s))
      << "server descriptors: " << srv.fds() << " now, " << idle << " before";
  served("everything");
}

// 1,000 connections that send part of a ClientHello and stall: the good client's round trips stay
// fast meanwhile, all 1,000 are closed once the handshake limit passes, the descriptors come back.
TEST_P(TlsHostile, ThousandHalfDoneHandshakesClosedAtTheLimit) {
  if (GetParam() == Kind::echo_thread) GTEST_SKIP() << "a thread per connection: the reactors carry this one";
  TlsServer srv(certs_, GetParam());
  ASSERT_NE(srv.port(), 0) << srv.err();
  GoodClient good(certs_, srv);
  ASSERT_TRUE(good.ok());
  std::vector<std::chrono::microseconds> before, during;
  for (int i = 0; i < 20; ++i) {
    auto rt = good.round_trip();
    ASSERT_TRUE(rt);
    before.push_back(*rt);
  }
  const std::size_t idle = srv.fds();
  const std::string part = client_hello().substr(0, 100);
  constexpr int kStalled = 1000;
  std::vector<Raw> stalled;
  stalled.reserve(kStalled);
  const auto t0 = Clock::now();
  for (int i = 0; i < kStalled; ++i) {
    stalled.emplace_back(srv.port());
    ASSERT_TRUE(stalled.back().ok()) << "connect " << i << ": " << std::strerror(errno);
    ASSERT_TRUE(stalled.back().send(part));
    if (i % 50 == 0) {
      auto rt = good.round_trip();
      ASSERT_TRUE(rt) << "good client not served with " << i << " stalled handshakes";
      during.push_back(*rt);
    }
  }
  const auto opened = Clock::now() - t0;
  while (Clock::now() - t0 < kHandshakeLimit / 2) {
    auto rt = good.round_trip();
    ASSERT_TRUE(rt);
    during.push_back(*rt);
  }
  // All closed: poll every one until each has seen the server's end.
  std::vector<bool> done(kStalled, false);
  int left = kStalled;
  const auto deadline = t0 + kHandshakeLimit + 15s;
  while (left > 0 && Clock::now() < deadline) {
    std::vector<pollfd> pfds;
    std::vector<int> which;
    for (int i = 0; i < kStalled; ++i) {
      if (!done[static_cast<std::size_t>(i)]) {
        pfds.push_back({stalled[static_cast<std::size_t>(i)].fd(), POLLIN, 0});
        which.push_back(i);
      }
    }
    if (::poll(pfds.data(), pfds.size(), 200) <= 0) continue;
    for (std::size_t k = 0; k < pfds.size(); ++k) {
      auto& r = stalled[static_cast<std::size_t>(which[k])];
      if (pfds[k].revents != 0 && r.read_end()) {
        done[static_cast<std::size_t>(which[k])] = true;
        --left;
      }
    }
  }
  const auto all_closed = Clock::now() - t0;
  EXPECT_EQ(left, 0) << left << " of " << kStalled << " stalled handshakes still open after "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(all_closed).count() << " ms";
  stalled.clear();
  EXPECT_TRUE(sockit::test::wait_until([&] { return srv.fds() == idle; }, 10s))
      << "server descriptors: " << srv.fds() << " now, " << idle << " idle";
  ASSERT_TRUE(good.round_trip());
  auto median = [](std::vector<std::chrono::microseconds> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2].count();
  };
  const auto worst = std::max_element(during.begin(), during.end())->count();
  std::printf("[ figures ] %s: %d stalled opened in %lld ms, all closed after %lld ms; good client round trip median "
              "%lld us before, %lld us during (worst %lld us, %zu trips)\n",
              kind_name(GetParam()).c_str(), kStalled,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(opened).count()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(all_closed).count()),
              static_cast<long long>(median(before)), static_cast<long long>(median(during)),
              static_cast<long long>(worst), during.size());
  EXPECT_LT(worst, 500000) << "a round trip of the good client took " << worst << " us with the stalled handshakes open";
  const std::string page = srv.scrape();
  EXPECT_GE(TlsServer::sample(page, R"(sockit_tls_handshakes_total{result="timeout"})"), kStalled) << page;
}

// sockit_tls_handshakes_total{result}: one good handshake, two failed (garbage, TLS 1.0), one
// stalled past the limit; `promtool check metrics` finds nothing to say about the page.
TEST_P(TlsHostile, HandshakeOutcomesCountedInMetrics) {
  TlsServer srv(certs_, GetParam());
  ASSERT_NE(srv.port(), 0) << srv.err();
  ASSERT_NE(srv.metrics_port(), 0) << srv.err();
  const std::string before = srv.scrape();
  const std::string ok = R"(sockit_tls_handshakes_total{result="ok"})";
  const std::string failed = R"(sockit_tls_handshakes_total{result="failed"})";
  const std::string timeout = R"(sockit_tls_handshakes_total{result="timeout"})";
  EXPECT_EQ(TlsServer::sample(before, ok), 0) << before;
  EXPECT_EQ(TlsServer::sample(before, failed), 0) << before;
  EXPECT_EQ(TlsServer::sample(before, timeout), 0) << before;
  GoodClient good(certs_, srv);
  ASSERT_TRUE(good.ok());
  {
    Raw r(srv.port());
    ASSERT_TRUE(r.ok() && r.send("garbage\r\n\r\n"));
    EXPECT_TRUE(r.closed_within(5s));
  }
  (void)sockit::test::run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(srv.port()), "-tls1",
                           "-cipher", "DEFAULT@SECLEVEL=0"},
                          "", 20s);
  {
    Raw r(srv.port());
    ASSERT_TRUE(r.ok() && r.send(client_hello().substr(0, 20)));
    EXPECT_TRUE(r.closed_within(kHandshakeLimit + 10s));
  }
  std::string page;
  EXPECT_TRUE(sockit::test::wait_until(
      [&] {
        page = srv.scrape();
        return TlsServer::sample(page, ok) == 1 && TlsServer::sample(page, failed) == 2 &&
               TlsServer::sample(page, timeout) == 1;
      },
      10s, 50ms))
      << page;
  EXPECT_NE(page.find("# TYPE sockit_tls_handshakes_total counter"), std::string::npos) << page;
  if (std::filesystem::exists("/usr/bin/promtool")) {  // Debian's prometheus (scripts/setup.sh)
    auto body = page.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos);
    auto lint = sockit::test::run({"/usr/bin/promtool", "check", "metrics"}, page.substr(body + 4), 20s);
    EXPECT_EQ(lint.status, 0) << lint.out << lint.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, TlsHostile, testing::Values(Kind::echo_epoll, Kind::echo_thread, Kind::chat),
                         [](const testing::TestParamInfo<Kind>& p) { return kind_name(p.param); });

// chat-server logs each failed handshake (debug, like its refusals): the peer's address and
// OpenSSL's reason, in the JSON log; never key material.
TEST(ChatServerTlsLog, FailedHandshakesLoggedWithPeerAndReason) {
  sockit::test::TestCerts certs;
  ASSERT_TRUE(certs.ok);
  TlsServer srv(certs, Kind::chat, {"--log-format", "json", "--log-level", "debug"});
  ASSERT_NE(srv.port(), 0) << srv.err();
  std::uint16_t garbage_port = 0;
  {
    Raw r(srv.port());
    ASSERT_TRUE(r.ok() && r.send("NICK plain\r\nUSER plain 0 * :plain\r\n"));
    sockaddr_in me{};
    socklen_t len = sizeof me;
    ::getsockname(r.fd(), reinterpret_cast<sockaddr*>(&me), &len);
    garbage_port = ntohs(me.sin_port);
    EXPECT_TRUE(r.closed_within(5s));
  }
  (void)sockit::test::run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(srv.port()), "-tls1_1",
                           "-cipher", "DEFAULT@SECLEVEL=0"},
                          "", 20s);
  std::string err = srv.read_err_until("unsupported protocol", 10s);
  std::vector<std::string> lines;
  for (std::size_t pos = 0, eol; (eol = err.find('\n', pos)) != std::string::npos; pos = eol + 1) {
    std::string line = err.substr(pos, eol - pos);
    if (line.find("TLS handshake failed") != std::string::npos) lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 2u) << err;
  for (const auto& l : lines) {
    EXPECT_EQ(l.front(), '{') << l;
    EXPECT_NE(l.find(R"("level":"debug")"), std::string::npos) << l;
    EXPECT_NE(l.find(R"("ip":"127.0.0.1:)"), std::string::npos) << l;
    EXPECT_EQ(l.find("PRIVATE KEY"), std::string::npos) << l;
  }
  EXPECT_NE(lines[0].find("127.0.0.1:" + std::to_string(garbage_port)), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("wrong version number"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("unsupported protocol"), std::string::npos) << lines[1];
}

// chat.toml's [timeouts] tls_handshake sets the limit (no flag), --check-config prints it, and a
// SIGHUP that changes it applies to the connections made from then on: one stalled under the old
// 60 s limit stays while one stalled after the reload is closed at the new 1 s.
TEST(ChatServerTlsConfig, HandshakeLimitFromTheFileAndChangedBySighup) {
  sockit::test::TestCerts certs;
  ASSERT_TRUE(certs.ok);
  const std::string cfg = certs.dir + "/chat.toml";
  auto write_cfg = [&](const std::string& limit) {
    std::FILE* f = std::fopen(cfg.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, "[timeouts]\ntls_handshake = \"%s\"\n", limit.c_str());
    std::fclose(f);
  };
  write_cfg("60s");
  auto shown = sockit::test::run({sockit::test::sockit_bin(), "chat-server", "--config", cfg, "--tls-cert", certs.cert,
                                  "--tls-key", certs.key, "--check-config"},
                                 "", 20s);
  EXPECT_EQ(shown.status, 0) << shown.err;
  EXPECT_NE(shown.out.find("tls_handshake = \"60s\""), std::string::npos) << shown.out;
  write_cfg("-1s");
  auto bad = sockit::test::run({sockit::test::sockit_bin(), "chat-server", "--config", cfg, "--check-config"}, "", 20s);
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("timeouts.tls_handshake"), std::string::npos) << bad.err;
  write_cfg("60s");

  TlsServer srv(certs, Kind::chat, {"--config", cfg}, false);
  ASSERT_NE(srv.port(), 0) << srv.err();
  Raw old_limit(srv.port());
  ASSERT_TRUE(old_limit.ok() && old_limit.send(client_hello().substr(0, 20)));
  write_cfg("1s");
  ASSERT_EQ(::kill(srv.pid(), SIGHUP), 0);
  EXPECT_NE(srv.read_err_until("configuration reloaded", 10s).find("configuration reloaded"), std::string::npos) << srv.err();
  const auto start = Clock::now();
  Raw new_limit(srv.port());
  ASSERT_TRUE(new_limit.ok() && new_limit.send(client_hello().substr(0, 20)));
  EXPECT_TRUE(new_limit.closed_within(10s));
  EXPECT_GE(Clock::now() - start, 900ms);  // at the new limit, not at once
  EXPECT_FALSE(old_limit.closed_within(0ms)) << "the connection made under the 60 s limit was closed";
}

}  // namespace
