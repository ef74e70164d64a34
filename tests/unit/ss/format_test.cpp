// Renderings of sockit ss. The golden lines were printed by iproute2 ss 6.1 from the same bytes
// (TCPDIAG_FILE=<capture> ss -tnieom -H), so the text matches ss field for field.
#include "tools/ss/format.hpp"
#include "tools/ss/procs.hpp"
#include "tools/ss/summary.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace sockit::ss {
namespace {

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  return w;
}

std::vector<Socket> captured_tcp() {
  std::ifstream in(std::string(SOCKIT_SOURCE_DIR) + "/tests/fuzz/corpus/inet_diag/tcp4_established_info_mem",
                   std::ios::binary);
  std::vector<std::uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Socket> out;
  if (b.size() > 1) {
    auto st = decode_datagram(std::span<const std::uint8_t>(b).subspan(1), Netid::tcp, out);
    EXPECT_TRUE(st.ok());
  }
  return out;
}

Socket v6_listener(bool v6only) {
  Socket s;
  s.family = AF_INET6;
  s.state = State::listen;
  s.local_port = 22;
  s.v6only = v6only;
  return s;
}

TEST(SsFormat, MsTimerMatchesIproute2) {
  EXPECT_EQ(format_ms_timer(2428), "2.428ms");  // ss's own odd spelling of 2.428 s
  EXPECT_EQ(format_ms_timer(58000), "58sec");
  EXPECT_EQ(format_ms_timer(12345), "12sec");
  EXPECT_EQ(format_ms_timer(60000), "1min");
  EXPECT_EQ(format_ms_timer(65000), "1min5sec");
  EXPECT_EQ(format_ms_timer(11 * 60000 + 5000), "11min");
  EXPECT_EQ(format_ms_timer(200), "200ms");
  EXPECT_EQ(format_ms_timer(0), "");
}

TEST(SsFormat, RatesHumanByDefaultAndPlainWithNumeric) {
  EXPECT_EQ(format_bps(154202352941.0, false), "154G");
  EXPECT_EQ(format_bps(21845328120.0, false), "21.8G");
  EXPECT_EQ(format_bps(2500000.0, false), "2.5M");
  EXPECT_EQ(format_bps(1500.0, false), "1.5K");
  EXPECT_EQ(format_bps(999.0, false), "999");
  EXPECT_EQ(format_bps(154202352941.0, true), "154202352941");
}

TEST(SsFormat, AddressesAsSsPrintsThem) {
  EXPECT_EQ(host_text(v6_listener(false), true, false), "*");
  EXPECT_EQ(host_text(v6_listener(true), true, false), "[::]");
  Socket s;
  s.family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", s.local_addr.data());
  EXPECT_EQ(host_text(s, true, false), "127.0.0.1");
  EXPECT_EQ(host_text(s, false, false), "0.0.0.0");
  EXPECT_EQ(port_text(s, false, false), "*");
  Socket u;
  u.family = AF_UNIX;
  u.netid = Netid::unix_stream;
  u.inode = 10;
  u.peer_inode = 11;
  EXPECT_EQ(host_text(u, true, false), "*");
  u.path = "/run/x.sock";
  EXPECT_EQ(host_text(u, true, false), "/run/x.sock");
  EXPECT_EQ(host_text(u, false, false), "*");
  EXPECT_EQ(port_text(u, true, false), "10");
  EXPECT_EQ(port_text(u, false, false), "11");
}

TEST(SsFormat, ResolveNamesWellKnownPortsButNotEphemeralOnes) {
  Socket s;
  s.family = AF_INET;
  s.local_port = 22;
  s.peer_port = 40000;  // inside every Linux default ip_local_port_range
  EXPECT_EQ(port_text(s, true, false), "22");
  EXPECT_EQ(port_text(s, true, true), "ssh");
  EXPECT_EQ(port_text(s, false, true), "40000");
  ::inet_pton(AF_INET, "127.0.0.1", s.local_addr.data());
  EXPECT_EQ(host_text(s, true, false), "127.0.0.1");
  // Whatever the resolver says for 127.0.0.1 ("localhost" on Debian), or the number without a name.
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char name[NI_MAXHOST] = {};
  bool named = ::getnameinfo(reinterpret_cast<sockaddr*>(&sin), sizeof sin, name, sizeof name, nullptr, 0,
                             NI_NAMEREQD) == 0;
  EXPECT_EQ(host_text(s, true, true), named ? std::string(name) : "127.0.0.1");
}

