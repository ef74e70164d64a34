// Public header. Accepting connections without spinning or dying when descriptors run out.
//
// AcceptCore is the accept step shared by the reactor's Acceptor and the blocking models'
// accept loops. On EMFILE/ENFILE it uses the spare-descriptor trick (libev's "the special problem
// of accept()ing when you can't", muduo's Acceptor): close the spare, accept the pending
// connection, close it at once (the client sees EOF instead of hanging in the backlog), reopen
// the spare. It stops at EAGAIN (libuv's test-emfile lesson: Linux reports EMFILE before EAGAIN,
// and a loop that only stops on EMFILE never ends). If the spare cannot be reopened, it reports
// `paused` so the caller stops accepting for a short while (nginx: 500 ms; here 100 ms).
// Errors are reported through a callback at most once a second.
//
// Acceptor is the loop-driven form: it owns the listening socket, watches it on an EventLoop and
// accepts at most `batch` connections per readiness event (Redis: 10 per cycle; here 16). On a
// loop with the uring backend it accepts through one multishot IORING_OP_ACCEPT instead (kernel
// 5.19+, not with SOCKIT_URING_ACCEPT=0): each accepted descriptor goes to the same callback; an
// error (EMFILE...) ends the multishot accept and is handled by the readiness accept step above,
// after which the multishot accept is armed again.
#pragma once

#include "sockit/loop/event_loop.hpp"
#include "sockit/net/address.hpp"
#include "sockit/net/fd.hpp"
#include "sockit/net/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

namespace sockit::loop {

namespace detail {
class AcceptRing;
struct AcceptorAccess;  // src/loop/detail.hpp: the io_uring accept counter, for tests
}

class AcceptCore {
 public:
  /// Called with a rate-limited (1/s) description of accept trouble.
  using ErrorLog = std::function<void(const Error&)>;

  enum class Status { accepted, again, shed, paused, error };
  struct Outcome {
    Status status = Status::again;
    Fd fd;           ///< set when accepted (non-blocking, close-on-exec)
    Address peer;    ///< set when accepted
    std::error_code error;
  };

  /// `listen_fd` is not owned. Opens the spare descriptor (/dev/null).
  explicit AcceptCore(int listen_fd, ErrorLog log = {});
  AcceptCore(const AcceptCore&) = delete;
  AcceptCore& operator=(const AcceptCore&) = delete;

  /// One accept4(). `shed` = a connection was accepted and closed for lack of descriptors;
  /// `paused` = out of descriptors and no spare: stop accepting for a while.
  Outcome accept_one();

  std::uint64_t accepted() const noexcept { return accepted_; }
  /// Connections closed at once because the process was out of descriptors.
  std::uint64_t shed() const noexcept { return shed_; }
  std::uint64_t errors() const noexcept { return errors_; }
  bool has_spare() const noexcept { return spare_.valid(); }
  /// Logs through the rate limiter (at most one line a second; the count of suppressed ones is
  /// added to the next line).
  void log(const Error& e);

 private:
  friend class Acceptor;  // counts the connections its io_uring accept brings
  void reopen_spare() noexcept;

  int listen_fd_;
  Fd spare_;
  ErrorLog log_;
  std::chrono::steady_clock::time_point last_log_{};
  std::uint64_t suppressed_ = 0;
  std::uint64_t accepted_ = 0;
  std::uint64_t shed_ = 0;
  std::uint64_t errors_ = 0;
};

struct AcceptorOptions {
  int batch = 16;                          ///< accepts per readiness event
  std::chrono::milliseconds pause{100};    ///< accept pause when out of descriptors
};

class Acceptor {
 public:
  /// Takes each accepted connection; the descriptor is non-blocking.
  using NewConnection = std::function<void(Fd fd, const Address& peer)>;
  using Options = AcceptorOptions;

  /// `listen_fd` is owned. Starts watching at once (loop thread or before run()).
  static Result<std::unique_ptr<Acceptor>> create(EventLoop& loop, Fd listen_fd, NewConnection on_new,
                                                  AcceptCore::ErrorLog log = {}, Options opts = {});
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  /// Stops accepting and closes the listening socket (new connects are refused). Loop thread.
  void close();
  bool is_open() const noexcept { return fd_.valid(); }
  int fd() const noexcept { return fd_.get(); }
  const AcceptCore& core() const noexcept { return core_; }
  AcceptCore& core() noexcept { return core_; }
  /// True while accepting through io_uring (uring backend, kernel 5.19+, SOCKIT_URING_ACCEPT!=0).
  bool accepts_on_ring() const noexcept { return ring_slot_ >= 0; }

 private:
  friend struct detail::AcceptorAccess;
  Acceptor(EventLoop& loop, Fd fd, NewConnection on_new, AcceptCore::ErrorLog log, Options opts);
  Result<void> watch();
  void on_readable();
  void on_ring(int res, bool more);
  void pause();
  void rearm_ring();

  EventLoop* loop_;
  Fd fd_;
  AcceptCore core_;
  NewConnection on_new_;
  Options opts_;
  TimerId resume_timer_ = 0;
  detail::AcceptRing* ring_ = nullptr;
  int ring_slot_ = -1;  // the ring's accept slot, -1 on readiness
  std::uint64_t ring_accepts_ = 0;
  bool ring_short_ = false;  // the ring's last accept failed for lack of descriptors
};

}  // namespace sockit::loop
