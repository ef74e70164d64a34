// Internal header of the sockit executable: the exit statuses the tools share, and the usage error
// a runner throws. Apart from command.hpp so that sources which only return a status do not
// include CLI11 (header-only, 15-30 s of compile time per translation unit under ASan).
#pragma once

#include <stdexcept>

namespace sockit::cli {

/// Exit statuses shared by the tools (see docs/EXIT-CODES in README).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // network failure, nothing found, ...
inline constexpr int kExitUsage = 2;    // bad flags or arguments

/// Thrown by a runner to report a usage error found after parsing (exit 2, message to stderr).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace sockit::cli
