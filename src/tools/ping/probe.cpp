#include "tools/ping/probe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sockit::ping {
namespace {

constexpr unsigned char kMagic[4] = {'S', 'K', 'P', '1'};

void put_be(std::span<std::byte> out, std::size_t at, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[at + static_cast<std::size_t>(i)] = static_cast<std::byte>(v & 0xff);
    v >>= 8;
  }
}

std::uint64_t get_be(std::span<const std::byte> in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(in[at + static_cast<std::size_t>(i)]);
  return v;
}

}  // namespace

void encode(const Probe& p, std::span<std::byte> out) {
  for (std::size_t i = 0; i < 4; ++i) out[i] = static_cast<std::byte>(kMagic[i]);
  put_be(out, 4, p.session, 8);
  put_be(out, 12, p.seq, 4);
  put_be(out, 16, p.attempt, 2);
  put_be(out, 18, 0, 2);
  put_be(out, 20, p.sent_ns, 8);
  for (std::size_t i = kHeaderSize; i < out.size(); ++i) out[i] = static_cast<std::byte>(0x20 + (i % 95));
}

std::optional<Probe> decode(std::span<const std::byte> in) {
  if (in.size() < kHeaderSize) return std::nullopt;
  for (std::size_t i = 0; i < 4; ++i)
    if (in[i] != static_cast<std::byte>(kMagic[i])) return std::nullopt;
  Probe p;
  p.session = get_be(in, 4, 8);
  p.seq = static_cast<std::uint32_t>(get_be(in, 12, 4));
  p.attempt = static_cast<std::uint16_t>(get_be(in, 16, 2));
  p.sent_ns = get_be(in, 20, 8);
  return p;
}

void Tracker::sent(std::uint32_t seq, Clock::time_point now, Clock::time_point deadline) {
  ProbeRecord r;
  r.seq = seq;
  r.first_sent = now;
  r.deadline = deadline;
  r.attempts = 1;
  probes_[seq] = r;
  ++transmitted_;
  while (probes_.size() > window_) probes_.erase(probes_.begin());
}

void Tracker::retransmitted(std::uint32_t seq) {
  if (auto* r = find(seq)) {
    ++r->attempts;
    ++retrans_;
  }
}

ReplyKind Tracker::on_reply(std::uint32_t seq, std::uint16_t attempt, Nanos rtt) {
  ProbeRecord* r = find(seq);
  if (!r || attempt >= r->attempts) return ReplyKind::unknown;
  const std::uint64_t bit = attempt < 64 ? (std::uint64_t{1} << attempt) : 0;
  const bool copy_seen = (r->answered_mask & bit) != 0;
  r->answered_mask |= bit;
  // A copy that came back (once, however often the network duplicated it) while its probe still
  // counted: a packet received. A late reply stays out, as it stays out of `received`.
  if (!copy_seen && (r->status == ProbeStatus::pending || r->status == ProbeStatus::received)) ++copies_answered_;
  const double ms = std::chrono::duration<double, std::milli>(rtt).count();
  switch (r->status) {
    case ProbeStatus::pending: {
      r->status = ProbeStatus::received;
      r->rtt_ms = ms;
      ++received_;
      if (highest_answered_ && seq < *highest_answered_) {
        r->reordered = true;
        ++reordered_;
      }
      if (!highest_answered_ || seq > *highest_answered_) highest_answered_ = seq;
      if (rtts_.empty()) min_ = max_ = ms;
      min_ = std::min(min_, ms);
      max_ = std::max(max_, ms);
      sum_ += ms;
      sum2_ += ms * ms;
      rtts_.push_back(ms);
      return ReplyKind::fresh;
    }
    case ProbeStatus::received:
      if (copy_seen) {
        ++duplicates_;
        return ReplyKind::duplicate;
      }
      ++redundant_;
      return ReplyKind::redundant;
    case ProbeStatus::lost:
    case ProbeStatus::error:
      ++late_;
      late_list_.push_back({seq, ms});
      return ReplyKind::late;
  }
  return ReplyKind::unknown;
}

void Tracker::on_error(std::uint32_t seq, std::string what) {
  ProbeRecord* r = find(seq);
  if (!r || r->status != ProbeStatus::pending) return;
  r->status = ProbeStatus::error;
  r->error = std::move(what);
  ++errors_;
}

void Tracker::mark_closed(std::uint32_t seq) {
  if (ProbeRecord* r = find(seq); r && r->status == ProbeStatus::received && !r->closed) {
    r->closed = true;
    ++closed_;
  }
}

std::vector<std::uint32_t> Tracker::expire(Clock::time_point now) {
  std::vector<std::uint32_t> out;
  for (auto& [seq, r] : probes_) {
    if (r.status == ProbeStatus::pending && r.deadline <= now) {
      r.status = ProbeStatus::lost;
      ++lost_;
      out.push_back(seq);
    }
  }
  return out;
}

