// sockit ss against the kernel and against iproute2 ss: sockets are opened here in known states
// on loopback (port 0), then `sockit ss` (its --json and its text) and `ss -H ...` are run at the
// same moment with a filter on those ports, and must agree.
#include "support/support.hpp"

#include "sockit/net.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::test::run;
using sockit::test::sockit_bin;

using Lines = std::vector<std::vector<std::string>>;

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  return w;
}

Lines lines_of(const std::string& text) {
  Lines out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!words(l).empty()) out.push_back(words(l));
  std::sort(out.begin(), out.end());
  return out;
}

bool have_iproute2() {
  static const bool ok = run({"ss", "-V"}).status == 0;
  return ok;
}

sockit::test::RunResult sockit_ss(std::vector<std::string> args) {
  args.insert(args.begin(), {sockit_bin(), "ss"});
  return run(args);
}

/// `sockit ss ARGS --json`, one parsed object per line.
std::vector<nlohmann::json> sockit_json(std::vector<std::string> args) {
  args.push_back("--json");
  auto r = sockit_ss(args);
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<nlohmann::json> out;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(nlohmann::json::parse(l));
  return out;
}

/// Text of `sockit ss -H ARGS` and of `ss -H ARGS`, as sorted word lists.
std::pair<Lines, Lines> both(std::vector<std::string> args) {
  args.insert(args.begin(), "-H");
  auto ours = sockit_ss(args);
  EXPECT_EQ(ours.status, 0) << ours.err;
  args.insert(args.begin(), "ss");
  auto theirs = run(args);
  EXPECT_EQ(theirs.status, 0) << theirs.err;
  return {lines_of(ours.out), lines_of(theirs.out)};
}

std::uint16_t port_of(const sockit::Result<Address>& a) { return a.ok() ? a->port() : 0; }

std::uint32_t inode_of(int fd) {
  struct stat st {};
  ::fstat(fd, &st);
  return static_cast<std::uint32_t>(st.st_ino);
}

/// Polls `sockit ss` until `pred(objects)` holds (kernel state changes are asynchronous).
template <class Pred>
std::vector<nlohmann::json> wait_for(const std::vector<std::string>& args, Pred pred) {
  std::vector<nlohmann::json> objs;
  sockit::test::wait_until(
      [&] {
        objs = sockit_json(args);
        return pred(objs);
      },
      2s, 20ms);
  return objs;
}

struct Pair {
  sockit::TcpListener listener;
  sockit::TcpStream client, server;
  std::uint16_t port = 0;
};

Pair connected_pair(const Address& where) {
  Pair p;
  auto l = sockit::TcpListener::bind(where);
  EXPECT_TRUE(l.ok());
  p.listener = std::move(*l);
  p.port = port_of(p.listener.local_address());
  auto dst = where.is_v6() ? Address::ipv6_loopback(p.port) : Address::ipv4_loopback(p.port);
  auto c = sockit::TcpStream::connect(dst, Deadline::after(2s));
  EXPECT_TRUE(c.ok());
  p.client = std::move(*c);
  auto s = p.listener.accept(Deadline::after(2s));
  EXPECT_TRUE(s.ok());
  p.server = std::move(*s);
  return p;
}

TEST(SsIntegration, ListenerMatchesKernelAndIproute2) {
  sockit::test::FdLeakCheck leaks;
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l.ok());
  std::string port = std::to_string(port_of(l->local_address()));

  auto objs = sockit_json({"-tln", "sport", "=", ":" + port});
  ASSERT_EQ(objs.size(), 1u);
  EXPECT_EQ(objs[0]["state"], "LISTEN");
  EXPECT_EQ(objs[0]["netid"], "tcp");
  EXPECT_EQ(objs[0]["local_address"], "127.0.0.1");
  EXPECT_EQ(std::to_string(objs[0]["local_port"].get<int>()), port);
  EXPECT_EQ(objs[0]["inode"], inode_of(l->fd()));
  EXPECT_EQ(objs[0]["uid"], ::getuid());

  if (!have_iproute2()) GTEST_SKIP() << "iproute2 ss not installed";
  auto [ours, theirs] = both({"-tln", "sport = :" + port});
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(ours, theirs);
  EXPECT_EQ(theirs[0][0], "LISTEN");
}

