// UDP of `sockit echo-server` through its datagram paths: --udp-batch 1 (a plain recvfrom/sendto
// loop), --udp-batch 32 --no-udp-gso (recvmmsg/sendmmsg) and the default (batches of 32 with
// same-peer replies coalesced by UDP GSO). The same assertions for all: every datagram of several
// clients comes back to its sender with its content, the largest datagram whole, the counters add
// up; strace confirms which system calls each path makes.
#include "echo_server.hpp"

#include "sockit/net/udp.hpp"

#include <gtest/gtest.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::UdpSocket;
using sockit::test::EchoServer;
using sockit::test::Variant;

namespace {

constexpr std::size_t kMaxUdpPayload = 65507;  // IPv4: 65535 - 20 (IP) - 8 (UDP)

using sockit::test::datagram_payload;
std::size_t size_of(std::uint32_t seq) { return 12 + (seq * 389u) % 1461u; }

struct Outcome {
  std::size_t replies = 0, bad = 0, lost = 0;
  std::uint64_t bytes = 0;
  std::string first_error;
};

// `clients` sockets, `per_client` datagrams each, at most `window` outstanding per socket; every
// reply must be the next datagram of that socket, byte for byte.
Outcome drive(std::uint16_t port, std::size_t clients, std::size_t per_client, std::size_t window) {
  Outcome o;
  std::vector<UdpSocket> socks;
  std::vector<std::uint32_t> sent(clients, 0), got(clients, 0);
  for (std::size_t i = 0; i < clients; ++i) {
    auto s = UdpSocket::bind(Address::ipv4_loopback(0));
    if (!s || !s->connect(Address::ipv4_loopback(port))) {
      o.first_error = "client socket setup failed";
      return o;
    }
    (void)s->set_recv_buffer(1 << 20);
    socks.push_back(std::move(*s));
  }
  std::vector<std::byte> in(2048);
  auto last = std::chrono::steady_clock::now();
  for (;;) {
    bool done = true;
    for (std::size_t c = 0; c < clients; ++c) {
      while (sent[c] < per_client && sent[c] - got[c] < window) {
        auto d = datagram_payload(static_cast<std::uint32_t>(c), sent[c], size_of(sent[c]));
        if (::send(socks[c].fd(), d.data(), d.size(), MSG_DONTWAIT) != static_cast<ssize_t>(d.size())) break;
        o.bytes += d.size();
        ++sent[c];
      }
      if (got[c] < per_client) done = false;
    }
    if (done) return o;
    std::vector<pollfd> pfds;
    for (auto& s : socks) pfds.push_back(pollfd{s.fd(), POLLIN, 0});
    if (::poll(pfds.data(), pfds.size(), 100) == 0 && std::chrono::steady_clock::now() - last > 2s) {
      for (std::size_t c = 0; c < clients; ++c) {
        o.lost += sent[c] - got[c];
        got[c] = sent[c];
      }
      if (o.first_error.empty()) o.first_error = "no reply for 2 s";
      last = std::chrono::steady_clock::now();
      continue;
    }
    for (std::size_t c = 0; c < clients; ++c) {
      if ((pfds[c].revents & POLLIN) == 0) continue;
      ssize_t k;
      while ((k = ::recv(socks[c].fd(), in.data(), in.size(), MSG_DONTWAIT)) >= 0) {
        last = std::chrono::steady_clock::now();
        auto want = datagram_payload(static_cast<std::uint32_t>(c), got[c], size_of(got[c]));
        if (static_cast<std::size_t>(k) == want.size() && std::memcmp(in.data(), want.data(), want.size()) == 0) {
          ++o.replies;
        } else if (++o.bad == 1) {
          o.first_error = "client " + std::to_string(c) + " datagram " + std::to_string(got[c]) + " came back different";
        }
        ++got[c];
      }
    }
  }
}

enum class Path { plain, batch, batch_gso };

class EchoUdp : public testing::TestWithParam<Path> {
 protected:
  std::vector<std::string> flags() const {
    switch (GetParam()) {
      case Path::plain: return {"--udp", "127.0.0.1:0", "--udp-batch", "1"};
      case Path::batch: return {"--udp", "127.0.0.1:0", "--udp-batch", "32", "--no-udp-gso"};
      case Path::batch_gso: break;
    }
    return {"--udp", "127.0.0.1:0"};  // the default
  }
  bool plain() const { return GetParam() == Path::plain; }
  void TearDown() override { leaks_.expect_no_leak(); }
  sockit::test::FdLeakCheck leaks_;
};

TEST_P(EchoUdp, BannerNamesThePath) {
  EchoServer s(Variant{"epoll"}, flags());
  ASSERT_TRUE(s.ok()) << s.err();
  std::string want = plain()                       ? "(plain recvfrom/sendto loop)"
                     : GetParam() == Path::batch ? "(recvmmsg/sendmmsg, batches of up to 32)"
                                                 : "(recvmmsg/sendmmsg, batches of up to 32, UDP GSO for same-peer replies)";
  EXPECT_NE(s.err().find(want), std::string::npos) << s.err();
  auto st = s.stop();
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, 0);
}

