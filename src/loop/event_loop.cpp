// EventLoop: poller + timer heap + eventfd wakeup + signalfd.
#include "sockit/loop/event_loop.hpp"
#include "detail.hpp"
#include "ring_accept.hpp"
#include "ring_recv.hpp"
#include "ring_send.hpp"
#include "sockit/net/deadline.hpp"
#include "sockit/net/sys.hpp"

#include <cassert>
#include <cerrno>
#include <climits>
#include <csignal>

#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace sockit::loop {

Result<std::unique_ptr<EventLoop>> EventLoop::create(Backend backend) {
  auto poller = make_poller(backend);
  if (!poller) return std::move(poller).error();
  int efd = sys::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) return Error(sys_error(errno), "eventfd");
  Fd wake(efd);
  if (auto r = (*poller)->add(wake.get(), Interest::read); !r) return std::move(r).error();
  return std::unique_ptr<EventLoop>(new EventLoop(backend, std::move(*poller), std::move(wake)));
}

EventLoop::EventLoop(Backend backend, std::unique_ptr<Poller> poller, Fd wake)
    : backend_(backend),
      poller_(std::move(poller)),
      wake_fd_(std::move(wake)),
      now_(Clock::now()),
      scratch_(std::make_unique<std::byte[]>(kScratchSize)) {}

EventLoop::~EventLoop() {
  // Tasks (connections) may still call back into the loop while they go, even add turn-end
  // tasks: those land in the emptied vector, dropped with the loop without running.
  { auto going = std::move(turn_end_); turn_end_.clear(); }
  if (auto* ring = detail::send_ring(*this)) ring->abandon_sends();  // connections holding themselves
  if (signal_fd_) poller_->remove(signal_fd_.get());
  poller_->remove(wake_fd_.get());
}

detail::SendRing* detail::LoopAccess::send_ring(EventLoop& l) noexcept {
  if (l.backend_ != Backend::uring) return nullptr;
  auto* ring = dynamic_cast<SendRing*>(l.poller_.get());
  return ring != nullptr && ring->sends_enabled() ? ring : nullptr;
}

detail::RecvRing* detail::LoopAccess::recv_ring(EventLoop& l) noexcept {
  if (l.backend_ != Backend::uring) return nullptr;
  auto* ring = dynamic_cast<RecvRing*>(l.poller_.get());
  return ring != nullptr && ring->recvs_enabled() ? ring : nullptr;
}

detail::AcceptRing* detail::LoopAccess::accept_ring(EventLoop& l) noexcept {
  if (l.backend_ != Backend::uring) return nullptr;
  auto* ring = dynamic_cast<AcceptRing*>(l.poller_.get());
  return ring != nullptr && ring->accepts_enabled() ? ring : nullptr;
}

std::uint64_t detail::LoopAccess::ring_recvs(EventLoop& l) noexcept {
  if (l.backend_ != Backend::uring) return 0;
  auto* ring = dynamic_cast<RecvRing*>(l.poller_.get());
  return ring != nullptr ? ring->recvs() : 0;
}

bool EventLoop::is_in_loop_thread() const noexcept {
  return thread_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void EventLoop::stop() {
  stop_.store(true, std::memory_order_release);
  if (!is_in_loop_thread()) {
    std::uint64_t one = 1;
    ssize_t n = sys::write_record(wake_fd_.get(), &one, sizeof one);
    (void)n;  // EAGAIN means the counter is already non-zero: the loop will wake anyway
  }
}

void EventLoop::post(Functor fn) {
  {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(fn));
  }
  if (!wake_pending_.exchange(true, std::memory_order_acq_rel)) {
    std::uint64_t one = 1;
    ssize_t n = sys::write_record(wake_fd_.get(), &one, sizeof one);
    (void)n;
  }
}

void EventLoop::dispatch(Functor fn) {
  if (is_in_loop_thread()) {
    fn();
  } else {
    post(std::move(fn));
  }
}

void EventLoop::on_wake() {
  std::uint64_t count;
  ssize_t n = sys::read_record(wake_fd_.get(), &count, sizeof count);
  (void)n;
}

void EventLoop::run_posted() {
  wake_pending_.store(false, std::memory_order_release);
  {
    std::lock_guard lock(mu_);
    if (posted_.empty()) return;
    running_.swap(posted_);
  }
  for (auto& fn : running_) fn();
  running_.clear();
}