TEST(SsFormat, TimerAndSkmemText) {
  EXPECT_EQ(timer_text(Timer{3, 27000, 0}), "timer:(timewait,27sec,0)");
  EXPECT_EQ(timer_text(Timer{2, 60000, 1}), "timer:(keepalive,1min,1)");
  EXPECT_EQ(timer_text(Timer{}), "");
  SkMem m;
  m.v = {0, 131072, 0, 3939840, 0, 0, 0, 0, 0};
  m.count = 9;
  EXPECT_EQ(skmem_text(m), "skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0)");
  m.count = 7;  // pre-4.x kernels have no backlog/drops
  EXPECT_EQ(skmem_text(m), "skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0)");
}

TEST(SsFormat, CapturedTcpInfoLineEqualsIproute2) {
  auto socks = captured_tcp();
  ASSERT_EQ(socks.size(), 2u);
  FormatOptions o;
  o.header = false;
  o.show_state = true;
  o.numeric = o.extended = o.timers = o.memory = o.info = true;
  std::string text = format_table(socks, o, nullptr);
  std::istringstream in(text);
  std::string l1, l2, l3, l4;
  std::getline(in, l1);
  std::getline(in, l2);
  std::getline(in, l3);
  std::getline(in, l4);
  // ss also prints "cgroup:/" (INET_DIAG_CGROUP_ID), which sockit does not ask for.
  EXPECT_EQ(words(l1), words("ESTAB 0      0      127.0.0.1:36134 127.0.0.1:54381 ino:39667 sk:9 <->"));
  EXPECT_EQ(l2,
            "\t skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0) ts sack bbr wscale:10,10 rto:204 rtt:0.037/0.02 "
            "mss:32768 pmtu:65535 rcvmss:536 advmss:65483 cwnd:11 bytes_sent:500 bytes_acked:501 segs_out:3 "
            "segs_in:2 data_segs_out:1 bbr:(bw:21845328120bps,mrtt:0.012,pacing_gain:2.88672,cwnd_gain:2.88672) "
            "send 77934702703bps lastsnd:32396 lastrcv:32396 lastack:32396 pacing_rate 182573458280bps "
            "delivery_rate 21845333328bps delivered:2 app_limited rcv_space:65495 rcv_ssthresh:65495 minrtt:0.012 "
            "snd_wnd:65536");
  EXPECT_EQ(words(l3), words("ESTAB 500    0      127.0.0.1:54381 127.0.0.1:36134 ino:39668 sk:a <->"));
  EXPECT_EQ(l4,
            "\t skmem:(r1332,rb131072,t0,tb3939840,f2764,w0,o0,bl0,d0) ts sack bbr wscale:10,10 rto:204 "
            "rtt:0.025/0.012 ato:40 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 cwnd:10 bytes_received:500 "
            "segs_out:1 segs_in:3 data_segs_in:1 bbr:(bw:0bps,mrtt:0.025) send 104857600000bps lastsnd:32396 "
            "lastrcv:32396 lastack:32396 pacing_rate 299667438136bps delivered:1 app_limited rcv_space:65483 "
            "rcv_ssthresh:65483 minrtt:0.025 snd_wnd:65536");
}

TEST(SsFormat, CapturedTcpInfoHumanRatesEqualIproute2) {
  auto socks = captured_tcp();
  ASSERT_EQ(socks.size(), 2u);
  FormatOptions o;
  o.info = true;
  EXPECT_EQ(tcp_info_text(socks[0], o),
            " bbr wscale:10,10 rto:204 rtt:0.037/0.02 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 cwnd:11 "
            "bytes_sent:500 bytes_acked:501 segs_out:3 segs_in:2 data_segs_out:1 "
            "bbr:(bw:21.8Gbps,mrtt:0.012,pacing_gain:2.88672,cwnd_gain:2.88672) send 77.9Gbps lastsnd:32396 "
            "lastrcv:32396 lastack:32396 pacing_rate 183Gbps delivery_rate 21.8Gbps delivered:2 app_limited "
            "rcv_space:65495 rcv_ssthresh:65495 minrtt:0.012 snd_wnd:65536");
}

TEST(SsFormat, TableAlignsColumnsAndShowsHeader) {
  auto socks = captured_tcp();
  FormatOptions o;
  o.show_state = false;
  std::string t = format_table(socks, o, nullptr);
  EXPECT_EQ(t,
            "Recv-Q Send-Q Local Address:Port  Peer Address:Port  Process\n"
            "0      0          127.0.0.1:36134    127.0.0.1:54381\n"
            "500    0          127.0.0.1:54381    127.0.0.1:36134\n");
}