TEST(SsIntegration, EstablishedQueuesMatchIproute2) {
  sockit::test::FdLeakCheck leaks;
  Pair p = connected_pair(Address::ipv4_loopback(0));
  ASSERT_TRUE(p.client.write_all("hello").ok());
  ASSERT_TRUE(sockit::test::wait_until(  // until the 5 bytes sit in the server's queue
      [&] {
        int n = 0;
        return ::ioctl(p.server.fd(), FIONREAD, &n) == 0 && n >= 5;
      },
      1s));
  std::string port = std::to_string(p.port);
  auto objs = sockit_json({"-tn", "state", "established", "( sport = :" + port + " or dport = :" + port + " )"});
  ASSERT_EQ(objs.size(), 2u);
  for (const auto& o : objs) {
    EXPECT_EQ(o["state"], "ESTAB");
    if (std::to_string(o["local_port"].get<int>()) == port) {
      EXPECT_EQ(o["recv_q"], 5);
      EXPECT_EQ(o["inode"], inode_of(p.server.fd()));
    } else {
      EXPECT_EQ(o["recv_q"], 0);
      EXPECT_EQ(o["inode"], inode_of(p.client.fd()));
    }
  }
  if (!have_iproute2()) GTEST_SKIP() << "iproute2 ss not installed";
  auto [ours, theirs] = both({"-tn", "state", "established", "( sport = :" + port + " or dport = :" + port + " )"});
  ASSERT_EQ(theirs.size(), 2u);
  EXPECT_EQ(ours, theirs);
}

TEST(SsIntegration, TimeWaitAndCloseWaitMatchIproute2) {
  sockit::test::FdLeakCheck leaks;
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l.ok());
  std::uint16_t port = port_of(l->local_address());
  // A: the client closes first and the server follows: the client ends in TIME-WAIT.
  auto a = sockit::TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(2s));
  ASSERT_TRUE(a.ok());
  std::uint16_t a_port = port_of(a->local_address());
  auto a_srv = l->accept(Deadline::after(2s));
  ASSERT_TRUE(a_srv.ok());
  a->close();
  char c;
  auto eof = a_srv->read_some({reinterpret_cast<std::byte*>(&c), 1}, Deadline::after(2s));
  ASSERT_TRUE(eof.ok());
  EXPECT_EQ(*eof, 0u);
  a_srv->close();
  // B: the client closes, the server does not: CLOSE-WAIT (server) / FIN-WAIT-2 (client).
  auto b = sockit::TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(2s));
  ASSERT_TRUE(b.ok());
  std::uint16_t b_port = port_of(b->local_address());
  auto b_srv = l->accept(Deadline::after(2s));
  ASSERT_TRUE(b_srv.ok());
  b->shutdown_write().value();  // FIN, but keep the descriptor so FIN-WAIT-2 stays visible
  // Exactly our four sockets: TIME-WAIT leftovers of earlier runs may share a port number, never
  // a whole 4-tuple (all ends are 127.0.0.1).
  std::string ps = std::to_string(port), pa = std::to_string(a_port), pb = std::to_string(b_port);
  std::vector<std::string> args{"-tan", "( sport = :" + ps + " and dport = :0 ) or ( sport = :" + pa +
                                            " and dport = :" + ps + " ) or ( sport = :" + pb + " and dport = :" + ps +
                                            " ) or ( sport = :" + ps + " and dport = :" + pb + " )"};
  auto state_of = [](const std::vector<nlohmann::json>& objs, std::uint16_t lport) {
    for (const auto& o : objs)
      if (o["local_port"] == lport) return o["state"].get<std::string>();
    return std::string("(none)");
  };
  auto objs = wait_for(args, [&](const auto& o) {
    return state_of(o, a_port) == "TIME-WAIT" && state_of(o, b_port) == "FIN-WAIT-2";
  });
  EXPECT_EQ(state_of(objs, a_port), "TIME-WAIT");
  EXPECT_EQ(state_of(objs, b_port), "FIN-WAIT-2");
  bool close_wait = false;
  for (const auto& o : objs)
    if (o["state"] == "CLOSE-WAIT" && o["peer_port"] == b_port) close_wait = o["recv_q"] == 1;  // the FIN counts
  EXPECT_TRUE(close_wait);

  // `state time-wait` selects exactly the TIME-WAIT one.
  std::string tw_filter = "sport = :" + pa + " and dport = :" + ps;
  auto tw = sockit_json({"-tn", "state", "time-wait", tw_filter});
  ASSERT_EQ(tw.size(), 1u);
  EXPECT_EQ(tw[0]["timer"]["name"], "timewait");

  if (!have_iproute2()) GTEST_SKIP() << "iproute2 ss not installed";
  auto [ours, theirs] = both(args);
  EXPECT_EQ(ours, theirs);
  EXPECT_EQ(theirs.size(), 4u);  // LISTEN, TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT
  auto [ours_tw, theirs_tw] = both({"-tn", "state", "time-wait", tw_filter});
  EXPECT_EQ(ours_tw, theirs_tw);
  EXPECT_EQ(theirs_tw.size(), 1u);
}

