// Renderings of `sockit ss`: the ss table (iproute2 6.1 wording and field order), the netstat
// table, and JSON (schema 1).
#include "format.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>

namespace sockit::ss {
namespace {

bool is_any(const Socket& s, bool local) {
  const auto& a = local ? s.local_addr : s.peer_addr;
  std::size_t n = s.family == AF_INET ? 4 : 16;
  return std::all_of(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), [](std::uint8_t b) { return b == 0; });
}

/// Writes the numeric address into buf (INET6_ADDRSTRLEN bytes), returns its length. IPv4 is
/// printed here (inet_ntop goes through sprintf: a third of `ss -tan`'s instructions).
std::size_t numeric_host_chars(const Socket& s, bool local, char* buf) {
  const auto& a = local ? s.local_addr : s.peer_addr;
  if (s.family == AF_INET) {
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
      if (i) *p++ = '.';
      p = std::to_chars(p, buf + INET6_ADDRSTRLEN, a[static_cast<std::size_t>(i)]).ptr;
    }
    return static_cast<std::size_t>(p - buf);
  }
  buf[0] = '\0';
  ::inet_ntop(s.family, a.data(), buf, INET6_ADDRSTRLEN);
  return std::strlen(buf);
}

std::string numeric_host(const Socket& s, bool local) {
  char buf[INET6_ADDRSTRLEN];
  return std::string(buf, numeric_host_chars(s, local, buf));
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

std::string resolved_host(const Socket& s, bool local) {
  static std::map<std::string, std::string> cache;  // single-threaded tool; per process
  std::string num = numeric_host(s, local);
  auto it = cache.find(num);
  if (it != cache.end()) return it->second;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (s.family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, (local ? s.local_addr : s.peer_addr).data(), 4);
    len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, (local ? s.local_addr : s.peer_addr).data(), 16);
    len = sizeof *sin6;
  }
  char host[NI_MAXHOST] = {};
  std::string name = num;
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, nullptr, 0, NI_NAMEREQD) == 0)
    name = host;
  cache.emplace(num, name);
  return name;
}

/// ss does not name ports in the ephemeral range: /etc/services is full of stale names there.
bool is_ephemeral(int port) {
  static int lo = -1, hi = -1;
  if (lo < 0) {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    if (!(in >> lo >> hi)) {
      lo = 32768;
      hi = 60999;
    }
  }
  return port >= lo && port <= hi;
}

std::string g(double v) { return fmt::format("{:g}", v); }

const char* kTimerNames[] = {"off", "on", "keepalive", "timewait", "persist", "unknown"};
constexpr unsigned kLastTimer = 5;  // "unknown": the kernel's timer kinds past persist

// tcp_info's option bits (TCPI_OPT_*), in the order ss names them.
constexpr std::uint8_t kOptTimestamps = 1, kOptSack = 2, kOptWscale = 4, kOptEcn = 8, kOptEcnSeen = 16,
                       kOptSynData = 32;
struct OptName {
  std::uint8_t bit;
  const char* name;
};
constexpr std::array<OptName, 6> kOptNames = {{{kOptTimestamps, "ts"},
                                               {kOptSack, "sack"},
                                               {kOptWscale, "wscale"},
                                               {kOptEcn, "ecn"},
                                               {kOptEcnSeen, "ecnseen"},
                                               {kOptSynData, "fastopen"}}};
constexpr double kUsPerMs = 1000.0;
constexpr double kGainScale = 256.0;  // bbr's gains are <<8 fixed point
constexpr double kBitsPerByte = 8.0;
constexpr double kBitMicrosPerByteSecond = 8000000.0;  // bytes per microsecond to bits per second
constexpr std::uint32_t kNoSsthresh = 0xFFFF;  // the kernel's "infinite" slow-start threshold
constexpr std::uint32_t kDefaultRtoUs = 3000000;  // TCP_TIMEOUT_INIT: ss hides the initial RTO
constexpr std::uint32_t kDefaultReordering = 3;   // tcp_reordering: ss shows only other values


