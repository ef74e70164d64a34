// epoll(7) backend, level-triggered (the same semantics as select and poll, so every handler works
// on every backend). A descriptor whose interest drops to none is taken out of the kernel set
// (EPOLL_CTL_DEL) while staying registered here: epoll reports EPOLLHUP/EPOLLERR even for an empty
// mask, which would spin the loop on a paused connection (libuv does the same). Cost: O(ready).
#include "pollers.hpp"

#include "sockit/net/fd.hpp"
#include "sockit/net/sys.hpp"

#include <cerrno>
#include <vector>

#include <sys/epoll.h>

namespace sockit::loop::detail {
namespace {

std::uint32_t to_events(Interest interest) {
  std::uint32_t ev = 0;
  if (has(interest, Interest::read)) ev |= EPOLLIN | EPOLLRDHUP;
  if (has(interest, Interest::write)) ev |= EPOLLOUT;
  if (has(interest, Interest::edge)) ev |= EPOLLET;
  return ev;
}

class EpollPoller final : public Poller {
 public:
  explicit EpollPoller(Fd ep) : ep_(std::move(ep)), events_(64) {}

  std::string_view name() const noexcept override { return "epoll"; }
  bool supports_edge() const noexcept override { return true; }

  Result<void> add(int fd, Interest interest) override {
    if (fd < 0) return Error(sys_error(EBADF), "epoll: add");
    auto idx = static_cast<std::size_t>(fd);
    if (state_.size() <= idx) state_.resize(idx + 1, kUnwatched);
    if (state_[idx] != kUnwatched) return Error(sys_error(EEXIST), "epoll: add");
    if (interest != Interest::none) {
      if (auto r = ctl(EPOLL_CTL_ADD, fd, interest); !r) return r;
    }
    state_[idx] = static_cast<int>(interest);
    ++count_;
    return {};
  }

  Result<void> modify(int fd, Interest interest) override {
    if (fd < 0 || static_cast<std::size_t>(fd) >= state_.size() || state_[static_cast<std::size_t>(fd)] == kUnwatched) {
      return Error(sys_error(ENOENT), "epoll: modify");
    }
    auto idx = static_cast<std::size_t>(fd);
    auto old = static_cast<Interest>(state_[idx]);
    if (old == interest) return {};
    Result<void> r;
    if (old == Interest::none) {
      r = ctl(EPOLL_CTL_ADD, fd, interest);
    } else if (interest == Interest::none) {
      r = ctl(EPOLL_CTL_DEL, fd, interest);
    } else {
      r = ctl(EPOLL_CTL_MOD, fd, interest);
    }
    if (!r) return r;
    state_[idx] = static_cast<int>(interest);
    return {};
  }

  void remove(int fd) noexcept override {
    if (fd < 0 || static_cast<std::size_t>(fd) >= state_.size()) return;
    auto idx = static_cast<std::size_t>(fd);
    if (state_[idx] == kUnwatched) return;
    if (state_[idx] != static_cast<int>(Interest::none)) (void)ctl(EPOLL_CTL_DEL, fd, Interest::none);
    state_[idx] = kUnwatched;
    --count_;
  }

  Result<std::size_t> wait(int timeout_ms, std::vector<Ready>& out) override {
    out.clear();
    int n = sys::epoll_wait(ep_.get(), events_.data(), static_cast<int>(events_.size()), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) return std::size_t{0};
      return Error(sys_error(errno), "epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const epoll_event& e = events_[static_cast<std::size_t>(i)];
      int fd = e.data.fd;
      auto interest = static_cast<Interest>(state_[static_cast<std::size_t>(fd)]);
      Ready r;
      r.fd = fd;
      r.hangup = (e.events & EPOLLHUP) != 0;
      r.error = (e.events & EPOLLERR) != 0;
      r.peer_closed = (e.events & EPOLLRDHUP) != 0;
      bool trouble = r.hangup || r.error;
      r.readable = has(interest, Interest::read) && ((e.events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP)) || trouble);
      r.writable = has(interest, Interest::write) && ((e.events & EPOLLOUT) || trouble);
      if (r.readable || r.writable) out.push_back(r);
    }
    if (static_cast<std::size_t>(n) == events_.size() && events_.size() < 4096) events_.resize(events_.size() * 2);
    return out.size();
  }

  std::size_t size() const noexcept override { return count_; }

 private:
  static constexpr int kUnwatched = -1;

  Result<void> ctl(int op, int fd, Interest interest) {
    epoll_event ev{};
    ev.events = to_events(interest);
    ev.data.fd = fd;
    if (sys::epoll_ctl(ep_.get(), op, fd, &ev) < 0) return Error(sys_error(errno), "epoll_ctl");
    return {};
  }

  Fd ep_;
  std::vector<epoll_event> events_;
  std::vector<int> state_;  // fd -> Interest as int, kUnwatched when not registered
  std::size_t count_ = 0;
};

}  // namespace

Result<std::unique_ptr<Poller>> make_epoll_poller() {
  int ep = sys::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return Error(sys_error(errno), "epoll_create1");
  return std::unique_ptr<Poller>(std::make_unique<EpollPoller>(Fd(ep)));
}

}  // namespace sockit::loop::detail