std::vector<std::uint32_t> Tracker::expire_all() { return expire(Clock::time_point::max()); }

const ProbeRecord* Tracker::find(std::uint32_t seq) const {
  auto it = probes_.find(seq);
  return it == probes_.end() ? nullptr : &it->second;
}

ProbeRecord* Tracker::find(std::uint32_t seq) {
  auto it = probes_.find(seq);
  return it == probes_.end() ? nullptr : &it->second;
}

std::optional<Clock::time_point> Tracker::next_deadline() const {
  std::optional<Clock::time_point> best;
  for (const auto& [seq, r] : probes_)
    if (r.status == ProbeStatus::pending && (!best || r.deadline < *best)) best = r.deadline;
  return best;
}

bool Tracker::any_pending() const {
  return std::any_of(probes_.begin(), probes_.end(),
                     [](const auto& kv) { return kv.second.status == ProbeStatus::pending; });
}

Summary Tracker::summary(Nanos elapsed) const {
  Summary s;
  s.transmitted = transmitted_;
  s.received = received_;
  s.errors = errors_;
  s.duplicates = duplicates_;
  s.redundant = redundant_;
  s.late = late_;
  s.reordered = reordered_;
  s.retransmissions = retrans_;
  s.foreign = foreign_;
  s.closed = closed_;
  // Everything sent and not answered counts lost (pending probes at an interrupted end too), so
  // transmitted == received + lost always holds; errors are a subset of lost, as in ping(8).
  s.lost = transmitted_ - received_;
  s.loss_percent = transmitted_ ? 100.0 * static_cast<double>(s.lost) / static_cast<double>(transmitted_) : 0.0;
  s.packets_transmitted = transmitted_ + retrans_;
  s.packets_received = std::min(copies_answered_, s.packets_transmitted);
  s.packet_loss_percent =
      s.packets_transmitted
          ? 100.0 * static_cast<double>(s.packets_transmitted - s.packets_received) / static_cast<double>(s.packets_transmitted)
          : 0.0;
  s.time_ms = std::chrono::duration<double, std::milli>(elapsed).count();
  if (!rtts_.empty()) {
    const double n = static_cast<double>(rtts_.size());
    const double avg = sum_ / n;
    s.rtt_min = min_;
    s.rtt_max = max_;
    s.rtt_avg = avg;
    s.rtt_mdev = std::sqrt(std::max(0.0, sum2_ / n - avg * avg));
  }
  return s;
}

std::string format_ms(double ms) {
  if (ms >= 100) return fmt::format("{:.1f}", ms);
  if (ms >= 10) return fmt::format("{:.2f}", ms);
  return fmt::format("{:.3f}", ms);
}

namespace {
// ping(8) prints the loss rounded down to an integer unless it has a fraction worth showing.
std::string percent_text(double pct) {
  return pct == std::floor(pct) ? fmt::format("{:.0f}%", pct) : fmt::format("{:.4g}%", pct);
}
}  // namespace

std::string format_summary(const std::string& host, const Summary& s) {
  std::string out = fmt::format("--- {} ping statistics ---\n", host);
  // Per packet, as ping(8) users read "packet loss": every copy sent, retransmissions included.
  out += fmt::format("{} packets transmitted, {} received", s.packets_transmitted, s.packets_received);
  if (s.duplicates) out += fmt::format(", +{} duplicates", s.duplicates);
  if (s.errors) out += fmt::format(", +{} errors", s.errors);
  out += fmt::format(", {} packet loss", percent_text(s.packet_loss_percent));
  out += fmt::format(", time {:.0f}ms\n", s.time_ms);
  if (s.rtt_min)
    out += fmt::format("rtt min/avg/max/mdev = {:.3f}/{:.3f}/{:.3f}/{:.3f} ms\n", *s.rtt_min, *s.rtt_avg, *s.rtt_max,
                       *s.rtt_mdev);
  // Per request: what the retransmissions could not save (the same figure without them).
  if (s.retransmissions)
    out += fmt::format("{} requests, {} answered, {} failed after {} retransmissions\n", s.transmitted, s.received,
                       percent_text(s.loss_percent), s.retransmissions);
  if (s.late || s.reordered || s.redundant || s.closed) {
    std::vector<std::string> parts;
    if (s.closed) parts.push_back(fmt::format("{} closed (RST)", s.closed));
    if (s.redundant) parts.push_back(fmt::format("{} answered twice after a retransmission", s.redundant));
    if (s.late) parts.push_back(fmt::format("{} late replies (ignored)", s.late));
    if (s.reordered) parts.push_back(fmt::format("{} out of order", s.reordered));
    out += fmt::format("{}\n", fmt::join(parts, ", "));
  }
  return out;
}

}  // namespace sockit::ping
