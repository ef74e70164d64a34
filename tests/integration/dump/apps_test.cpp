// `sockit dump`'s application decoders against tcpdump 4.99 on captures the tests make on lo:
// HTTP between Python's http.server and curl (port 8080 or 80, where tcpdump decodes HTTP), TLS
// between openssl s_server and s_client (the --tls view), and the hand-built NTP/DHCP/HTTP
// packets of tests/data/pcap/synthetic_apps.pcap with -v..-vvv and at every truncation point.
#include "dump_support.hpp"
#include "support/support.hpp"

#include <sockit/net/address.hpp>
#include <sockit/net/socket.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using sockit::test::Child;
using sockit::test::count_of;
using sockit::test::finish_capture;
using sockit::test::start_tcpdump;
using sockit::test::have_tool;
using sockit::test::lines_of;
using sockit::test::run;
using sockit::test::sockit_bin;
using sockit::test::temp_path;
using sockit::test::TempDirCleanup;

namespace {

// tcpdump -n FLAGS -r file and sockit dump -n --no-hints FLAGS -r file print the same lines.
void expect_same_as_tcpdump(const std::string& file, const std::vector<std::string>& flags) {
  std::vector<std::string> targv = {"tcpdump", "-n", "-r", file};
  std::vector<std::string> sargv = {sockit_bin(), "dump", "-n", "--no-hints", "-r", file};
  targv.insert(targv.end(), flags.begin(), flags.end());
  sargv.insert(sargv.end(), flags.begin(), flags.end());
  auto want = run(targv, {}, 60s), got = run(sargv, {}, 60s);
  ASSERT_EQ(got.status, 0) << got.err;
  auto w = lines_of(want.out), g = lines_of(got.out);
  const std::string what = file + (flags.empty() ? " plain" : " " + flags[0]);
  ASSERT_FALSE(w.empty()) << what << want.err;
  EXPECT_EQ(g.size(), w.size()) << what;
  int shown = 0;
  for (std::size_t i = 0; i < std::min(w.size(), g.size()); ++i)
    if (g[i] != w[i] && shown++ < 5) ADD_FAILURE() << what << "\n  tcpdump: " << w[i] << "\n  sockit:  " << g[i];
  EXPECT_EQ(shown, 0) << what;
}

// A loopback port nothing listens on (bound and released: the tests start their server right after).
std::uint16_t free_port() {
  auto l = sockit::TcpListener::bind(sockit::Address::ipv4_loopback(0));
  return l ? l->local_address()->port() : 0;
}

bool port_is_free(std::uint16_t port) { return static_cast<bool>(sockit::TcpListener::bind(sockit::Address::ipv4_loopback(port))); }

bool wait_until_accepting(std::uint16_t port) {
  return sockit::test::wait_until(
      [&] { return static_cast<bool>(sockit::TcpStream::connect(sockit::Address::ipv4_loopback(port), sockit::Deadline::after(1s))); },
      15s, 50ms);
}

}  // namespace

TEST(DumpApps, HttpBetweenPythonServerAndCurlMatchesTcpdump) {
  if (!have_tool("tcpdump") || !have_tool("curl") || !have_tool("/usr/bin/python3")) GTEST_SKIP() << "needs tcpdump, curl, python3";
  std::uint16_t port = port_is_free(8080) ? 8080 : port_is_free(80) ? 80 : 0;
  if (port == 0) GTEST_SKIP() << "ports 8080 and 80 are both taken";
  TempDirCleanup cleanup;
  const std::string dir = temp_path("www");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/hello.txt") << "hello\n";
  Child server = Child::spawn({"/usr/bin/python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
                               "--directory", dir});
  ASSERT_TRUE(wait_until_accepting(port)) << "http.server did not start";
  const std::string file = temp_path("http.pcap");
  auto td = start_tcpdump(file, "tcp port " + std::to_string(port));
  if (!td) GTEST_SKIP() << "tcpdump cannot capture here";
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(run({"curl", "-s", "-m", "10", base + "/hello.txt"}).out, "hello\n");
  run({"curl", "-s", "-m", "10", "-I", base + "/nope"});
  run({"curl", "-s", "-m", "10", "-X", "POST", "-d", "a=1", base + "/"});
  const std::string plain = finish_capture(*td, file, [](const std::string& out) {
    return count_of(out, ": HTTP: HTTP/1.0 ") >= 3 && count_of(out, "Flags [F") >= 6;
  });
  server.signal(SIGTERM);
  server.wait(5s);
  // tcpdump's own decoding of the real exchange, then sockit's, line by line.
  EXPECT_NE(plain.find(": HTTP: GET /hello.txt HTTP/1.1"), std::string::npos) << plain;
  EXPECT_NE(plain.find(": HTTP: HTTP/1.0 200 OK"), std::string::npos) << plain;
  EXPECT_NE(plain.find(": HTTP: HEAD /nope HTTP/1.1"), std::string::npos) << plain;
  EXPECT_NE(plain.find(": HTTP: POST / HTTP/1.1"), std::string::npos) << plain;
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{}, {"-v"}, {"-vv"}, {"-vvv"}, {"-X"}, {"-A"}, {"-e"}, {"-q"}})
    expect_same_as_tcpdump(file, flags);
  const std::string trunc = temp_path("http_trunc.pcap");
  ASSERT_TRUE(sockit::test::write_all_truncations(file, trunc));
  for (const char* flag : {"-v", "-e"}) expect_same_as_tcpdump(trunc, {flag});
}