TEST(SsFormat, Ipv4AddressesPrintAsInetNtopDoes) {
  // host_text prints IPv4 itself (inet_ntop's sprintf was a third of `ss -tan`'s instructions).
  Socket s;
  s.family = AF_INET;
  std::uint32_t x = 12345;
  for (int i = 0; i < 2000; ++i) {
    x = x * 1103515245 + 12345;  // every octet value, one to three digits, zeros in any place
    std::array<std::uint8_t, 4> a{static_cast<std::uint8_t>(x >> 24), static_cast<std::uint8_t>(x >> 16),
                                  static_cast<std::uint8_t>(i % 3 == 0 ? 0 : x >> 8), static_cast<std::uint8_t>(i)};
    std::copy(a.begin(), a.end(), s.local_addr.begin());
    char want[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, a.data(), want, sizeof want);
    ASSERT_EQ(host_text(s, true, false), want);
  }
  ::inet_pton(AF_INET, "255.255.255.255", s.local_addr.data());
  EXPECT_EQ(host_text(s, true, false), "255.255.255.255");
  EXPECT_EQ(host_text(s, false, false), "0.0.0.0");
}

// Many rows (several 16 KiB pieces) and cells of 1, 2 and 3 length bytes (>= 128 and >= 16384
// characters): the pieces of TableWriter::write() make exactly the table str() and format_table()
// give, every line padded to the same columns, without trailing blanks.
TEST(SsFormat, TableWriterPiecesMakeTheWholeTable) {
  std::vector<Socket> socks;
  for (std::uint32_t i = 0; i < 3000; ++i) {
    Socket s;
    s.netid = i % 3 == 2 ? Netid::unix_stream : Netid::tcp;
    s.family = i % 3 == 0 ? AF_INET : i % 3 == 1 ? AF_INET6 : AF_UNIX;
    s.state = i % 2 ? State::established : State::time_wait;
    s.recv_q = i;
    s.local_addr = {127, 0, 0, static_cast<std::uint8_t>(i % 200 + 1)};
    s.peer_addr = {127, 0, 0, 1};
    if (s.family == AF_INET6) s.local_addr = s.peer_addr = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (s.family == AF_UNIX) s.path = "/run/sock" + std::to_string(i);
    s.local_port = static_cast<std::uint16_t>(1000 + i);
    s.peer_port = 80;
    s.inode = 100000 + i;
    socks.push_back(s);
  }
  UsersMap users;
  users[socks[10].inode] = std::vector<ProcessRef>(6, ProcessRef{"nginx", 12, 6});      // > 127 characters
  users[socks[20].inode] = std::vector<ProcessRef>(800, ProcessRef{"python3", 6294, 4});  // > 16 KiB
  FormatOptions o;
  o.show_netid = true;
  o.processes = true;
  for (bool header : {true, false}) {
    o.header = header;
    TableWriter table(o, &users);
    for (const Socket& s : socks) table.add(s);
    EXPECT_EQ(table.size(), socks.size());
    std::vector<std::string> pieces;
    table.write([&](std::string_view p) { pieces.emplace_back(p); });
    EXPECT_GT(pieces.size(), 5u);
    std::string whole;
    for (const auto& p : pieces) whole += p;
    EXPECT_EQ(whole, table.str());
    EXPECT_EQ(whole, format_table(socks, o, &users));

    std::istringstream in(whole);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    ASSERT_EQ(lines.size(), socks.size() + (header ? 1 : 0));
    if (header) {
      EXPECT_EQ(lines[0].rfind("Netid State     Recv-Q Send-Q", 0), 0u) << lines[0];
    }
    std::size_t port_col = lines[header ? 1 : 0].find("127.0.0.1:1000 ");
    ASSERT_NE(port_col, std::string::npos);
    for (const auto& line : lines) {
      EXPECT_NE(line.back(), ' ');
      if (line.find("/run/sock") != std::string::npos) continue;  // Unix rows: "PATH INODE"
      if (header && &line == &lines[0]) continue;
      EXPECT_EQ(line[port_col + 9], ':') << line;  // local addresses right-aligned on the ':'
    }
    std::string big = "users:(" + users_text(users[socks[20].inode]) + ")";
    std::string small = "users:(" + users_text(users[socks[10].inode]) + ")";
    ASSERT_GT(big.size(), 16384u);
    ASSERT_GT(small.size(), 127u);
    EXPECT_EQ(lines[20 + (header ? 1 : 0)].substr(lines[20 + (header ? 1 : 0)].size() - big.size()), big);
    EXPECT_EQ(lines[10 + (header ? 1 : 0)].substr(lines[10 + (header ? 1 : 0)].size() - small.size()), small);
  }
}

TEST(SsFormat, UsersColumnInSsSyntax) {
  auto socks = captured_tcp();
  UsersMap users;
  users[socks[0].inode] = {ProcessRef{"python3", 6294, 4}, ProcessRef{"python3", 6295, 4}};
  FormatOptions o;
  o.header = false;
  o.processes = true;
  std::string t = format_table(socks, o, &users);
  EXPECT_NE(t.find("users:((\"python3\",pid=6294,fd=4),(\"python3\",pid=6295,fd=4))"), std::string::npos) << t;
}