TEST(SsIntegration, UdpUnconnectedAndConnectedMatchIproute2) {
  sockit::test::FdLeakCheck leaks;
  auto u = sockit::UdpSocket::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(u.ok());
  std::uint16_t uport = port_of(u->local_address());
  auto v = sockit::UdpSocket::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->connect(Address::ipv4_loopback(uport)).ok());
  std::uint16_t vport = port_of(v->local_address());
  std::string filter = "( sport = :" + std::to_string(uport) + " or sport = :" + std::to_string(vport) + " )";

  auto objs = sockit_json({"-uan", filter});
  ASSERT_EQ(objs.size(), 2u);
  for (const auto& o : objs) {
    EXPECT_EQ(o["netid"], "udp");
    EXPECT_EQ(o["state"], o["local_port"] == uport ? "UNCONN" : "ESTAB");
  }
  // Without -a only connected UDP sockets are listed, as in ss.
  EXPECT_EQ(sockit_json({"-un", filter}).size(), 1u);

  if (!have_iproute2()) GTEST_SKIP() << "iproute2 ss not installed";
  auto [ours, theirs] = both({"-uan", filter});
  EXPECT_EQ(ours, theirs);
  auto [ours_l, theirs_l] = both({"-uln", filter});
  EXPECT_EQ(ours_l, theirs_l);
}

TEST(SsIntegration, UnixListenerAndStreamMatchIproute2) {
  sockit::test::FdLeakCheck leaks;
  std::string path = (std::filesystem::temp_directory_path() / ("sockit_ss_" + std::to_string(::getpid()) + ".sock")).string();
  auto addr = Address::unix_path(path);
  ASSERT_TRUE(addr.ok());
  auto l = sockit::UnixListener::bind(*addr);
  ASSERT_TRUE(l.ok());
  auto c = sockit::UnixStream::connect(*addr, Deadline::after(2s));
  ASSERT_TRUE(c.ok());
  auto s = l->accept(Deadline::after(2s));
  ASSERT_TRUE(s.ok());

  auto objs = sockit_json({"-xa", "src", "unix:" + path});
  ASSERT_EQ(objs.size(), 2u);  // the listener and the accepted socket carry the name
  int listen = 0, estab = 0;
  for (const auto& o : objs) {
    EXPECT_EQ(o["netid"], "u_str");
    EXPECT_EQ(o["path"], path);
    if (o["state"] == "LISTEN") {
      ++listen;
      EXPECT_EQ(o["inode"], inode_of(l->fd()));
    }
    if (o["state"] == "ESTAB") {
      ++estab;
      EXPECT_EQ(o["inode"], inode_of(s->fd()));
      EXPECT_EQ(o["peer_inode"], inode_of(c->fd()));
    }
  }
  EXPECT_EQ(listen, 1);
  EXPECT_EQ(estab, 1);
  if (have_iproute2()) {
    auto [ours, theirs] = both({"-xa", "src", "unix:" + path});
    EXPECT_EQ(ours, theirs);
    EXPECT_EQ(theirs.size(), 2u);
  }
  l->close();
  std::filesystem::remove(path);
}

TEST(SsIntegration, Ipv6ListenerMatchesIproute2) {
  if (!sockit::test::have_ipv6_loopback()) GTEST_SKIP() << "no ::1 here";
  sockit::test::FdLeakCheck leaks;
  Pair p = connected_pair(Address::ipv6_loopback(0));
  std::string port = std::to_string(p.port);
  // LISTEN + both ends; earlier runs may have left TIME-WAIT sockets on the same port number.
  std::vector<std::string> args{"-6tn", "state", "listening", "state", "established",
                                "( sport = :" + port + " or dport = :" + port + " )"};
  auto objs = sockit_json(args);
  ASSERT_EQ(objs.size(), 3u);
  for (const auto& o : objs) {
    EXPECT_EQ(o["family"], "inet6");
    EXPECT_EQ(o["local_address"], "::1");
  }
  for (const auto& o : sockit_json({"-4tan", "sport = :" + port}))  // -4 hides our IPv6 listener
    EXPECT_NE(o["inode"], inode_of(p.listener.fd()));
  if (!have_iproute2()) GTEST_SKIP() << "iproute2 ss not installed";
  auto [ours, theirs] = both(args);
  EXPECT_EQ(ours, theirs);
}

