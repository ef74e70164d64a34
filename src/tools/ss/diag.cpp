// NETLINK_SOCK_DIAG codec of `sockit ss`. Every read goes through Reader, which checks bounds and
// copies (the buffers come from recv() or a fuzzer: no alignment or length is trusted).
#include "diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace sockit::ss {

const char* netid_name(Netid n) {
  switch (n) {
    case Netid::tcp: return "tcp";
    case Netid::udp: return "udp";
    case Netid::unix_stream: return "u_str";
    case Netid::unix_dgram: return "u_dgr";
    case Netid::unix_seqpacket: return "u_seq";
  }
  return "???";
}

const char* state_name(State s) {
  static constexpr const char* kNames[kStateCount] = {
      "UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
      "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING"};
  auto i = static_cast<unsigned>(s);
  return i < kStateCount ? kNames[i] : "UNKNOWN";
}

const char* netstat_state_name(State s) {
  static constexpr const char* kNames[kStateCount] = {
      "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
      "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"};
  auto i = static_cast<unsigned>(s);
  return i < kStateCount ? kNames[i] : "UNKNOWN";
}

namespace {

constexpr std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

Error malformed(const char* what) { return Error(std::make_error_code(std::errc::bad_message), what); }

template <class T>
void append(std::vector<std::uint8_t>& buf, const T& v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  buf.insert(buf.end(), p, p + sizeof(T));
}

template <class T>
T read_struct(std::span<const std::uint8_t> bytes) {
  // Caller guarantees bytes.size() >= sizeof(T) or accepts zero padding for shorter input.
  T v;
  std::memset(&v, 0, sizeof v);
  std::memcpy(&v, bytes.data(), std::min(bytes.size(), sizeof v));
  return v;
}

/// Walks a sequence of rtattr/nlattr records ({u16 len, u16 type, payload, pad to 4}).
/// Calls fn(type, payload) for each well-formed record; false if a record overruns the buffer.
template <class Fn>
bool for_each_attr(std::span<const std::uint8_t> bytes, Fn fn) {
  std::size_t off = 0;
  while (off + 4 <= bytes.size()) {
    std::uint16_t len = 0, type = 0;
    std::memcpy(&len, bytes.data() + off, 2);
    std::memcpy(&type, bytes.data() + off + 2, 2);
    if (len < 4 || off + len > bytes.size()) return false;
    fn(static_cast<std::uint16_t>(type & NLA_TYPE_MASK), bytes.subspan(off + 4, len - 4));
    off += align4(len);
  }
  return true;
}

std::uint8_t attr_u8(std::span<const std::uint8_t> p) { return p.empty() ? 0 : p[0]; }
std::uint32_t attr_u32(std::span<const std::uint8_t> p) {
  std::uint32_t v = 0;
  std::memcpy(&v, p.data(), std::min<std::size_t>(p.size(), 4));
  return v;
}

std::string attr_string(std::span<const std::uint8_t> p) {
  std::string s(reinterpret_cast<const char*>(p.data()), p.size());
  if (auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
  return s;
}

SkMem decode_skmem(std::span<const std::uint8_t> p) {
  SkMem m;
  m.count = std::min<std::size_t>(p.size() / 4, m.v.size());
  for (std::size_t i = 0; i < m.count; ++i) std::memcpy(&m.v[i], p.data() + 4 * i, 4);
  return m;
}

TcpInfo decode_tcp_info(std::span<const std::uint8_t> p) {
  const auto k = read_struct<tcp_info>(p);
  TcpInfo t;
  t.kernel_size = p.size();
  t.state = k.tcpi_state;
  t.ca_state = k.tcpi_ca_state;
  t.retransmits = k.tcpi_retransmits;
  t.probes = k.tcpi_probes;
  t.backoff = k.tcpi_backoff;
  t.options = k.tcpi_options;
  t.snd_wscale = static_cast<std::uint8_t>(k.tcpi_snd_wscale);
  t.rcv_wscale = static_cast<std::uint8_t>(k.tcpi_rcv_wscale);
  t.delivery_rate_app_limited = k.tcpi_delivery_rate_app_limited != 0;
  t.rto_us = k.tcpi_rto;
  t.ato_us = k.tcpi_ato;
  t.snd_mss = k.tcpi_snd_mss;
  t.rcv_mss = k.tcpi_rcv_mss;
  t.unacked = k.tcpi_unacked;
  t.sacked = k.tcpi_sacked;
  t.lost = k.tcpi_lost;
  t.retrans = k.tcpi_retrans;
  t.fackets = k.tcpi_fackets;
  t.last_data_sent_ms = k.tcpi_last_data_sent;
  t.last_data_recv_ms = k.tcpi_last_data_recv;
  t.last_ack_recv_ms = k.tcpi_last_ack_recv;
  t.pmtu = k.tcpi_pmtu;
  t.rcv_ssthresh = k.tcpi_rcv_ssthresh;
  t.rtt_us = k.tcpi_rtt;
  t.rttvar_us = k.tcpi_rttvar;
  t.snd_ssthresh = k.tcpi_snd_ssthresh;
  t.snd_cwnd = k.tcpi_snd_cwnd;
  t.advmss = k.tcpi_advmss;
  t.reordering = k.tcpi_reordering;
  t.rcv_rtt_us = k.tcpi_rcv_rtt;
  t.rcv_space = k.tcpi_rcv_space;
  t.total_retrans = k.tcpi_total_retrans;
  t.pacing_rate = k.tcpi_pacing_rate;
  t.max_pacing_rate = k.tcpi_max_pacing_rate;
  t.bytes_acked = k.tcpi_bytes_acked;
  t.bytes_received = k.tcpi_bytes_received;
  t.segs_out = k.tcpi_segs_out;
  t.segs_in = k.tcpi_segs_in;
  t.notsent_bytes = k.tcpi_notsent_bytes;
  t.min_rtt_us = k.tcpi_min_rtt;
  t.data_segs_in = k.tcpi_data_segs_in;
  t.data_segs_out = k.tcpi_data_segs_out;
  t.delivery_rate = k.tcpi_delivery_rate;
  t.busy_time_us = k.tcpi_busy_time;
  t.rwnd_limited_us = k.tcpi_rwnd_limited;
  t.sndbuf_limited_us = k.tcpi_sndbuf_limited;
  t.delivered = k.tcpi_delivered;
  t.delivered_ce = k.tcpi_delivered_ce;
  t.bytes_sent = k.tcpi_bytes_sent;
  t.bytes_retrans = k.tcpi_bytes_retrans;
  t.dsack_dups = k.tcpi_dsack_dups;
  t.reord_seen = k.tcpi_reord_seen;
  t.rcv_ooopack = k.tcpi_rcv_ooopack;
  t.snd_wnd = k.tcpi_snd_wnd;
  return t;
}

Netid unix_netid(std::uint8_t type) {
  switch (type) {
    case SOCK_STREAM: return Netid::unix_stream;
    case SOCK_SEQPACKET: return Netid::unix_seqpacket;
    default: return Netid::unix_dgram;
  }
}

}  // namespace

std::vector<std::uint8_t> build_inet_request(std::uint8_t family, std::uint8_t protocol, StateMask states,
                                             InetExtensions ext, std::uint32_t seq) {
  nlmsghdr h{};
  inet_diag_req_v2 r{};
  h.nlmsg_len = sizeof h + sizeof r;
  h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  h.nlmsg_seq = seq;
  r.sdiag_family = family;
  r.sdiag_protocol = protocol;
  r.idiag_states = states;
  if (ext.info) {
    r.idiag_ext |= 1U << (INET_DIAG_INFO - 1);
    r.idiag_ext |= 1U << (INET_DIAG_VEGASINFO - 1);
    r.idiag_ext |= 1U << (INET_DIAG_CONG - 1);
  }
  if (ext.memory) {
    r.idiag_ext |= 1U << (INET_DIAG_MEMINFO - 1);
    r.idiag_ext |= 1U << (INET_DIAG_SKMEMINFO - 1);
  }
  std::vector<std::uint8_t> buf;
  append(buf, h);
  append(buf, r);
  return buf;
}

std::vector<std::uint8_t> build_unix_request(StateMask states, bool memory, std::uint32_t seq) {
  nlmsghdr h{};
  unix_diag_req r{};
  h.nlmsg_len = sizeof h + sizeof r;
  h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  h.nlmsg_seq = seq;
  r.sdiag_family = AF_UNIX;
  r.udiag_states = states;
  r.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
  if (memory) r.udiag_show |= UDIAG_SHOW_MEMINFO;
  std::vector<std::uint8_t> buf;
  append(buf, h);
  append(buf, r);
  return buf;
}

Result<Socket> decode_inet_message(std::span<const std::uint8_t> payload, Netid netid) {
  if (payload.size() < sizeof(inet_diag_msg)) return malformed("inet_diag message shorter than its header");
  const auto m = read_struct<inet_diag_msg>(payload);
  if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6) return malformed("inet_diag message of another family");
  Socket s;
  s.netid = netid;
  s.family = m.idiag_family;
  s.state = m.idiag_state < kStateCount ? static_cast<State>(m.idiag_state) : State::unknown;
  s.recv_q = m.idiag_rqueue;
  s.send_q = m.idiag_wqueue;
  std::size_t alen = s.family == AF_INET ? 4 : 16;
  std::memcpy(s.local_addr.data(), m.id.idiag_src, alen);
  std::memcpy(s.peer_addr.data(), m.id.idiag_dst, alen);
  s.local_port = static_cast<std::uint16_t>((m.id.idiag_sport & 0xff) << 8 | (m.id.idiag_sport >> 8));
  s.peer_port = static_cast<std::uint16_t>((m.id.idiag_dport & 0xff) << 8 | (m.id.idiag_dport >> 8));
  s.ifindex = m.id.idiag_if;
  s.inode = m.idiag_inode;
  s.uid = m.idiag_uid;
  s.cookie = (std::uint64_t{m.id.idiag_cookie[1]} << 32) | m.id.idiag_cookie[0];
  s.timer = Timer{m.idiag_timer, m.idiag_expires, m.idiag_retrans};

