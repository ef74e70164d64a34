// NETLINK_SOCK_DIAG decoding, from hand-built messages and from replies captured on Linux 6.18
// with `sockit ss -D` (the fuzz seed corpus: first byte = 0 tcp / 1 udp, then the raw replies).
#include "tools/ss/diag.hpp"

#include <gtest/gtest.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace sockit::ss {
namespace {

using Bytes = std::vector<std::uint8_t>;

template <class T>
void put(Bytes& b, const T& v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}

void put_attr(Bytes& b, std::uint16_t type, const void* data, std::size_t len) {
  std::uint16_t l = static_cast<std::uint16_t>(4 + len);
  put(b, l);
  put(b, type);
  const auto* p = static_cast<const std::uint8_t*>(data);
  b.insert(b.end(), p, p + len);
  while (b.size() % 4) b.push_back(0);
}

/// Wraps `payload` in an nlmsghdr of `type`.
Bytes message(std::uint16_t type, const Bytes& payload) {
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(sizeof h + payload.size());
  h.nlmsg_type = type;
  Bytes b;
  put(b, h);
  b.insert(b.end(), payload.begin(), payload.end());
  while (b.size() % 4) b.push_back(0);
  return b;
}

Bytes done() { return message(NLMSG_DONE, Bytes(4, 0)); }

Bytes tcp_message() {
  inet_diag_msg m{};
  m.idiag_family = AF_INET;
  m.idiag_state = 1;  // ESTABLISHED
  m.idiag_timer = 2;
  m.idiag_retrans = 1;
  m.id.idiag_sport = htons(40000);
  m.id.idiag_dport = htons(6667);
  m.id.idiag_src[0] = htonl(0x7f000001);
  m.id.idiag_dst[0] = htonl(0x7f000002);
  m.id.idiag_cookie[0] = 0x1234;
  m.id.idiag_cookie[1] = 0x1;
  m.idiag_expires = 7000;
  m.idiag_rqueue = 5;
  m.idiag_wqueue = 7;
  m.idiag_uid = 1000;
  m.idiag_inode = 4242;
  Bytes p;
  put(p, m);
  std::uint32_t mem[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  put_attr(p, INET_DIAG_SKMEMINFO, mem, sizeof mem);
  std::uint8_t shut = 2;
  put_attr(p, INET_DIAG_SHUTDOWN, &shut, 1);
  put_attr(p, INET_DIAG_CONG, "cubic", 6);
  tcp_info ti{};
  ti.tcpi_rtt = 1500;
  ti.tcpi_rttvar = 250;
  ti.tcpi_snd_mss = 1448;
  ti.tcpi_snd_cwnd = 10;
  ti.tcpi_snd_ssthresh = 0x7fffffff;
  ti.tcpi_total_retrans = 3;
  ti.tcpi_bytes_acked = 123456;
  ti.tcpi_bytes_received = 654321;
  ti.tcpi_delivery_rate = 1000000;
  ti.tcpi_pacing_rate = 2000000;
  put_attr(p, INET_DIAG_INFO, &ti, sizeof ti);
  return message(SOCK_DIAG_BY_FAMILY, p);
}

Bytes unix_message() {
  unix_diag_msg m{};
  m.udiag_family = AF_UNIX;
  m.udiag_type = SOCK_STREAM;
  m.udiag_state = 10;  // LISTEN
  m.udiag_ino = 777;
  Bytes p;
  put(p, m);
  const char name[] = "\0abstract\0x";  // abstract name with an embedded NUL
  put_attr(p, UNIX_DIAG_NAME, name, sizeof name - 1);
  unix_diag_rqlen q{3, 128};
  put_attr(p, UNIX_DIAG_RQLEN, &q, sizeof q);
  std::uint32_t peer = 778;
  put_attr(p, UNIX_DIAG_PEER, &peer, 4);
  return message(SOCK_DIAG_BY_FAMILY, p);
}

Bytes read_corpus(const std::string& name) {
  std::ifstream in(std::string(SOCKIT_SOURCE_DIR) + "/tests/fuzz/corpus/inet_diag/" + name, std::ios::binary);
  Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(b.empty()) << name;
  if (!b.empty()) b.erase(b.begin());  // selector byte of the fuzz format
  return b;
}

TEST(SsDiag, InetRequestAsksForStatesAndExtensions) {
  auto req = build_inet_request(AF_INET6, IPPROTO_TCP, 0x42, InetExtensions{true, true}, 9);
  ASSERT_EQ(req.size(), sizeof(nlmsghdr) + sizeof(inet_diag_req_v2));
  nlmsghdr h;
  std::memcpy(&h, req.data(), sizeof h);
  EXPECT_EQ(h.nlmsg_len, req.size());
  EXPECT_EQ(h.nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(h.nlmsg_seq, 9u);
  inet_diag_req_v2 r;
  std::memcpy(&r, req.data() + sizeof h, sizeof r);
  EXPECT_EQ(r.sdiag_family, AF_INET6);
  EXPECT_EQ(r.sdiag_protocol, IPPROTO_TCP);
  EXPECT_EQ(r.idiag_states, 0x42u);
  EXPECT_TRUE(r.idiag_ext & (1 << (INET_DIAG_INFO - 1)));
  EXPECT_TRUE(r.idiag_ext & (1 << (INET_DIAG_SKMEMINFO - 1)));
}

TEST(SsDiag, UnixRequestAsksForNamePeerAndQueues) {
  auto req = build_unix_request(kAllStates, false, 1);
  unix_diag_req r;
  std::memcpy(&r, req.data() + sizeof(nlmsghdr), sizeof r);
  EXPECT_EQ(r.sdiag_family, AF_UNIX);
  EXPECT_EQ(r.udiag_states, kAllStates);
  EXPECT_EQ(r.udiag_show & (UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN),
            unsigned(UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN));
  EXPECT_FALSE(r.udiag_show & UDIAG_SHOW_MEMINFO);
}

TEST(SsDiag, DecodesEveryFieldOfATcpMessage) {
  Bytes d = tcp_message();
  Bytes tail = done();
  d.insert(d.end(), tail.begin(), tail.end());
  std::vector<Socket> out;
  auto st = decode_datagram(d, Netid::tcp, out);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, DumpStatus::done);
  ASSERT_EQ(out.size(), 1u);
  const Socket& s = out[0];
  EXPECT_EQ(s.netid, Netid::tcp);
  EXPECT_EQ(s.family, AF_INET);
  EXPECT_EQ(s.state, State::established);
  EXPECT_EQ(s.local_port, 40000);
  EXPECT_EQ(s.peer_port, 6667);
  EXPECT_EQ(s.local_addr[0], 127);
  EXPECT_EQ(s.local_addr[3], 1);
  EXPECT_EQ(s.peer_addr[3], 2);
  EXPECT_EQ(s.recv_q, 5u);
  EXPECT_EQ(s.send_q, 7u);
  EXPECT_EQ(*s.uid, 1000u);
  EXPECT_EQ(s.inode, 4242u);
  EXPECT_EQ(s.cookie, 0x100001234u);
  EXPECT_EQ(s.timer.kind, 2);
  EXPECT_EQ(s.timer.expires_ms, 7000u);
  EXPECT_EQ(s.timer.retrans, 1);
  ASSERT_TRUE(s.skmem);
  EXPECT_EQ(s.skmem->count, 9u);
  EXPECT_EQ(s.skmem->v[8], 9u);
  EXPECT_EQ(*s.shutdown, 2);
  EXPECT_EQ(s.congestion, "cubic");
  ASSERT_TRUE(s.tcp_info);
  EXPECT_EQ(s.tcp_info->rtt_us, 1500u);
  EXPECT_EQ(s.tcp_info->snd_mss, 1448u);
  EXPECT_EQ(s.tcp_info->snd_cwnd, 10u);
  EXPECT_EQ(s.tcp_info->total_retrans, 3u);
  EXPECT_EQ(s.tcp_info->bytes_acked, 123456u);
  EXPECT_EQ(s.tcp_info->bytes_received, 654321u);
  EXPECT_EQ(s.tcp_info->delivery_rate, 1000000u);
  EXPECT_EQ(s.tcp_info->kernel_size, sizeof(tcp_info));
}

TEST(SsDiag, ShortTcpInfoFromOlderKernelsReadsAsZeroBeyondItsEnd) {
  Bytes p(sizeof(inet_diag_msg), 0);
  p[0] = AF_INET;
  tcp_info ti{};
  ti.tcpi_rtt = 99;
  ti.tcpi_bytes_acked = 5;  // beyond the 104-byte struct of Linux 4.1: must not be read
  put_attr(p, INET_DIAG_INFO, &ti, 104);
  auto s = decode_inet_message(p, Netid::tcp);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->tcp_info->rtt_us, 99u);
  EXPECT_EQ(s->tcp_info->bytes_acked, 0u);
  EXPECT_EQ(s->tcp_info->kernel_size, 104u);
}

TEST(SsDiag, DecodesUnixNameQueuesAndPeer) {
  std::vector<Socket> out;
  auto st = decode_datagram(unix_message(), Netid::tcp, out);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, DumpStatus::more);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].netid, Netid::unix_stream);
  EXPECT_EQ(out[0].state, State::listen);
  EXPECT_EQ(*out[0].path, "@abstract@x");
  EXPECT_EQ(out[0].recv_q, 3u);
  EXPECT_EQ(out[0].send_q, 128u);
  EXPECT_EQ(out[0].inode, 777u);
  EXPECT_EQ(out[0].peer_inode, 778u);
}

