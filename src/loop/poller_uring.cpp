// io_uring backend (liburing): readiness through IORING_OP_POLL_ADD, so every handler written for
// epoll runs unchanged. This is a *readiness* backend, not a completion one: the reads and writes
// are still recv/send system calls made by the Connection; io_uring replaces only epoll_wait and
// epoll_ctl.
//
//  * Interest::edge -> one multishot poll per descriptor (IORING_POLL_ADD_MULTI; io_uring polls
//    edge-triggered unless asked for IORING_POLL_ADD_LEVEL), armed once, like EPOLLET: a CQE per
//    wakeup. A multishot poll the kernel ends (a CQE without IORING_CQE_F_MORE) is re-armed before
//    the next wait; arming reports the current state at once, so no edge is lost.
//  * level interest -> a one-shot poll, re-armed before each wait for the descriptors it reported
//    (arming checks readiness at once, so a descriptor left readable is reported again: level).
//  * modify/remove: IORING_OP_POLL_REMOVE of the armed poll, then a new poll. Every poll carries
//    (generation << 32 | fd) in user_data; the generation changes at each modify/remove, so a
//    completion of a poll already replaced (or of a reused descriptor number) is dropped.
//  * Submission is batched: add/modify/remove only fill SQEs; wait() submits them all and waits
//    in one io_uring_enter (io_uring_submit_and_wait_timeout, IORING_FEAT_EXT_ARG).
//  * Interest::none cancels the poll (nothing reported, not even a hang-up), as in the epoll backend.
//
// A poll holds a reference to the file, so remove() submits its POLL_REMOVE at once (a close()
// right after it must release the socket: FIN, a listener's port), one system call like epoll's
// EPOLL_CTL_DEL; add and modify wait for the batch of the next wait().
#include "pollers.hpp"

#include "sockit/net/sys.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <liburing.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace sockit::loop::detail {
namespace {

constexpr std::uint64_t kIgnore = ~std::uint64_t{0};  // user_data of POLL_REMOVE requests
constexpr unsigned kEntries = 1024;

std::uint32_t to_mask(Interest interest) {
  std::uint32_t m = 0;
  if (has(interest, Interest::read)) m |= POLLIN | POLLRDHUP;
  if (has(interest, Interest::write)) m |= POLLOUT;
  return m;
}

class UringPoller final : public Poller {
 public:
  UringPoller() = default;
  ~UringPoller() override {
    if (ready_) io_uring_queue_exit(&ring_);
  }

  // SOCKIT_URING_SETUP picks the ring's task-work mode, for measuring (BENCHMARKS.md): "plain";
  // "coop" (IORING_SETUP_COOP_TASKRUN, the default: completions wait for our next kernel entry
  // instead of interrupting the thread); "defer" (SINGLE_ISSUER | DEFER_TASKRUN: completions are
  // run only inside our wait; the ring starts disabled and is enabled by the first wait(), so the
  // thread that runs the loop is its issuer). A kernel that refuses the flags gets a plain ring.
  Result<void> init() {
    const char* mode = std::getenv("SOCKIT_URING_SETUP");
    std::string m = mode != nullptr ? mode : "coop";
    unsigned extra = 0;
    if (m == "coop") extra = IORING_SETUP_COOP_TASKRUN;
    if (m == "defer") extra = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
    io_uring_params p{};
    p.flags = IORING_SETUP_CQSIZE | extra;
    p.cq_entries = kEntries * 4;  // multishot polls may post more than one CQE per SQE
    int rc = io_uring_queue_init_params(kEntries, &ring_, &p);
    if (rc == -EINVAL && extra != 0) {
      p = io_uring_params{};
      p.flags = IORING_SETUP_CQSIZE;
      p.cq_entries = kEntries * 4;
      extra = 0;
      rc = io_uring_queue_init_params(kEntries, &ring_, &p);
    }
    if (rc < 0) return Error(sys_error(-rc), "io_uring_queue_init");
    ready_ = true;
    defer_ = (extra & IORING_SETUP_DEFER_TASKRUN) != 0;
    enabled_ = !defer_;
    if ((p.features & IORING_FEAT_EXT_ARG) == 0) return Error(sys_error(ENOSYS), "io_uring: kernel lacks IORING_FEAT_EXT_ARG");
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (probe == nullptr) return Error(sys_error(ENOSYS), "io_uring: probe");
    bool ok = io_uring_opcode_supported(probe, IORING_OP_POLL_ADD) && io_uring_opcode_supported(probe, IORING_OP_POLL_REMOVE);
    io_uring_free_probe(probe);
    if (!ok) return Error(sys_error(ENOSYS), "io_uring: kernel lacks IORING_OP_POLL_ADD/POLL_REMOVE");
    return {};
  }

  std::string_view name() const noexcept override { return "uring"; }
  bool supports_edge() const noexcept override { return true; }