void append_host(std::string& out, const Socket& s, bool local, bool resolve) {
  if (s.family == AF_UNIX) {
    out += local && s.path && !s.path->empty() ? std::string_view(*s.path) : std::string_view("*");
    return;
  }
  if (s.family == AF_INET6 && !s.v6only.value_or(false) && is_any(s, local)) {
    out += '*';
    return;
  }
  char buf[INET6_ADDRSTRLEN];
  std::string name;
  std::string_view h;
  if (resolve) {
    name = resolved_host(s, local);
    h = name;
  } else {
    h = std::string_view(buf, numeric_host_chars(s, local, buf));
  }
  bool brackets = s.family == AF_INET6 && h.find(':') != std::string_view::npos;
  if (brackets) out += '[';
  out += h;
  if (brackets) out += ']';
  if (local && s.ifindex) {  // bound to a device (SO_BINDTODEVICE, link-local scope): "addr%dev"
    char dev[IF_NAMESIZE] = {};
    out += '%';
    if (::if_indextoname(s.ifindex, dev)) out += dev;
    else append_uint(out, s.ifindex);
  }
}

void append_port(std::string& out, const Socket& s, bool local, bool resolve) {
  if (s.family == AF_UNIX) return append_uint(out, local ? s.inode : s.peer_inode);
  int port = local ? s.local_port : s.peer_port;
  if (port == 0) {
    out += '*';
    return;
  }
  if (resolve && !is_ephemeral(port)) {
    if (servent* se = ::getservbyport(htons(static_cast<std::uint16_t>(port)), s.netid == Netid::udp ? "udp" : "tcp")) {
      out += se->s_name;
      return;
    }
  }
  append_uint(out, static_cast<std::uint64_t>(port));
}

}  // namespace

std::string host_text(const Socket& s, bool local, bool resolve) {
  std::string out;
  append_host(out, s, local, resolve);
  return out;
}

std::string port_text(const Socket& s, bool local, bool resolve) {
  std::string out;
  append_port(out, s, local, resolve);
  return out;
}

std::string format_ms_timer(std::uint32_t timeout) {
  unsigned secs = timeout / 1000, minutes = secs / 60, msecs = timeout % 1000;
  secs %= 60;
  std::string buf;
  if (minutes) {
    msecs = 0;
    buf += fmt::format("{}min", minutes);
    if (minutes > 9) secs = 0;
  }
  if (secs) {
    if (secs > 9) msecs = 0;
    buf += fmt::format("{}{}", secs, msecs ? "." : "sec");
  }
  if (msecs) buf += fmt::format("{:03}ms", msecs);
  return buf;
}

std::string format_bps(double bw, bool numeric) {
  if (numeric) return fmt::format("{:.0f}", bw);
  if (bw >= 1e12) return fmt::format("{:.3g}T", bw / 1e12);
  if (bw >= 1e9) return fmt::format("{:.3g}G", bw / 1e9);
  if (bw >= 1e6) return fmt::format("{:.3g}M", bw / 1e6);
  if (bw >= 1e3) return fmt::format("{:.3g}K", bw / 1e3);
  return g(bw);
}

std::string timer_text(const Timer& t) {
  if (t.kind == 0) return {};
  return fmt::format("timer:({},{},{})", kTimerNames[std::min<unsigned>(t.kind, kLastTimer)], format_ms_timer(t.expires_ms),
                     t.retrans);
}

std::string skmem_text(const SkMem& m) {
  static const char* kNames[] = {"r", "rb", "t", "tb", "f", "w", "o", "bl", "d"};
  std::string out = "skmem:(";
  for (std::size_t i = 0; i < m.count; ++i) {
    if (i) out += ',';
    out += kNames[i] + std::to_string(m.v[i]);
  }
  return out + ")";
}