  bool ok = for_each_attr(payload.subspan(sizeof(inet_diag_msg)), [&](std::uint16_t type, auto p) {
    switch (type) {
      case INET_DIAG_INFO:
        if (netid == Netid::tcp) s.tcp_info = decode_tcp_info(p);
        break;
      case INET_DIAG_CONG: s.congestion = attr_string(p); break;
      case INET_DIAG_SKMEMINFO: s.skmem = decode_skmem(p); break;
      case INET_DIAG_SHUTDOWN: if (!p.empty()) s.shutdown = attr_u8(p); break;
      case INET_DIAG_SKV6ONLY: if (!p.empty()) s.v6only = attr_u8(p) != 0; break;
      case INET_DIAG_MARK: if (p.size() >= 4) s.mark = attr_u32(p); break;
      case INET_DIAG_BBRINFO: {
        auto b = read_struct<tcp_bbr_info>(p);
        s.bbr = BbrInfo{(std::uint64_t{b.bbr_bw_hi} << 32) | b.bbr_bw_lo, b.bbr_min_rtt, b.bbr_pacing_gain,
                        b.bbr_cwnd_gain};
        break;
      }
      case INET_DIAG_PROTOCOL:
        if (!p.empty() && p[0] == IPPROTO_UDP) s.netid = Netid::udp;
        if (!p.empty() && p[0] == IPPROTO_TCP) s.netid = Netid::tcp;
        break;
      default: break;
    }
  });
  if (!ok) return malformed("inet_diag attribute overruns its message");
  return s;
}