TEST(SsDiag, KernelErrorBecomesItsErrno) {
  Bytes p;
  int err = -EPERM;
  put(p, err);
  nlmsghdr orig{};
  put(p, orig);
  std::vector<Socket> out;
  auto st = decode_datagram(message(NLMSG_ERROR, p), Netid::tcp, out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), std::errc::operation_not_permitted);
}

TEST(SsDiag, DumpInterruptedByAnErrorReportsIt) {
  Bytes p;
  int err = -ENOBUFS;
  put(p, err);
  std::vector<Socket> out;
  auto st = decode_datagram(message(NLMSG_DONE, p), Netid::tcp, out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), std::errc::no_buffer_space);
}

TEST(SsDiag, ErrorCodeOutsideTheErrnoRangeIsMalformed) {
  // Found by the inet_diag fuzzer: INT_MIN in NLMSG_DONE was negated (undefined behaviour).
  for (int type : {NLMSG_DONE, NLMSG_ERROR}) {
    for (int err : {std::numeric_limits<int>::min(), -4096, 4096}) {
      Bytes p;
      put(p, err);
      nlmsghdr orig{};
      put(p, orig);
      std::vector<Socket> out;
      auto st = decode_datagram(message(static_cast<std::uint16_t>(type), p), Netid::tcp, out);
      if (type == NLMSG_DONE && err > 0) {
        EXPECT_TRUE(st.ok()) << "a positive NLMSG_DONE payload is a count, not an error";
        continue;
      }
      ASSERT_FALSE(st.ok()) << type << " " << err;
      EXPECT_EQ(st.error().code(), std::errc::bad_message) << type << " " << err;
    }
  }
}

