// Helpers of the load tests (load_test.cpp, tls_test.cpp): options parsed as `sockit load`
// parses its command line, and one error count of a result.
#pragma once

#include "tools/load/engine.hpp"
#include "tools/load/options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sockit::load::test {

/// `sockit load MODE TARGET EXTRA...`, parsed and finalized (a failure is a test failure);
/// no progress line. In make_options.cpp: the one load-test source that includes CLI11.
Options make(Mode mode, const std::string& target, std::vector<std::string> extra = {});

inline std::uint64_t err(const RunResult& r, ErrorKind k) { return r.stats.errors[static_cast<std::size_t>(k)]; }

}  // namespace sockit::load::test