TEST(DumpApps, TlsViewNamesSniAlpnVersionsCipherAndAlert) {
  if (!have_tool("tcpdump") || !have_tool("openssl")) GTEST_SKIP() << "needs tcpdump and openssl";
  TempDirCleanup cleanup;
  const std::string key = temp_path("key.pem"), cert = temp_path("cert.pem");
  auto gen = run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=x"});
  ASSERT_EQ(gen.status, 0) << gen.err;
  const std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  const std::string file = temp_path("tls.pcap");
  auto td = start_tcpdump(file, "tcp port " + std::to_string(port));
  if (!td) GTEST_SKIP() << "tcpdump cannot capture here";
  // TLS 1.3 only: the second client, limited to TLS 1.2, gets a plaintext protocol_version alert.
  Child server = Child::spawn({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-naccept", "2",
                               "-tls1_3", "-alpn", "h2", "-cert", cert, "-key", key});
  ASSERT_NE(server.read_stdout_until("ACCEPT", 15s).find("ACCEPT"), std::string::npos);
  const std::string target = "127.0.0.1:" + std::to_string(port);
  auto c1 = run({"openssl", "s_client", "-connect", target, "-servername", "x", "-alpn", "h2,http/1.1"}, "", 15s);
  EXPECT_NE(c1.out.find("ALPN protocol: h2"), std::string::npos) << c1.out << c1.err;
  run({"openssl", "s_client", "-connect", target, "-servername", "x", "-tls1_2"}, "", 15s);
  finish_capture(*td, file, [](const std::string& out) { return count_of(out, "Flags [S]") >= 2 && count_of(out, ", length 7") >= 1; });
  server.close_stdin();
  server.wait(5s);
  // Without --tls the lines are tcpdump's (it has no TLS printer).
  expect_same_as_tcpdump(file, {});
  auto r = run({sockit_bin(), "dump", "-n", "--tls", "-r", file});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(": TLS: Handshake ClientHello, version TLS 1.2, "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cipher suites, SNI x, ALPN h2,http/1.1, supported_versions TLS 1.3,TLS 1.2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": TLS: Handshake ServerHello, version TLS 1.2, cipher TLS_"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("supported_version TLS 1.3 | ChangeCipherSpec | ApplicationData "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": TLS: Alert fatal protocol_version"), std::string::npos) << r.out;
  // Every truncation of the handshake: no crash, one line per frame, tcpdump's lines without --tls.
  const std::string trunc = temp_path("tls_trunc.pcap");
  ASSERT_TRUE(sockit::test::write_all_truncations(file, trunc));
  auto t = run({sockit_bin(), "dump", "-n", "--tls", "-r", trunc}, {}, 60s);
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(lines_of(t.out).size(), lines_of(run({"tcpdump", "-n", "-r", trunc}, {}, 60s).out).size());
}

TEST(DumpApps, HandBuiltNtpDhcpHttpMatchTcpdumpVerboseAndEveryTruncation) {
  if (!have_tool("tcpdump")) GTEST_SKIP() << "tcpdump not installed";
  TempDirCleanup cleanup;
  const std::string file = std::string(SOCKIT_SOURCE_DIR) + "/tests/data/pcap/synthetic_apps.pcap";
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{}, {"-v"}, {"-vv"}, {"-vvv"}, {"-e"}, {"-X"}, {"-A"}, {"-q"}})
    expect_same_as_tcpdump(file, flags);
  const std::string trunc = temp_path("apps_trunc.pcap");
  ASSERT_TRUE(sockit::test::write_all_truncations(file, trunc));
  for (const char* flag : {"-n", "-v", "-vvv", "-A"}) expect_same_as_tcpdump(trunc, {flag});
}
