// tcpdump's everyday flags in `sockit dump` (issue #25): -v/-vv/-vvv, -x/-xx/-X/-XX, -A/-AA,
// -t..-ttttt, -c, -e, -q, the TCP options tcpdump names and unknown link types. Each output is
// compared whole with Debian's tcpdump 4.99 reading the same file: a capture tcpdump itself wrote
// on lo during TCP, UDP and ICMP traffic over 127.0.0.1 and ::1, and the hand-built fixtures.
#include "dump_support.hpp"
#include "support/support.hpp"

#include <sockit/net/address.hpp>
#include <sockit/net/socket.hpp>
#include <sockit/net/udp.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
using sockit::test::Child;
using sockit::test::run;
using sockit::test::sockit_bin;

namespace {

const std::string kTcpdump = "/usr/bin/tcpdump";

std::string fixture(const std::string& name) { return std::string(SOCKIT_SOURCE_DIR) + "/tests/data/pcap/" + name; }

std::vector<std::string> words(const std::string& flags) {
  std::istringstream in(flags);
  std::vector<std::string> v;
  for (std::string w; in >> w;) v.push_back(w);
  return v;
}

// tcpdump -n FLAGS -r FILE and sockit dump -n FLAGS -r FILE (no hints, no summary): same stdout.
void expect_same_as_tcpdump(const std::string& file, const std::string& flags) {
  std::vector<std::string> want_argv = {kTcpdump, "-n", "-r", file};
  std::vector<std::string> got_argv = {sockit_bin(), "dump", "-n", "--no-hints", "--no-summary", "-r", file};
  for (const auto& w : words(flags)) {
    want_argv.push_back(w);
    got_argv.push_back(w);
  }
  auto want = run(want_argv);
  auto got = run(got_argv);
  ASSERT_EQ(want.status, 0) << want.err;
  ASSERT_EQ(got.status, 0) << got.err;
  EXPECT_FALSE(want.out.empty()) << file << " " << flags;
  EXPECT_EQ(got.out, want.out) << file << " [" << flags << "]";
}

// One short TCP conversation to `listener`: a line each way, then both ends close.
void tcp_conversation(sockit::TcpListener& listener) {
  auto client = sockit::TcpStream::connect(*listener.local_address(), sockit::Deadline::after(5s));
  ASSERT_TRUE(client);
  auto server = listener.accept(sockit::Deadline::after(5s));
  ASSERT_TRUE(server);
  for (auto* from : {&*client, &*server}) ASSERT_TRUE(from->write_all("ping -v\n", sockit::Deadline::after(5s)));
  char buf[8];
  for (auto* to : {&*server, &*client})
    ASSERT_TRUE(to->read_exact(std::as_writable_bytes(std::span(buf)), sockit::Deadline::after(5s)));
}

}  // namespace

// The hand-built fixtures (TCP options, -v material, link type 147) with every flag: line-by-line
// identical to tcpdump's output. Flags are combined to keep the runs (two processes each) few.
TEST(DumpFlags, TcpOptionsAndLinkTypeFixturesMatchTcpdumpForEveryFlag) {
  if (!std::filesystem::exists(kTcpdump)) GTEST_SKIP() << "tcpdump not installed";
  for (const char* flags : {"", "-v", "-vv -e", "-q -v -xx", "-XX -ttt", "-AA -tt", "-X -ttttt", "-A -vvv -c 50"})
    expect_same_as_tcpdump(fixture("synthetic_tcpopts.pcap"), flags);
  for (const char* flags : {"", "-x -v", "-XX -e", "-AA -q"})
    expect_same_as_tcpdump(fixture("synthetic_linktype147.pcap"), flags);
}

// The older fixtures (every link type, IPv6 extension headers, ICMP errors, malformed packets)
// with -v and -vv: IP header fields, checksums, quoted datagrams, IPv6 options as tcpdump.
TEST(DumpFlags, OlderFixturesMatchTcpdumpWithVerbose) {
  if (!std::filesystem::exists(kTcpdump)) GTEST_SKIP() << "tcpdump not installed";
  for (const char* name : {"synthetic_ether.pcap", "synthetic_raw.pcap", "synthetic_null.pcap", "synthetic_sll.pcap",
                           "synthetic_bad.pcap", "loopback_echo.pcap", "any_irc.pcap"})
    for (const char* flags : {"-v", "-vv -e -xx"}) expect_same_as_tcpdump(fixture(name), flags);
}

// Every capture length of every frame of synthetic_tcpopts.pcap (options cut anywhere, MPTCP,
// IP options, ICMP errors, neighbor discovery options) with -v and -vv: the same lines and the
// same truncation marks as tcpdump ("[|mptcp]", "[truncated-option]", "[|icmp6]", ...).
TEST(DumpFlags, EveryTruncationWithVerboseIsMarkedLikeTcpdump) {
  if (!std::filesystem::exists(kTcpdump)) GTEST_SKIP() << "tcpdump not installed";
  sockit::test::TempDir tmp("sockit-dump-flags");
  const std::string cut = tmp.file("cut.pcap");
  ASSERT_TRUE(sockit::test::write_all_truncations(fixture("synthetic_tcpopts.pcap"), cut));
  for (const char* flags : {"-v", "-vv -e"}) expect_same_as_tcpdump(cut, flags);
}

