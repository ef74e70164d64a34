// Internal header of sockit::loadgen: counters of one run (per worker thread, merged at the end),
// and samples of the server process from /proc.
#pragma once

#include "histogram.hpp"

#include "sockit/net/result.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace sockit::load {

enum class ErrorKind { refused, reset, timeout, short_read, mismatch, other, tls };
inline constexpr std::size_t kErrorKinds = 7;
/// "refused", "reset", "timeout", "short_read", "mismatch", "other", "tls" (a failed TLS
/// handshake: refused certificate, protocol error) -- the JSON keys.
std::string_view to_string(ErrorKind k) noexcept;
/// Maps a connect/send/recv errno to a kind: ECONNREFUSED -> refused, ECONNRESET/EPIPE -> reset,
/// ETIMEDOUT -> timeout, anything else -> other.
ErrorKind classify_errno(int err) noexcept;

/// irc-mix: what the generator sent and how the deliveries it expected went (messages whose
/// intended send time fell in the measured interval).
struct MixCounts {
  std::uint64_t channel_msgs = 0;  ///< PRIVMSGs to a channel
  std::uint64_t private_msgs = 0;  ///< PRIVMSGs to one nick
  std::uint64_t expected = 0;      ///< deliveries due to members present for the message's whole lifetime
  std::uint64_t excluded = 0;      ///< deliveries not expected: the member PARTed (or changed nick) meanwhile
  std::uint64_t unexpected = 0;    ///< deliveries of unknown or finished messages, or to non-members
  std::uint64_t joins = 0, parts = 0, nicks = 0, aways = 0;  ///< over the whole run
  std::uint64_t clients_joined = 0;  ///< clients that completed their first JOINs
  void add(const MixCounts& o) noexcept {
    channel_msgs += o.channel_msgs; private_msgs += o.private_msgs; expected += o.expected;
    excluded += o.excluded; unexpected += o.unexpected; joins += o.joins; parts += o.parts;
    nicks += o.nicks; aways += o.aways; clients_joined += o.clients_joined;
  }
};

/// What one worker counted. Everything except the *_all fields covers the measured interval only.
struct Stats {
  std::uint64_t units = 0;      ///< completed units of work (messages, connections, deliveries...)
  std::uint64_t bytes_out = 0;  ///< payload bytes written / read in the interval
  std::uint64_t bytes_in = 0;
  std::array<std::uint64_t, kErrorKinds> errors{};
  Histogram latency;      ///< from the intended send time (closed loop: the actual send time)
  Histogram latency_raw;  ///< from the actual send time (open loop only)

  std::uint64_t sent = 0;       ///< udp datagrams / irc PRIVMSGs sent in the interval
  std::uint64_t late = 0;       ///< udp replies that came after their timeout
  std::uint64_t sent_all = 0;   ///< irc: PRIVMSGs sent over the whole run
  std::uint64_t delivered_all = 0;  ///< irc: deliveries over the whole run
  std::uint64_t held = 0;       ///< hold: connections established
  std::uint64_t failed = 0;     ///< hold: connections that failed to establish
  std::uint64_t dropped = 0;    ///< hold: connections the server closed while held
  std::uint64_t alive = 0;      ///< hold: connections that echoed at the end
  std::uint64_t resumed = 0;    ///< TLS: units whose connection resumed a session (handshake mode)
  MixCounts mix;                ///< irc-mix

  void count_error(ErrorKind k) noexcept { ++errors[static_cast<std::size_t>(k)]; }
  std::uint64_t error_total() const noexcept;
  void merge(const Stats& o) noexcept;
};

/// The server process as /proc sees it.
struct ServerSample {
  double cpu_s = 0;             ///< utime+stime of the process (all threads) + its reaped and live children
  std::uint64_t rss_kib = 0;    ///< VmRSS
  std::uint64_t rss_anon_kib = 0;  ///< RssAnon: heap, stacks, anonymous mappings (user-space memory)
};
/// Reads /proc/PID/stat and /proc/PID/status (and the stat of its direct children).
Result<ServerSample> sample_server(int pid);
/// This process's user+system CPU time in seconds (getrusage).
double self_cpu_seconds() noexcept;

}  // namespace sockit::load
