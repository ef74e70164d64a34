// Micro-benchmarks of sockit::loop::Buffer: append/retrieve cycles and line splitting, the work a
// connection does for every message (built only when the loop layer exists).
#include "sockit/loop/buffer.hpp"

#include <benchmark/benchmark.h>

#include <string>

static void BM_BufferAppendRetrieve(benchmark::State& state) {
  sockit::loop::Buffer b;
  const std::string msg(static_cast<std::size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    b.append(msg);
    benchmark::DoNotOptimize(b.peek());
    b.retrieve(msg.size());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BufferAppendRetrieve)->Arg(64)->Arg(16384);

static void BM_BufferSplitLines(benchmark::State& state) {
  std::string input;
  for (int i = 0; i < 100; ++i) input += ":nick!user@host PRIVMSG #load :0 12345 67890 xxxxxxxxxxxxxxxx\r\n";
  sockit::loop::Buffer b;
  std::size_t lines = 0;
  for (auto _ : state) {
    b.append(input);
    while (const char* crlf = b.find_crlf()) {
      benchmark::DoNotOptimize(b.peek());
      b.retrieve(static_cast<std::size_t>(crlf - b.peek()) + 2);
      ++lines;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(lines));
}
BENCHMARK(BM_BufferSplitLines);
