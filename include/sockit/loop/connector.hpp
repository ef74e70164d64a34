// Public header. Connector: a non-blocking connect on an EventLoop with a per-attempt timeout,
// an overall deadline and retries with exponential backoff (muduo's Connector, with <chrono>).
//
//   auto c = Connector::start(loop, addr, {.max_attempts = 5}, [](Result<Fd> r) { ... });
//
// The callback runs once, in the loop thread: with the connected, non-blocking descriptor, or with
// the last error (std::errc::timed_out when the deadline or the last attempt timed out).
// cancel() (or destroying the Connector) guarantees the callback will not run afterwards.
// Thread affinity: loop thread.
#pragma once

#include "sockit/loop/event_loop.hpp"
#include "sockit/net/address.hpp"
#include "sockit/net/deadline.hpp"
#include "sockit/net/fd.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace sockit::loop {

struct ConnectorOptions {
  std::chrono::milliseconds attempt_timeout{3000};   ///< one connect() attempt
  Deadline deadline = Deadline::never();             ///< all attempts together
  int max_attempts = 1;                              ///< 0 = until the deadline
  std::chrono::milliseconds initial_backoff{100};    ///< doubled after each failure
  std::chrono::milliseconds max_backoff{5000};
  /// Bind each attempt's socket to this local address (and port; port 0: any) before connecting
  /// (nc -s/-p). A source of another family than the target fails with errc::invalid_address;
  /// a failed bind() with its errno ("bind ADDRESS: ..."), like any failed attempt.
  std::optional<Address> source;
};

class Connector : public std::enable_shared_from_this<Connector> {
 public:
  using Callback = std::function<void(Result<Fd>)>;

  static std::shared_ptr<Connector> start(EventLoop& loop, const Address& to, ConnectorOptions opts, Callback cb);
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  void cancel();
  int attempts() const noexcept { return attempts_; }

  /// Use start(); public only for make_shared.
  Connector(EventLoop& loop, const Address& to, ConnectorOptions opts, Callback cb);

 private:
  void attempt();
  void on_writable();
  void fail(Error e);
  void cleanup_attempt();

  EventLoop* loop_;
  Address to_;
  ConnectorOptions opts_;
  Callback cb_;
  Fd fd_;
  TimerId timer_ = 0;
  int attempts_ = 0;
  std::chrono::milliseconds backoff_;
  bool done_ = false;
};

}  // namespace sockit::loop