  Result<void> add(int fd, Interest interest) override {
    if (fd < 0) return Error(sys_error(EBADF), "uring: add");
    auto idx = static_cast<std::size_t>(fd);
    if (state_.size() <= idx) state_.resize(idx + 1);
    State& s = state_[idx];
    if (s.registered) return Error(sys_error(EEXIST), "uring: add");
    s.registered = true;
    s.interest = interest;
    ++s.gen;
    ++count_;
    sys::note_edge_watch(ring_.ring_fd, fd, has(interest, Interest::edge));
    if (interest != Interest::none) return arm(fd, s);
    return {};
  }

  Result<void> modify(int fd, Interest interest) override {
    if (fd < 0 || static_cast<std::size_t>(fd) >= state_.size() || !state_[static_cast<std::size_t>(fd)].registered) {
      return Error(sys_error(ENOENT), "uring: modify");
    }
    State& s = state_[static_cast<std::size_t>(fd)];
    if (s.interest == interest) return {};
    disarm(fd, s);
    s.interest = interest;
    sys::note_edge_watch(ring_.ring_fd, fd, has(interest, Interest::edge));
    if (interest != Interest::none) return arm(fd, s);
    return {};
  }

  void remove(int fd) noexcept override {
    if (fd < 0 || static_cast<std::size_t>(fd) >= state_.size()) return;
    State& s = state_[static_cast<std::size_t>(fd)];
    if (!s.registered) return;
    bool was_armed = s.armed;
    disarm(fd, s);
    s.registered = false;
    --count_;
    sys::note_edge_watch(ring_.ring_fd, fd, false);
    // The armed poll holds a reference to the file: hand the POLL_REMOVE to the kernel now, so a
    // close() right after this releases the socket (FIN, a listener's port) at once, as with epoll.
    // One system call per removal, like epoll's EPOLL_CTL_DEL.
    if (was_armed && enabled_) (void)(defer_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_));
  }