TEST(SsIntegration, ProcessesShowThisPidAndFd) {
  sockit::test::FdLeakCheck leaks;
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l.ok());
  std::string port = std::to_string(port_of(l->local_address()));
  auto objs = sockit_json({"-tlnp", "sport = :" + port});
  ASSERT_EQ(objs.size(), 1u);
  ASSERT_EQ(objs[0]["users"].size(), 1u);
  EXPECT_EQ(objs[0]["users"][0]["pid"], ::getpid());
  EXPECT_EQ(objs[0]["users"][0]["fd"], l->fd());
  std::ifstream comm("/proc/self/comm");
  std::string name;
  std::getline(comm, name);
  EXPECT_EQ(objs[0]["users"][0]["name"], name);
  if (!have_iproute2()) GTEST_SKIP() << "iproute2 ss not installed";
  auto [ours, theirs] = both({"-tlnp", "sport = :" + port});
  EXPECT_EQ(ours, theirs);
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs[0].back(), "users:((\"" + name + "\",pid=" + std::to_string(::getpid()) + ",fd=" +
                                  std::to_string(l->fd()) + "))");
}

TEST(SsIntegration, TcpInfoCountsBytesAndMatchesIproute2) {
  sockit::test::FdLeakCheck leaks;
  Pair p = connected_pair(Address::ipv4_loopback(0));
  std::string data(1000, 'x');
  ASSERT_TRUE(p.client.write_all(data).ok());
  std::string got(1000, '\0');
  ASSERT_TRUE(p.server.read_exact({reinterpret_cast<std::byte*>(got.data()), got.size()}, Deadline::after(2s)).ok());
  std::string cport = std::to_string(port_of(p.client.local_address()));
  std::string filter = "sport = :" + cport + " and dport = :" + std::to_string(p.port);
  std::vector<std::string> args{"-tin", "state", "established", filter};
  auto objs = wait_for(args, [](const auto& o) {
    return o.size() == 1 && o[0]["tcp_info"]["bytes_acked"] == 1001;  // + the SYN
  });
  ASSERT_EQ(objs.size(), 1u);
  const auto& ti = objs[0]["tcp_info"];
  EXPECT_EQ(ti["bytes_acked"], 1001);
  EXPECT_EQ(ti["bytes_sent"], 1000);
  EXPECT_GT(ti["mss_bytes"].get<int>(), 0);
  EXPECT_GT(ti["cwnd_segments"].get<int>(), 0);
  EXPECT_GT(ti["rtt_ms"].get<double>(), 0.0);
  EXPECT_EQ(ti["total_retrans_segments"], 0);
  EXPECT_TRUE(ti["congestion"].is_string());

  if (!have_iproute2()) GTEST_SKIP() << "iproute2 ss not installed";
  // Same fields from both tools; lastsnd/lastrcv/lastack tick between the two runs, drop them.
  auto strip = [](Lines ls) {
    for (auto& l : ls)
      l.erase(std::remove_if(l.begin(), l.end(), [](const std::string& w) { return w.rfind("last", 0) == 0; }),
              l.end());
    return ls;
  };
  auto [ours, theirs] = both({"-tin", "state", "established", filter});
  ASSERT_EQ(theirs.size(), 2u);
  auto has = [](const Lines& ls, const std::string& w) {
    for (const auto& l : ls)
      if (std::find(l.begin(), l.end(), w) != l.end()) return true;
    return false;
  };
  EXPECT_TRUE(has(theirs, "bytes_acked:1001"));
  EXPECT_TRUE(has(ours, "bytes_acked:1001"));
  EXPECT_EQ(strip(ours)[0], strip(theirs)[0]);  // the address line
}

TEST(SsIntegration, DeviceBoundSocketShowsInterfaceLikeIproute2) {
  sockit::test::FdLeakCheck leaks;
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l.ok());
  const char dev[] = "lo";
  if (::setsockopt(l->fd(), SOL_SOCKET, SO_BINDTODEVICE, dev, sizeof dev) != 0)
    GTEST_SKIP() << "SO_BINDTODEVICE needs CAP_NET_RAW";
  std::string port = std::to_string(port_of(l->local_address()));
  auto r = sockit_ss({"-H", "-tln", "sport = :" + port});
  EXPECT_NE(r.out.find("127.0.0.1%lo:" + port), std::string::npos) << r.out;
  if (!have_iproute2()) GTEST_SKIP() << "iproute2 ss not installed";
  auto [ours, theirs] = both({"-tln", "sport = :" + port});
  EXPECT_EQ(ours, theirs);
}

