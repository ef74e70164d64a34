// Helpers of the echo suite: a `sockit echo-server` child process and many-client drivers.
#pragma once

#include "support/support.hpp"

#include "sockit/net/socket.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <sys/types.h>

namespace sockit::test {

/// One variant of the suite: a model and (for the reactor) a loop count.
struct Variant {
  std::string model;
  int threads = 0;
  std::string name() const { return threads > 0 ? model + "_x" + std::to_string(threads) : model; }
  bool iterative() const { return model == "iterative"; }
  bool reactor() const { return model == "select" || model == "poll" || model == "epoll" || model == "uring"; }
};

inline void PrintTo(const Variant& v, std::ostream* os) { *os << v.name(); }

/// `sockit echo-server` running in a child process on 127.0.0.1 port 0.
class EchoServer {
 public:
  /// Starts the server and reads its banner. `prefix` runs before the binary (prlimit, sh -c).
  explicit EchoServer(const Variant& v, std::vector<std::string> extra = {}, std::vector<std::string> prefix = {});
  ~EchoServer();

  bool ok() const { return port_ != 0; }
  std::uint16_t port() const { return port_; }
  std::uint16_t udp_port() const { return udp_port_; }
  pid_t pid() const { return child_->pid(); }
  /// Everything the server printed on stderr so far (reads what is pending, waiting up to `wait`).
  const std::string& err(std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  /// Reads stderr until `needle` has been printed (true) or the timeout passes (false).
  bool wait_err(const std::string& needle, std::chrono::milliseconds timeout);
  /// Child processes of the server now (the fork model's connection handlers).
  int child_count() const;
  /// Descriptors the server process has open now.
  int fd_count() const;
  /// Waits until the server is back to its idle descriptors: as many as when it came up, or fewer
  /// and every one of them ("fd->target") already open then. CI saw the idle set taken while a
  /// sanitizer held a pipe of its own for a moment (idle 8,9->pipe), so a later count was two
  /// short of it with nothing leaked; a leaked socket has a target the idle set never had.
  bool wait_back_to_idle(std::chrono::milliseconds timeout) const;
  /// User+system CPU time of the server process.
  std::chrono::milliseconds cpu_time() const;
  /// Resident set size in KiB.
  long rss_kib() const;
  void signal(int sig) { child_->signal(sig); }
  /// SIGTERM, wait for exit; returns the exit status (nullopt on timeout).
  std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  std::optional<int> wait(std::chrono::milliseconds timeout) { return child_->wait(timeout); }
  /// key=value pairs of the last "counters:" line.
  std::map<std::string, std::uint64_t> counters();
  /// SIGUSR1, then the pairs of the counters line it prints (empty if none comes within `timeout`).
  std::map<std::string, std::uint64_t> counters_now(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  int baseline_fds() const { return baseline_fds_; }
  /// The server's descriptors now, "fd->target" each, and as they were when it came up.
  std::string fd_list() const;
  const std::string& baseline_fd_list() const { return baseline_fd_list_; }

 private:
  std::optional<Child> child_;
  std::string err_;
  std::uint16_t port_ = 0;
  std::uint16_t udp_port_ = 0;
  int baseline_fds_ = -1;
  std::string baseline_fd_list_;
};

struct ClientResult {
  std::size_t ok = 0;         ///< clients that got exactly their bytes back and then EOF
  std::size_t mismatched = 0;
  std::size_t failed = 0;     ///< connect or I/O errors
  std::string first_error;
};

/// Runs `n` clients at once from one thread (non-blocking sockets + poll): each connects, writes
/// its payload (distinct per client) while reading, half-closes, and reads until EOF.
ClientResult run_echo_clients(std::uint16_t port, std::size_t n, std::size_t bytes_each,
                              std::chrono::milliseconds timeout);

/// Deterministic pseudo-random bytes.
std::string pattern(std::size_t n, std::uint32_t seed);

/// Reads until EOF; nullopt on an error or when `deadline` passes first.
std::optional<std::string> read_to_eof(TcpStream& c, Deadline deadline);

/// Connects, sends, half-closes, reads to EOF (blocking with deadline). nullopt on error.
std::optional<std::string> echo_once(std::uint16_t port, const std::string& data,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace sockit::test
