// Internal header of `sockit ping`: the UDP probe format and the reply tracker. No I/O: the
// tracker is fed send times, reply times and deadlines by the caller, so it is unit-testable.
//
// Probe (UDP payload, big-endian), echoed back unchanged by any echo server:
//   0  "SKP1"        magic
//   4  session id    u64, random per run: replies of another run (or another ping) are foreign
//   12 seq           u32, one per probe (retransmissions keep it)
//   16 attempt       u16, 0 for the first copy, 1.. for retransmissions
//   18 reserved      u16, 0
//   20 sent ns       u64, steady clock at send time of *this copy* (the RTT comes from the echo,
//                    so a reply to a retransmission is timed from the retransmission: no Karn
//                    ambiguity)
//   28 padding       up to the probe size (default 56 bytes, as ping(8)'s payload)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sockit::ping {

inline constexpr std::size_t kHeaderSize = 28;
inline constexpr std::size_t kDefaultSize = 56;
inline constexpr std::size_t kMaxSize = 65000;

struct Probe {
  std::uint64_t session = 0;
  std::uint32_t seq = 0;
  std::uint16_t attempt = 0;
  std::uint64_t sent_ns = 0;
};

/// Writes `p` into `out` (out.size() >= kHeaderSize); the rest of `out` is filled with a pattern.
void encode(const Probe& p, std::span<std::byte> out);
/// Parses a reply; nullopt when it is too short or has no magic.
std::optional<Probe> decode(std::span<const std::byte> in);

using Clock = std::chrono::steady_clock;
using Nanos = std::chrono::nanoseconds;

/// What a reply turned out to be.
enum class ReplyKind {
  fresh,       ///< first answer for a probe still inside its timeout: counted as received
  duplicate,   ///< the same copy (seq, attempt) answered again: the network duplicated it (DUP!)
  redundant,   ///< another copy of an already-answered probe (caused by our own retransmission)
  late,        ///< the probe had already timed out and been counted lost; never counted received
  unknown,     ///< a seq we never sent (or forgot long ago): ignored
};

enum class ProbeStatus { pending, received, lost, error };

struct ProbeRecord {
  std::uint32_t seq = 0;
  ProbeStatus status = ProbeStatus::pending;
  Clock::time_point first_sent{};
  Clock::time_point deadline{};
  std::uint16_t attempts = 0;        ///< copies sent (1 + retransmissions)
  std::uint64_t answered_mask = 0;   ///< bit i set: attempt i answered at least once
  double rtt_ms = 0;                 ///< of the first (fresh) answer
  bool reordered = false;            ///< answered after a later probe was
  bool closed = false;               ///< TCP: answered with RST (port closed)
  std::string error;                 ///< status error: what happened (ICMP unreachable, ...)
};

struct LateReply {
  std::uint32_t seq = 0;
  double rtt_ms = 0;
};

/// Two views of one run. Per request (a probe and its retransmissions, one sequence number):
/// `transmitted`, `received`, `lost`, `loss_percent`: what retries could not save. Per packet
/// (every copy sent, as ping(8) counts): `packets_transmitted` = transmitted + retransmissions,
/// `packets_received` = copies answered (each copy once; late replies not counted),
/// `packet_loss_percent`: what the network dropped. Without retransmissions both views agree.
struct Summary {
  std::uint64_t transmitted = 0, received = 0, lost = 0, errors = 0, duplicates = 0, redundant = 0,
                late = 0, reordered = 0, retransmissions = 0, foreign = 0, closed = 0;
  double loss_percent = 0;
  std::uint64_t packets_transmitted = 0, packets_received = 0;
  double packet_loss_percent = 0;
  double time_ms = 0;
  std::optional<double> rtt_min, rtt_avg, rtt_max, rtt_mdev;
};

/// Keeps the state of every probe of one run and classifies replies by sequence number.
/// Single-threaded. Memory: one record per probe, the oldest pruned beyond `window` probes (a
/// reply that old is reported as unknown).
class Tracker {
 public:
  explicit Tracker(std::size_t window = 1 << 16) : window_(window) {}

  /// A new probe `seq` went out at `now` and must be answered by `deadline`.
  void sent(std::uint32_t seq, Clock::time_point now, Clock::time_point deadline);
  /// One more copy of `seq` went out (a retransmission).
  void retransmitted(std::uint32_t seq);
  /// Classifies a reply to copy `attempt` of `seq`, measured `rtt` (from its echoed timestamp).
  ReplyKind on_reply(std::uint32_t seq, std::uint16_t attempt, Nanos rtt);
  /// The probe failed with an error that answers it negatively (ICMP unreachable, ...).
  void on_error(std::uint32_t seq, std::string what);
  /// TCP: the probe was answered with a reset (counted received, as hping3 does).
  void mark_closed(std::uint32_t seq);
  /// Marks pending probes whose deadline is <= now as lost; returns their seqs in order.
  std::vector<std::uint32_t> expire(Clock::time_point now);
  /// Marks every pending probe lost (end of run, interrupted).
  std::vector<std::uint32_t> expire_all();
  void foreign() { ++foreign_; }

  const ProbeRecord* find(std::uint32_t seq) const;
  ProbeRecord* find(std::uint32_t seq);
  /// Earliest deadline of a pending probe.
  std::optional<Clock::time_point> next_deadline() const;
  bool any_pending() const;
  /// Retained records in seq order (for --json).
  const std::map<std::uint32_t, ProbeRecord>& records() const { return probes_; }
  const std::vector<LateReply>& late_replies() const { return late_list_; }

  Summary summary(Nanos elapsed) const;

 private:
  std::size_t window_;
  std::map<std::uint32_t, ProbeRecord> probes_;
  std::vector<double> rtts_;
  std::vector<LateReply> late_list_;
  std::uint64_t transmitted_ = 0, received_ = 0, lost_ = 0, errors_ = 0, duplicates_ = 0, redundant_ = 0,
                late_ = 0, reordered_ = 0, retrans_ = 0, foreign_ = 0, closed_ = 0, copies_answered_ = 0;
  std::optional<std::uint32_t> highest_answered_;
  double sum_ = 0, sum2_ = 0, min_ = 0, max_ = 0;
};

/// ping(8)'s closing lines, the first one per packet (every copy sent, as ping(8) counts):
///   --- HOST ping statistics ---
///   7 packets transmitted, 4 received, +1 duplicates, 42.86% packet loss, time 4005ms
///   rtt min/avg/max/mdev = 0.041/0.052/0.071/0.011 ms
/// then, when there were retransmissions, the per-request figure retries could not save:
///   5 requests, 4 answered, 20% failed after 2 retransmissions
/// plus, when any occurred, a line with late replies, reordering, ...
std::string format_summary(const std::string& host, const Summary& s);
/// "%.3f" below 100 ms like ping(8), fewer decimals above.
std::string format_ms(double ms);

}  // namespace sockit::ping