TEST(SsIntegration, NetstatLayoutMatchesNetTools) {
  sockit::test::FdLeakCheck leaks;
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l.ok());
  std::string port = std::to_string(port_of(l->local_address()));
  auto r = sockit_ss({"--netstat", "-tln", "sport = :" + port});
  ASSERT_EQ(r.status, 0) << r.err;
  auto ls = lines_of(r.out);
  std::vector<std::string> want{"tcp", "0", "0", "127.0.0.1:" + port, "0.0.0.0:*", "LISTEN"};
  EXPECT_NE(std::find(ls.begin(), ls.end(), want), ls.end()) << r.out;
  EXPECT_NE(r.out.find("Active Internet connections (only servers)"), std::string::npos);
  auto nt = run({"netstat", "-tln"});
  if (nt.status != 0) GTEST_SKIP() << "net-tools netstat not installed";
  auto theirs = lines_of(nt.out);
  EXPECT_NE(std::find(theirs.begin(), theirs.end(), want), theirs.end()) << nt.out;
}

TEST(SsIntegration, WatchRefreshesCountTimes) {
  sockit::test::FdLeakCheck leaks;
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l.ok());
  std::string port = std::to_string(port_of(l->local_address()));
  auto t0 = std::chrono::steady_clock::now();
  auto objs = sockit_json({"-tln", "--watch", "100ms", "--count", "3", "sport = :" + port});
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(objs.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(objs[i]["snapshot"], i + 1);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
  auto text = sockit_ss({"-tln", "--watch", "50ms", "--count", "2", "sport = :" + port});
  EXPECT_EQ(text.status, 0);
  EXPECT_EQ(std::count(text.out.begin(), text.out.end(), '\n'), 5);  // 2 x (header + row) + separator
}

TEST(SsIntegration, WatchStopsCleanlyOnCtrlC) {
  auto child = sockit::test::Child::spawn({sockit_bin(), "ss", "-tln", "--watch", "200ms"});
  std::string first = child.read_stdout_until("Recv-Q", 5s);
  ASSERT_NE(first.find("Recv-Q"), std::string::npos);
  auto t0 = std::chrono::steady_clock::now();
  child.signal(SIGINT);
  auto st = child.wait(3s);
  ASSERT_TRUE(st.has_value()) << "still running after SIGINT";
  EXPECT_EQ(*st, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(SsIntegration, SummaryHasIproute2Layout) {
  auto r = sockit_ss({"-s"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Total: ", 0), 0u);
  EXPECT_NE(r.out.find("\nTransport Total     IP        IPv6\n"), std::string::npos);
  if (!have_iproute2()) GTEST_SKIP() << "iproute2 ss not installed";
  auto theirs = run({"ss", "-s"});
  auto first_words = [](const std::string& text) {
    std::vector<std::string> w;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) w.push_back(words(l).empty() ? "" : words(l)[0]);
    return w;
  };
  EXPECT_EQ(first_words(r.out), first_words(theirs.out));
}

TEST(SsIntegration, UsageErrorsExitTwoWithOneLine) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases{
      {{"state", "bogus"}, "sockit ss: wrong state name: bogus"},
      {{"exclude", "nope"}, "sockit ss: wrong state name: nope"},
      {{"sport", "=", ":80", "and"}, "sockit ss: filter expression ends too early"},
      {{"dport", "=", ":99999"}, "sockit ss: port out of range: 99999"},
      {{"frobnicate"}, "sockit ss: unknown filter keyword \"frobnicate\" (expected sport, dport, src, dst, not, '(')"},
      {{"--watch", "soon"}, "sockit ss: --watch: bad interval \"soon\" (try 500ms, 2s)"},
      {{"--count", "2"}, "sockit ss: --count needs --watch"},
      {{"-f", "ipx"}, "sockit ss: \"ipx\" is invalid family (sockit knows inet, inet6, unix)"},
  };
  for (const auto& c : cases) {
    auto r = sockit_ss(c.args);
    EXPECT_EQ(r.status, 2) << c.message;
    EXPECT_EQ(r.err.substr(0, r.err.find('\n')), c.message);
    EXPECT_TRUE(r.out.empty());
  }
}

}  // namespace
