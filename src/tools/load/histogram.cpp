#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <fmt/format.h>

namespace sockit::load {

namespace {
constexpr std::uint64_t kLinear = std::uint64_t{1} << Histogram::kLinearBits;  // 128
constexpr std::uint64_t kSub = std::uint64_t{1} << Histogram::kSubBits;        // 64
}  // namespace

Histogram::Histogram() : counts_(kBuckets, 0) {}

std::size_t Histogram::bucket_of(std::uint64_t v) noexcept {
  if (v < kLinear) return static_cast<std::size_t>(v);
  const int msb = 63 - std::countl_zero(v);        // >= 7
  const int shift = msb - kSubBits;                 // >= 1
  const std::uint64_t sub = (v >> shift) - kSub;    // 0..63
  return static_cast<std::size_t>(kLinear + static_cast<std::uint64_t>(shift - 1) * kSub + sub);
}

std::uint64_t Histogram::bucket_lower(std::size_t i) noexcept {
  if (i < kLinear) return i;
  const std::uint64_t k = i - kLinear;
  const int shift = static_cast<int>(k / kSub) + 1;
  const std::uint64_t sub = k % kSub + kSub;
  return sub << shift;
}

std::uint64_t Histogram::bucket_upper(std::size_t i) noexcept {
  if (i < kLinear) return i;
  const std::uint64_t k = i - kLinear;
  const int shift = static_cast<int>(k / kSub) + 1;
  const std::uint64_t sub = k % kSub + kSub;
  return ((sub + 1) << shift) - 1;
}

void Histogram::record(std::int64_t value, std::uint64_t count) noexcept {
  if (count == 0) return;
  if (value < 0) value = 0;
  const auto v = static_cast<std::uint64_t>(value);
  counts_[bucket_of(v)] += count;
  if (total_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  total_ += count;
  sum_ += static_cast<double>(v) * static_cast<double>(count);
}

void Histogram::merge(const Histogram& other) noexcept {
  if (other.total_ == 0) return;
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  if (total_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  total_ += other.total_;
  sum_ += other.sum_;
}

void Histogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
}

std::uint64_t Histogram::count_between(std::int64_t lo, std::int64_t hi) const noexcept {
  if (total_ == 0 || hi < lo || hi < 0) return 0;
  std::uint64_t n = 0;
  const std::size_t last = bucket_of(static_cast<std::uint64_t>(hi));
  for (std::size_t i = bucket_of(static_cast<std::uint64_t>(std::max<std::int64_t>(lo, 0))); i <= last; ++i) n += counts_[i];
  return n;
}

std::int64_t Histogram::percentile(double p) const noexcept {
  if (total_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto want = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_)));
  want = std::clamp<std::uint64_t>(want, 1, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= want) {
      const auto upper = static_cast<std::int64_t>(std::min<std::uint64_t>(bucket_upper(i), INT64_MAX));
      return std::clamp(upper, min_, max_);
    }
  }
  return max_;
}

std::vector<Histogram::Point> Histogram::spectrum(int ticks_per_half) const {
  std::vector<Point> out;
  if (total_ == 0) return out;
  ticks_per_half = std::max(1, ticks_per_half);
  // Percentile levels: 0, then ticks_per_half steps within each halving of what remains.
  double level = 0.0;
  double remaining = 100.0;
  int step = 0;
  std::int64_t last_value = -1;
  double last_pct = -1.0;
  while (true) {
    const std::int64_t v = percentile(level);
    std::uint64_t cum = 0;
    for (std::size_t i = 0; i < kBuckets && bucket_lower(i) <= static_cast<std::uint64_t>(v); ++i) cum += counts_[i];
    const double pct = 100.0 * static_cast<double>(cum) / static_cast<double>(total_);
    if (v != last_value || pct != last_pct) {
      out.push_back({v, pct, cum, pct >= 100.0 ? 0.0 : 1.0 / (1.0 - pct / 100.0)});
      last_value = v;
      last_pct = pct;
    }
    if (cum >= total_) break;
    level += remaining / 2.0 / ticks_per_half;
    if (++step % ticks_per_half == 0) remaining /= 2.0;
    if (remaining < 1e-9) level = 100.0;
  }
  return out;
}

std::string Histogram::spectrum_text(double unit_divisor) const {
  std::string s = "#       Value     Percentile TotalCount 1/(1-Percentile)\n";
  for (const auto& p : spectrum()) {
    s += fmt::format("{:14.3f} {:14.9f} {:10d} {:14.2f}\n", static_cast<double>(p.value) / unit_divisor,
                     p.percentile / 100.0, p.total_count, p.inverted);
  }
  s += fmt::format("#[Mean = {:.3f}, Max = {:.3f}, Total count = {}]\n", mean() / unit_divisor,
                   static_cast<double>(max()) / unit_divisor, total_);
  return s;
}

}  // namespace sockit::load
