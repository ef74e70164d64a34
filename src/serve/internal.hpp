// Internal header of sockit::serve: what the model drivers share.
#pragma once

#include "sockit/loop/connection.hpp"
#include "sockit/serve/server.hpp"
#include "sockit/net/fd.hpp"
#include "tuning.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace sockit::serve {

/// Counters in a MAP_SHARED page, so fork children update the parent's numbers.
struct SharedStats {
  std::atomic<std::uint64_t> accepted{0}, active{0}, closed{0}, rejected{0}, shed{0}, bytes_in{0}, bytes_out{0},
      timeouts{0}, overflows{0}, resets{0}, errors{0};
  /// Drain deadline of a graceful stop, steady_clock nanoseconds since epoch (0 = none).
  std::atomic<std::int64_t> drain_deadline_ns{0};

  static SharedStats* create();
  static void destroy(SharedStats* s) noexcept;
  ServerStats snapshot() const;
  void count_close(CloseReason r) noexcept;
};

/// At most one line per kind per second; suppressed lines are counted into the next one.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::function<void(std::string_view)> sink) : sink_(std::move(sink)) {}
  void log(const std::string& kind, const std::string& line);
  bool enabled() const noexcept { return static_cast<bool>(sink_); }

 private:
  std::function<void(std::string_view)> sink_;
  std::mutex mu_;
  struct Kind {
    std::chrono::steady_clock::time_point last{};
    std::uint64_t suppressed = 0;
  };
  std::map<std::string, Kind> kinds_;
};

class Server::Impl {
 public:
  Impl(ServerOptions opts, SessionFactory factory);
  virtual ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  /// Binds the listeners (non-blocking, close-on-exec).
  Result<void> bind_all();
  /// Takes over one listening socket of ServerOptions::listen_fds (checked, non-blocking, cloexec).
  Result<void> adopt(Fd fd);

  /// Model-specific setup after binding (event loops, acceptors).
  virtual Result<void> prepare() { return {}; }
  virtual Result<void> start() = 0;
  virtual void stop(std::chrono::nanoseconds drain) = 0;
  virtual void stop_now() = 0;
  virtual void wait() = 0;
  /// Server::run. The default: start(), then sigtimedwait for opts_.signals in the calling
  /// thread until finished.
  virtual Result<void> run();
  virtual bool finished() const = 0;
  virtual std::string_view backend_name() const = 0;
  /// Adds counters the model keeps elsewhere (the reactor counts bytes per event loop).
  virtual void add_counters(ServerStats& /*st*/) const {}
  /// Server::event_loop (reactors).
  virtual loop::EventLoop* loop_at(int /*index*/) const { return nullptr; }
  /// detail::bytes_spliced (reactors).
  virtual std::uint64_t bytes_spliced() const { return 0; }

  /// True when one more connection would pass max_conns (then counts it as rejected).
  bool over_limit();
  /// Best-effort reject message, then close.
  void reject(Fd fd, const Address& peer, const std::string& why);
  /// The reject message (if any) without waiting, then a half-close; the caller closes `fd`.
  void send_reject_message(int fd);

  ServerOptions opts_;
  detail::Tuning tuning_;  // set by create_server before prepare()
  SessionFactory factory_;
  std::vector<Fd> listeners_;
  std::vector<Address> locals_;
  SharedStats* stats_;
  RateLimitedLog log_;
  std::size_t max_conns_ = 0;
  int threads_ = 1;
  std::atomic<std::uint64_t> next_id_{1};
};

/// How create_server and bytes_spliced reach a Server's private parts (tuning.hpp).
struct detail::ServerAccess {
  static std::unique_ptr<Server> wrap(std::unique_ptr<Server::Impl> impl) {
    return std::unique_ptr<Server>(new Server(std::move(impl)));
  }
  static const Server::Impl& impl(const Server& s) noexcept { return *s.impl_; }
};

std::unique_ptr<Server::Impl> make_reactor_impl(ServerOptions opts, SessionFactory factory);
std::unique_ptr<Server::Impl> make_blocking_impl(ServerOptions opts, SessionFactory factory);

/// ServerOptions::memory_trim_interval's check: when the resident set exceeds what malloc has
/// handed out by more than max(16 MiB, a quarter of it), malloc_trim(0). True when it trimmed.
/// Under a sanitizer's allocator (malloc's figures are zero) it never trims.
bool trim_unused_memory() noexcept;

/// Enables TCP_NODELAY on IP stream sockets (no-op for Unix sockets).
void set_nodelay(int fd) noexcept;
/// A loop CloseReason in the serve enum (same values).
inline CloseReason to_serve(loop::CloseReason r) noexcept { return static_cast<CloseReason>(r); }

}  // namespace sockit::serve