TEST_P(EchoUdp, EveryDatagramOfSeveralClientsComesBackToItsSender) {
  EchoServer s(Variant{"epoll"}, flags());
  ASSERT_TRUE(s.ok()) << s.err();
  ASSERT_NE(s.udp_port(), 0);
  constexpr std::size_t kClients = 8, kEach = 5000;
  auto o = drive(s.udp_port(), kClients, kEach, 32);
  EXPECT_EQ(o.replies, kClients * kEach) << o.first_error;
  EXPECT_EQ(o.bad, 0u) << o.first_error;
  EXPECT_EQ(o.lost, 0u) << o.first_error;
  auto st = s.stop();
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, 0);
  auto c = s.counters();
  EXPECT_EQ(c["udp.received"], kClients * kEach);
  EXPECT_EQ(c["udp.sent"], kClients * kEach);
  EXPECT_EQ(c["udp.dropped"], 0u);
  EXPECT_EQ(c["udp.errors"], 0u);
  EXPECT_EQ(c["udp.bytes_in"], o.bytes);
  EXPECT_EQ(c["udp.bytes_out"], o.bytes);
  if (GetParam() != Path::batch_gso) {
    EXPECT_EQ(c["udp.coalesced"], 0u);
  }
  if (plain()) {
    EXPECT_EQ(c["udp.send_calls"], c["udp.sent"]) << "plain loop: one sendto per reply";
    EXPECT_GE(c["udp.recv_calls"], c["udp.received"]) << "plain loop: one recvfrom per datagram";
  }
}

TEST_P(EchoUdp, LargestDatagramComesBackWholeAndOversizeIsRefusedBySender) {
  EchoServer s(Variant{"epoll"}, flags());
  ASSERT_TRUE(s.ok()) << s.err();
  auto c = UdpSocket::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->connect(Address::ipv4_loopback(s.udp_port())));
  std::vector<std::byte> in(kMaxUdpPayload + 100);
  auto big = datagram_payload(1, 1, kMaxUdpPayload);
  ASSERT_TRUE(c->send(big, Deadline::after(2s)));
  auto got = c->recv(in, Deadline::after(5s));
  ASSERT_TRUE(got) << "no reply to the largest datagram";
  EXPECT_FALSE(got->truncated);
  ASSERT_EQ(got->size, kMaxUdpPayload);
  EXPECT_EQ(std::memcmp(in.data(), big.data(), big.size()), 0);
  // One byte more does not fit an IPv4 datagram: the sender's kernel refuses it, and the server
  // keeps serving (an empty datagram gets an empty reply).
  std::vector<std::byte> over(kMaxUdpPayload + 1);
  auto e = c->send(over, Deadline::after(2s));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), std::errc::message_size);
  ASSERT_TRUE(c->send(std::span<const std::byte>(), Deadline::after(2s)));
  got = c->recv(in, Deadline::after(5s));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size, 0u);
  c->close();
  auto st = s.stop();
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, 0);
  auto ctr = s.counters();
  EXPECT_EQ(ctr["udp.received"], 2u);
  EXPECT_EQ(ctr["udp.sent"], 2u);
  EXPECT_EQ(ctr["udp.truncated"], 0u);
  EXPECT_EQ(ctr["udp.bytes_out"], kMaxUdpPayload);
}

