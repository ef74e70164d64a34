// `sockit chat-server` with TLS listeners (issue #16 item 3): the binary with a plaintext and a
// TLS listener on 127.0.0.1, real clients (tls::Stream and TcpStream) in one channel; user mode
// +Z, 671 and 276 in WHOIS, OPER by client certificate ([[operator]] certfp), the IRCv3 sts
// value on each kind of listener, certificates reloaded on SIGHUP and REHASH without dropping
// anyone (a broken file keeps the old ones), bad flags and files refused in words.
#include "certs.hpp"

#include "sockit/net/socket.hpp"
#include "sockit/tls/context.hpp"
#include "sockit/tls/stream.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::TcpStream;
using sockit::test::Child;
namespace tls = sockit::tls;

namespace {

// The backend the banner names: "... listening on 127.0.0.1:PORT (uring)" or "(epoll, TLS)".
std::string banner_backend(const std::string& err) {
  auto at = err.find(" listening on ");
  auto open = at == std::string::npos ? at : err.find(" (", at);
  if (open == std::string::npos) return "";
  auto end = err.find_first_of(",)", open);
  return end == std::string::npos ? "" : err.substr(open + 2, end - open - 2);
}

std::uint16_t port_before(const std::string& err, const std::string& suffix) {
  // "... listening on 127.0.0.1:PORT (epoll)" or "(epoll, TLS)"
  auto end = err.find(suffix);
  if (end == std::string::npos) return 0;
  auto colon = err.rfind(':', end);
  return static_cast<std::uint16_t>(std::stoul(err.substr(colon + 1, end - colon - 1)));
}

// A running chat-server with one plaintext and one TLS listener.
class ChatServer {
 public:
  explicit ChatServer(const sockit::test::TestCerts& certs, std::vector<std::string> extra = {},
                      const std::string& cert = "", const std::string& key = "") {
    std::vector<std::string> argv = {sockit::test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "--tls-listen",
                                     "127.0.0.1:0", "--tls-cert", cert.empty() ? certs.cert : cert, "--tls-key",
                                     key.empty() ? certs.key : key, "--no-flood-control"};
    // SOCKIT_TEST_CHAT_BACKEND=uring (the ctest instances uring.integ_tls.*): the io_uring poller,
    // ring sends to the plaintext clients beside the TLS ones; where the kernel lacks io_uring the
    // server says so and listens on epoll. The ports are read after the backend the banner names.
    if (const char* b = std::getenv("SOCKIT_TEST_CHAT_BACKEND"); b != nullptr && *b != '\0') {
      argv.insert(argv.end(), {"--backend", b});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_.emplace(Child::spawn(argv));
    err_ = child_->read_stderr_until("openssl s_client -connect", 20s);
    const std::string backend = banner_backend(err_);
    plain_ = port_before(err_, " (" + backend + ")");
    tls_ = port_before(err_, " (" + backend + ", TLS)");
  }
  ~ChatServer() {
    child_->signal(SIGTERM);
    EXPECT_EQ(child_->wait(10s), 0);
  }
  ChatServer(const ChatServer&) = delete;
  ChatServer& operator=(const ChatServer&) = delete;

  std::uint16_t plain_port() const { return plain_; }
  std::uint16_t tls_port() const { return tls_; }
  const std::string& err() const { return err_; }
  Child& child() { return *child_; }

 private:
  std::optional<Child> child_;
  std::string err_;
  std::uint16_t plain_ = 0, tls_ = 0;
};

// One IRC connection over a TcpStream or a tls::Stream: lines out, lines in until one matches.
template <typename S>
class Irc {
 public:
  explicit Irc(S s) : s_(std::move(s)) {}
  void send(const std::string& line) { ASSERT_TRUE(s_.write_all(line + "\r\n", Deadline::after(5s))); }
  /// Reads until a line containing `needle` has come (returned), or "" after 10 s / the end.
  std::string expect(const std::string& needle) {
    auto deadline = Deadline::after(10s);
    for (;;) {
      for (auto eol = buf_.find("\r\n"); eol != std::string::npos; eol = buf_.find("\r\n")) {
        std::string line = buf_.substr(0, eol);
        buf_.erase(0, eol + 2);
        seen_ += line + "\n";
        if (line.find(needle) != std::string::npos) return line;
      }
      std::array<std::byte, 4096> b{};
      auto n = s_.read_some(b, deadline);
      if (!n || *n == 0) {
        ADD_FAILURE() << "no line with '" << needle << "'; got:\n" << seen_;
        return {};
      }
      buf_.append(reinterpret_cast<const char*>(b.data()), *n);
    }
  }
  /// Everything read so far (lines up to the last expect()).
  const std::string& seen() const { return seen_; }
  void register_as(const std::string& nick) {
    send("NICK " + nick);
    send("USER " + nick + " 0 * :" + nick);
    expect(" 001 " + nick + " ");
  }

