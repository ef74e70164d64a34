// Internal header of sockit::loadgen. A log-bucketed latency histogram in the manner of
// HdrHistogram: values below 128 are exact, above that every power of two is split into 64
// sub-buckets, so any recorded value is reported within 1/64 (1.6 %) of its true value, from 1 ns
// to 2^63 ns, in a fixed 30 KiB array. record() is O(1) and allocation free.
// Not thread-safe: one histogram per worker thread, merged at the end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sockit::load {

class Histogram {
 public:
  static constexpr int kLinearBits = 7;                   // values < 128 are exact
  static constexpr int kSubBits = kLinearBits - 1;        // 64 sub-buckets per octave above
  static constexpr std::size_t kBuckets = (std::size_t{1} << kLinearBits) + (64 - kLinearBits) * (std::size_t{1} << kSubBits);

  Histogram();

  /// Records one value (nanoseconds by convention). Negative values are clamped to 0.
  void record(std::int64_t value, std::uint64_t count = 1) noexcept;
  /// Adds every count of `other`.
  void merge(const Histogram& other) noexcept;
  void reset() noexcept;

  std::uint64_t count() const noexcept { return total_; }
  std::int64_t min() const noexcept { return total_ ? min_ : 0; }
  std::int64_t max() const noexcept { return total_ ? max_ : 0; }
  double mean() const noexcept { return total_ ? sum_ / static_cast<double>(total_) : 0.0; }
  /// The value at percentile p (0..100): the smallest bucket value v such that at least p % of the
  /// recorded values are <= v (reported as the bucket's upper bound, capped at max()). 0 when empty.
  std::int64_t percentile(double p) const noexcept;
  /// How many recorded values fall in [lo, hi] (to the bucket resolution).
  std::uint64_t count_between(std::int64_t lo, std::int64_t hi) const noexcept;

  /// One bucket of the spectrum: value (upper bound), cumulative fraction, and 1/(1-fraction).
  struct Point {
    std::int64_t value;
    double percentile;  // 0..100
    std::uint64_t total_count;
    double inverted;    // 1 / (1 - percentile/100); 0 for the last line
  };
  /// The percentile spectrum, HdrHistogram style: `ticks` points per halving of the remaining
  /// fraction (50 %, 75 %, 87.5 % ...), up to 100 %.
  std::vector<Point> spectrum(int ticks_per_half = 5) const;
  /// The spectrum as text for gnuplot: "# value_us percentile total_count 1/(1-p)" then one line
  /// per point, values divided by `unit_divisor` (1000 turns ns into us).
  std::string spectrum_text(double unit_divisor = 1000.0) const;

  /// Bucket index of a value and the largest value that maps to a bucket (exposed for tests).
  static std::size_t bucket_of(std::uint64_t value) noexcept;
  static std::uint64_t bucket_upper(std::size_t index) noexcept;
  static std::uint64_t bucket_lower(std::size_t index) noexcept;

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace sockit::load