namespace {
double ms(std::uint64_t us) { return static_cast<double>(us) / kUsPerMs; }
std::string bps(double bytes_per_sec, bool numeric) { return format_bps(bytes_per_sec * kBitsPerByte, numeric) + "bps"; }
double send_rate(const TcpInfo& t) {  // cwnd * mss per RTT, in bits per second
  return double(t.snd_cwnd) * double(t.snd_mss) * kBitMicrosPerByteSecond / t.rtt_us;
}

// The rates: bbr's model, cwnd per RTT, pacing and delivery, busy and limited times.
void add_rates(const Socket& s, const TcpInfo& t, const FormatOptions& o, const std::function<void(const std::string&)>& add) {
  if (s.bbr) {
    std::string b = "bbr:(bw:" + bps(static_cast<double>(s.bbr->bw_bytes_per_sec), o.numeric) +
                    ",mrtt:" + g(ms(s.bbr->min_rtt_us));
    if (s.bbr->pacing_gain) b += ",pacing_gain:" + g(s.bbr->pacing_gain / kGainScale);
    if (s.bbr->cwnd_gain) b += ",cwnd_gain:" + g(s.bbr->cwnd_gain / kGainScale);
    add(b + ")");
  }
  if (t.rtt_us && t.snd_mss && t.snd_cwnd) add("send " + format_bps(send_rate(t), o.numeric) + "bps");
  if (t.last_data_sent_ms) add(fmt::format("lastsnd:{}", t.last_data_sent_ms));
  if (t.last_data_recv_ms) add(fmt::format("lastrcv:{}", t.last_data_recv_ms));
  if (t.last_ack_recv_ms) add(fmt::format("lastack:{}", t.last_ack_recv_ms));
  if (t.pacing_rate && t.pacing_rate != ~std::uint64_t{0}) {
    std::string p = "pacing_rate " + bps(static_cast<double>(t.pacing_rate), o.numeric);
    if (t.max_pacing_rate && t.max_pacing_rate != ~std::uint64_t{0})
      p += "/" + bps(static_cast<double>(t.max_pacing_rate), o.numeric);
    add(p);
  }
  if (t.delivery_rate) add("delivery_rate " + bps(static_cast<double>(t.delivery_rate), o.numeric));
  if (t.delivered) add(fmt::format("delivered:{}", t.delivered));
  if (t.delivered_ce) add(fmt::format("delivered_ce:{}", t.delivered_ce));
  if (t.delivery_rate_app_limited) add("app_limited");
  if (t.busy_time_us) {
    add(fmt::format("busy:{}ms", t.busy_time_us / 1000));
    if (t.rwnd_limited_us)
      add(fmt::format("rwnd_limited:{}ms({:.1f}%)", t.rwnd_limited_us / 1000,
                      100.0 * static_cast<double>(t.rwnd_limited_us) / static_cast<double>(t.busy_time_us)));
    if (t.sndbuf_limited_us)
      add(fmt::format("sndbuf_limited:{}ms({:.1f}%)", t.sndbuf_limited_us / 1000,
                      100.0 * static_cast<double>(t.sndbuf_limited_us) / static_cast<double>(t.busy_time_us)));
  }
}

}  // namespace

