// The blocking models: iterative, fork, thread (per connection) and pool. One accept thread
// (poll on the listeners and the stop descriptors, AcceptCore for EMFILE) hands connections to:
//   iterative  itself: serves each connection to the end before accepting the next
//   thread     a new thread per connection
//   pool       a bounded queue read by N worker threads; a full queue refuses the connection
//   fork       a child process per connection (counters live in a MAP_SHARED page)
//
// Each connection is driven by serve_connection(): a poll() loop on that one socket plus the
// server's stop/force eventfds and, for the threaded models, a per-connection eventfd that
// other threads use to wake it after Peer::send. The thread blocks in poll(); protocol code is the
// same Session the reactor drives, the bytes go through the same loop::Transport, and the
// lifecycle decisions (water marks, budget, half-close, linger, idle) are the reactor's own
// loop::Lifecycle.
#include "internal.hpp"

#include "sockit/loop/acceptor.hpp"
#include "sockit/loop/buffer.hpp"
#include "sockit/loop/connection.hpp"
#include "sockit/loop/lifecycle.hpp"
#include "loop/io.hpp"
#include "sockit/loop/transport.hpp"
#include "sockit/net/deadline.hpp"
#include "sockit/net/sys.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <deque>
#include <list>
#include <optional>
#include <set>
#include <thread>

#include <malloc.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sockit::serve {
namespace {

using std::chrono::nanoseconds;

/// Serializes a transport's reads (driver thread) with its writes (any thread, under the peer's
/// lock): a stateful transport (TLS) is not thread-safe. The plain socket needs no lock.
class TransportLock {
 public:
  TransportLock(std::mutex& mu, const loop::Transport* t) : mu_(t != nullptr ? &mu : nullptr) {
    if (mu_ != nullptr) mu_->lock();
  }
  ~TransportLock() {
    if (mu_ != nullptr) mu_->unlock();
  }
  TransportLock(const TransportLock&) = delete;
  TransportLock& operator=(const TransportLock&) = delete;

 private:
  std::mutex* mu_;
};

void signal_eventfd(int fd) noexcept {
  if (fd < 0) return;
  std::uint64_t one = 1;
  ssize_t n = sys::write_record(fd, &one, sizeof one);
  (void)n;
}

void drain_eventfd(int fd) noexcept {
  std::uint64_t v;
  ssize_t n = sys::read_record(fd, &v, sizeof v);
  (void)n;
}

int ms_until(TimePoint when, TimePoint now) { return Deadline::at(when).poll_timeout_ms(now); }

/// Peer of a blocking connection. Thread-safe: sends from other threads lock and wake the driver.
class BlockingPeer final : public Peer {
 public:
  BlockingPeer(int fd, int wake_fd, const Address& remote, const Address& local, std::uint64_t id,
               const loop::WaterMarks& marks, loop::Transport* transport)
      : fd_(fd), wake_fd_(wake_fd), remote_(remote), local_(&local), id_(id), marks_(marks),
        transport_(transport), owner_(std::this_thread::get_id()) {}

  void send(std::string_view bytes) override {
    if (bytes.empty()) return;
    {
      std::lock_guard lock(mu_);
      if (closed_ || flush_ || write_shut_ || close_now_ || overflow_) return;
      std::size_t done = 0;
      if (out_.empty()) {
        done = loop::io::write_now(transport_, fd_, std::as_bytes(std::span(bytes.data(), bytes.size())));
        written_ += done;
      }
      if (done < bytes.size()) out_.append(bytes.substr(done));
      if (loop::Lifecycle::over_cap(out_.size(), marks_)) overflow_ = true;
    }
    wake();
  }
  void close_after_flush() override {
    {
      std::lock_guard lock(mu_);
      flush_ = true;
    }
    wake();
  }
  void close_now(std::string_view /*reason*/) override {
    {
      std::lock_guard lock(mu_);
      close_now_ = true;
    }
    wake();
  }
  std::size_t queued_bytes() const override {
    std::lock_guard lock(mu_);
    return out_.size();
  }
  Address remote() const override { return remote_; }
  const Address& local() const override { return *local_; }
  std::uint64_t id() const override { return id_; }

