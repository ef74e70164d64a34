// Internal header of `sockit ss`: the decoded form of one socket, and the NETLINK_SOCK_DIAG codec
// (request builders and a bounds-checked decoder for the kernel's replies), written by hand.
//
// Nothing here does I/O: decode_datagram() takes the bytes of one recv() from a sock_diag socket,
// so the decoder is unit-tested from captured buffers and fuzzed (tests/fuzz/inet_diag_fuzz.cpp).
// Malformed input yields an Error (std::errc::bad_message), never a read past the buffer.
#pragma once

#include "sockit/net/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sockit::ss {

/// Socket states as the kernel numbers them (include/net/tcp_states.h). UDP and Unix sockets
/// reuse them: ESTABLISHED (connected), CLOSE (unconnected, "UNCONN"), LISTEN.
enum class State : std::uint8_t {
  unknown = 0,
  established = 1,
  syn_sent,
  syn_recv,
  fin_wait1,
  fin_wait2,
  time_wait,
  close,
  close_wait,
  last_ack,
  listen,
  closing,
};
inline constexpr int kStateCount = 12;

/// A set of states, bit N = State N (the kernel's idiag_states layout).
using StateMask = std::uint32_t;
constexpr StateMask state_bit(State s) { return StateMask{1} << static_cast<unsigned>(s); }
inline constexpr StateMask kAllStates = (StateMask{1} << kStateCount) - 1;
/// What ss shows without -a/-l/state: everything but LISTEN, UNCONN, TIME-WAIT and SYN-RECV.
inline constexpr StateMask kDefaultStates =
    kAllStates & ~(state_bit(State::listen) | state_bit(State::close) | state_bit(State::time_wait) |
                   state_bit(State::syn_recv));

/// The "Netid" column of ss.
enum class Netid : std::uint8_t { tcp, udp, unix_stream, unix_dgram, unix_seqpacket };

const char* netid_name(Netid n);          ///< "tcp", "udp", "u_str", "u_dgr", "u_seq"
const char* state_name(State s);          ///< ss spelling: "ESTAB", "TIME-WAIT", "UNCONN", ...
const char* netstat_state_name(State s);  ///< netstat spelling: "ESTABLISHED", "TIME_WAIT", ...

/// struct tcp_info (INET_DIAG_INFO), in kernel units. Fields absent from an older kernel's shorter
/// struct read as zero. Times in microseconds unless the name says _ms.
struct TcpInfo {
  std::uint8_t state = 0, ca_state = 0, retransmits = 0, probes = 0, backoff = 0, options = 0;
  std::uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool delivery_rate_app_limited = false;
  std::uint32_t rto_us = 0, ato_us = 0, snd_mss = 0, rcv_mss = 0;
  std::uint32_t unacked = 0, sacked = 0, lost = 0, retrans = 0, fackets = 0;
  std::uint32_t last_data_sent_ms = 0, last_data_recv_ms = 0, last_ack_recv_ms = 0;
  std::uint32_t pmtu = 0, rcv_ssthresh = 0, rtt_us = 0, rttvar_us = 0, snd_ssthresh = 0;
  std::uint32_t snd_cwnd = 0, advmss = 0, reordering = 0, rcv_rtt_us = 0, rcv_space = 0;
  std::uint32_t total_retrans = 0;
  std::uint64_t pacing_rate = 0, max_pacing_rate = 0;  ///< bytes per second; ~0 = unlimited
  std::uint64_t bytes_acked = 0, bytes_received = 0;
  std::uint32_t segs_out = 0, segs_in = 0, notsent_bytes = 0, min_rtt_us = 0;
  std::uint32_t data_segs_in = 0, data_segs_out = 0;
  std::uint64_t delivery_rate = 0;  ///< bytes per second
  std::uint64_t busy_time_us = 0, rwnd_limited_us = 0, sndbuf_limited_us = 0;
  std::uint32_t delivered = 0, delivered_ce = 0;
  std::uint64_t bytes_sent = 0, bytes_retrans = 0;
  std::uint32_t dsack_dups = 0, reord_seen = 0, rcv_ooopack = 0, snd_wnd = 0;
  std::size_t kernel_size = 0;  ///< how many bytes the kernel sent
};

/// INET_DIAG_BBRINFO (struct tcp_bbr_info).
struct BbrInfo {
  std::uint64_t bw_bytes_per_sec = 0;
  std::uint32_t min_rtt_us = 0, pacing_gain = 0, cwnd_gain = 0;  ///< gains are <<8 fixed point
};

