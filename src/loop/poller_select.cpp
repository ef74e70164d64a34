// select(2) backend. Refuses descriptors >= FD_SETSIZE (an fd_set is a fixed bitmap: writing past
// it corrupts memory), as Redis's aeApiResize does. The master sets are copied before every call
// because select() overwrites them ("it's not safe to reuse FD sets after select()", ae_select.c).
// Cost: O(highest fd) per wait, whatever the number of ready descriptors.
#include "pollers.hpp"
#include "sockit/net/sys.hpp"

#include <cerrno>
#include <string>
#include <vector>

#include <sys/select.h>

namespace sockit::loop::detail {
namespace {

class SelectPoller final : public Poller {
 public:
  SelectPoller() {
    FD_ZERO(&read_set_);
    FD_ZERO(&write_set_);
  }

  std::string_view name() const noexcept override { return "select"; }

  Result<void> add(int fd, Interest interest) override {
    if (fd < 0) return Error(sys_error(EBADF), "select: add");
    if (fd >= FD_SETSIZE) {
      return Error(errc::fd_over_setsize, "select: descriptor " + std::to_string(fd) + " is over FD_SETSIZE (" +
                                              std::to_string(FD_SETSIZE) + "); use the poll or epoll backend");
    }
    auto idx = static_cast<std::size_t>(fd);
    if (interest_.size() <= idx) {
      interest_.resize(idx + 1, Interest::none);
      watched_.resize(idx + 1, false);
    }
    if (watched_[idx]) return Error(sys_error(EEXIST), "select: add");
    watched_[idx] = true;
    ++count_;
    set(fd, interest);
    return {};
  }

  Result<void> modify(int fd, Interest interest) override {
    if (fd < 0 || static_cast<std::size_t>(fd) >= watched_.size() || !watched_[static_cast<std::size_t>(fd)]) {
      return Error(sys_error(ENOENT), "select: modify");
    }
    set(fd, interest);
    return {};
  }

  void remove(int fd) noexcept override {
    if (fd < 0 || static_cast<std::size_t>(fd) >= watched_.size() || !watched_[static_cast<std::size_t>(fd)]) return;
    set(fd, Interest::none);
    watched_[static_cast<std::size_t>(fd)] = false;
    --count_;
    while (max_fd_ >= 0 && !watched_[static_cast<std::size_t>(max_fd_)]) --max_fd_;
  }

  Result<std::size_t> wait(int timeout_ms, std::vector<Ready>& out) override {
    out.clear();
    fd_set rs = read_set_;
    fd_set ws = write_set_;
    timeval tv{};
    timeval* tvp = nullptr;
    if (timeout_ms >= 0) {
      tv.tv_sec = timeout_ms / 1000;
      tv.tv_usec = (timeout_ms % 1000) * 1000;
      tvp = &tv;
    }
    int n = sys::select(max_fd_ + 1, &rs, &ws, nullptr, tvp);
    if (n < 0) {
      if (errno == EINTR) return std::size_t{0};
      return Error(sys_error(errno), "select");
    }
    for (int fd = 0; fd <= max_fd_ && n > 0; ++fd) {
      bool r = FD_ISSET(fd, &rs);
      bool w = FD_ISSET(fd, &ws);
      if (r || w) {
        out.push_back(Ready{fd, r, w, false, false});
        n -= (r ? 1 : 0) + (w ? 1 : 0);
      }
    }
    return out.size();
  }

  std::size_t size() const noexcept override { return count_; }

 private:
  void set(int fd, Interest interest) {
    interest_[static_cast<std::size_t>(fd)] = interest;
    if (has(interest, Interest::read)) FD_SET(fd, &read_set_); else FD_CLR(fd, &read_set_);
    if (has(interest, Interest::write)) FD_SET(fd, &write_set_); else FD_CLR(fd, &write_set_);
    if (fd > max_fd_) max_fd_ = fd;
  }

  fd_set read_set_;
  fd_set write_set_;
  std::vector<Interest> interest_;
  std::vector<bool> watched_;
  std::size_t count_ = 0;
  int max_fd_ = -1;
};

}  // namespace

std::unique_ptr<Poller> make_select_poller() { return std::make_unique<SelectPoller>(); }

}  // namespace sockit::loop::detail