 private:
  S s_;
  std::string buf_, seen_;
};

class ChatServerTls : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok); }

  /// A TLS client verifying the server against the test CA; with `client_cert` it presents one.
  std::optional<Irc<tls::Stream>> tls_client(std::uint16_t port, const std::string& client_cert = "",
                                             const std::string& client_key = "") {
    tls::ContextOptions o;
    o.ca_file = certs_.ca;
    o.cert_file = client_cert;
    o.key_file = client_key;
    auto ctx = tls::Context::create(o);
    EXPECT_TRUE(ctx) << ctx.error().message();
    if (!ctx) return std::nullopt;
    auto s = tls::Stream::connect(*ctx, "localhost", std::to_string(port), Deadline::after(10s));
    EXPECT_TRUE(s) << s.error().message();
    if (!s) return std::nullopt;
    return Irc<tls::Stream>(std::move(*s));
  }
  std::optional<Irc<TcpStream>> plain_client(std::uint16_t port) {
    auto s = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
    EXPECT_TRUE(s);
    if (!s) return std::nullopt;
    return Irc<TcpStream>(std::move(*s));
  }
  /// The SHA-256 of `cert_file` as the server shows it (lower-case hex, no colons).
  std::string fingerprint_of(const std::string& cert_file, const std::string& key_file) {
    tls::ContextOptions o;
    o.role = tls::Role::server;
    o.cert_file = cert_file;
    o.key_file = key_file;
    auto ctx = tls::Context::create(o);
    EXPECT_TRUE(ctx);
    std::string hex;
    for (char ch : ctx ? ctx->fingerprint() : std::string()) {  // "AB:CD:..." -> "abcd..."
      if (ch != ':') hex += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    return hex;
  }
  std::string write_config(const std::string& text) {
    std::string path = certs_.dir + "/chat.toml";
    std::ofstream(path) << text;
    return path;
  }

  sockit::test::TestCerts certs_;
};

TEST_F(ChatServerTls, PlaintextAndTlsClientsChatInOneChannel) {
  ChatServer srv(certs_);
  ASSERT_NE(srv.plain_port(), 0) << srv.err();
  ASSERT_NE(srv.tls_port(), 0) << srv.err();
  EXPECT_NE(srv.err().find("/connect -tls 127.0.0.1 " + std::to_string(srv.tls_port()) + " (irssi)"), std::string::npos)
      << srv.err();
  auto alice = tls_client(srv.tls_port());
  auto bob = plain_client(srv.plain_port());
  ASSERT_TRUE(alice && bob);
  alice->register_as("alice");
  EXPECT_NE(alice->expect("MODE alice").find(":+Z"), std::string::npos) << "TLS users get +Z";
  bob->register_as("bob");
  alice->send("JOIN #mixed");
  alice->expect(" 366 alice #mixed ");
  bob->send("JOIN #mixed");
  alice->expect(":bob!~bob@127.0.0.1 JOIN #mixed");
  alice->send("PRIVMSG #mixed :over tls");
  EXPECT_EQ(bob->expect("PRIVMSG #mixed"), ":alice!~alice@127.0.0.1 PRIVMSG #mixed :over tls");
  bob->send("PRIVMSG #mixed :in plaintext");
  EXPECT_EQ(alice->expect("PRIVMSG #mixed"), ":bob!~bob@127.0.0.1 PRIVMSG #mixed :in plaintext");
  alice->send("MODE alice");
  EXPECT_EQ(alice->expect(" 221 "), ":irc.sockit.local 221 alice +Z");
  bob->send("MODE bob");
  EXPECT_EQ(bob->expect(" 221 "), ":irc.sockit.local 221 bob +");
  alice->send("MODE alice -Z");  // set by the server only: refused, and it stays
  EXPECT_EQ(alice->expect(" 501 "), ":irc.sockit.local 501 alice :Unknown MODE flag");
  alice->send("MODE alice");
  EXPECT_EQ(alice->expect(" 221 "), ":irc.sockit.local 221 alice +Z");
  EXPECT_EQ(alice->seen().find("MODE alice :-Z"), std::string::npos) << alice->seen();
}

