// A private redis-server for the cluster tests: loopback TCP on a free port plus a unix socket in a
// temporary directory, no persistence (--save '' --appendonly no). Killed by PID (and the
// directory removed) by the destructor; kill() and start() again restart it on the same port.
#pragma once

#include "support/support.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sockit::test {

class RedisServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/redis-server";
  static bool available();
  /// `extra` arguments go after the defaults (e.g. {"--requirepass", "pw"}).
  explicit RedisServer(std::vector<std::string> extra = {});
  ~RedisServer();
  /// Starts it and waits (bounded) until it accepts connections; false on failure.
  bool start();
  /// SIGKILL by PID and reap.
  void kill();
  /// Sends `sig` by PID (SIGSTOP, SIGCONT; SIGTERM: use terminate()).
  void signal(int sig);
  /// SIGTERM by PID and reap (a clean shutdown: clients see their connections closed).
  void terminate();
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  std::string unix_path() const { return dir_ + "/redis.sock"; }
  std::string dir() const { return dir_; }
  /// The log file's contents (for failure messages).
  std::string log() const;
  /// Runs `redis-cli -p PORT args...` against it (bounded) and returns its output as printed,
  /// newline-terminated lines included ("" when redis-cli fails or times out).
  std::string cli(const std::vector<std::string>& args) const;
  /// Waits (bounded, 10 s) until every node of `names` has its heartbeat key `sockit:node:NAME`:
  /// connected to Redis, so its claims are answered (before that a registration gets 437).
  bool wait_nodes_up(const std::vector<std::string>& names) const;

 private:
  std::vector<std::string> extra_;
  std::string dir_;
  std::uint16_t port_ = 0;
  std::optional<Child> child_;
};

}  // namespace sockit::test

/// In a TEST body: skips (GTEST_SKIP) where Debian's redis-server is not installed.
#define SKIP_WITHOUT_REDIS()                                                                                   \
  do {                                                                                                         \
    if (!::sockit::test::RedisServer::available()) GTEST_SKIP() << ::sockit::test::RedisServer::kBinary << " missing"; \
  } while (0)
