#include "sockit/net/deadline.hpp"

#include <climits>

namespace sockit {

Deadline::Duration Deadline::remaining(TimePoint now) const noexcept {
  if (!when_) return Duration::max();
  return *when_ > now ? *when_ - now : Duration::zero();
}

int Deadline::poll_timeout_ms(TimePoint now) const noexcept {
  if (!when_) return -1;
  if (*when_ <= now) return 0;
  auto left = *when_ - now;
  // Round up so the wait never ends before the deadline (and never becomes a 0 ms spin).
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

Deadline Deadline::earliest(Deadline a, Deadline b) noexcept {
  if (a.is_never()) return b;
  if (b.is_never()) return a;
  return *a.when_ <= *b.when_ ? a : b;
}

}  // namespace sockit
