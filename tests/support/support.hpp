// Test support: descriptor-leak checks, child processes, environment probes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <sys/types.h>

namespace sockit::test {

/// Polls `pred` every `step` until it holds or `timeout` passes; returns its last value. The one
/// way integration tests wait for something they cannot block on (a file, /proc, another thread).
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(5));

/// A directory of its own (mkdtemp under the temp directory, named PREFIX-XXXXXX), removed with
/// everything in it at the end: ctest -j runs tests and their faults.* twins side by side.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "sockit-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

/// [accounts] keys of a cheap argon2id cost (m=64 KiB, t=1, allowed by weak_hash_for_tests) for
/// the tests that create and check accounts: at the default cost (19 MiB, t=2) each hash takes
/// about 0.3 s of a core under ASan, seconds on a loaded machine. One test of each account suite
/// keeps the default cost.
inline constexpr const char* kCheapHashCost = "hash_memory_kib = 64\nhash_iterations = 1\nweak_hash_for_tests = true\n";

/// The descriptors open in this process now (from /proc/self/fd).
std::set<int> open_fds();

/// Records the open descriptors at construction; expect_no_leak() (called by the destructor too)
/// fails the current test if any new descriptor is still open. Mirrors libuv's MAKE_VALGRIND_HAPPY.
class FdLeakCheck {
 public:
  FdLeakCheck();
  ~FdLeakCheck();
  void expect_no_leak();
  FdLeakCheck(const FdLeakCheck&) = delete;
  FdLeakCheck& operator=(const FdLeakCheck&) = delete;

 private:
  std::set<int> before_;
  bool checked_ = false;
};

/// True when ::1 can be bound here (some containers have no IPv6 loopback).
bool have_ipv6_loopback();

/// A child process with pipes on stdin, stdout and stderr. Killed (SIGKILL) and reaped by the
/// destructor if still running; only this PID is ever signalled.
class Child {
 public:
  /// Starts argv[0] (searched in PATH) with extra environment entries "K=V".
  static Child spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
  Child(Child&&) noexcept;
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  /// The read end of the child's stderr pipe (for a caller that drains it itself), or -1.
  int stderr_fd() const { return err_; }
  /// Writes all of `data` to the child's stdin.
  bool write_stdin(const std::string& data);
  void close_stdin();
  /// Waits for exit up to `timeout`; returns the exit status (128+signal when killed) or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// Reads stdout/stderr until EOF or `timeout` (call after close_stdin or with a timeout).
  std::string read_stdout(std::chrono::milliseconds timeout);
  std::string read_stderr(std::chrono::milliseconds timeout);
  /// Reads stderr until `needle` appears or the timeout passes; returns what was read.
  std::string read_stderr_until(const std::string& needle, std::chrono::milliseconds timeout);
  std::string read_stdout_until(const std::string& needle, std::chrono::milliseconds timeout);
  void signal(int sig);
  /// Exit status once known (after wait()).
  std::optional<int> status() const { return status_; }

 private:
  Child() = default;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::optional<int> status_;
};

/// Everything `cmd` prints and its exit status, run through /bin/sh -c with a timeout.
struct RunResult {
  int status = -1;
  std::string out, err;
};
RunResult run(const std::vector<std::string>& argv, const std::string& stdin_data = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Datagram `seq` of client `client`: a 12-byte header (client, seq, size) then bytes that depend
/// on all three, so a reply that belongs to another datagram or another client cannot match.
std::vector<std::byte> datagram_payload(std::uint32_t client, std::uint32_t seq, std::size_t size);

/// Path of the sockit binary under test.
std::string sockit_bin();

}  // namespace sockit::test