TEST_F(ChatServerTls, WhoisCertfpToSelfAndOpersAndOperByCertificate) {
  const std::string fp = fingerprint_of(certs_.self_cert, certs_.self_key);
  ASSERT_EQ(fp.size(), 64u);
  tls::ContextOptions o;
  o.role = tls::Role::server;
  o.cert_file = certs_.self_cert;
  o.key_file = certs_.self_key;
  std::string colons = tls::Context::create(o)->fingerprint();  // "AB:CD:...": accepted as well
  std::string cfg = write_config("[[operator]]\nname = \"certop\"\ncertfp = \"" + colons + "\"\n");
  ChatServer srv(certs_, {"--config", cfg});
  ASSERT_NE(srv.tls_port(), 0) << srv.err();
  auto alice = tls_client(srv.tls_port(), certs_.self_cert, certs_.self_key);  // with a client certificate
  auto carol = tls_client(srv.tls_port());                                     // TLS, no certificate
  auto bob = plain_client(srv.plain_port());
  ASSERT_TRUE(alice && carol && bob);
  alice->register_as("alice");
  carol->register_as("carol");
  bob->register_as("bob");

  alice->send("WHOIS alice");
  EXPECT_EQ(alice->expect(" 671 "), ":irc.sockit.local 671 alice alice :is using a secure connection");
  EXPECT_EQ(alice->expect(" 276 "), ":irc.sockit.local 276 alice alice :has client certificate fingerprint " + fp);
  bob->send("WHOIS alice");
  EXPECT_EQ(bob->expect(" 671 "), ":irc.sockit.local 671 bob alice :is using a secure connection");
  bob->expect(" 318 ");
  EXPECT_EQ(bob->seen().find(" 276 "), std::string::npos) << "the fingerprint is for alice and opers only";
  bob->send("WHOIS bob");
  bob->expect(" 318 bob bob ");
  EXPECT_EQ(bob->seen().find(" 671 bob bob"), std::string::npos) << bob->seen();

  // OPER by certificate: the fingerprint is enough (no password configured); others are refused.
  bob->send("OPER certop x");
  EXPECT_EQ(bob->expect(" 491 "), ":irc.sockit.local 491 bob :Invalid oper credentials");
  carol->send("OPER certop");
  EXPECT_EQ(carol->expect(" 491 "), ":irc.sockit.local 491 carol :Invalid oper credentials");
  alice->send("OPER certop");
  EXPECT_EQ(alice->expect(" 381 "), ":irc.sockit.local 381 alice :You are now an IRC operator");
  // An operator sees another user's fingerprint.
  carol->send("QUIT");
  auto dave = tls_client(srv.tls_port(), certs_.self_cert, certs_.self_key);
  ASSERT_TRUE(dave);
  dave->register_as("dave");
  alice->send("WHOIS dave");
  EXPECT_EQ(alice->expect(" 276 "), ":irc.sockit.local 276 alice dave :has client certificate fingerprint " + fp);
}

