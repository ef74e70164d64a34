// Public header. Deadline: an absolute point on the steady clock by which a blocking call must
// finish (it then fails with std::errc::timed_out). Absolute, so a call made of several system
// calls (connect to each address, read_exact) shares one budget instead of restarting a timeout.
#pragma once

#include <chrono>
#include <optional>

namespace sockit {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Duration = Clock::duration;

  /// A deadline that never passes (blocking calls wait forever).
  static constexpr Deadline never() noexcept { return Deadline(); }
  /// A deadline `d` from now; a negative or zero `d` is already expired.
  static Deadline after(Duration d) noexcept { return Deadline(Clock::now() + d); }
  template <class Rep, class Period>
  static Deadline after(std::chrono::duration<Rep, Period> d) noexcept {
    return after(std::chrono::duration_cast<Duration>(d));
  }
  static constexpr Deadline at(TimePoint t) noexcept { return Deadline(t); }
  /// `after(d)` when d is set, otherwise never(): handy for optional flags like `-w`.
  static Deadline after_or_never(std::optional<Duration> d) noexcept { return d ? after(*d) : never(); }

  bool is_never() const noexcept { return !when_.has_value(); }
  bool expired(TimePoint now = Clock::now()) const noexcept { return when_ && now >= *when_; }
  /// Time left (zero once expired); Duration::max() for never().
  Duration remaining(TimePoint now = Clock::now()) const noexcept;
  /// Milliseconds for poll()/epoll_wait(): -1 for never, otherwise remaining time rounded *up*, so
  /// a wait never returns before the deadline and never spins with a 0 ms timeout (Redis ae_epoll.c).
  int poll_timeout_ms(TimePoint now = Clock::now()) const noexcept;
  std::optional<TimePoint> time_point() const noexcept { return when_; }
  /// The earlier of two deadlines.
  static Deadline earliest(Deadline a, Deadline b) noexcept;

  friend bool operator==(const Deadline&, const Deadline&) = default;

 private:
  constexpr Deadline() = default;
  constexpr explicit Deadline(TimePoint t) : when_(t) {}
  std::optional<TimePoint> when_;
};

}  // namespace sockit