// The system calls the server made on its UDP socket, counted by strace: {name: calls}.
std::map<std::string, int> udp_syscalls(const std::string& trace_file) {
  std::map<std::string, int> n;
  std::ifstream f(trace_file);
  std::string line;
  while (std::getline(f, line)) {
    for (const char* name : {"recvfrom", "sendto", "recvmmsg", "sendmmsg", "recvmsg", "sendmsg"}) {
      std::string key = std::string(name) + "(";
      auto pos = line.find(key);
      if (pos != std::string::npos && (pos == 0 || line[pos - 1] == ' ')) ++n[name];
    }
  }
  return n;
}

TEST_P(EchoUdp, StraceShowsOnlyThePathsSystemCalls) {
  if (::access("/usr/bin/strace", X_OK) != 0) GTEST_SKIP() << "strace is not installed";
  char tmpl[] = "/tmp/sockit-udp-strace.XXXXXX";
  int tfd = ::mkstemp(tmpl);
  ASSERT_GE(tfd, 0);
  ::close(tfd);
  std::string trace = tmpl;
  pid_t server = -1;
  {
    // LeakSanitizer cannot run under ptrace: in sanitizer builds the traced server skips it.
    const char* asan = std::getenv("ASAN_OPTIONS");
    std::string asan_opts = std::string("ASAN_OPTIONS=") + (asan != nullptr ? std::string(asan) + ":" : "") +
                            "detect_leaks=0";
    EchoServer s(Variant{"epoll"}, flags(),
                 {"env", asan_opts, "/usr/bin/strace", "-f", "-qq", "-e",
                  "trace=recvfrom,sendto,recvmmsg,sendmmsg,recvmsg,sendmsg", "-o", trace, "--"});
    if (!s.ok()) {
      std::remove(trace.c_str());
      GTEST_SKIP() << "strace cannot trace here (ptrace not permitted?): " << s.err();
    }
    // strace is the child; the server's own pid is in its banner ("counters: kill -USR1 PID").
    auto pos = s.err().find("kill -USR1 ");
    ASSERT_NE(pos, std::string::npos) << s.err();
    server = static_cast<pid_t>(std::stol(s.err().substr(pos + 11)));
    auto o = drive(s.udp_port(), 4, 500, 16);
    EXPECT_EQ(o.replies, 2000u) << o.first_error;
    ASSERT_EQ(::kill(server, SIGTERM), 0);  // strace exits with its tracee's status
    auto st = s.wait(15s);
    ASSERT_TRUE(st) << "server did not exit";
    EXPECT_EQ(*st, 0) << s.err();
  }
  auto n = udp_syscalls(trace);
  std::remove(trace.c_str());
  if (plain()) {
    EXPECT_GE(n["recvfrom"], 2000);
    EXPECT_EQ(n["sendto"], 2000);
    EXPECT_EQ(n["recvmmsg"], 0);
    EXPECT_EQ(n["sendmmsg"], 0);
  } else {
    EXPECT_GE(n["recvmmsg"], 1);
    EXPECT_GE(n["sendmmsg"], 1);
    EXPECT_EQ(n["recvfrom"], 0);
    EXPECT_EQ(n["sendto"], 0);
  }
  EXPECT_EQ(n["recvmsg"], 0);
  EXPECT_EQ(n["sendmsg"], 0);
}

INSTANTIATE_TEST_SUITE_P(Paths, EchoUdp, testing::Values(Path::plain, Path::batch, Path::batch_gso),
                         [](const testing::TestParamInfo<Path>& i) {
                           return i.param == Path::plain ? "Plain" : i.param == Path::batch ? "Batch32" : "Batch32Gso";
                         });