std::string tcp_info_text(const Socket& s, const FormatOptions& o) {
  std::string out;
  const std::function<void(const std::string&)> add = [&](const std::string& item) { out += ' ' + item; };
  if (!s.tcp_info) {
    if (!s.congestion.empty()) add(s.congestion);
    return out;
  }
  const TcpInfo& t = *s.tcp_info;
  if (o.timers) {  // ss shows the negotiated options with -o/-e only
    for (const OptName& n : kOptNames)
      if (n.bit != kOptWscale && (t.options & n.bit)) add(n.name);
  }
  if (!s.congestion.empty()) add(s.congestion);
  if (t.options & kOptWscale) add(fmt::format("wscale:{},{}", t.snd_wscale, t.rcv_wscale));
  if (t.rto_us && t.rto_us != kDefaultRtoUs) add("rto:" + g(ms(t.rto_us)));
  if (t.backoff) add(fmt::format("backoff:{}", t.backoff));
  if (t.rtt_us) add("rtt:" + g(ms(t.rtt_us)) + "/" + g(ms(t.rttvar_us)));
  if (t.ato_us) add("ato:" + g(ms(t.ato_us)));
  if (t.snd_mss) add(fmt::format("mss:{}", t.snd_mss));
  if (t.pmtu) add(fmt::format("pmtu:{}", t.pmtu));
  if (t.rcv_mss) add(fmt::format("rcvmss:{}", t.rcv_mss));
  if (t.advmss) add(fmt::format("advmss:{}", t.advmss));
  if (t.snd_cwnd) add(fmt::format("cwnd:{}", t.snd_cwnd));
  if (t.snd_ssthresh && t.snd_ssthresh < kNoSsthresh) add(fmt::format("ssthresh:{}", t.snd_ssthresh));
  if (t.bytes_sent) add(fmt::format("bytes_sent:{}", t.bytes_sent));
  if (t.bytes_retrans) add(fmt::format("bytes_retrans:{}", t.bytes_retrans));
  if (t.bytes_acked) add(fmt::format("bytes_acked:{}", t.bytes_acked));
  if (t.bytes_received) add(fmt::format("bytes_received:{}", t.bytes_received));
  if (t.segs_out) add(fmt::format("segs_out:{}", t.segs_out));
  if (t.segs_in) add(fmt::format("segs_in:{}", t.segs_in));
  if (t.data_segs_out) add(fmt::format("data_segs_out:{}", t.data_segs_out));
  if (t.data_segs_in) add(fmt::format("data_segs_in:{}", t.data_segs_in));
  add_rates(s, t, o, add);
  if (t.unacked) add(fmt::format("unacked:{}", t.unacked));
  if (t.retrans || t.total_retrans) add(fmt::format("retrans:{}/{}", t.retrans, t.total_retrans));
  if (t.lost) add(fmt::format("lost:{}", t.lost));
  if (t.sacked && s.state != State::listen) add(fmt::format("sacked:{}", t.sacked));
  if (t.dsack_dups) add(fmt::format("dsack_dups:{}", t.dsack_dups));
  if (t.fackets) add(fmt::format("fackets:{}", t.fackets));
  if (t.reordering != kDefaultReordering) add(fmt::format("reordering:{}", t.reordering));
  if (t.reord_seen) add(fmt::format("reord_seen:{}", t.reord_seen));
  if (t.rcv_rtt_us) add("rcv_rtt:" + g(ms(t.rcv_rtt_us)));
  if (t.rcv_space) add(fmt::format("rcv_space:{}", t.rcv_space));
  if (t.rcv_ssthresh) add(fmt::format("rcv_ssthresh:{}", t.rcv_ssthresh));
  if (t.notsent_bytes) add(fmt::format("notsent:{}", t.notsent_bytes));
  if (t.min_rtt_us && t.min_rtt_us != ~std::uint32_t{0}) add("minrtt:" + g(ms(t.min_rtt_us)));
  if (t.rcv_ooopack) add(fmt::format("rcv_ooopack:{}", t.rcv_ooopack));
  if (t.snd_wnd) add(fmt::format("snd_wnd:{}", t.snd_wnd));
  return out;
}

namespace {

/// The trailing "Process" column: users, timer, details (and skmem for Unix sockets, inline).
std::string process_column(const Socket& s, const FormatOptions& o, const UsersMap* users) {
  std::string out;
  auto add = [&](const std::string& item) {
    if (item.empty()) return;
    if (!out.empty()) out += ' ';
    out += item;
  };
  if (o.processes && users) {
    auto it = users->find(s.inode);
    if (it != users->end() && s.inode != 0) add("users:(" + users_text(it->second) + ")");
  }
  bool unix_sock = s.family == AF_UNIX;
  if (o.timers && !unix_sock) add(timer_text(s.timer));
  if (unix_sock && o.memory && s.skmem) add(skmem_text(*s.skmem));
  if (o.extended) {
    if (!unix_sock) {
      if (s.uid && *s.uid) add(fmt::format("uid:{}", *s.uid));
      add(fmt::format("ino:{}", s.inode));
      add(fmt::format("sk:{:x}", s.cookie));
      if (s.mark && *s.mark) add(fmt::format("fwmark:{:#x}", *s.mark));
      if (s.family == AF_INET6 && s.v6only) add(fmt::format("v6only:{}", *s.v6only ? 1 : 0));
    }
    if (s.shutdown)
      add(fmt::format("{}-{}", (*s.shutdown & 1) ? '-' : '<', (*s.shutdown & 2) ? '-' : '>'));
  }
  return out;
}

/// The "\t..." continuation line of -m / -i for inet sockets, or "" when there is none.
std::string detail_line(const Socket& s, const FormatOptions& o) {
  if (s.family == AF_UNIX) return {};
  bool tcp = s.netid == Netid::tcp;
  if (!(o.memory || (o.info && tcp))) return {};
  std::string line = "\t";
  if (o.memory && s.skmem) line += " " + skmem_text(*s.skmem);
  if (o.info && tcp) line += tcp_info_text(s, o);
  return line;
}

void rtrim(std::string& s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
}

}  // namespace