/// INET_DIAG_SKMEMINFO / UNIX_DIAG_MEMINFO: SK_MEMINFO_* values in order (r, rb, t, tb, f, w, o,
/// bl, d). `count` says how many the kernel sent (older kernels lack bl and d).
struct SkMem {
  std::array<std::uint32_t, 9> v{};
  std::size_t count = 0;
};

/// The kernel's socket timer (idiag_timer): 0 none, 1 retransmit, 2 keepalive, 3 TIME-WAIT,
/// 4 zero-window probe.
struct Timer {
  std::uint8_t kind = 0;
  std::uint32_t expires_ms = 0;
  std::uint8_t retrans = 0;
};

/// One socket, whatever its family. Plain value type; cheap to copy except for the strings.
struct Socket {
  Netid netid = Netid::tcp;
  int family = 0;  ///< AF_INET, AF_INET6 or AF_UNIX
  State state = State::unknown;
  std::uint32_t recv_q = 0;  ///< bytes queued, or for LISTEN the accept-queue length
  std::uint32_t send_q = 0;  ///< bytes queued, or for LISTEN the backlog
  // inet
  std::array<std::uint8_t, 16> local_addr{};  ///< network order; 4 bytes used for AF_INET
  std::array<std::uint8_t, 16> peer_addr{};
  std::uint16_t local_port = 0, peer_port = 0;
  std::uint32_t ifindex = 0;
  std::optional<bool> v6only;
  // unix
  std::optional<std::string> path;  ///< bound name; abstract names start with '@'
  std::uint32_t peer_inode = 0;
  // common
  std::uint32_t inode = 0;
  std::optional<std::uint32_t> uid;
  std::uint64_t cookie = 0;
  Timer timer;
  std::optional<std::uint8_t> shutdown;  ///< bit 0: no more receives, bit 1: no more sends
  std::optional<std::uint32_t> mark;
  std::optional<SkMem> skmem;
  std::optional<TcpInfo> tcp_info;
  std::optional<BbrInfo> bbr;
  std::string congestion;  ///< INET_DIAG_CONG, e.g. "cubic"
};

inline bool is_unix(Netid n) { return n != Netid::tcp && n != Netid::udp; }

// ---- requests -------------------------------------------------------------------------------

/// Extensions asked of inet_diag (idiag_ext bits).
struct InetExtensions {
  bool info = false;    ///< tcp_info + congestion algorithm (-i)
  bool memory = false;  ///< skmem (-m)
};

/// A SOCK_DIAG_BY_FAMILY dump request for AF_INET/AF_INET6 sockets of IPPROTO_TCP/UDP.
std::vector<std::uint8_t> build_inet_request(std::uint8_t family, std::uint8_t protocol, StateMask states,
                                             InetExtensions ext, std::uint32_t seq);
/// A SOCK_DIAG_BY_FAMILY dump request for AF_UNIX sockets (name, peer, queues, uid, shutdown).
std::vector<std::uint8_t> build_unix_request(StateMask states, bool memory, std::uint32_t seq);

// ---- replies --------------------------------------------------------------------------------

enum class DumpStatus { more, done };

/// Decodes one datagram of a dump reply: every SOCK_DIAG_BY_FAMILY message in it is appended to
/// `out` (AF_INET/AF_INET6 messages get `inet_netid`, which the reply itself does not carry).
/// Returns done at NLMSG_DONE. NLMSG_ERROR becomes an Error with the kernel's errno; truncated or
/// inconsistent lengths become std::errc::bad_message. Unknown attributes are skipped.
Result<DumpStatus> decode_datagram(std::span<const std::uint8_t> data, Netid inet_netid, std::vector<Socket>& out);
/// The same, handing each decoded socket to `on_socket` instead of storing it (the caller keeps
/// what it needs: `sockit ss` renders a table row and drops the Socket).
Result<DumpStatus> decode_datagram(std::span<const std::uint8_t> data, Netid inet_netid,
                                   const std::function<void(Socket&&)>& on_socket);

/// Decodes the payload of one message (struct inet_diag_msg + attributes).
Result<Socket> decode_inet_message(std::span<const std::uint8_t> payload, Netid netid);
/// Decodes the payload of one message (struct unix_diag_msg + attributes).
Result<Socket> decode_unix_message(std::span<const std::uint8_t> payload);

}  // namespace sockit::ss
