#include "tools/load/histogram.hpp"
#include "tools/load/stats.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <sstream>

using sockit::load::Histogram;

TEST(Histogram, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_TRUE(h.spectrum().empty());
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (int v = 0; v < 100; ++v) h.record(v);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 99);
  EXPECT_EQ(h.percentile(50), 49);
  EXPECT_EQ(h.percentile(100), 99);
  EXPECT_DOUBLE_EQ(h.mean(), 49.5);
}

TEST(Histogram, BucketsTileTheRangeWithoutGaps) {
  for (std::size_t i = 0; i + 1 < Histogram::kBuckets; ++i) {
    ASSERT_LE(Histogram::bucket_lower(i), Histogram::bucket_upper(i));
    ASSERT_EQ(Histogram::bucket_upper(i) + 1, Histogram::bucket_lower(i + 1)) << i;
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_lower(i)), i);
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_upper(i)), i);
  }
  EXPECT_LT(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets);
}

TEST(Histogram, RelativeErrorIsBelowTwoPercent) {
  for (std::uint64_t v : {127ull, 128ull, 1000ull, 123456ull, 99'999'999ull, 1ull << 40, (1ull << 62) + 12345}) {
    const auto i = Histogram::bucket_of(v);
    const double width = static_cast<double>(Histogram::bucket_upper(i) - Histogram::bucket_lower(i));
    EXPECT_LE(width / static_cast<double>(v), 1.0 / 64.0) << v;
  }
}

TEST(Histogram, PercentilesOfAUniformSpread) {
  Histogram h;
  for (int v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double want = p / 100.0 * 1e8;
    EXPECT_NEAR(static_cast<double>(h.percentile(p)), want, want / 60.0) << p;
  }
  EXPECT_EQ(h.percentile(100), 100'000'000);
  EXPECT_EQ(h.count(), 100000u);
}

TEST(Histogram, NegativeValuesClampToZero) {
  Histogram h;
  h.record(-5);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.percentile(50), 0);
}

TEST(Histogram, MergeAddsCountsAndExtremes) {
  Histogram a, b;
  a.record(10, 3);
  b.record(5000);
  b.record(2);
  a.merge(b);
  EXPECT_EQ(a.count(), 5u);
  EXPECT_EQ(a.min(), 2);
  EXPECT_EQ(a.max(), 5000);
  EXPECT_EQ(a.percentile(50), 10);
  a.reset();
  EXPECT_EQ(a.count(), 0u);
}

TEST(Histogram, SpectrumIsMonotonicAndEndsAtMax) {
  Histogram h;
  for (int v = 1; v <= 10000; ++v) h.record(v);
  const auto s = h.spectrum();
  ASSERT_GT(s.size(), 10u);
  for (std::size_t i = 1; i < s.size(); ++i) {
    EXPECT_GE(s[i].value, s[i - 1].value);
    EXPECT_GE(s[i].percentile, s[i - 1].percentile);
  }
  EXPECT_EQ(s.back().value, 10000);
  EXPECT_DOUBLE_EQ(s.back().percentile, 100.0);
}

TEST(Histogram, SpectrumTextHasHeaderAndOneLinePerPoint) {
  Histogram h;
  for (int v = 1; v <= 1000; ++v) h.record(v * 1000);
  const std::string text = h.spectrum_text(1000.0);
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("#", 0), 0u);
  std::size_t rows = 0;
  double value = 0, pct = 0;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) continue;
    std::istringstream row(line);
    ASSERT_TRUE(row >> value >> pct) << line;
    ++rows;
  }
  EXPECT_EQ(rows, h.spectrum().size());
  EXPECT_DOUBLE_EQ(value, 1000.0);  // the last row is the max, in us
  EXPECT_DOUBLE_EQ(pct, 1.0);
}

TEST(Stats, ErrnoIsClassifiedByKind) {
  using sockit::load::ErrorKind;
  EXPECT_EQ(sockit::load::classify_errno(ECONNREFUSED), ErrorKind::refused);
  EXPECT_EQ(sockit::load::classify_errno(ECONNRESET), ErrorKind::reset);
  EXPECT_EQ(sockit::load::classify_errno(EPIPE), ErrorKind::reset);
  EXPECT_EQ(sockit::load::classify_errno(ETIMEDOUT), ErrorKind::timeout);
  EXPECT_EQ(sockit::load::classify_errno(EACCES), ErrorKind::other);
}

TEST(Stats, MergeSumsErrorsAndUnits) {
  sockit::load::Stats a, b;
  a.units = 3;
  a.count_error(sockit::load::ErrorKind::reset);
  b.units = 4;
  b.count_error(sockit::load::ErrorKind::mismatch);
  b.count_error(sockit::load::ErrorKind::mismatch);
  a.merge(b);
  EXPECT_EQ(a.units, 7u);
  EXPECT_EQ(a.error_total(), 3u);
  EXPECT_EQ(a.errors[static_cast<std::size_t>(sockit::load::ErrorKind::mismatch)], 2u);
}