TableWriter::TableWriter(const FormatOptions& o, const UsersMap* users) : o_(o), users_(users) {
  static constexpr std::string_view kHeader[kCells] = {"Netid",         "State", "Recv-Q", "Send-Q", "Local Address:",
                                                       "Port",          "Peer Address:", "Port", "Process", ""};
  for (int c = 0; c < kCells; ++c) {
    row_ += kHeader[c];
    end_cell(c);
  }
  store_row();
}

void TableWriter::end_cell(int c) {
  std::size_t len = row_.size() - cell_start_;
  lengths_[static_cast<std::size_t>(c)] = len;
  if (rows_ > 0 || o_.header) w_[static_cast<std::size_t>(c)] = std::max(w_[static_cast<std::size_t>(c)], len);
  cell_start_ = row_.size();
}

// A stored row: the kCells cell lengths as LEB128 varints (one byte each below 128), then the cells'
// text back to back. Rows never straddle blocks, and blocks are never moved: the memory touched is
// what the rows take, once (page faults, not instructions, are most of ss's cost in a VM).
void TableWriter::store_row() {
  char head[kCells * 10];
  std::size_t n = 0;
  for (std::size_t len : lengths_) {
    do {
      head[n++] = static_cast<char>((len & 0x7f) | (len >= 0x80 ? 0x80 : 0));
      len >>= 7;
    } while (len);
  }
  constexpr std::size_t kBlock = 64 * 1024;
  std::size_t need = n + row_.size();
  if (blocks_.empty() || blocks_.back().capacity() - blocks_.back().size() < need) {
    blocks_.emplace_back();
    blocks_.back().reserve(std::max(kBlock, need));
  }
  blocks_.back().append(head, n).append(row_);
  row_.clear();
  cell_start_ = 0;
}

void TableWriter::add(const Socket& s) {
  ++rows_;
  const char delim = s.family == AF_UNIX ? ' ' : ':';
  row_ += netid_name(s.netid);
  end_cell(kNetid);
  row_ += state_name(s.state);
  end_cell(kState);
  append_uint(row_, s.recv_q);
  end_cell(kRecvQ);
  append_uint(row_, s.send_q);
  end_cell(kSendQ);
  append_host(row_, s, true, o_.resolve);
  row_ += delim;
  end_cell(kLocal);
  append_port(row_, s, true, o_.resolve);
  end_cell(kLocalPort);
  append_host(row_, s, false, o_.resolve);
  row_ += delim;
  end_cell(kPeer);
  append_port(row_, s, false, o_.resolve);
  end_cell(kPeerPort);
  row_ += process_column(s, o_, users_);
  end_cell(kProcess);
  row_ += detail_line(s, o_);
  end_cell(kDetail);
  store_row();
}

void TableWriter::write(const std::function<void(std::string_view)>& sink) const {
  constexpr std::size_t kChunk = 16 * 1024;  // a few pages, reused: one write(2) per ~250 lines
  std::string out;
  out.reserve(kChunk + 512);
  auto pad_right = [&out](std::string_view v, std::size_t w) {
    out += v;
    if (v.size() < w) out.append(w - v.size(), ' ');
  };
  auto pad_left = [&out](std::string_view v, std::size_t w) {
    if (v.size() < w) out.append(w - v.size(), ' ');
    out += v;
  };
  bool first = true;  // the header row
  for (const std::string& block : blocks_) {
    std::size_t pos = 0;
    while (pos < block.size()) {
      std::array<std::string_view, kCells> cell;
      std::array<std::size_t, kCells> len{};
      for (std::size_t& l : len) {
        for (unsigned shift = 0;; shift += 7) {
          auto byte = static_cast<unsigned char>(block[pos++]);
          l |= std::size_t{byte & 0x7fU} << shift;
          if (!(byte & 0x80)) break;
        }
      }
      for (std::size_t c = 0; c < kCells; ++c) {
        cell[c] = std::string_view(block).substr(pos, len[c]);
        pos += len[c];
      }
      bool skip = first && !o_.header;
      first = false;
      if (skip) continue;
      std::size_t line = out.size();
      if (o_.show_netid) pad_right(cell[kNetid], w_[kNetid] + 1);
      if (o_.show_state) pad_right(cell[kState], w_[kState] + 1);
      pad_right(cell[kRecvQ], w_[kRecvQ] + 1);
      pad_right(cell[kSendQ], w_[kSendQ] + 1);
      pad_left(cell[kLocal], w_[kLocal]);
      pad_right(cell[kLocalPort], w_[kLocalPort] + 1);
      pad_left(cell[kPeer], w_[kPeer]);
      pad_right(cell[kPeerPort], w_[kPeerPort] + 1);
      out += cell[kProcess];
      while (out.size() > line && out.back() == ' ') out.pop_back();
      out += '\n';
      if (!cell[kDetail].empty()) {
        out += cell[kDetail];
        out += '\n';
      }
      if (out.size() >= kChunk) {
        sink(out);
        out.clear();
      }
    }
  }
  if (!out.empty()) sink(out);
}

