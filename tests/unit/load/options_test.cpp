#include "tools/load/options.hpp"

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <vector>

namespace {

using sockit::load::Mode;
using sockit::load::Options;

// Parses argv (without the program name) like `sockit load ...` and finalizes.
struct Parsed {
  Options o;
  bool parsed = false;
  bool ok = false;
  std::string error;
};

Parsed parse(std::vector<std::string> args) {
  Parsed p;
  CLI::App app("load");
  sockit::load::add_cli(app, p.o);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
    p.parsed = true;
  } catch (const CLI::ParseError& e) {
    p.error = e.what();
    return p;
  }
  auto r = sockit::load::finalize(p.o);
  p.ok = r.ok();
  if (!r) p.error = r.error().context();
  return p;
}

}  // namespace

TEST(LoadOptions, PingpongDefaults) {
  auto p = parse({"pingpong", "127.0.0.1:7"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.o.mode, Mode::pingpong);
  EXPECT_EQ(p.o.connections, 10u);
  EXPECT_EQ(p.o.size, 64u);
  EXPECT_EQ(p.o.duration, std::chrono::seconds(10));
  EXPECT_EQ(p.o.target.port(), 7);
  EXPECT_FALSE(p.o.open_loop());
}

TEST(LoadOptions, ATargetListSpreadsConnectionsRoundRobin) {
  auto p = parse({"irc", "127.0.0.1:6667,127.0.0.1:6668,[::1]:6669", "-c", "10"});
  ASSERT_TRUE(p.ok) << p.error;
  ASSERT_EQ(p.o.targets.size(), 3u);
  EXPECT_EQ(p.o.target.port(), 6667);
  EXPECT_EQ(p.o.target_of(0).port(), 6667);
  EXPECT_EQ(p.o.target_of(4).port(), 6668);
  EXPECT_EQ(p.o.target_of(5).port(), 6669);
  EXPECT_TRUE(p.o.target_of(5).is_v6());
  EXPECT_EQ(p.o.targets_text(), "127.0.0.1:6667,127.0.0.1:6668,[::1]:6669");
  for (const char* bad : {"127.0.0.1:6667,", "127.0.0.1:6667,nothing", ",127.0.0.1:6667", "127.0.0.1:6667,127.0.0.1:0"}) {
    auto q = parse({"irc", bad});
    EXPECT_FALSE(q.ok) << bad;
    EXPECT_NE(q.error.find("bad target"), std::string::npos) << bad << ": " << q.error;
  }
}

TEST(LoadOptions, AllFlagsAreRead) {
  auto p = parse({"pingpong", "127.0.0.1:9000", "-c", "100", "-d", "2s", "--rate", "5000", "--threads", "2",
                  "--warmup", "500ms", "--size", "16KiB", "--json", "--hist-out", "/tmp/x", "--server-pid", "1",
                  "--timeout", "250ms"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.o.connections, 100u);
  EXPECT_EQ(p.o.duration, std::chrono::seconds(2));
  EXPECT_EQ(p.o.warmup, std::chrono::milliseconds(500));
  EXPECT_EQ(p.o.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(p.o.size, 16384u);
  EXPECT_EQ(p.o.threads, 2u);
  EXPECT_DOUBLE_EQ(p.o.rate, 5000.0);
  EXPECT_TRUE(p.o.open_loop());
  EXPECT_TRUE(p.o.json);
  EXPECT_EQ(p.o.hist_out, "/tmp/x");
  EXPECT_EQ(p.o.server_pid, 1);
}

TEST(LoadOptions, CountAloneMeansNoDuration) {
  auto p = parse({"connect", "127.0.0.1:7", "-n", "500"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.o.count, 500u);
  EXPECT_FALSE(p.o.timed());
}

TEST(LoadOptions, PerModeDefaults) {
  auto f = parse({"flood", "127.0.0.1:7"});
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.o.size, 16384u);
  EXPECT_EQ(f.o.window, 65536u);
  auto u = parse({"udp", "127.0.0.1:7"});
  ASSERT_TRUE(u.ok);
  EXPECT_EQ(u.o.timeout, std::chrono::seconds(1));
  EXPECT_EQ(u.o.window, 1u);
  auto h = parse({"hold", "127.0.0.1:7"});
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.o.connections, 1000u);
  auto i = parse({"irc", "127.0.0.1:6667", "-c", "5", "--senders", "10"});
  ASSERT_TRUE(i.ok) << i.error;
  EXPECT_EQ(i.o.senders, 4u);  // clamped: one client must listen
  auto r = parse({"irc-reg", "127.0.0.1:6667"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.o.mode, Mode::irc_register);
}

TEST(LoadOptions, ThreadsNeverExceedConnections) {
  auto p = parse({"pingpong", "127.0.0.1:7", "-c", "2", "--threads", "8"});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.o.threads, 2u);
}

TEST(LoadOptions, RejectsUnknownMode) {
  auto p = parse({"blast", "127.0.0.1:7"});
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("unknown mode 'blast'"), std::string::npos) << p.error;
}

TEST(LoadOptions, RejectsTargetWithoutPort) {
  EXPECT_FALSE(parse({"pingpong", "127.0.0.1"}).ok);
  EXPECT_FALSE(parse({"pingpong", "nosuch.invalid:80"}).ok);
}

TEST(LoadOptions, RejectsBadUnits) {
  EXPECT_FALSE(parse({"pingpong", "127.0.0.1:7", "-d", "ten"}).ok);
  EXPECT_FALSE(parse({"pingpong", "127.0.0.1:7", "-d", "0s"}).ok);
  EXPECT_FALSE(parse({"pingpong", "127.0.0.1:7", "--size", "0"}).ok);
  EXPECT_FALSE(parse({"pingpong", "127.0.0.1:7", "--size", "huge"}).ok);
  EXPECT_FALSE(parse({"udp", "127.0.0.1:7", "--size", "8"}).ok);
  EXPECT_FALSE(parse({"flood", "127.0.0.1:7", "--rate", "10"}).ok);
  EXPECT_FALSE(parse({"irc", "127.0.0.1:7", "--channel", "nohash"}).ok);
}

TEST(LoadOptions, MissingTargetIsAParseError) {
  auto p = parse({"pingpong"});
  EXPECT_FALSE(p.parsed);
}

TEST(LoadOptions, ModeNamesRoundTrip) {
  for (auto m : {Mode::pingpong, Mode::flood, Mode::connect, Mode::hold, Mode::udp, Mode::irc, Mode::irc_register,
                 Mode::handshake})
    EXPECT_EQ(sockit::load::parse_mode(sockit::load::to_string(m)), m);
}

// Issue #23.3: the target's port went through getaddrinfo, which took 70000 as 4464.
TEST(LoadOptions, TargetPortOutOfRangeIsRefused) {
  for (const char* target : {"127.0.0.1:70000", "127.0.0.1:65536", "localhost:70000", "[::1]:70000"}) {
    auto p = parse({"pingpong", target});
    ASSERT_TRUE(p.parsed) << target << ": " << p.error;
    EXPECT_FALSE(p.ok) << target << " accepted as " << p.o.target.to_string();
    EXPECT_NE(p.error.find("out of range 0-65535"), std::string::npos) << p.error;
  }
  EXPECT_TRUE(parse({"pingpong", "127.0.0.1:65535"}).ok);
}

// #16: the handshake mode is TLS by itself; --tls applies to the TCP modes, not udp; --tls-ca and
// --resume need TLS.
TEST(LoadOptions, TlsFlagsAndTheHandshakeMode) {
  auto p = parse({"handshake", "127.0.0.1:7"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.o.mode, Mode::handshake);
  EXPECT_TRUE(p.o.tls);
  EXPECT_FALSE(p.o.resume);
  EXPECT_EQ(p.o.connections, 10u);
  p = parse({"handshake", "127.0.0.1:7", "--resume", "--tls-ca", "ca.pem"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_TRUE(p.o.resume);
  EXPECT_EQ(p.o.tls_ca, "ca.pem");
  p = parse({"pingpong", "127.0.0.1:7"});
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p.o.tls);
  EXPECT_TRUE(parse({"irc", "127.0.0.1:7", "--tls"}).ok);
  p = parse({"udp", "127.0.0.1:7", "--tls"});
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("udp has no TLS"), std::string::npos) << p.error;
  p = parse({"pingpong", "127.0.0.1:7", "--tls-ca", "ca.pem"});
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("--tls-ca needs --tls"), std::string::npos) << p.error;
  p = parse({"connect", "127.0.0.1:7", "--resume"});
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("--resume needs --tls"), std::string::npos) << p.error;
}