  struct State {
    bool flush, close_now, overflow;
    std::size_t queued;
  };
  State state() const {
    std::lock_guard lock(mu_);
    return {flush_, close_now_, overflow_, out_.size()};
  }
  /// Writes queued bytes; returns the count or the error.
  Result<std::size_t> flush_some() {
    std::lock_guard lock(mu_);
    if (transport_ != nullptr && transport_->pending_output() > 0) {
      ssize_t n = transport_->flush(fd_);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return Error(sys_error(errno), "flush");
    }
    auto r = out_.write_to(fd_, transport_);
    if (r && *r > 0) written_ += *r;
    return r;
  }
  /// Reads through the transport (locked against other threads' writes when there is one).
  ssize_t read(std::span<std::byte> buf) {
    TransportLock lock(mu_, transport_);
    return loop::io::read(transport_, fd_, buf);
  }
  int shutdown_write() {
    TransportLock lock(mu_, transport_);
    return loop::io::shutdown_write(transport_, fd_);
  }
  void mark_write_shut() {
    std::lock_guard lock(mu_);
    write_shut_ = true;
  }
  void mark_closed() {
    std::lock_guard lock(mu_);
    closed_ = true;
    out_.clear();
  }
  std::uint64_t take_written() {
    std::lock_guard lock(mu_);
    return std::exchange(written_, 0);
  }

 private:
  void wake() {
    if (std::this_thread::get_id() != owner_) signal_eventfd(wake_fd_);
  }

  int fd_;
  int wake_fd_;
  Address remote_;
  const Address* local_;
  std::uint64_t id_;
  loop::WaterMarks marks_;
  loop::Transport* transport_;  // null: the plain socket
  std::thread::id owner_;
  mutable std::mutex mu_;
  loop::OutputQueue out_;
  std::uint64_t written_ = 0;
  bool flush_ = false, close_now_ = false, overflow_ = false, write_shut_ = false, closed_ = false;
};

struct Pending {
  Fd fd;
  Address peer;
  const Address* local;
};

class BlockingImpl final : public Server::Impl {
 public:
  BlockingImpl(ServerOptions opts, SessionFactory factory) : Impl(std::move(opts), std::move(factory)) {
    // thread and pool share one budget (fork's children have their own memory: none there).
    if (opts_.max_buffered != 0 && (opts_.model == Model::thread || opts_.model == Model::pool)) {
      budget_ = std::make_unique<loop::BufferBudget>(opts_.max_buffered);
    }
  }

  ~BlockingImpl() override {
    stop_now();
    wait();
  }