Result<Socket> decode_unix_message(std::span<const std::uint8_t> payload) {
  if (payload.size() < sizeof(unix_diag_msg)) return malformed("unix_diag message shorter than its header");
  const auto m = read_struct<unix_diag_msg>(payload);
  if (m.udiag_family != AF_UNIX) return malformed("unix_diag message of another family");
  Socket s;
  s.netid = unix_netid(m.udiag_type);
  s.family = AF_UNIX;
  s.state = m.udiag_state < kStateCount ? static_cast<State>(m.udiag_state) : State::unknown;
  s.inode = m.udiag_ino;
  s.cookie = (std::uint64_t{m.udiag_cookie[1]} << 32) | m.udiag_cookie[0];
  bool ok = for_each_attr(payload.subspan(sizeof(unix_diag_msg)), [&](std::uint16_t type, auto p) {
    switch (type) {
      case UNIX_DIAG_NAME: {
        std::string name(reinterpret_cast<const char*>(p.data()), p.size());
        if (!name.empty() && name[0] == '\0') {
          std::replace(name.begin(), name.end(), '\0', '@');  // abstract namespace, as ss prints it
        } else if (auto nul = name.find('\0'); nul != std::string::npos) {
          name.resize(nul);
        }
        s.path = std::move(name);
        break;
      }
      case UNIX_DIAG_PEER: if (p.size() >= 4) s.peer_inode = attr_u32(p); break;
      case UNIX_DIAG_RQLEN:
        if (p.size() >= sizeof(unix_diag_rqlen)) {
          auto q = read_struct<unix_diag_rqlen>(p);
          s.recv_q = q.udiag_rqueue;
          s.send_q = q.udiag_wqueue;
        }
        break;
      case UNIX_DIAG_MEMINFO: s.skmem = decode_skmem(p); break;
      case UNIX_DIAG_SHUTDOWN: if (!p.empty()) s.shutdown = attr_u8(p); break;
      case UNIX_DIAG_UID: if (p.size() >= 4) s.uid = attr_u32(p); break;
      default: break;
    }
  });
  if (!ok) return malformed("unix_diag attribute overruns its message");
  return s;
}

