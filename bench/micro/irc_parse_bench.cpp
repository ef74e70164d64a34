// Micro-benchmarks of the IRC message parser and serializer (built only when the irc layer exists).
#include "sockit/irc/message.hpp"

#include <benchmark/benchmark.h>

#include <string_view>

static void BM_IrcParsePrivmsg(benchmark::State& state) {
  constexpr std::string_view line = ":nick!user@host PRIVMSG #load :0 12345 6789012345 xxxxxxxxxxxxxxxxxxxxxxxx";
  for (auto _ : state) {
    auto r = sockit::irc::parse(line);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IrcParsePrivmsg);

static void BM_IrcParseTagged(benchmark::State& state) {
  constexpr std::string_view line =
      "@time=2026-11-25T12:00:00.000Z;msgid=abc\\sdef :nick!user@host PRIVMSG #load :hello world";
  for (auto _ : state) {
    auto r = sockit::irc::parse(line);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IrcParseTagged);

static void BM_IrcSerialize(benchmark::State& state) {
  auto m = sockit::irc::parse(":nick!user@host PRIVMSG #load :0 12345 6789012345 xxxxxxxx");
  for (auto _ : state) {
    auto s = sockit::irc::serialize(*m.message);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IrcSerialize);