TEST(SsFormat, JsonHasStableKeysWithUnits) {
  auto socks = captured_tcp();
  ASSERT_FALSE(socks.empty());
  FormatOptions o;
  o.info = o.memory = o.processes = true;
  UsersMap users;
  users[socks[0].inode] = {ProcessRef{"python3", 6294, 4}};
  auto j = nlohmann::json::parse(format_json(socks[0], o, &users, 3));
  EXPECT_EQ(j["schema"], 1);
  EXPECT_EQ(j["snapshot"], 3);
  EXPECT_EQ(j["netid"], "tcp");
  EXPECT_EQ(j["family"], "inet");
  EXPECT_EQ(j["state"], "ESTAB");
  EXPECT_EQ(j["local_address"], "127.0.0.1");
  EXPECT_EQ(j["local_port"], 36134);
  EXPECT_EQ(j["peer_port"], 54381);
  EXPECT_EQ(j["inode"], 39667);
  EXPECT_EQ(j["users"][0]["pid"], 6294);
  EXPECT_EQ(j["skmem"]["rcvbuf_bytes"], 131072);
  EXPECT_DOUBLE_EQ(j["tcp_info"]["rtt_ms"].get<double>(), 0.037);
  EXPECT_EQ(j["tcp_info"]["mss_bytes"], 32768);
  EXPECT_EQ(j["tcp_info"]["cwnd_segments"], 11);
  EXPECT_EQ(j["tcp_info"]["bytes_acked"], 501);
  EXPECT_EQ(j["tcp_info"]["delivery_rate_bps"], 21845333328ULL);
  EXPECT_EQ(j["tcp_info"]["congestion"], "bbr");
  EXPECT_TRUE(j["tcp_info"]["ssthresh_segments"].is_null());
}

TEST(SsFormat, NetstatLayout) {
  auto socks = captured_tcp();
  FormatOptions o;
  std::string t = format_netstat(socks, o, nullptr, kDefaultStates);
  EXPECT_EQ(t,
            "Active Internet connections (w/o servers)\n"
            "Proto Recv-Q Send-Q Local Address           Foreign Address         State\n"
            "tcp        0      0 127.0.0.1:36134         127.0.0.1:54381         ESTABLISHED\n"
            "tcp      500      0 127.0.0.1:54381         127.0.0.1:36134         ESTABLISHED\n");
}

TEST(SsSummary, ParsesSockstatAndSnmpLikeIproute2) {
  Summary s;
  parse_sockstat("sockets: used 25\nTCP: inuse 5 orphan 0 tw 3 alloc 6 mem 173\nUDP: inuse 1 mem 0\n"
                 "RAW: inuse 0\nFRAG: inuse 0 memory 0\n", s);
  parse_sockstat("TCP6: inuse 1\nUDP6: inuse 1\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n", s);
  s.tcp_established = parse_snmp_curr_estab(
      "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm RtoMin CurrEstab InSegs\nTcp: 1 200 3 99\n");
  EXPECT_EQ(s.tcp_established, 3);
  // The numbers iproute2 ss -s printed for these files.
  EXPECT_EQ(format_summary(s),
            "Total: 25\n"
            "TCP:   9 (estab 3, closed 3, orphaned 0, timewait 3)\n"
            "\n"
            "Transport Total     IP        IPv6\n"
            "RAW\t  0         0         0        \n"
            "UDP\t  2         1         1        \n"
            "TCP\t  6         5         1        \n"
            "INET\t  8         6         2        \n"
            "FRAG\t  0         0         0        \n"
            "\n");
}

TEST(SsProcs, ScansFdLinksOfAFakeProcTree) {
  auto root = std::filesystem::temp_directory_path() / ("ss_proc_" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "123" / "fd");
  std::filesystem::create_directories(root / "self");  // not a pid: ignored
  std::ofstream(root / "123" / "stat") << "123 (my (odd) name) S 1 1 1\n";
  std::filesystem::create_symlink("socket:[4242]", root / "123" / "fd" / "7");
  std::filesystem::create_symlink("socket:[4242]", root / "123" / "fd" / "3");
  std::filesystem::create_symlink("/dev/null", root / "123" / "fd" / "0");
  std::filesystem::create_symlink("pipe:[99]", root / "123" / "fd" / "1");
  auto map = scan_processes(root.string());
  std::filesystem::remove_all(root);
  ASSERT_EQ(map.size(), 1u);
  ASSERT_EQ(map[4242].size(), 2u);
  EXPECT_EQ(map[4242][0].name, "my (odd) name");
  EXPECT_EQ(map[4242][0].fd, 3);
  EXPECT_EQ(map[4242][1].fd, 7);
  EXPECT_EQ(users_text(map[4242]), "(\"my (odd) name\",pid=123,fd=3),(\"my (odd) name\",pid=123,fd=7)");
}

}  // namespace
}  // namespace sockit::ss