  Result<void> prepare() override {
    stop_fd_.reset(sys::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    force_fd_.reset(sys::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!stop_fd_ || !force_fd_) return Error(sys_error(errno), "eventfd");
    for (auto& l : listeners_) {
      cores_.push_back(std::make_unique<loop::AcceptCore>(
          l.get(), [this](const Error& e) { log_.log("accept", e.message()); }));
    }
    return {};
  }

  Result<void> start() override {
    if (started_.exchange(true)) return Error(errc::invalid_argument, "server: already started");
    if (opts_.model == Model::pool) {
      for (int i = 0; i < threads_; ++i) {
        live_.fetch_add(1);
        workers_.emplace_back([this] {
          pool_worker();
          live_.fetch_sub(1);
        });
      }
    }
    live_.fetch_add(1);
    accept_thread_ = std::thread([this] {
      accept_loop();
      live_.fetch_sub(1);
    });
    return {};
  }

  void stop(nanoseconds drain) override {
    if (stop_requested_.exchange(true)) return;
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(drain);
    stats_->drain_deadline_ns.store(
        std::chrono::duration_cast<nanoseconds>(deadline.time_since_epoch()).count());
    signal_eventfd(stop_fd_.get());
    {
      std::lock_guard lock(pool_mu_);
      pool_stopping_ = true;
    }
    pool_cv_.notify_all();
  }

  void stop_now() override {
    if (!stop_requested_.load()) stop(nanoseconds::zero());
    if (force_requested_.exchange(true)) return;
    signal_eventfd(force_fd_.get());
  }

  void wait() override {
    if (accept_thread_.joinable()) accept_thread_.join();
    for (auto& w : workers_) w.join();
    workers_.clear();
    for (auto& t : conn_threads_) t.thread.join();
    conn_threads_.clear();
    for (pid_t pid : children_) {
      int st;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
    }
    children_.clear();
    // Connections the pool accepted but never served.
    std::lock_guard lock(pool_mu_);
    for (auto& p : queue_) {
      (void)p;
      stats_->active.fetch_sub(1, std::memory_order_relaxed);
      stats_->rejected.fetch_add(1, std::memory_order_relaxed);
    }
    queue_.clear();
  }

  bool finished() const override { return started_.load() && live_.load() == 0; }
  std::string_view backend_name() const override { return "poll"; }
  void add_counters(ServerStats& st) const override {
    if (!budget_) return;
    st.buffered = budget_->used();
    st.buffered_peak = budget_->peak();
    st.budget_pauses = budget_->pauses();
  }

 private:
  struct ConnThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void accept_loop() {
    auto& cores = cores_;
    std::vector<std::optional<TimePoint>> paused(listeners_.size());
    std::vector<pollfd> pfds(listeners_.size() + 2);
    for (;;) {
      auto now = Clock::now();
      int timeout = -1;
      for (std::size_t i = 0; i < listeners_.size(); ++i) {
        if (paused[i] && *paused[i] <= now) paused[i].reset();
        pfds[i] = pollfd{paused[i] ? -1 : listeners_[i].get(), POLLIN, 0};
        if (paused[i]) {
          int ms = ms_until(*paused[i], now);
          if (timeout < 0 || ms < timeout) timeout = ms;
        }
      }
      if (!children_.empty() || !conn_threads_.empty()) timeout = timeout < 0 ? 100 : std::min(timeout, 100);
      pfds[listeners_.size()] = pollfd{stop_fd_.get(), POLLIN, 0};
      pfds[listeners_.size() + 1] = pollfd{force_fd_.get(), POLLIN, 0};
      int rc = sys::poll(pfds.data(), pfds.size(), timeout);
      if (rc < 0 && errno != EINTR) {
        log_.log("poll", "accept: poll: " + sys_error(errno).message());
        ::usleep(100'000);
        continue;
      }
      reap();
      if (pfds[listeners_.size()].revents != 0 || pfds[listeners_.size() + 1].revents != 0) break;
      for (std::size_t i = 0; i < listeners_.size(); ++i) {
        if (pfds[i].revents == 0) continue;
        for (int n = 0; n < 16; ++n) {
          auto out = cores[i]->accept_one();
          if (out.status == loop::AcceptCore::Status::accepted) {
            handle(std::move(out.fd), out.peer, &locals_[i]);
            if (stop_requested_.load()) break;
            continue;
          }
          if (out.status == loop::AcceptCore::Status::shed) {
            // Compare values, not std::errc: error_code's equivalence is a virtual call, which
            // sanitizer builds check through a pipe() -- impossible while out of descriptors.
            int v = out.error.value();
            if (out.error.category() == std::system_category() && (v == EMFILE || v == ENFILE)) {
              stats_->shed.fetch_add(1, std::memory_order_relaxed);
            }
            continue;
          }
          if (out.status == loop::AcceptCore::Status::paused) paused[i] = Clock::now() + std::chrono::milliseconds(100);
          break;
        }
      }
      if (stop_requested_.load()) break;
    }
    for (auto& c : cores) {
      stats_->errors.fetch_add(c->errors(), std::memory_order_relaxed);
    }
    cores_.clear();
    listeners_.clear();  // new connects are refused from now on
    // The model is finished when its connections are: wait for the children / threads here, so
    // finished() needs no wait() (they drain on the stop eventfd with the shared deadline).
    for (pid_t pid : children_) {
      int st;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
    }
    children_.clear();
    for (auto& t : conn_threads_) t.thread.join();
    conn_threads_.clear();
  }

  void handle(Fd fd, const Address& peer, const Address* local) {
    if (over_limit()) {
      reject(std::move(fd), peer, "max-conns " + std::to_string(max_conns_) + " reached");
      return;
    }
    switch (opts_.model) {
      case Model::iterative:
        stats_->active.fetch_add(1, std::memory_order_relaxed);
        serve_connection(std::move(fd), peer, *local, false);
        return;
      case Model::thread: {
        stats_->active.fetch_add(1, std::memory_order_relaxed);
        auto done = std::make_shared<std::atomic<bool>>(false);
        int raw = fd.release();
        try {
          std::thread t([this, raw, peer, local, done] {
            serve_connection(Fd(raw), peer, *local, true);
            done->store(true);
          });
          conn_threads_.push_back(ConnThread{std::move(t), done});
        } catch (const std::system_error& e) {
          sys::close(raw);
          stats_->active.fetch_sub(1, std::memory_order_relaxed);
          stats_->rejected.fetch_add(1, std::memory_order_relaxed);
          log_.log("thread", std::string("thread: cannot start a thread: ") + e.what() + ", refusing " + peer.to_string());
        }
        return;
      }
      case Model::pool: {
        std::unique_lock lock(pool_mu_);
        if (queue_.size() >= opts_.pool_queue) {
          lock.unlock();
          reject(std::move(fd), peer, "pool queue full (" + std::to_string(opts_.pool_queue) + " waiting)");
          return;
        }
        stats_->active.fetch_add(1, std::memory_order_relaxed);
        queue_.push_back(Pending{std::move(fd), peer, local});
        lock.unlock();
        pool_cv_.notify_one();
        return;
      }
      case Model::fork: {
        stats_->active.fetch_add(1, std::memory_order_relaxed);
        pid_t pid = sys::fork();
        if (pid < 0) {
          int err = errno;
          stats_->active.fetch_sub(1, std::memory_order_relaxed);
          stats_->rejected.fetch_add(1, std::memory_order_relaxed);
          log_.log("fork", "fork: " + sys_error(err).message() + ", refusing " + peer.to_string());
          return;
        }
        if (pid == 0) {
          // Child: keep only this connection and the stop descriptors; other clients' sockets must
          // not stay open here (their peers would never see EOF).
          close_other_fds({fd.get(), stop_fd_.get(), force_fd_.get()});
          serve_connection(std::move(fd), peer, *local, false);
          ::_exit(0);
        }
        children_.insert(pid);
        return;  // the parent's copy of fd closes here
      }
      default:
        return;
    }
  }

  static void close_other_fds(std::vector<int> keep) {
    std::sort(keep.begin(), keep.end());
    unsigned from = 3;
    for (int k : keep) {
      if (k < 3) continue;
      if (static_cast<unsigned>(k) > from) ::close_range(from, static_cast<unsigned>(k) - 1, 0);
      from = static_cast<unsigned>(k) + 1;
    }
    ::close_range(from, ~0u, 0);
  }

  void reap() {
    for (auto it = children_.begin(); it != children_.end();) {
      int st;
      if (::waitpid(*it, &st, WNOHANG) > 0) {
        it = children_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = conn_threads_.begin(); it != conn_threads_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = conn_threads_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void pool_worker() {
    for (;;) {
      std::unique_lock lock(pool_mu_);
      pool_cv_.wait(lock, [this] { return !queue_.empty() || pool_stopping_; });
      // A graceful stop still gives the connections already queued their orderly close (the
      // session's on_shutdown, then FIN) instead of a reset when wait() drops them; a forced stop
      // (stop_now, or a second signal) leaves them to wait().
      if (queue_.empty() || force_requested_.load()) return;
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      serve_connection(std::move(p.fd), p.peer, *p.local, true);
    }
  }

  void serve_connection(Fd fd, const Address& remote, const Address& local, bool cross_thread);
  struct Run;
  /// serve_connection's poll() loop, one turn at a time; each step returns false, with
  /// r.reason, when the connection ends.
  void drive(Run& r);
  /// Before a turn: the session's close or overflow, our FIN once the queue is out, water marks,
  /// the budget, and what the turn waits for.
  bool settle_output(Run& r);
  /// The turn's poll() set and timeout (the session's, idle, drain and linger deadlines).
  void plan_turn(Run& r);
  bool read_turn(Run& r);
  bool write_turn(Run& r);
  /// After a turn: drain, linger and idle deadlines, then the session's tick.
  bool deadlines_turn(Run& r);
  /// The transport's opening exchange (none for the plain socket): false, with `reason`, when
  /// it does not complete (stop, idle timeout, error).
  bool handshake(int fd, loop::Transport* t, CloseReason& reason);

  Fd stop_fd_;
  Fd force_fd_;
  std::vector<std::unique_ptr<loop::AcceptCore>> cores_;  // one per listener (accept thread)
  std::thread accept_thread_;
  std::vector<std::thread> workers_;
  std::list<ConnThread> conn_threads_;  // accept thread (and wait() after it ended)
  std::set<pid_t> children_;            // accept thread (and wait() after it ended)
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::deque<Pending> queue_;
  bool pool_stopping_ = false;
  std::atomic<bool> started_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> force_requested_{false};
  std::atomic<int> live_{0};  // accept thread + pool workers still running
  std::unique_ptr<loop::BufferBudget> budget_;  // opts_.max_buffered (thread, pool)
};

/// One connection's state between the turns of serve_connection's poll() loop.
struct BlockingImpl::Run {
  Run(Fd& fd_, Fd& wake_, loop::Transport* t_, BlockingPeer& peer_, const loop::WaterMarks& marks_)
      : fd(fd_), wake(wake_), t(t_), peer(peer_), marks(marks_) {}

  Fd& fd;
  Fd& wake;                 // cross-thread sends wake the poll (thread and pool models)
  loop::Transport* t;       // null: the plain socket
  BlockingPeer& peer;
  const loop::WaterMarks& marks;
  Session* session = nullptr;
  loop::Lifecycle lc;       // the same state machine and output policy as the reactor's Connection
  std::size_t held = 0;     // queued bytes reported to budget_
  CloseReason reason = CloseReason::peer_closed;
  TimePoint now{};
  TimePoint last{};         // last byte in or out (idle timeout)
  bool stop_seen = false;
  std::optional<TimePoint> drain_deadline, linger_deadline;
  // This turn's plan (plan_turn).
  bool want_read = false, want_write = false, buffered_input = false;
  int timeout = -1;
  std::array<pollfd, 4> pfds{};  // the socket, stop, force, wake
  std::array<std::byte, 65536> buf;
};

void BlockingImpl::serve_connection(Fd fd, const Address& remote, const Address& local, bool cross_thread) {
  set_nodelay(fd.get());
  Fd wake;
  if (cross_thread) wake.reset(sys::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  std::unique_ptr<loop::Transport> transport = opts_.transport ? opts_.transport() : nullptr;
  loop::Transport* t = transport.get();
  const loop::WaterMarks marks{opts_.high_water, opts_.low_water, opts_.send_queue_cap};
  BlockingPeer peer(fd.get(), wake.get(), remote, local, next_id_.fetch_add(1, std::memory_order_relaxed), marks, t);
  stats_->accepted.fetch_add(1, std::memory_order_relaxed);
  Run r(fd, wake, t, peer, marks);
  std::unique_ptr<Session> session;
  if (handshake(fd.get(), t, r.reason)) {
    r.lc.opened();
    session = factory_(peer);
    if (!session) r.reason = CloseReason::protocol;
  }
  if (session) {
    r.session = session.get();
    drive(r);
  }
  r.lc.closed();
  peer.mark_closed();
  stats_->bytes_out.fetch_add(peer.take_written(), std::memory_order_relaxed);
  fd.reset();
  if (budget_) {
    budget_->update(r.held, 0);
    if (budget_->trim_due()) ::malloc_trim(0);
  }
  if (session) session->on_close(r.reason);
  session.reset();
  stats_->count_close(r.reason);
  stats_->active.fetch_sub(1, std::memory_order_relaxed);
}

void BlockingImpl::drive(Run& r) {
  r.now = r.last = Clock::now();
  r.session->on_open(r.peer, r.now);
  for (;;) {
    if (!settle_output(r)) return;
    plan_turn(r);
    int rc = sys::poll(r.pfds.data(), r.pfds.size(), r.timeout);
    if (rc < 0 && errno != EINTR) {
      r.reason = CloseReason::error;
      return;
    }
    r.now = Clock::now();
    if (rc < 0) continue;
    if (r.pfds[2].revents != 0) {
      r.reason = CloseReason::server_stopping;
      return;
    }
    if (r.pfds[3].revents != 0) drain_eventfd(r.wake.get());
    if (r.pfds[1].revents != 0 && !r.stop_seen) {
      r.stop_seen = true;
      std::int64_t ns = stats_->drain_deadline_ns.load();
      r.drain_deadline = TimePoint(std::chrono::duration_cast<Clock::duration>(nanoseconds(ns)));
      r.session->on_shutdown(r.peer, r.now);
      continue;
    }
    short re = r.pfds[0].revents;
    if (r.want_read && (r.buffered_input || (re & (POLLIN | POLLHUP | POLLERR)) != 0) && !read_turn(r)) return;
    if (r.want_write && (re & (POLLOUT | POLLERR | POLLHUP)) != 0 && !write_turn(r)) return;
    stats_->bytes_out.fetch_add(r.peer.take_written(), std::memory_order_relaxed);
    if (!deadlines_turn(r)) return;
  }
}

bool BlockingImpl::settle_output(Run& r) {
  auto st = r.peer.state();
  if (st.close_now) {
    r.reason = CloseReason::protocol;
    return false;
  }
  if (st.overflow) {
    r.reason = CloseReason::send_queue_full;
    return false;
  }
  if (st.flush) (void)r.lc.request_shutdown();
  if (r.lc.fin_pending() && st.queued == 0 && (r.t == nullptr || r.t->pending_output() == 0)) {
    (void)r.peer.shutdown_write();
    r.peer.mark_write_shut();
    r.reason = r.stop_seen ? CloseReason::server_stopping : CloseReason::peer_closed;
    if (r.lc.fin_sent()) return false;  // the peer's FIN had come
    r.linger_deadline = r.now + std::chrono::duration_cast<Clock::duration>(opts_.linger);
  }
  (void)r.lc.water_marks(st.queued, r.marks);
  if (budget_) (void)r.lc.sync_budget(*budget_, r.held, st.queued, true);
  r.want_read = r.lc.reads();
  r.want_write = st.queued > 0 || (r.t != nullptr && r.t->pending_output() > 0) ||
                 (!st.flush && r.session->wants_drain() && st.queued <= opts_.low_water);
  return true;
}

void BlockingImpl::plan_turn(Run& r) {
  loop::Want tw = loop::io::wants(r.t);  // e.g. TLS: write to read
  std::optional<TimePoint> wake_at = r.session->next_deadline();
  auto earliest = [&](std::optional<TimePoint> when) {
    if (when && (!wake_at || *when < *wake_at)) wake_at = when;
  };
  if (opts_.idle_timeout > nanoseconds::zero()) earliest(loop::Lifecycle::idle_deadline(r.last, opts_.idle_timeout));
  earliest(r.drain_deadline);
  earliest(r.linger_deadline);
  r.timeout = wake_at ? ms_until(*wake_at, r.now) : -1;
  r.buffered_input = r.want_read && r.t != nullptr && r.t->pending_input() > 0;
  if (r.buffered_input) r.timeout = 0;  // decoded input waits inside the transport

  short events = static_cast<short>((r.want_read || has(tw, loop::Want::read) ? POLLIN : 0) |
                                    (r.want_write || has(tw, loop::Want::write) ? POLLOUT : 0));
  r.pfds = {{
      {events != 0 ? r.fd.get() : -1, events, 0},
      {r.stop_seen ? -1 : stop_fd_.get(), POLLIN, 0},
      {force_fd_.get(), POLLIN, 0},
      {r.wake.get(), POLLIN, 0},
  }};
}

bool BlockingImpl::read_turn(Run& r) {
  // With a budget the read's room is reserved until what it queued is counted.
  std::size_t granted = budget_ ? budget_->reserve(r.buf.size()) : r.buf.size();
  ssize_t n = r.peer.read(std::span(r.buf.data(), granted));
  int err = errno;
  if (n > 0) {
    auto got = static_cast<std::size_t>(n);
    stats_->bytes_in.fetch_add(got, std::memory_order_relaxed);
    r.last = r.now;
    if (!r.lc.lingering()) r.session->on_data(std::span<const std::byte>(r.buf.data(), got), r.peer, r.now);
  }
  if (budget_) {
    std::size_t q = r.peer.state().queued;
    budget_->update(r.held, q);
    r.held = q;
    budget_->release(granted);
  }
  if (n == 0) {
    if (r.lc.peer_fin()) return false;  // our FIN was out: done
    r.session->on_eof(r.peer, r.now);
  } else if (n < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
    r.reason = loop::io::is_reset(err) ? CloseReason::reset : CloseReason::error;
    return false;
  }
  return true;
}

bool BlockingImpl::write_turn(Run& r) {
  auto res = r.peer.flush_some();
  if (!res) {
    r.reason = loop::io::is_reset(res.code().value()) ? CloseReason::reset : CloseReason::error;
    return false;
  }
  if (*res > 0) r.last = r.now;
  auto after = r.peer.state();
  if (!after.flush && r.session->wants_drain() && after.queued <= opts_.low_water) r.session->on_drain(r.peer, r.now);
  return true;
}

bool BlockingImpl::deadlines_turn(Run& r) {
  if (r.drain_deadline && r.now >= *r.drain_deadline) {
    r.reason = CloseReason::server_stopping;
    return false;
  }
  if (r.linger_deadline && r.now >= *r.linger_deadline) return false;
  if (loop::Lifecycle::idle_expired(r.last, r.now, opts_.idle_timeout)) {
    r.reason = CloseReason::idle_timeout;
    return false;
  }
  if (auto d = r.session->next_deadline(); d && *d <= r.now) r.session->on_tick(r.peer, r.now);
  return true;
}

bool BlockingImpl::handshake(int fd, loop::Transport* t, CloseReason& reason) {
  if (t == nullptr) return true;
  nanoseconds limit = opts_.idle_timeout;  // or the transport's own handshake limit if shorter
  if (nanoseconds hs = t->handshake_timeout(); hs > nanoseconds::zero()) limit = limit > nanoseconds::zero() ? std::min(limit, hs) : hs;
  const bool timed = limit > nanoseconds::zero();
  const TimePoint give_up = Clock::now() + std::chrono::duration_cast<Clock::duration>(limit);
  while (!t->handshake(fd)) {
    if (t->failure() != 0) {  // a TLS alert, a peer that speaks no TLS
      reason = CloseReason::protocol;
      return false;
    }
    loop::Want w = t->wants();
    short events = static_cast<short>((has(w, loop::Want::read) ? POLLIN : 0) | (has(w, loop::Want::write) ? POLLOUT : 0));
    std::array<pollfd, 3> pfds{{{fd, events, 0}, {stop_fd_.get(), POLLIN, 0}, {force_fd_.get(), POLLIN, 0}}};
    int timeout = timed ? ms_until(give_up, Clock::now()) : -1;
    int rc = sys::poll(pfds.data(), pfds.size(), timeout);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || pfds[1].revents != 0 || pfds[2].revents != 0 || rc == 0 ||
        (pfds[0].revents & (POLLERR | POLLNVAL)) != 0) {
      reason = rc == 0 ? CloseReason::idle_timeout : rc < 0 ? CloseReason::error : CloseReason::server_stopping;
      if (rc == 0 && limit == t->handshake_timeout()) t->handshake_expired();
      return false;
    }
  }
  return true;
}

}  // namespace

std::unique_ptr<Server::Impl> make_blocking_impl(ServerOptions opts, SessionFactory factory) {
  return std::make_unique<BlockingImpl>(std::move(opts), std::move(factory));
}

}  // namespace sockit::serve
