// Micro-benchmarks of the load generator's hot pieces (the histogram records every message).
#include "tools/load/histogram.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

static void BM_HistogramRecord(benchmark::State& state) {
  sockit::load::Histogram h;
  std::mt19937_64 rng(42);
  std::vector<std::int64_t> values(4096);
  for (auto& v : values) v = static_cast<std::int64_t>(rng() % 10'000'000);
  std::size_t i = 0;
  for (auto _ : state) {
    h.record(values[i++ & 4095]);
  }
  benchmark::DoNotOptimize(h.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

static void BM_HistogramPercentile(benchmark::State& state) {
  sockit::load::Histogram h;
  for (int v = 1; v < 1'000'000; v += 7) h.record(v * 100);
  for (auto _ : state) benchmark::DoNotOptimize(h.percentile(99.9));
}
BENCHMARK(BM_HistogramPercentile);

static void BM_HistogramMerge(benchmark::State& state) {
  sockit::load::Histogram a, b;
  for (int v = 1; v < 100000; ++v) b.record(v * 100);
  for (auto _ : state) a.merge(b);
  benchmark::DoNotOptimize(a.count());
}
BENCHMARK(BM_HistogramMerge);
