// The irc-mix network (irc_mix.hpp): Zipf-sized channels drawn from one seeded generator.
#include "irc_mix.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sockit::load {

double unit_draw(std::mt19937_64& rng) noexcept { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

std::uint32_t zipf_pick(const std::vector<double>& cdf, std::mt19937_64& rng) noexcept {
  const double u = unit_draw(rng) * cdf.back();
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
  return static_cast<std::uint32_t>(std::min<std::size_t>(static_cast<std::size_t>(it - cdf.begin()), cdf.size() - 1));
}

std::int64_t poisson_gap_ns(double rate_per_s, std::mt19937_64& rng) noexcept {
  if (rate_per_s <= 0) return INT64_MAX / 4;
  return static_cast<std::int64_t>(-std::log1p(-unit_draw(rng)) / rate_per_s * 1e9) + 1;
}

MixPlan make_mix_plan(const Options& o) {
  MixPlan p;
  const std::uint32_t m = o.mix_channels, k = std::min(o.mix_per_client, o.mix_channels);
  p.cdf.resize(m);
  double sum = 0;
  for (std::uint32_t i = 0; i < m; ++i) p.cdf[i] = sum += 1.0 / std::pow(static_cast<double>(i) + 1.0, o.mix_zipf);
  p.sizes.assign(m, 0);
  p.channels_of.resize(o.connections);
  std::mt19937_64 rng(o.seed);
  std::vector<char> taken(m, 0);
  for (auto& mine : p.channels_of) {
    // k distinct channels: redraw a taken one (bounded), then the first free one from the top.
    for (std::uint32_t j = 0; j < k; ++j) {
      std::uint32_t c = zipf_pick(p.cdf, rng);
      for (int tries = 0; taken[c] && tries < 64; ++tries) c = zipf_pick(p.cdf, rng);
      if (taken[c]) c = static_cast<std::uint32_t>(std::find(taken.begin(), taken.end(), 0) - taken.begin());
      taken[c] = 1;
      mine.push_back(c);
      ++p.sizes[c];
    }
    for (const auto c : mine) taken[c] = 0;
  }
  return p;
}

std::string mix_plan_text(const Options& o, const MixPlan& p) {
  std::string t = fmt::format(
      "irc-mix plan: seed {}, {} clients, {} channels, {} per client, zipf {:g}; rate {:g} msgs/s "
      "(private {:g}), churn {:g}/s, nick {:g}/s, away {:g}/s, warmup {:g}s, duration {:g}s, ramp {}\n",
      o.seed, o.connections, o.mix_channels, o.mix_per_client, o.mix_zipf, o.rate, o.mix_private, o.mix_churn,
      o.mix_nick, o.mix_away, static_cast<double>(o.warmup.count()) / 1e9, static_cast<double>(o.duration.count()) / 1e9,
      o.mix_ramp);
  std::vector<std::uint32_t> sorted = p.sizes;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const std::uint64_t members = std::accumulate(sorted.begin(), sorted.end(), std::uint64_t{0});
  // A channel message goes to one of the sender's channels, each alike: its expected fan-out.
  double fanout = 0;
  for (const auto& mine : p.channels_of)
    for (const auto c : mine) fanout += static_cast<double>(p.sizes[c] - 1) / static_cast<double>(mine.size());
  fanout /= static_cast<double>(std::max<std::size_t>(p.channels_of.size(), 1));
  const auto empty = static_cast<std::size_t>(std::count(sorted.begin(), sorted.end(), 0u));
  t += fmt::format("members {}, largest channel {}, median {}, empty {}, channel-message fan-out {:.1f}\n", members,
                   sorted.empty() ? 0 : sorted.front(), sorted.empty() ? 0 : sorted[sorted.size() / 2], empty, fanout);
  t += "sizes:";
  for (const auto s : p.sizes) t += fmt::format(" {}", s);
  t += "\n";
  return t;
}

}  // namespace sockit::load
