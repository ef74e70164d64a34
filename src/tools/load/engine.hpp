// Internal header of sockit::loadgen: runs one load test.
//
// Each worker thread owns an epoll instance and a slice of the connections (connection i goes to
// worker i % threads); nothing is shared between workers on the hot path except, in irc mode, the
// per-sender in-flight counters. The calling thread samples the server (/proc) at the start and
// end of the measured interval, prints the progress line, and merges the workers' Stats.
#pragma once

#include "options.hpp"
#include "stats.hpp"

#include "sockit/net/result.hpp"

#include <functional>
#include <optional>
#include <string>

namespace sockit::load {

struct RunResult {
  Stats stats;
  double measured_s = 0;        ///< length of the measured interval
  double client_cpu_s = 0;      ///< this process's CPU time over the measured interval
  std::optional<ServerSample> server_begin, server_end;
  // hold mode: the server before any connection, once all are up, and at the end of the hold.
  std::optional<ServerSample> hold_before, hold_up;
  std::string note;             ///< a warning worth printing (e.g. registration did not complete)
};

/// Runs the test described by `o` (already finalize()d). Fails only on setup errors (descriptor
/// limit, bad server pid, no epoll); network errors during the run are counted in the result.
/// `progress` is called about once a second with a one-line status (may be empty).
Result<RunResult> run(const Options& o, const std::function<void(const std::string&)>& progress = {});

}  // namespace sockit::load