// --caps and --sasl-user (irc mode, bench/tags-fanout.sh): the password comes from a file, whose
// first line it is; misuse is a clear error.
TEST(LoadOptions, CapsAndSaslLoginForTheIrcMode) {
  std::string dir_tmpl = (std::filesystem::temp_directory_path() / "sockit-load-opts-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir_tmpl.data()), nullptr);
  const std::filesystem::path dir = dir_tmpl;
  const std::string pass = (dir / "pass").string(), empty = (dir / "empty").string();
  std::ofstream(pass) << "s3cret\r\nsecond line\n";
  std::ofstream(empty) << "";
  auto p = parse({"irc", "127.0.0.1:7", "--caps", "message-tags server-time", "--sasl-user", "bench",
                  "--sasl-pass-file", pass});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.o.caps, "message-tags server-time");
  EXPECT_EQ(p.o.sasl_user, "bench");
  EXPECT_EQ(p.o.sasl_pass, "s3cret");
  const std::pair<std::vector<std::string>, std::string> bad[] = {
      {{"pingpong", "127.0.0.1:7", "--caps", "server-time"}, "--caps is for the irc mode"},
      {{"irc", "127.0.0.1:7", "--caps", "a,b"}, "names separated by spaces"},
      {{"irc", "127.0.0.1:7", "--sasl-user", "bench"}, "go together"},
      {{"irc", "127.0.0.1:7", "--sasl-pass-file", pass}, "go together"},
      {{"irc-register", "127.0.0.1:7", "--sasl-user", "bench", "--sasl-pass-file", pass}, "is for the irc mode"},
      {{"irc", "127.0.0.1:7", "--sasl-user", "be nch", "--sasl-pass-file", pass}, "an account name"},
      {{"irc", "127.0.0.1:7", "--sasl-user", "bench", "--sasl-pass-file", empty}, "cannot read a password"},
      {{"irc", "127.0.0.1:7", "--sasl-user", "bench", "--sasl-pass-file", (dir / "missing").string()}, "cannot read a password"},
  };
  for (const auto& [args, why] : bad) {
    p = parse(args);
    EXPECT_FALSE(p.ok) << args[0] << " " << why;
    EXPECT_NE(p.error.find(why), std::string::npos) << p.error;
  }
  std::filesystem::remove_all(dir);
}
