// Internal header of sockit::loadgen: the network `sockit load irc-mix` builds (docs/LOAD.md).
// N clients over M channels whose sizes follow a Zipf law: each client joins k distinct channels,
// channel i (0-based) picked with weight 1/(i+1)^s. Everything comes from one seeded generator,
// so the same options and --seed give the same network on every machine (--print-plan shows it).
#pragma once

#include "options.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace sockit::load {

struct MixPlan {
  std::vector<std::vector<std::uint32_t>> channels_of;  ///< per client: its channels, in join order
  std::vector<std::uint32_t> sizes;                     ///< per channel: members at the start
  std::vector<double> cdf;                              ///< the Zipf law over channels, cumulative
};

/// A uniform double in [0, 1) from 53 bits of `rng` (the same on every standard library).
double unit_draw(std::mt19937_64& rng) noexcept;
/// A channel drawn from the plan's Zipf law.
std::uint32_t zipf_pick(const std::vector<double>& cdf, std::mt19937_64& rng) noexcept;
/// An exponential draw with this rate (per second), in nanoseconds: the gap of a Poisson process.
std::int64_t poisson_gap_ns(double rate_per_s, std::mt19937_64& rng) noexcept;
/// The network of `o` (irc-mix options, finalize()d).
MixPlan make_mix_plan(const Options& o);
/// What --print-plan prints: the parameters, every channel's size and a summary.
std::string mix_plan_text(const Options& o, const MixPlan& p);

}  // namespace sockit::load