TEST_F(ChatServerTls, StsPortOnPlaintextDurationOnTls) {
  std::string cfg = write_config("[server]\nsts_duration = \"300s\"\n");
  ChatServer srv(certs_, {"--config", cfg});
  ASSERT_NE(srv.tls_port(), 0) << srv.err();
  auto bob = plain_client(srv.plain_port());
  auto alice = tls_client(srv.tls_port());
  ASSERT_TRUE(alice && bob);
  bob->send("CAP LS 302");
  std::string ls = bob->expect("CAP * LS");
  EXPECT_NE(ls.find(" sts=port=" + std::to_string(srv.tls_port()) + ",duration=300"), std::string::npos) << ls;
  bob->send("CAP REQ sts");
  EXPECT_EQ(bob->expect("CAP * "), ":irc.sockit.local CAP * NAK :sts");
  alice->send("CAP LS 302");
  ls = alice->expect("CAP * LS");
  EXPECT_NE(ls.find(" sts=duration=300"), std::string::npos) << ls;
  EXPECT_EQ(ls.find("port="), std::string::npos) << ls;
  auto old = plain_client(srv.plain_port());  // CAP LS without 302: no values, so no sts
  ASSERT_TRUE(old);
  old->send("CAP LS");
  ls = old->expect("CAP * LS");
  EXPECT_EQ(ls.find("sts"), std::string::npos) << ls;
}

TEST(ChatServerTlsPlain, NoStsWithoutATlsListener) {
  auto child = Child::spawn({sockit::test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0"});
  std::string err = child.read_stderr_until("sockit chat 127.0.0.1", 20s);
  std::uint16_t port = port_before(err, " (" + banner_backend(err) + ")");
  ASSERT_NE(port, 0) << err;
  EXPECT_EQ(err.find("TLS"), std::string::npos) << err;
  auto s = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
  ASSERT_TRUE(s);
  Irc<TcpStream> c(std::move(*s));
  c.send("CAP LS 302");
  std::string ls = c.expect("CAP * LS");
  EXPECT_EQ(ls.find("sts"), std::string::npos) << ls;
  c.send("CAP END");
  c.register_as("plain");
  c.send("MODE plain");
  EXPECT_EQ(c.expect(" 221 "), ":irc.sockit.local 221 plain +");
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(10s), 0);
}

TEST_F(ChatServerTls, CertificatesReloadedOnSighupAndRehashWithoutDroppingAnyone) {
  // The server's files are copies, replaced while it runs.
  const std::string cert = certs_.dir + "/live.pem", key = certs_.dir + "/live.key";
  std::filesystem::copy_file(certs_.cert, cert);
  std::filesystem::copy_file(certs_.key, key);
  auto r = sockit::test::run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                              "-keyout", certs_.dir + "/new.key", "-out", certs_.dir + "/new.pem", "-days", "2", "-subj",
                              "/CN=reloaded"},
                             "", 20s);
  ASSERT_EQ(r.status, 0) << r.err;
  std::string hash = sockit::test::run({sockit::test::sockit_bin(), "chat-server", "--hash-password", "--iterations", "1000"},
                                       "pw\n", 20s).out;
  ASSERT_FALSE(hash.empty());
  hash.pop_back();
  std::string cfg = write_config("[[operator]]\nname = \"op\"\npassword = \"" + hash + "\"\n");
  ChatServer srv(certs_, {"--config", cfg}, cert, key);
  ASSERT_NE(srv.tls_port(), 0) << srv.err();
  auto alice = tls_client(srv.tls_port());
  ASSERT_TRUE(alice);
  alice->register_as("alice");

  auto subject = [&] {
    tls::ContextOptions o;
    o.verify = false;  // the new certificate is self-signed: only its subject is looked at
    auto s = tls::Stream::connect(*tls::Context::create(o), "localhost", std::to_string(srv.tls_port()), Deadline::after(10s));
    return s ? s->peer_subject() : "connect: " + s.error().message();
  };
  EXPECT_EQ(subject(), "CN=localhost");

  std::filesystem::copy_file(certs_.dir + "/new.pem", cert, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(certs_.dir + "/new.key", key, std::filesystem::copy_options::overwrite_existing);
  srv.child().signal(SIGHUP);
  std::string err = srv.child().read_stderr_until("TLS certificates reloaded", 10s);
  ASSERT_NE(err.find("TLS certificates reloaded"), std::string::npos) << err;
  EXPECT_EQ(subject(), "CN=reloaded");
  alice->send("PING :still here");
  EXPECT_EQ(alice->expect("PONG"), ":irc.sockit.local PONG irc.sockit.local :still here");

  // A broken file: the reload says why and the certificates stay; REHASH tells the operator.
  std::ofstream(cert, std::ios::trunc) << "not a certificate\n";
  alice->send("OPER op pw");
  alice->expect(" 381 ");
  alice->send("REHASH");
  std::string note = alice->expect("tls: certificate");
  EXPECT_NE(note.find(cert), std::string::npos) << note;
  err = srv.child().read_stderr_until("keeping the old certificates", 10s);
  EXPECT_NE(err.find("TLS certificate reload failed, keeping the old certificates: tls: certificate " + cert),
            std::string::npos)
      << err;
  EXPECT_EQ(subject(), "CN=reloaded");
  alice->send("PING :after the broken file");
  EXPECT_EQ(alice->expect("PONG"), ":irc.sockit.local PONG irc.sockit.local :after the broken file");
}

