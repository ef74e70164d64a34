// Public header. Poller: the backend seam of the event loop. One small class per backend
// (select, poll, epoll, uring), chosen at run time (`--backend`), in the style of Redis's aeApi* and
// muduo's Poller. A Poller knows nothing of connections or timers: it maps descriptors to an
// interest mask and reports which are ready.
//
// All backends are level-triggered: a descriptor stays ready until it is read or written.
// Thread affinity: a Poller is used by one thread (its EventLoop's) only.
#pragma once

#include "sockit/net/result.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace sockit::loop {

enum class Backend { select, poll, epoll, uring };
inline constexpr Backend kDefaultBackend = Backend::epoll;

/// "select", "poll", "epoll", "uring".
std::string_view to_string(Backend b) noexcept;
/// Parses a backend name; errc::invalid_argument with the valid names in the message otherwise.
Result<Backend> parse_backend(std::string_view name);
/// Every backend, in the order select, poll, epoll, uring.
std::span<const Backend> all_backends() noexcept;

/// Interest mask of one descriptor. `edge` asks for edge-triggered reports where the backend has
/// them (epoll's EPOLLET: a report per new arrival or freed space, not per poll while the condition
/// holds); select and poll ignore it and stay level-triggered (Poller::supports_edge).
enum class Interest : unsigned { none = 0, read = 1, write = 2, read_write = 3, edge = 4 };
constexpr Interest operator|(Interest a, Interest b) noexcept {
  return static_cast<Interest>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr Interest operator&(Interest a, Interest b) noexcept {
  return static_cast<Interest>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
constexpr Interest operator~(Interest a) noexcept {
  return static_cast<Interest>(~static_cast<unsigned>(a) & 7u);
}
constexpr bool has(Interest set, Interest bit) noexcept { return (set & bit) != Interest::none; }

/// One ready descriptor. As in Redis's ae_epoll.c, an error or hang-up is also reported as
/// readable and/or writable (for the directions of interest), so a handler meets the condition on
/// its next read or write and needs no third callback; `hangup` and `error` carry the raw bits.
struct Ready {
  int fd = -1;
  bool readable = false;
  bool writable = false;
  bool hangup = false;
  bool error = false;
  /// The peer's FIN is queued behind any data (epoll's EPOLLRDHUP; select/poll never set it). An
  /// edge-triggered reader that sees it must read to end of stream even after a short read.
  bool peer_closed = false;
};

class Poller {
 public:
  virtual ~Poller() = default;
  Poller() = default;
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  /// "select" | "poll" | "epoll".
  virtual std::string_view name() const noexcept = 0;
  /// True when Interest::edge is honoured (epoll).
  virtual bool supports_edge() const noexcept { return false; }
  /// Starts watching `fd` (not owned). select: errc::fd_over_setsize when fd >= FD_SETSIZE.
  virtual Result<void> add(int fd, Interest interest) = 0;
  /// Changes the interest of a watched descriptor. Interest::none keeps it registered but silent
  /// (even a hang-up is not reported until interest is set again).
  virtual Result<void> modify(int fd, Interest interest) = 0;
  /// Stops watching `fd`; a no-op for descriptors not watched. Call before closing the fd.
  virtual void remove(int fd) noexcept = 0;
  /// Waits up to `timeout_ms` (-1 = forever, 0 = just look) and replaces `out` with the ready
  /// descriptors. EINTR counts as zero events, not an error. Cost: select O(max fd), poll O(n
  /// watched), epoll O(ready).
  virtual Result<std::size_t> wait(int timeout_ms, std::vector<Ready>& out) = 0;
  /// Number of descriptors watched.
  virtual std::size_t size() const noexcept = 0;
};

/// Creates the backend. epoll can fail (EMFILE) when the process is out of descriptors. uring
/// (io_uring readiness: multishot IORING_OP_POLL_ADD) is probed first; where the kernel lacks it,
/// io_uring is disabled (sysctl kernel.io_uring_disabled, seccomp), the build has no liburing or
/// SOCKIT_NO_URING is set, it says why on stderr once per process and returns the epoll backend
/// (its name() is then "epoll").
Result<std::unique_ptr<Poller>> make_poller(Backend backend);
/// Whether Backend::uring gets io_uring here, or why not (the probe make_poller runs).
Result<void> uring_available();

}  // namespace sockit::loop
