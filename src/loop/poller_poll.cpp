// poll(2) backend. One pollfd per watched descriptor in a dense array (removal swaps with the
// last entry). A descriptor with no interest is stored negated, which poll() skips entirely, so a
// hang-up on a paused connection cannot make the loop spin. Cost: O(watched) per wait.
#include "pollers.hpp"
#include "sockit/net/sys.hpp"

#include <cerrno>
#include <vector>

#include <poll.h>

namespace sockit::loop::detail {
namespace {

short to_events(Interest interest) {
  short ev = 0;
  if (has(interest, Interest::read)) ev = static_cast<short>(ev | POLLIN);
  if (has(interest, Interest::write)) ev = static_cast<short>(ev | POLLOUT);
  return ev;
}

class PollPoller final : public Poller {
 public:
  std::string_view name() const noexcept override { return "poll"; }

  Result<void> add(int fd, Interest interest) override {
    if (fd < 0) return Error(sys_error(EBADF), "poll: add");
    auto idx = static_cast<std::size_t>(fd);
    if (index_.size() <= idx) index_.resize(idx + 1, -1);
    if (index_[idx] >= 0) return Error(sys_error(EEXIST), "poll: add");
    index_[idx] = static_cast<int>(fds_.size());
    fds_.push_back(pollfd{fd, 0, 0});
    store(fds_.back(), fd, interest);
    return {};
  }

  Result<void> modify(int fd, Interest interest) override {
    int pos = position(fd);
    if (pos < 0) return Error(sys_error(ENOENT), "poll: modify");
    store(fds_[static_cast<std::size_t>(pos)], fd, interest);
    return {};
  }

  void remove(int fd) noexcept override {
    int pos = position(fd);
    if (pos < 0) return;
    auto p = static_cast<std::size_t>(pos);
    if (p + 1 != fds_.size()) {
      fds_[p] = fds_.back();
      int moved = fds_[p].fd < 0 ? -fds_[p].fd - 1 : fds_[p].fd;
      index_[static_cast<std::size_t>(moved)] = pos;
    }
    fds_.pop_back();
    index_[static_cast<std::size_t>(fd)] = -1;
  }

  Result<std::size_t> wait(int timeout_ms, std::vector<Ready>& out) override {
    out.clear();
    int n = sys::poll(fds_.data(), fds_.size(), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) return std::size_t{0};
      return Error(sys_error(errno), "poll");
    }
    for (const pollfd& p : fds_) {
      if (n == 0) break;
      if (p.fd < 0 || p.revents == 0) continue;
      --n;
      Ready r;
      r.fd = p.fd;
      r.hangup = (p.revents & POLLHUP) != 0;
      r.error = (p.revents & (POLLERR | POLLNVAL)) != 0;
      bool trouble = r.hangup || r.error;
      r.readable = (p.events & POLLIN) && ((p.revents & (POLLIN | POLLPRI | POLLRDHUP)) || trouble);
      r.writable = (p.events & POLLOUT) && ((p.revents & POLLOUT) || trouble);
      if (r.readable || r.writable) out.push_back(r);
    }
    return out.size();
  }

  std::size_t size() const noexcept override { return fds_.size(); }

 private:
  int position(int fd) const noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= index_.size()) return -1;
    return index_[static_cast<std::size_t>(fd)];
  }
  static void store(pollfd& p, int fd, Interest interest) {
    p.events = to_events(interest);
    p.revents = 0;
    p.fd = interest == Interest::none ? -fd - 1 : fd;
  }

  std::vector<pollfd> fds_;
  std::vector<int> index_;  // fd -> position in fds_, -1 when not watched
};

}  // namespace

std::unique_ptr<Poller> make_poll_poller() { return std::make_unique<PollPoller>(); }

}  // namespace sockit::loop::detail