std::string TableWriter::str() const {
  std::string out;
  write([&out](std::string_view chunk) { out += chunk; });
  return out;
}

std::string format_table(const std::vector<Socket>& sockets, const FormatOptions& o, const UsersMap* users) {
  TableWriter table(o, users);
  for (const Socket& s : sockets) table.add(s);
  return table.str();
}

namespace {

std::string netstat_endpoint(const Socket& s, bool local, bool resolve) {
  std::string host = resolve ? resolved_host(s, local) : numeric_host(s, local);
  int port = local ? s.local_port : s.peer_port;
  return host + ":" + (port == 0 ? std::string("*") : port_text(s, local, resolve));
}

std::string netstat_title(StateMask states) {
  bool servers = states & (state_bit(State::listen) | state_bit(State::close));
  bool others = states & ~(state_bit(State::listen) | state_bit(State::close));
  if (servers && others) return "(servers and established)";
  if (servers) return "(only servers)";
  return "(w/o servers)";
}

std::string pid_program(const Socket& s, const UsersMap* users) {
  if (users && s.inode) {
    auto it = users->find(s.inode);
    if (it != users->end() && !it->second.empty())
      return std::to_string(it->second.front().pid) + "/" + it->second.front().name;
  }
  return "-";
}

}  // namespace

std::string format_netstat(const std::vector<Socket>& sockets, const FormatOptions& o, const UsersMap* users,
                           StateMask states) {
  std::string out;
  bool any_inet = std::any_of(sockets.begin(), sockets.end(), [](const Socket& s) { return s.family != AF_UNIX; });
  bool any_unix = std::any_of(sockets.begin(), sockets.end(), [](const Socket& s) { return s.family == AF_UNIX; });
  if (any_inet || !any_unix) {
    if (o.header) {
      out += "Active Internet connections " + netstat_title(states) + "\n";
      std::string h = fmt::format("{:<5} {:>6} {:>6} {:<23} {:<23} {:<11}", "Proto", "Recv-Q", "Send-Q",
                                  "Local Address", "Foreign Address", "State");
      if (o.processes) h += " PID/Program name";
      rtrim(h);
      out += h + "\n";
    }
    for (const Socket& s : sockets) {
      if (s.family == AF_UNIX) continue;
      std::string proto = std::string(netid_name(s.netid)) + (s.family == AF_INET6 ? "6" : "");
      std::string state = s.netid == Netid::udp ? (s.state == State::established ? "ESTABLISHED" : "")
                                                 : netstat_state_name(s.state);
      // netstat reads /proc/net/tcp, where a listener's tx_queue is 0 (ss shows the backlog there).
      std::uint32_t send_q = s.state == State::listen ? 0 : s.send_q;
      std::string line = fmt::format("{:<5} {:>6} {:>6} {:<23} {:<23} {:<11}", proto, s.recv_q, send_q,
                                     netstat_endpoint(s, true, o.resolve), netstat_endpoint(s, false, o.resolve), state);
      if (o.processes) line += " " + pid_program(s, users);
      rtrim(line);
      out += line + "\n";
    }
  }
  if (any_unix) {
    if (o.header) {
      out += "Active UNIX domain sockets " + netstat_title(states) + "\n";
      std::string h = fmt::format("{:<5} {:<11} {:<10} {:<13} {:<8}", "Proto", "Flags", "Type", "State", "I-Node");
      if (o.processes) h += fmt::format(" {:<20}", "PID/Program name");
      out += h + " Path\n";
    }
    for (const Socket& s : sockets) {
      if (s.family != AF_UNIX) continue;
      const char* type = s.netid == Netid::unix_stream ? "STREAM" : s.netid == Netid::unix_dgram ? "DGRAM" : "SEQPACKET";
      const char* state = s.state == State::listen        ? "LISTENING"
                          : s.state == State::established ? (s.netid == Netid::unix_dgram ? "" : "CONNECTED")
                          : s.state == State::syn_sent    ? "CONNECTING"
                                                          : "";
      std::string line = fmt::format("{:<5} {:<11} {:<10} {:<13} {:<8}", "unix",
                                     s.state == State::listen ? "[ ACC ]" : "[ ]", type, state, s.inode);
      if (o.processes) line += fmt::format(" {:<20}", pid_program(s, users));
      line += " " + (s.path ? *s.path : std::string());
      rtrim(line);
      out += line + "\n";
    }
  }
  return out;
}

