// The /metrics HTTP endpoint (http.hpp) on an event loop: a listener and its connections, all in
// the loop's thread, so the page is rendered where the server's own state lives (the chat
// server's IRC state needs no lock, and a scrape is one more event of the loop, like a client's
// line). ThreadedEndpoint is the fallback for servers without an event loop (the blocking models
// of echo-server, UDP only): its own loop on its own thread; the page must then be thread-safe.
#pragma once

#include "sockit/loop/acceptor.hpp"
#include "sockit/loop/connection.hpp"
#include "sockit/loop/event_loop.hpp"
#include "sockit/net/address.hpp"
#include "sockit/net/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sockit::metrics {

struct EndpointOptions {
  std::size_t max_connections = 16;  ///< scrapers at once; more are closed at once
  std::chrono::nanoseconds idle_timeout{std::chrono::seconds(30)};
  std::function<void(std::string_view)> log;  ///< accept trouble, one line each
};

class HttpConnection;

class Endpoint {
 public:
  using Page = std::function<std::string()>;
  /// Binds `addr` and serves GET /metrics with `page()` on `loop`. Call in the loop thread or
  /// before the loop runs; destroy it in the loop thread or once the loop has stopped.
  static Result<std::unique_ptr<Endpoint>> create(loop::EventLoop& loop, const Address& addr, Page page,
                                                  EndpointOptions opts = {});
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  const Address& local_address() const noexcept { return local_; }
  /// Pages served (loop thread).
  std::uint64_t scrapes() const noexcept { return scrapes_; }
  /// Bytes read from scrapers and written to them (loop thread). The loop counts them with the
  /// server's own (EventLoop::bytes_in/out): a server on the same loop subtracts them.
  std::uint64_t bytes_in() const noexcept { return bytes_in_; }
  std::uint64_t bytes_out() const noexcept;

 private:
  friend class HttpConnection;
  Endpoint(loop::EventLoop& loop, Address local, Page page, EndpointOptions opts);
  void on_accept(Fd fd, const Address& peer);
  void forget(HttpConnection* c);

  loop::EventLoop& loop_;
  Address local_;
  Page page_;
  EndpointOptions opts_;
  loop::ConnectionOptions conn_opts_;
  std::unique_ptr<loop::Acceptor> acceptor_;
  std::vector<std::shared_ptr<HttpConnection>> conns_;
  std::uint64_t scrapes_ = 0;
  std::uint64_t bytes_in_ = 0, bytes_sent_ = 0;  // sent: queued or written
};

class ThreadedEndpoint {
 public:
  /// Binds `addr` and serves from a thread of its own, which calls `page()`.
  static Result<std::unique_ptr<ThreadedEndpoint>> create(const Address& addr, Endpoint::Page page,
                                                          EndpointOptions opts = {});
  /// Stops the thread.
  ~ThreadedEndpoint();
  ThreadedEndpoint(const ThreadedEndpoint&) = delete;
  ThreadedEndpoint& operator=(const ThreadedEndpoint&) = delete;
  const Address& local_address() const noexcept { return local_; }

 private:
  ThreadedEndpoint() = default;
  std::unique_ptr<loop::EventLoop> loop_;
  std::unique_ptr<Endpoint> endpoint_;
  Address local_;
  std::thread thread_;
};

}  // namespace sockit::metrics