Result<void> EventLoop::watch(int fd, Interest interest, IoCallback cb) {
  if (fd < 0) return Error(sys_error(EBADF), "watch");
  auto h = std::make_shared<CallbackHandler>(std::move(cb));
  if (auto r = watch_slot(fd, interest, h.get(), true); !r) return r;
  callbacks_[fd] = std::move(h);
  return {};
}

Result<void> EventLoop::watch(int fd, Interest interest, IoHandler* handler) {
  if (fd < 0 || handler == nullptr) return Error(sys_error(EBADF), "watch");
  return watch_slot(fd, interest, handler, false);
}

Result<void> EventLoop::watch_slot(int fd, Interest interest, IoHandler* handler, bool owned) {
  if (auto r = poller_->add(fd, interest); !r) return r;
  auto idx = static_cast<std::size_t>(fd);
  if (slots_.size() <= idx) slots_.resize(idx + 1);
  if (++generation_ == 0) ++generation_;  // 0 means "not watched"
  slots_[idx] = Slot{handler, generation_, owned};
  ++user_watchers_;
  return {};
}

Result<void> EventLoop::update(int fd, Interest interest) { return poller_->modify(fd, interest); }

void EventLoop::unwatch(int fd) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= slots_.size()) return;
  Slot& s = slots_[static_cast<std::size_t>(fd)];
  if (s.handler == nullptr) return;
  poller_->remove(fd);
  if (s.owned) callbacks_.erase(fd);  // a running callback keeps its own reference (turn())
  s = Slot{};
  --user_watchers_;
}

TimerId EventLoop::run_at(TimePoint when, Functor fn) { return timers_.add(when, std::move(fn)); }

TimerId EventLoop::run_after(Duration delay, Functor fn) {
  return timers_.add(Clock::now() + delay, std::move(fn));
}

TimerId EventLoop::run_every(Duration interval, Functor fn) {
  return timers_.add(Clock::now() + interval, std::move(fn), interval);
}

Result<void> EventLoop::watch_signals(std::span<const int> signals, SignalCallback cb) {
  if (signal_fd_) return Error(sys_error(EBUSY), "watch_signals: already watching signals");
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  int sfd = sys::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) return Error(sys_error(errno), "signalfd");
  Fd fd(sfd);
  if (auto r = poller_->add(fd.get(), Interest::read); !r) return r;
  signal_fd_ = std::move(fd);
  signal_cb_ = std::move(cb);
  return {};
}

void EventLoop::run() {
  thread_.store(std::this_thread::get_id(), std::memory_order_release);
  while (!stop_.load(std::memory_order_acquire)) turn(-1);
  // Functions posted before stop() still run: a post() is a promise (closing fds, say).
  now_ = Clock::now();
  run_posted();
  for (int i = 0; i < 8 && !turn_end_.empty(); ++i) run_turn_end();
}

void EventLoop::run_once(std::chrono::milliseconds max_wait) {
  thread_.store(std::this_thread::get_id(), std::memory_order_release);
  turn(static_cast<int>(max_wait.count()));
}