  Result<std::size_t> wait(int timeout_ms, std::vector<Ready>& out) override {
    out.clear();
    ++turn_;
    // Re-arm the one-shot polls that fired last time, and multishot ones the kernel ended.
    std::vector<int> rearm;
    rearm.swap(rearm_);
    for (int fd : rearm) {
      State& s = state_[static_cast<std::size_t>(fd)];
      if (s.registered && !s.armed && s.interest != Interest::none) {
        if (auto r = arm(fd, s); !r) return r.error();
      }
    }
    rearm.clear();
    rearm_.swap(rearm);  // keep the capacity
    if (!enabled_) {
      if (int e = enable(); e < 0) return Error(sys_error(-e), "io_uring_enable_rings");
    }
    // Fault injection (SOCKIT_FAULTS): a descriptor given a spurious EAGAIN or short transfer is
    // reported again if still ready, as sys:: does for epoll (its multishot poll stays armed and
    // no new wakeup would come). Without faults the list is always empty.
    sys::take_owed(ring_.ring_fd, owed_);
    if (!owed_.empty()) timeout_ms = 0;
    io_uring_cqe* cqe = nullptr;
    int rc;
    if (timeout_ms == 0) {
      rc = defer_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_);
    } else if (timeout_ms < 0) {
      rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
    } else {
      __kernel_timespec ts{};
      ts.tv_sec = timeout_ms / 1000;
      ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1'000'000;
      rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      return Error(sys_error(-rc), "io_uring_enter");
    }
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      reap(*cqe, out);
    }
    io_uring_cq_advance(&ring_, seen);
    for (int fd : owed_) {
      if (fd < 0 || static_cast<std::size_t>(fd) >= state_.size()) continue;
      State& s = state_[static_cast<std::size_t>(fd)];
      if (!s.registered || s.interest == Interest::none) continue;
      pollfd pf{fd, static_cast<short>(to_mask(s.interest)), 0};
      if (::poll(&pf, 1, 0) > 0) report(fd, s, static_cast<std::uint16_t>(pf.revents), out);
    }
    return out.size();
  }

  std::size_t size() const noexcept override { return count_; }

 private:
  struct State {
    std::uint32_t gen = 0;
    std::uint32_t out_turn = 0;  // turn_ when `out_index` is valid
    std::uint32_t out_index = 0;
    Interest interest = Interest::none;
    bool registered = false;
    bool armed = false;
  };

  int enable() {
    // io_uring_enable_rings() is declared by Debian's liburing 2.3 but not exported: the syscall.
    auto e = static_cast<int>(::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0));
    if (e < 0) e = -errno;
    if (e >= 0) enabled_ = true;
    return e;
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* e = io_uring_get_sqe(&ring_);
    if (e == nullptr) {
      if (!enabled_) (void)enable();
      (void)io_uring_submit(&ring_);  // the SQ ring is full: hand the batch to the kernel now
      e = io_uring_get_sqe(&ring_);
    }
    return e;
  }

  Result<void> arm(int fd, State& s) {
    io_uring_sqe* e = sqe();
    if (e == nullptr) return Error(sys_error(EBUSY), "uring: submission queue full");
    if (has(s.interest, Interest::edge)) {
      io_uring_prep_poll_multishot(e, fd, to_mask(s.interest));
    } else {
      io_uring_prep_poll_add(e, fd, to_mask(s.interest));
    }
    io_uring_sqe_set_data64(e, (std::uint64_t{s.gen} << 32) | static_cast<std::uint32_t>(fd));
    s.armed = true;
    return {};
  }

  // Cancels the armed poll (if any) and moves to a new generation, so its late CQEs are dropped.
  void disarm(int fd, State& s) noexcept {
    if (s.armed) {
      if (io_uring_sqe* e = sqe()) {
        io_uring_prep_poll_remove(e, (std::uint64_t{s.gen} << 32) | static_cast<std::uint32_t>(fd));
        io_uring_sqe_set_data64(e, kIgnore);
      }
      s.armed = false;
    }
    ++s.gen;
  }

  void reap(const io_uring_cqe& c, std::vector<Ready>& out) {
    std::uint64_t ud = c.user_data;
    if (ud == kIgnore) return;
    auto fd = static_cast<int>(ud & 0xffffffffu);
    auto gen = static_cast<std::uint32_t>(ud >> 32);
    if (fd < 0 || static_cast<std::size_t>(fd) >= state_.size()) return;
    State& s = state_[static_cast<std::size_t>(fd)];
    if (!s.registered || s.gen != gen) return;  // a poll since replaced or removed
    if ((c.flags & IORING_CQE_F_MORE) == 0) {
      s.armed = false;
      rearm_.push_back(fd);
    }
    if (c.res == -ECANCELED) return;
    std::uint32_t ev = c.res < 0 ? std::uint32_t{POLLERR} : static_cast<std::uint32_t>(c.res);
    if ((ev & (POLLERR | POLLHUP)) != 0) {
      // The CQE carries the mask of the wakeup that fired it (a reset's error report says only
      // POLLERR), where epoll reports the whole state at harvest time (IN|OUT|ERR|HUP|RDHUP);
      // handlers act on the latter, so ask for it on this rare path.
      pollfd pf{fd, static_cast<short>(to_mask(s.interest)), 0};
      if (::poll(&pf, 1, 0) > 0) ev |= static_cast<std::uint16_t>(pf.revents);
    }
    report(fd, s, ev, out);
  }

  // Adds what `ev` (poll bits) says of `fd` to this wait's Ready for it (one per descriptor).
  void report(int fd, State& s, std::uint32_t ev, std::vector<Ready>& out) {
    bool hangup = (ev & POLLHUP) != 0;
    bool error = (ev & POLLERR) != 0;
    bool trouble = hangup || error;
    bool readable = has(s.interest, Interest::read) && ((ev & (POLLIN | POLLPRI | POLLRDHUP)) != 0 || trouble);
    bool writable = has(s.interest, Interest::write) && ((ev & POLLOUT) != 0 || trouble);
    if (!readable && !writable) return;
    if (s.out_turn != turn_ || s.out_index >= out.size() || out[s.out_index].fd != fd) {
      s.out_turn = turn_;
      s.out_index = static_cast<std::uint32_t>(out.size());
      out.push_back(Ready{.fd = fd});
    }
    Ready& r = out[s.out_index];  // several CQEs for one descriptor in one wait make one Ready
    r.readable |= readable;
    r.writable |= writable;
    r.hangup |= hangup;
    r.error |= error;
    r.peer_closed |= (ev & POLLRDHUP) != 0;
  }

  io_uring ring_{};
  bool ready_ = false;
  bool defer_ = false;    // DEFER_TASKRUN: completions run only when we enter to wait
  bool enabled_ = true;   // false until the first wait() of an R_DISABLED ring
  std::uint32_t turn_ = 0;
  std::vector<State> state_;
  std::vector<int> rearm_;
  std::vector<int> owed_;  // SOCKIT_FAULTS only: see wait()
  std::size_t count_ = 0;
};

}  // namespace

Result<std::unique_ptr<Poller>> make_uring_poller() {
  if (const char* off = std::getenv("SOCKIT_NO_URING"); off != nullptr && *off != '\0' && std::string(off) != "0") {
    return Error(sys_error(ENOSYS), "io_uring turned off by SOCKIT_NO_URING");
  }
  auto p = std::make_unique<UringPoller>();
  if (auto r = p->init(); !r) return r.error();
  return std::unique_ptr<Poller>(std::move(p));
}

}  // namespace sockit::loop::detail
