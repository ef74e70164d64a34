// Shared helpers of the fault suite: in-process echo servers (UDP and TCP, on sockit::net) and a
// `sockit proxy` child process with its listen and control addresses read from its stderr.
#pragma once

#include "sockit/net/socket.hpp"
#include "sockit/net/udp.hpp"
#include "support/support.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sockit::test::faults {

/// A UDP echo server on 127.0.0.1:0, one thread. Stops and joins on destruction.
class UdpEcho {
 public:
  UdpEcho();
  ~UdpEcho();
  UdpEcho(const UdpEcho&) = delete;
  UdpEcho& operator=(const UdpEcho&) = delete;
  Address address() const { return addr_; }

 private:
  UdpSocket sock_;
  Address addr_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// A TCP echo server on 127.0.0.1:0: a thread per connection echoes until EOF, then half-closes.
class TcpEcho {
 public:
  TcpEcho();
  ~TcpEcho();
  TcpEcho(const TcpEcho&) = delete;
  TcpEcho& operator=(const TcpEcho&) = delete;
  Address address() const { return addr_; }

 private:
  TcpListener listener_;
  Address addr_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> conns_;
};

/// `sockit proxy ARGS...` started as a child process (with --control on 127.0.0.1:0 added).
class ProxyProcess {
 public:
  static std::unique_ptr<ProxyProcess> start(const std::vector<std::string>& args,
                                             const std::vector<std::string>& env = {});
  Address listen() const { return listen_; }
  Address control() const { return control_; }
  /// Sends one control line, returns the reply line (without newline), "" on failure.
  std::string command(const std::string& line);
  /// SIGTERM, waits for exit 0, returns the final "stopped: ..." counters line.
  std::string stop();
  /// Parses "name=value" out of a counters line.
  static long long counter(const std::string& line, const std::string& name);

 private:
  explicit ProxyProcess(Child c) : child_(std::move(c)) {}
  Child child_;
  Address listen_, control_;
  bool stopped_ = false;
};

/// Runs `sockit ping ARGS... --json` and returns the parsed JSON text plus exit status.
struct PingRun {
  int status = -1;
  std::string json, err;
};
PingRun run_ping(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace sockit::test::faults