// The kernel reports errors as a negative errno (at most 4095: MAX_ERRNO). Anything else, INT_MIN
// included, is a malformed message, not a number to negate.
constexpr int kMaxErrno = 4095;

Result<DumpStatus> decode_datagram(std::span<const std::uint8_t> data, Netid inet_netid, std::vector<Socket>& out) {
  return decode_datagram(data, inet_netid, [&out](Socket&& s) { out.push_back(std::move(s)); });
}

Result<DumpStatus> decode_datagram(std::span<const std::uint8_t> data, Netid inet_netid,
                                   const std::function<void(Socket&&)>& on_socket) {
  std::size_t off = 0;
  while (off + sizeof(nlmsghdr) <= data.size()) {
    const auto h = read_struct<nlmsghdr>(data.subspan(off));
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > data.size() - off)
      return malformed("netlink message length out of bounds");
    auto payload = data.subspan(off + sizeof(nlmsghdr), h.nlmsg_len - sizeof(nlmsghdr));
    switch (h.nlmsg_type) {
      case NLMSG_DONE: {
        // A dump that failed half-way ends with a negative errno in NLMSG_DONE's payload.
        int err = 0;
        if (payload.size() >= sizeof err) std::memcpy(&err, payload.data(), sizeof err);
        if (err < -kMaxErrno) return malformed("netlink error code out of range");
        if (err < 0) return Error(std::error_code(-err, std::system_category()), "sock_diag dump");
        return DumpStatus::done;
      }
      case NLMSG_ERROR: {
        if (payload.size() < sizeof(int)) return malformed("truncated netlink error");
        int err = 0;
        std::memcpy(&err, payload.data(), sizeof err);
        if (err == 0) break;  // an ACK
        if (err < -kMaxErrno || err > kMaxErrno) return malformed("netlink error code out of range");
        return Error(std::error_code(err < 0 ? -err : err, std::system_category()), "sock_diag");
      }
      case SOCK_DIAG_BY_FAMILY: {
        if (payload.empty()) return malformed("empty sock_diag message");
        Result<Socket> s = payload[0] == AF_UNIX ? decode_unix_message(payload)
                                                 : decode_inet_message(payload, inet_netid);
        if (!s) return std::move(s).error();
        on_socket(std::move(*s));
        break;
      }
      default: break;  // NLMSG_NOOP, NLMSG_OVERRUN, ...: nothing to decode
    }
    off += align4(h.nlmsg_len);
  }
  if (off < data.size()) return malformed("trailing bytes after the last netlink message");
  return DumpStatus::more;
}

}  // namespace sockit::ss