// In a private network namespace whose loopback has an MTU of 1280, 1400-byte replies cannot be
// GSO segments (the kernel refuses: EINVAL): they must go out as ordinary datagrams, none lost.
// 1000-byte ones still can. (`unshare -rn`: fixed ports are fine in a namespace of our own.)
TEST(EchoUdpGso, RouteThatRefusesGsoGetsOrdinaryDatagrams) {
  std::string sockit = sockit::test::sockit_bin();
  std::string script =
      "ip link set lo mtu 1280 up || exit 77\n"
      "for size in 1400 1000; do\n"
      "  \"$0\" echo-server --no-tcp --udp 127.0.0.1:9000 2>\"$1.$size\" & pid=$!\n"
      "  for i in $(seq 100); do grep -q 'listening on udp' \"$1.$size\" && break; sleep 0.05; done\n"
      "  \"$0\" load udp 127.0.0.1:9000 -c 4 --window 16 --size $size -n 4000 --json --no-progress"
      " | tr -d ' \\n' | grep -o '\"units\":[0-9]*\\|\"lost\":[0-9]*\\|\"errors_total\":[0-9]*' | tr '\\n' ' '\n"
      "  kill -TERM $pid; wait $pid\n"
      "  echo \"size=$size $(grep -o 'coalesced=[0-9]*\\|errors=[0-9]*\\|dropped=[0-9]*' \"$1.$size\" | tr '\\n' ' ')\"\n"
      "  rm -f \"$1.$size\"\n"
      "done\n";
  char tmpl[] = "/tmp/sockit-udp-gso.XXXXXX";
  int tfd = ::mkstemp(tmpl);
  ASSERT_GE(tfd, 0);
  ::close(tfd);
  auto r = sockit::test::run({"unshare", "-rn", "bash", "-c", script, sockit, tmpl}, "", 60s);
  std::remove(tmpl);
  if (r.status == 77 || r.err.find("unshare") != std::string::npos) GTEST_SKIP() << "no network namespace here: " << r.err;
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  // One line per size: load's lost and errors_total, then the server's counters.
  auto line = [&](const std::string& size) {
    auto pos = r.out.find("size=" + size);
    if (pos == std::string::npos) return std::string();
    auto begin = r.out.rfind('\n', pos);
    begin = begin == std::string::npos ? 0 : begin + 1;
    return r.out.substr(begin, r.out.find('\n', pos) - begin);
  };
  std::string big = line("1400"), small = line("1000");
  for (const std::string& l : {big, small}) {
    EXPECT_NE(l.find("\"units\":4000 "), std::string::npos) << r.out;
    EXPECT_NE(l.find("\"lost\":0 "), std::string::npos) << r.out;
    EXPECT_NE(l.find("\"errors_total\":0 "), std::string::npos) << r.out;
    EXPECT_NE(l.find(" dropped=0 errors=0 "), std::string::npos) << r.out;
  }
  EXPECT_NE(big.find("coalesced=0 "), std::string::npos) << "1400-byte replies were coalesced over a 1280 MTU: " << r.out;
  EXPECT_EQ(small.find("coalesced=0 "), std::string::npos) << "1000-byte replies were never coalesced: " << r.out;
}

TEST(EchoUdpCli, BadBatchExitsTwoWithOneLine) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--udp", "127.0.0.1:0", "--udp-batch", "0"},
           {"--udp", "127.0.0.1:0", "--udp-batch", "1025"},
           {"--udp", "127.0.0.1:0", "--udp-batch", "-3"},
           {"--udp", "127.0.0.1:0", "--udp-batch", "many"},
           {"--listen", "127.0.0.1:0", "--udp-batch", "8"},
           {"--listen", "127.0.0.1:0", "--no-udp-gso"}}) {
    std::vector<std::string> argv{sockit::test::sockit_bin(), "echo-server"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = sockit::test::run(argv, "", 10s);
    std::string what = args[args.size() - 2] + " " + args.back();
    EXPECT_EQ(r.status, 2) << what << ": " << r.err;
    EXPECT_EQ(r.err.rfind("sockit echo-server: ", 0), 0u) << what << ": " << r.err;
    EXPECT_NE(r.err.find(args[2].rfind("--", 0) == 0 ? args[2] : args[0]), std::string::npos) << what << ": " << r.err;
  }
}

TEST(EchoUdpCli, HelpDocumentsTheBatchFlag) {
  auto r = sockit::test::run({sockit::test::sockit_bin(), "echo-server", "--help"}, "", 10s);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--udp-batch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 = a plain recvfrom/sendto"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--no-udp-gso"), std::string::npos) << r.out;
}

}  // namespace