TEST(SsDiag, LengthBeyondTheBufferIsMalformed) {
  Bytes d = tcp_message();
  std::uint32_t len = static_cast<std::uint32_t>(d.size() + 4);
  std::memcpy(d.data(), &len, 4);
  std::vector<Socket> out;
  auto st = decode_datagram(d, Netid::tcp, out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), std::errc::bad_message);
}

TEST(SsDiag, AttributeOverrunningItsMessageIsMalformed) {
  Bytes p(sizeof(inet_diag_msg), 0);
  p[0] = AF_INET;
  std::uint16_t l = 200, t = INET_DIAG_CONG;  // claims 200 bytes, has 4
  put(p, l);
  put(p, t);
  EXPECT_EQ(decode_inet_message(p, Netid::tcp).error().code(), std::errc::bad_message);
}

TEST(SsDiag, EveryTruncationIsRejectedOrDecodedNeverOverread) {
  Bytes d = tcp_message();
  Bytes u = unix_message();
  d.insert(d.end(), u.begin(), u.end());
  for (std::size_t n = 0; n < d.size(); ++n) {
    Bytes cut(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n));  // exact-size copy: ASan sees overreads
    std::vector<Socket> out;
    auto st = decode_datagram(cut, Netid::tcp, out);
    if (n == 0) {
      EXPECT_TRUE(st.ok());
    } else if (n < tcp_message().size()) {
      EXPECT_FALSE(st.ok()) << n;
    }
  }
}

TEST(SsDiag, CapturedTcpDumpDecodes) {
  Bytes d = read_corpus("tcp4_established_info_mem");
  std::vector<Socket> out;
  auto st = decode_datagram(d, Netid::tcp, out);
  ASSERT_TRUE(st.ok()) << st.error().context();
  EXPECT_EQ(*st, DumpStatus::done);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].local_port, 36134);
  EXPECT_EQ(out[0].peer_port, 54381);
  EXPECT_EQ(out[1].recv_q, 500u);
  for (const auto& s : out) {
    EXPECT_EQ(s.state, State::established);
    ASSERT_TRUE(s.tcp_info);
    EXPECT_EQ(s.tcp_info->snd_mss, 32768u);
    EXPECT_EQ(s.congestion, "bbr");
    ASSERT_TRUE(s.skmem);
    EXPECT_EQ(s.skmem->count, 9u);
    EXPECT_TRUE(s.bbr);
  }
}

TEST(SsDiag, CapturedUnixAndUdpDumpsDecode) {
  for (const char* name : {"unix_all_mem", "udp_all_mem", "tcp6_listen", "tcp4_all_timers"}) {
    Bytes d = read_corpus(name);
    std::vector<Socket> out;
    auto st = decode_datagram(d, std::string(name).rfind("udp", 0) == 0 ? Netid::udp : Netid::tcp, out);
    ASSERT_TRUE(st.ok()) << name << ": " << st.error().context();
    EXPECT_FALSE(out.empty()) << name;
  }
}

}  // namespace
}  // namespace sockit::ss