// An unknown link type is announced and printed as tcpdump does: "link-type 147" on stderr, and
// each frame as "UNSUPPORTED" plus its bytes in hex, whatever the flags.
TEST(DumpFlags, UnknownLinkTypeIsPrintedLikeTcpdump) {
  if (!std::filesystem::exists(kTcpdump)) GTEST_SKIP() << "tcpdump not installed";
  const std::string file = fixture("synthetic_linktype147.pcap");
  auto want = run({kTcpdump, "-n", "-r", file});
  auto got = run({sockit_bin(), "dump", "-n", "-r", file});
  EXPECT_EQ(got.status, 0) << got.err;
  EXPECT_EQ(got.err, want.err);
  EXPECT_NE(got.err.find("link-type 147, snapshot length"), std::string::npos) << got.err;
  EXPECT_NE(got.out.find(" UNSUPPORTED\n\t0x0000:  6865 6c6c 6f20"), std::string::npos) << got.out;
}

TEST(DumpFlags, SixTsAreAUsageErrorLikeTcpdump) {
  auto r = run({sockit_bin(), "dump", "-tttttt", "-r", fixture("loopback_echo.pcap")});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("only -t, -tt, -ttt, -tttt and -ttttt are supported"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

// tcpdump writes a capture of lo during TCP, UDP and ICMP (port unreachable) traffic over IPv4
// and IPv6; sockit reads it with -v, -vv, -x, -xx, -XX, -AA and the -t styles exactly as tcpdump
// does (the TCP checksums of lo are "incorrect": the kernel leaves them to an offload).
TEST(DumpFlags, LoopbackCaptureMatchesTcpdumpWithVerboseHexAndTimestamps) {
  if (!std::filesystem::exists(kTcpdump)) GTEST_SKIP() << "tcpdump not installed";
  sockit::test::TempDir tmp("sockit-dump-flags");
  const std::string file = tmp.file("lo.pcap");
  auto l4 = sockit::TcpListener::bind(sockit::Address::ipv4_loopback(0));
  auto l6 = sockit::TcpListener::bind(sockit::Address::ipv6_loopback(0));
  auto u4 = sockit::UdpSocket::bind(sockit::Address::ipv4_loopback(0));
  auto u6 = sockit::UdpSocket::bind(sockit::Address::ipv6_loopback(0));
  ASSERT_TRUE(l4 && l6 && u4 && u6);
  std::uint16_t closed = 0;  // a UDP port nobody listens on, for ICMP port unreachable
  {
    auto tmp_sock = sockit::UdpSocket::bind(sockit::Address::ipv4_loopback(0));
    ASSERT_TRUE(tmp_sock);
    closed = tmp_sock->local_address()->port();
  }
  std::string filter;
  for (auto p : {l4->local_address()->port(), l6->local_address()->port(), u4->local_address()->port(),
                 u6->local_address()->port(), closed})
    filter += (filter.empty() ? "port " : " or port ") + std::to_string(p);
  filter += " or icmp or icmp6";
  // -Z root: Debian's tcpdump would otherwise switch to user tcpdump and fail to create the file.
  // -s 2048: immediate mode's ring has one slot per snapshot length; at the default 262144 only
  // a handful fit in the buffer and a burst on lo (every packet seen twice) overruns it.
  Child td = Child::spawn({kTcpdump, "-i", "lo", "--immediate-mode", "-U", "-s", "2048", "-Z", "root", "-w", file, filter});
  std::string err = td.read_stderr_until("listening on", 10s);
  if (err.find("listening on") == std::string::npos) GTEST_SKIP() << "tcpdump cannot capture here: " << err;

  tcp_conversation(*l4);
  tcp_conversation(*l6);
  const std::string dgram = "udp -v";
  for (auto family : {sockit::Family::v4, sockit::Family::v6}) {
    auto s = sockit::UdpSocket::open(family);
    ASSERT_TRUE(s);
    const bool v4 = family == sockit::Family::v4;
    ASSERT_TRUE(s->send_to(std::as_bytes(std::span(dgram)), *(v4 ? u4 : u6)->local_address()));
    auto closed_addr = v4 ? sockit::Address::ipv4_loopback(closed) : sockit::Address::ipv6_loopback(closed);
    ASSERT_TRUE(s->send_to(std::as_bytes(std::span(dgram)), closed_addr));
  }
  // The file is complete once tcpdump has written both ICMP errors (-U: one write per packet).
  const std::string seen = sockit::test::poll_capture_file({kTcpdump, "-n", "-r", file}, [](const std::string& out) {
    return out.find("ICMP 127.0.0.1 udp port") != std::string::npos && out.find("ICMP6, destination unreachable") != std::string::npos;
  });
  td.signal(SIGTERM);
  td.read_stderr(5s);
  td.wait(5s);
  ASSERT_NE(seen.find("ICMP6, destination unreachable"), std::string::npos) << seen;

  for (const char* flags : {"-v", "-vv -e", "-x -t", "-XX -ttt", "-AA -tt", "-A -v -tttt", "-q -v -ttttt", "-vvv -xx -c 4"})
    expect_same_as_tcpdump(file, flags);
  auto v = run({sockit_bin(), "dump", "-n", "-v", "-r", file});
  EXPECT_NE(v.out.find(", proto TCP (6), length 60)\n    127.0.0.1."), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("IP6 (flowlabel 0x"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("(incorrect -> 0x"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("\n\tIP (tos 0x0, ttl 64, id "), std::string::npos) << v.out;  // the quoted datagram
}
