// Helpers of the load tests (load_test.cpp, tls_test.cpp): options parsed as `sockit load`
// parses its command line, and one error count of a result.
#pragma once

#include "tools/load/engine.hpp"
#include "tools/load/options.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace sockit::load::test {

/// `sockit load MODE TARGET EXTRA...`, parsed and finalized (a failure is a test failure);
/// no progress line.
inline Options make(Mode mode, const std::string& target, std::vector<std::string> extra = {}) {
  Options o;
  o.mode_text = std::string(to_string(mode));
  o.target_text = target;
  CLI::App app;
  add_cli(app, o);
  std::vector<std::string> args{o.mode_text, target};
  args.insert(args.end(), extra.begin(), extra.end());
  std::reverse(args.begin(), args.end());
  app.parse(args);
  auto r = finalize(o);
  EXPECT_TRUE(r.ok()) << (r ? "" : r.error().context());
  o.progress = false;
  return o;
}

inline std::uint64_t err(const RunResult& r, ErrorKind k) { return r.stats.errors[static_cast<std::size_t>(k)]; }

}  // namespace sockit::load::test