void EventLoop::turn(int max_wait_ms) {
  ++turns_;
  // 1. Timeout: until the earliest timer, rounded up so the loop never wakes early and spins.
  int timeout = max_wait_ms;
  if (!turn_end_.empty()) {
    timeout = 0;
  } else {
    std::lock_guard lock(mu_);
    if (!posted_.empty()) timeout = 0;
  }
  if (timeout != 0) {
    if (auto next = timers_.next_expiry()) {
      int ms = Deadline::at(*next).poll_timeout_ms(Clock::now());
      if (timeout < 0 || ms < timeout) timeout = ms;
    }
  }
  // 2. Wait.
  auto r = poller_->wait(timeout, ready_);
  now_ = Clock::now();
  if (!r) {
    // A failing backend (EBADF: a descriptor closed while watched) is a bug in a caller; keep
    // serving the others rather than dying, but do not spin.
    ready_.clear();
    ::usleep(10'000);
  }
  // 3. Dispatch. Generations are taken first, so a callback that unwatches (or closes and
  // re-watches a reused number) another descriptor prevents its stale event from being delivered.
  ready_gen_.clear();
  for (const Ready& rd : ready_) {
    auto idx = static_cast<std::size_t>(rd.fd);
    ready_gen_.push_back(idx < slots_.size() ? slots_[idx].generation : 0);
  }
  // 3a. Sends through the io_uring ring that completed in this wait (ring_send.hpp), before the
  // handlers run: a connection that receives a burst in this turn then writes it past
  // kCoalesceLimit at once as on epoll, instead of holding it behind a send already done.
  if (backend_ == Backend::uring) {
    if (auto* ring = dynamic_cast<detail::SendRing*>(poller_.get())) ring->run_completions();
  }
  for (std::size_t i = 0; i < ready_.size(); ++i) {
    if (i + 1 < ready_.size()) prefetch_handler(ready_[i + 1].fd);
    const Ready rd = ready_[i];
    if (rd.fd == wake_fd_.get()) {
      on_wake();
      continue;
    }
    if (signal_fd_ && rd.fd == signal_fd_.get()) {
      signalfd_siginfo si;
      while (sys::read_record(signal_fd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (signal_cb_) signal_cb_(static_cast<int>(si.ssi_signo));
      }
      continue;
    }
    auto idx = static_cast<std::size_t>(rd.fd);
    if (idx >= slots_.size() || slots_[idx].handler == nullptr || slots_[idx].generation != ready_gen_[i]) continue;
    if (slots_[idx].owned) {
      std::shared_ptr<CallbackHandler> keep = callbacks_[rd.fd];  // survives an unwatch inside
      keep->on_ready(rd);
    } else {
      slots_[idx].handler->on_ready(rd);  // a handler keeps itself alive (Connection::on_ready)
    }
  }
  // 4. Timers.
  timers_.run_expired(now_);
  // 5. Posted functions.
  run_posted();
  // 6. Turn-end tasks (coalesced writes).
  run_turn_end();
  if (turn_observer_) turn_observer_(Clock::now() - now_);
}

bool EventLoop::splice_pipe(int& read_end, int& write_end) noexcept {
  if (pipe_state_ == PipeState::untried) {
    pipe_state_ = PipeState::unavailable;
    struct sigaction sa {};
    int fds[2];
    if (::sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN &&
        sys::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
      splice_read_ = Fd(fds[0]);
      splice_write_ = Fd(fds[1]);
      // Room for a whole 64 KiB read in many small skbs (one pipe slot per fragment); the
      // default 16 slots would cut reads short. Unprivileged limit: /proc/sys/fs/pipe-max-size.
      (void)sys::fcntl(splice_write_.get(), F_SETPIPE_SZ, 1 << 20);
      pipe_state_ = PipeState::ready;
    }
  }
  if (pipe_state_ != PipeState::ready) return false;
  read_end = splice_read_.get();
  write_end = splice_write_.get();
  return true;
}

void EventLoop::prefetch_handler(int fd) const noexcept {
  // The handler of the next ready descriptor (a connection: three or four cache lines around
  // the IoHandler subobject) is fetched while this one's system calls run. Under load the
  // kernel's socket work evicts these objects between turns.
  auto idx = static_cast<std::size_t>(fd);
  if (idx >= slots_.size()) return;
  prefetch_object(slots_[idx].handler);
}

void EventLoop::prefetch_object(const void* object) noexcept {
  const auto* p = static_cast<const char*>(object);
  if (p == nullptr) return;
  __builtin_prefetch(p - 64);
  __builtin_prefetch(p);
  __builtin_prefetch(p + 64);
  __builtin_prefetch(p + 128);
}

void EventLoop::run_turn_end() {
  // A snapshot: a task that re-arms itself (a reader yielding after reads_per_event) waits for
  // the next turn, so other descriptors are served in between.
  turn_end_running_.swap(turn_end_);
  // Under fan-out this is one task per receiver, each a system call that evicts the next ones'
  // objects: fetch task i+3's object, then what it points to (stages 0 and 1), so the misses
  // overlap the sends before it. Each reference is dropped while its object is still cached.
  const std::size_t n = turn_end_running_.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + 3 < n) prefetch_object(turn_end_running_[i + 3].get());
    if (i + 2 < n) turn_end_running_[i + 2]->prefetch_turn_end(0);
    if (i + 1 < n) turn_end_running_[i + 1]->prefetch_turn_end(1);
    turn_end_running_[i]->on_turn_end();
    turn_end_running_[i].reset();
  }
  turn_end_running_.clear();
}

Result<void> block_signals(std::span<const int> signals, sigset_t* old) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  int rc = ::pthread_sigmask(SIG_BLOCK, &set, old);
  if (rc != 0) return Error(sys_error(rc), "pthread_sigmask");
  return {};
}

}  // namespace sockit::loop