namespace {

using Json = nlohmann::ordered_json;

Json or_null(bool present, const Json& v) { return present ? v : Json(nullptr); }

void json_address(const Socket& s, Json& j) {
  if (s.family == AF_UNIX) {
    j["path"] = s.path ? Json(*s.path) : Json(nullptr);
    j["peer_inode"] = s.peer_inode;
    return;
  }
  j["local_address"] = numeric_host(s, true);
  j["local_port"] = s.local_port;
  j["peer_address"] = numeric_host(s, false);
  j["peer_port"] = s.peer_port;
  if (s.ifindex) j["interface_index"] = s.ifindex;
  if (s.v6only) j["v6only"] = *s.v6only;
}

Json json_users(const Socket& s, const UsersMap* users) {
  auto arr = Json::array();
  if (!users || !s.inode) return arr;
  auto it = users->find(s.inode);
  if (it != users->end())
    for (const auto& u : it->second) arr.push_back({{"name", u.name}, {"pid", u.pid}, {"fd", u.fd}});
  return arr;
}

Json json_skmem(const SkMem& sk) {
  static const char* kKeys[] = {"rmem_alloc_bytes", "rcvbuf_bytes", "wmem_alloc_bytes", "sndbuf_bytes",
                                "fwd_alloc_bytes", "wmem_queued_bytes", "optmem_bytes", "backlog_bytes",
                                "drops_packets"};
  Json m = Json::object();
  for (std::size_t i = 0; i < sk.count; ++i) m[kKeys[i]] = sk.v[i];
  return m;
}

// Times, sizes and windows of tcp_info (the first half of its JSON object).
void json_tcp_times(const TcpInfo& t, Json& ti) {
  ti["rto_ms"] = ms(t.rto_us);
  ti["ato_ms"] = ms(t.ato_us);
  ti["rtt_ms"] = ms(t.rtt_us);
  ti["rttvar_ms"] = ms(t.rttvar_us);
  ti["min_rtt_ms"] = t.min_rtt_us == ~std::uint32_t{0} ? 0.0 : ms(t.min_rtt_us);
  ti["rcv_rtt_ms"] = ms(t.rcv_rtt_us);
  ti["mss_bytes"] = t.snd_mss;
  ti["rcv_mss_bytes"] = t.rcv_mss;
  ti["advmss_bytes"] = t.advmss;
  ti["pmtu_bytes"] = t.pmtu;
  ti["cwnd_segments"] = t.snd_cwnd;
  ti["ssthresh_segments"] = or_null(t.snd_ssthresh < kNoSsthresh, t.snd_ssthresh);
}

// Counters and rates of tcp_info (the second half of its JSON object).
void json_tcp_counters(const TcpInfo& t, Json& ti) {
  ti["bytes_sent"] = t.bytes_sent;
  ti["bytes_retrans"] = t.bytes_retrans;
  ti["bytes_acked"] = t.bytes_acked;
  ti["bytes_received"] = t.bytes_received;
  ti["segs_out"] = t.segs_out;
  ti["segs_in"] = t.segs_in;
  ti["data_segs_out"] = t.data_segs_out;
  ti["data_segs_in"] = t.data_segs_in;
  ti["retrans_segments"] = t.retrans;
  ti["total_retrans_segments"] = t.total_retrans;
  ti["lost_segments"] = t.lost;
  ti["unacked_segments"] = t.unacked;
  ti["sacked_segments"] = t.sacked;
  ti["send_rate_bps"] = (t.rtt_us && t.snd_mss && t.snd_cwnd) ? send_rate(t) : 0.0;
  ti["pacing_rate_bps"] = or_null(t.pacing_rate != ~std::uint64_t{0}, t.pacing_rate * 8);
  ti["max_pacing_rate_bps"] = or_null(t.max_pacing_rate != ~std::uint64_t{0}, t.max_pacing_rate * 8);
  ti["delivery_rate_bps"] = t.delivery_rate * 8;
  ti["app_limited"] = t.delivery_rate_app_limited;
  ti["delivered_segments"] = t.delivered;
  ti["last_send_ms"] = t.last_data_sent_ms;
  ti["last_recv_ms"] = t.last_data_recv_ms;
  ti["last_ack_ms"] = t.last_ack_recv_ms;
  ti["busy_ms"] = t.busy_time_us / 1000;
  ti["rwnd_limited_ms"] = t.rwnd_limited_us / 1000;
  ti["sndbuf_limited_ms"] = t.sndbuf_limited_us / 1000;
  ti["notsent_bytes"] = t.notsent_bytes;
  ti["rcv_space_bytes"] = t.rcv_space;
  ti["rcv_ssthresh_bytes"] = t.rcv_ssthresh;
  ti["snd_wnd_bytes"] = t.snd_wnd;
  ti["reordering"] = t.reordering;
}

Json json_tcp_info(const Socket& s, const TcpInfo& t) {
  Json ti;
  ti["congestion"] = or_null(!s.congestion.empty(), s.congestion);
  auto opts = Json::array();
  for (const OptName& n : kOptNames)
    if (t.options & n.bit) opts.push_back(n.name);
  ti["options"] = opts;
  if (t.options & kOptWscale) {
    ti["snd_wscale"] = t.snd_wscale;
    ti["rcv_wscale"] = t.rcv_wscale;
  }
  json_tcp_times(t, ti);
  json_tcp_counters(t, ti);
  return ti;
}

}  // namespace