TEST_F(ChatServerTls, PlaintextClientOnTheTlsPortIsClosedOthersServed) {
  ChatServer srv(certs_);
  ASSERT_NE(srv.tls_port(), 0) << srv.err();
  std::string got;
  EXPECT_TRUE(sockit::test::plaintext_client_closed(srv.tls_port(), "NICK plain\r\nUSER p 0 * :p\r\n", got));
  EXPECT_EQ(got.find(" 001 "), std::string::npos) << "registered over plaintext on the TLS port";
  auto alice = tls_client(srv.tls_port());
  ASSERT_TRUE(alice);
  alice->register_as("alice");
}

TEST(ChatServerTlsFlags, BadFlagsAndFilesSayWhat) {
  sockit::test::TestCerts certs;
  ASSERT_TRUE(certs.ok);
  const std::string bin = sockit::test::sockit_bin();
  auto r = sockit::test::run({bin, "chat-server", "--tls-cert", certs.cert, "--check-config"}, "", 10s);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--tls-cert needs --tls-key"), std::string::npos) << r.err;
  r = sockit::test::run({bin, "chat-server", "--tls-listen", "127.0.0.1:0", "--check-config"}, "", 10s);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("TLS listener 127.0.0.1:0 needs a certificate and key"), std::string::npos) << r.err;
  const std::string missing = certs.dir + "/missing.pem";
  r = sockit::test::run({bin, "chat-server", "--tls-cert", missing, "--tls-key", certs.key, "--check-config"}, "", 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("tls: certificate " + missing), std::string::npos) << r.err;
  // [[listen]] in the file: a TLS entry without its files; a bad certfp.
  std::string cfg = certs.dir + "/bad.toml";
  std::ofstream(cfg) << "[[listen]]\naddress = \"127.0.0.1:0\"\ntls = true\n";
  r = sockit::test::run({bin, "chat-server", "--config", cfg, "--check-config"}, "", 10s);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("needs a certificate and key"), std::string::npos) << r.err;
  std::ofstream(cfg, std::ios::trunc) << "[[operator]]\nname = \"x\"\ncertfp = \"12:34\"\n";
  r = sockit::test::run({bin, "chat-server", "--config", cfg, "--check-config"}, "", 10s);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("operator.certfp: expected a SHA-256 fingerprint"), std::string::npos) << r.err;
  // A good file: the effective configuration prints the TLS listener and reads back the same.
  std::ofstream(cfg, std::ios::trunc) << "[[listen]]\naddress = \"127.0.0.1:6697\"\ntls = true\ncert = \"" << certs.cert
                                      << "\"\nkey = \"" << certs.key << "\"\n";
  r = sockit::test::run({bin, "chat-server", "--config", cfg, "--check-config"}, "", 10s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("[[listen]]\naddress = \"127.0.0.1:6697\"\ntls = true\ncert = \"" + certs.cert + "\""),
            std::string::npos)
      << r.out;
  std::ofstream(cfg + ".out") << r.out;
  auto again = sockit::test::run({bin, "chat-server", "--config", cfg + ".out", "--check-config"}, "", 10s);
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out, r.out);
}

}  // namespace