std::string format_json(const Socket& s, const FormatOptions& o, const UsersMap* users,
                        std::optional<std::uint64_t> snapshot) {
  Json j;
  j["schema"] = 1;
  if (snapshot) j["snapshot"] = *snapshot;
  j["netid"] = netid_name(s.netid);
  j["family"] = s.family == AF_INET ? "inet" : s.family == AF_INET6 ? "inet6" : "unix";
  j["state"] = state_name(s.state);
  j["recv_q"] = s.recv_q;
  j["send_q"] = s.send_q;
  json_address(s, j);
  j["inode"] = s.inode;
  if (s.uid) j["uid"] = *s.uid;
  j["cookie"] = s.cookie;
  if (s.shutdown) {
    j["shut_rd"] = (*s.shutdown & 1) != 0;
    j["shut_wr"] = (*s.shutdown & 2) != 0;
  }
  if (s.mark) j["fwmark"] = *s.mark;
  if (s.timer.kind)
    j["timer"] = {{"name", kTimerNames[std::min<unsigned>(s.timer.kind, kLastTimer)]},
                  {"expires_ms", s.timer.expires_ms},
                  {"retrans", s.timer.retrans}};
  if (o.processes) j["users"] = json_users(s, users);
  if (o.memory && s.skmem) j["skmem"] = json_skmem(*s.skmem);
  if (o.info && s.netid == Netid::tcp && s.tcp_info) j["tcp_info"] = json_tcp_info(s, *s.tcp_info);
  // Names come from the kernel (Unix paths): not necessarily UTF-8. Invalid bytes become U+FFFD.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace sockit::ss
