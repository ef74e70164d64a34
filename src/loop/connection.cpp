// Connection: reading, writing, backpressure, half-close with lingering read, idle timer.
#include "sockit/loop/connection.hpp"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <malloc.h>

#include <sys/socket.h>
#include <unistd.h>

namespace sockit::loop {

std::string_view to_string(CloseReason r) noexcept {
  switch (r) {
    case CloseReason::peer_closed: return "peer closed";
    case CloseReason::reset: return "reset by peer";
    case CloseReason::idle_timeout: return "idle timeout";
    case CloseReason::send_queue_full: return "send queue full";
    case CloseReason::protocol: return "protocol error";
    case CloseReason::server_stopping: return "server stopping";
    case CloseReason::error: return "error";
  }
  return "?";
}

namespace {
bool is_reset(int err) { return err == ECONNRESET || err == EPIPE || err == ETIMEDOUT || err == EHOSTUNREACH; }
}  // namespace

void BufferBudget::update(std::size_t before, std::size_t after) noexcept {
  if (before == after) return;
  if (before == 0) {
    holders_.fetch_add(1, std::memory_order_relaxed);
  } else if (after == 0) {
    holders_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (after < before) {
    used_.fetch_sub(before - after, std::memory_order_relaxed);
    return;
  }
  std::size_t now = used_.fetch_add(after - before, std::memory_order_relaxed) + (after - before);
  for (auto* p : {&peak_, &wave_peak_}) {
    std::size_t seen = p->load(std::memory_order_relaxed);
    while (now > seen && !p->compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
  }
}

bool BufferBudget::must_pause(std::size_t held) const noexcept {
  if (held == 0) return false;
  std::size_t u = used();
  if (u >= limit_) return true;
  if (u < limit_ / 2) return false;
  // Over half the budget: the holders of the average or more (the biggest) stop first.
  std::size_t h = std::max<std::size_t>(1, holders_.load(std::memory_order_relaxed));
  return held >= u / h;
}

std::size_t BufferBudget::read_room(std::size_t max) const noexcept {
  std::size_t u = used();
  if (u + max <= limit_) return max;
  std::size_t room = u < limit_ ? limit_ - u : 0;
  return std::min(max, std::max(room, kMinRead));
}

std::size_t BufferBudget::reserve(std::size_t max) noexcept {
  std::size_t u = used_.load(std::memory_order_relaxed), grant;
  do {
    std::size_t room = u < limit_ ? limit_ - u : 0;
    grant = std::min(max, std::max(room, kMinRead));
  } while (!used_.compare_exchange_weak(u, u + grant, std::memory_order_relaxed));
  return grant;
}

bool BufferBudget::trim_due() noexcept {
  if (used() > limit_ / 64) return false;
  std::size_t wave = wave_peak_.load(std::memory_order_relaxed);
  if (wave < std::min<std::size_t>(limit_ / 8, 64 << 20)) return false;
  return wave_peak_.compare_exchange_strong(wave, 0, std::memory_order_relaxed);
}

Connection::Connection(EventLoop& loop, Fd fd, const Address& remote, const ConnectionOptions& opts)
    : loop_(&loop), fd_(std::move(fd)), remote_(remote), opts_(&opts), last_activity_(loop.now()) {}

Connection::~Connection() {
  if (timer_ != 0) loop_->cancel(timer_);
  if (fd_ && started_) loop_->unwatch(fd_.get());
}

Result<void> Connection::start() {
  edge_ = opts_->edge_triggered && loop_->supports_edge();
  interest_ = edge_ ? Interest::read | Interest::write | Interest::edge : Interest::read;
  auto r = loop_->watch(fd_.get(), interest_, static_cast<IoHandler*>(this));  // unwatched in ~Connection/close
  if (!r) return r;
  started_ = true;
  last_activity_ = loop_->now();
  arm_idle_timer();
  return {};
}

void Connection::on_ready(const Ready& r) {
  auto self = shared_from_this();  // a callback may drop the last outside reference
  if (r.readable && fd_) handle_read(edge_ && (r.peer_closed || r.hangup || r.error));
  // Edge mode reports "writable" with every input event: only act when something waits for it.
  if (r.writable && fd_ && (!edge_ || out_ || drain_notify_)) {
    if (opts_->coalesce_writes && out_ && !drain_notify_) {
      // Room again for a backlog: it goes out at the end of the turn with whatever this turn
      // adds (a fan-out), one write instead of one now and another at the turn end.
      if (!flush_scheduled_) {
        flush_scheduled_ = true;
        schedule_turn_end();
        update_interest();
      }
    } else {
      handle_write();
    }
  }
}

void Connection::handle_read(bool to_eagain) {
  std::span<std::byte> buf = loop_->scratch();
  std::size_t want = buf.size();  // less while a buffer budget is nearly spent
  for (int i = 0; fd_; ++i) {
    bool lingering = write_shut_ && !read_eof_;
    if (!want_read() && !lingering) break;  // edge mode: resume_reading()/low water reread
    if (i == opts_->reads_per_event) {
      // Fairness: other descriptors first. Level-triggered polls report us again; edge mode
      // will not (no new arrival needed), so it asks to read again at the end of the turn.
      if (edge_) schedule_reread();
      break;
    }
    ssize_t n;
    if (opts_->budget != nullptr) want = opts_->budget->read_room(buf.size());
    if (splicing_ && !lingering && !out_) {
      n = splice_echo(want);
      if (n > 0) {
        if (static_cast<std::size_t>(n) < want && !to_eagain) break;
        continue;
      }
      if (n < 0 && errno == EAGAIN && !splicing_) continue;  // no pipe after all: recv below
    } else {
      do {
        n = ::recv(fd_.get(), buf.data(), want, 0);  // recv, not read: no file-position lock
      } while (n < 0 && errno == EINTR);
    }
    if (n > 0) {
      auto got = static_cast<std::size_t>(n);
      loop_->count_io(got, 0);
      last_activity_ = loop_->now();
      if (!lingering) on_data(std::span<const std::byte>(buf.data(), got));
      if (echo_splice_ && got >= kSpliceMin) splicing_ = true;
      if (got < want && !to_eagain) break;  // drained (a later arrival is a new edge)
      continue;
    }
    if (n == 0) {
      read_eof_ = true;
      if (write_shut_) {
        close(finish_reason_);
        return;
      }
      update_interest();
      on_eof();
      return;
    }
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    close(is_reset(err) ? CloseReason::reset : CloseReason::error, sys_error(err));
    return;
  }
  if (fd_) update_interest();
}

ssize_t Connection::splice_echo(std::size_t max) {
  int pipe_r = -1, pipe_w = -1;
  if (!loop_->splice_pipe(pipe_r, pipe_w)) {
    splicing_ = false;
    errno = EAGAIN;
    return -1;
  }
  ssize_t n;
  do {
    n = ::splice(fd_.get(), nullptr, pipe_w, nullptr, max, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  auto got = static_cast<std::size_t>(n);
  loop_->count_io(got, 0);
  last_activity_ = loop_->now();
  std::size_t left = got;
  while (left > 0) {
    ssize_t w = ::splice(pipe_r, nullptr, fd_.get(), nullptr, left, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (w > 0) {
      left -= static_cast<std::size_t>(w);
    } else if (!(w < 0 && errno == EINTR)) {
      break;  // EAGAIN (socket full) or an error: the next write reports an error
    }
  }
  loop_->count_io(0, got - left);
  loop_->count_spliced(got - left);
  if (left > 0) {
    // The pipe is the loop's: empty it into the output queue, which the socket drains the
    // ordinary way (writability, backpressure, max_output).
    std::span<std::byte> buf = loop_->scratch();
    while (left > 0) {
      ssize_t r = ::read(pipe_r, buf.data(), std::min(left, buf.size()));
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        // Should not happen (the bytes are in the pipe), but bytes left there would reach the
        // next connection that splices: the pipe goes, and so does this connection's stream.
        loop_->drop_splice_pipe();
        close(CloseReason::error, sys_error(r < 0 ? errno : EIO));
        return -1;
      }
      queue().append(std::string_view(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(r)));
      left -= static_cast<std::size_t>(r);
    }
    after_queue();
  }
  if (got < kSpliceMin) splicing_ = false;  // small reads again: recv() and on_data() are cheaper
  return n;
}

void Connection::handle_write() {
  if (out_) {
    auto r = out_->write_to(fd_.get());
    if (!r) {
      int err = r.code().value();
      close(is_reset(err) ? CloseReason::reset : CloseReason::error, r.code());
      return;
    }
    if (*r > 0) {
      loop_->count_io(0, *r);
      last_activity_ = loop_->now();
    }
    if (out_->empty()) release_queue();
  }
  after_write_progress();
  if (fd_ && drain_notify_ && queued_bytes() <= opts_->low_water && !shutting_down()) {
    on_drain();
  }
  if (fd_) update_interest();
}

void Connection::after_write_progress() {
  sync_budget();
  if (backpressured_ && queued_bytes() <= opts_->low_water) {
    backpressured_ = false;
    if (edge_) schedule_reread();
  }
  if (!out_ && shutdown_pending_) do_shutdown_write();
}

void Connection::update_interest() {
  if (!fd_ || !started_) return;
  Interest want;
  if (edge_ && !drain_notify_) {
    want = Interest::read | Interest::write | Interest::edge;  // registered once, never changed
  } else {
    bool lingering = write_shut_ && !read_eof_;
    want = (want_read() || lingering) ? Interest::read : Interest::none;
    // Output waiting for the turn-end write needs no writability events (no epoll_ctl per line).
    bool backlog = out_ && !flush_scheduled_;
    if (backlog || (drain_notify_ && !shutting_down() && queued_bytes() <= opts_->low_water)) {
      want = want | Interest::write;
    }
  }
  if (want == interest_) return;
  if (auto r = loop_->update(fd_.get(), want); !r) {
    close(CloseReason::error, r.code());
    return;
  }
  interest_ = want;
}

void Connection::send(std::string_view bytes) {
  if (!fd_ || shutdown_pending_ || write_shut_ || bytes.empty()) return;
  if (opts_->coalesce_writes) {
    queue_coalesced(bytes);
    return;
  }
  std::size_t done = 0;
  if (!out_) {
    ssize_t n;
    do {
      n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    // A hard error is not handled here (we may be inside on_data): the bytes are queued and the
    // next write reports it from handle_write().
    if (n > 0) {
      done = static_cast<std::size_t>(n);
      loop_->count_io(0, done);
      last_activity_ = loop_->now();
    }
  }
  if (done < bytes.size()) queue().append(bytes.substr(done));
  after_queue();
}

void Connection::send(std::string&& bytes) {
  if (!fd_ || shutdown_pending_ || write_shut_ || bytes.empty()) return;
  if (out_) {
    // Already queued behind other output: take the string as a chunk without copying.
    out_->append(std::move(bytes));
    after_queue();
    return;
  }
  send(std::string_view(bytes));
}

void Connection::send(SharedBytes owner, std::string_view part) {
  if (!owner || !fd_ || shutdown_pending_ || write_shut_ || part.empty()) return;
  if (opts_->coalesce_writes) {
    queue_coalesced(std::move(owner), part);  // a reference, not a copy
  } else if (out_) {
    out_->append(std::move(owner), part);  // behind other output: a reference, not a copy
    after_queue();
  } else {
    send(part);
  }
}

template <typename... Bytes>
void Connection::queue_coalesced(Bytes&&... bytes) {
  const std::size_t had = queued_bytes();
  queue().append(std::forward<Bytes>(bytes)...);
  // Only a connection with nothing queued needs the turn-end write; one that already has a
  // backlog is waiting for writability and handle_write() takes the new bytes along.
  if (had == 0 && !flush_scheduled_) {
    flush_scheduled_ = true;
    schedule_turn_end();
  }
  if (flush_scheduled_ && had < kCoalesceLimit && out_->size() >= kCoalesceLimit) {
    // A burst (one read of many lines for this receiver) crossing the limit: write what the
    // kernel takes now rather than hold it all until the turn ends. A backlog already past the
    // limit (room just came for it) waits for the turn end and leaves in one write with what
    // the turn adds. An error is left for the turn-end write to report: we may be inside
    // another connection's callback.
    auto r = out_->write_to(fd_.get());
    if (r && *r > 0) {
      loop_->count_io(0, *r);
      last_activity_ = loop_->now();
      if (out_->empty()) release_queue();
    }
  }
  after_queue();
}

OutputQueue& Connection::queue() {
  if (!out_) out_ = loop_->output_queues().take();
  return *out_;
}

void Connection::release_queue() noexcept { loop_->output_queues().give(std::move(out_)); }

void Connection::after_queue() {
  std::size_t queued = queued_bytes();
  if (opts_->max_output != 0 && queued > opts_->max_output) {
    close(CloseReason::send_queue_full);
    return;
  }
  if (queued >= opts_->high_water) backpressured_ = true;
  sync_budget();
  update_interest();
}

void Connection::sync_budget() {
  BufferBudget* b = opts_->budget;
  if (b == nullptr) return;
  std::size_t held = queued_bytes();
  b->update(budgeted_, held);
  budgeted_ = held;
  bool pause = fd_ && b->must_pause(held);
  if (pause == budget_paused_) return;
  budget_paused_ = pause;
  if (pause) {
    b->count_pause();
  } else if (edge_ && fd_) {
    schedule_reread();  // input that arrived meanwhile raises no new edge
  }
}

void Connection::schedule_turn_end() {
  if (turn_end_queued_) return;
  turn_end_queued_ = true;
  IoHandler* task = this;  // a private base: converted here, where it is accessible
  loop_->at_turn_end(std::shared_ptr<IoHandler>(shared_from_this(), task));
}

void Connection::schedule_reread() {
  reread_ = true;
  schedule_turn_end();
}

void Connection::on_turn_end() {
  turn_end_queued_ = false;
  if (!fd_) return;
  if (reread_) {
    reread_ = false;
    handle_read(true);  // may queue more output: it goes out with the flush below
    if (!fd_) return;
  }
  if (!flush_scheduled_) return;
  flush_scheduled_ = false;
  if (!out_) {
    update_interest();
    return;
  }
  handle_write();
}

void Connection::prefetch_turn_end(int stage) const noexcept {
  // Stage 0: the queue object; stage 1 (a task later, the queue now cached): its chunk list.
  if (!out_) return;
  if (stage == 0) {
    __builtin_prefetch(out_.get());
  } else {
    out_->prefetch();
  }
}

void Connection::shutdown_after_flush(CloseReason reason) {
  if (!fd_ || write_shut_) return;
  finish_reason_ = reason;
  shutdown_pending_ = true;
  if (!out_) {
    do_shutdown_write();
  }
  if (fd_) update_interest();
}

void Connection::do_shutdown_write() {
  shutdown_pending_ = false;
  write_shut_ = true;
  ::shutdown(fd_.get(), SHUT_WR);
  if (read_eof_) {
    close(finish_reason_);
    return;
  }
  // Linger: read and discard until the peer's FIN, so unread input cannot turn our close into
  // an RST that would destroy the data we just sent.
  // The linger deadline replaces the idle timer (both end in close()).
  if (timer_ != 0) loop_->cancel(std::exchange(timer_, 0));
  std::weak_ptr<Connection> weak = weak_from_this();
  timer_ = loop_->run_after(opts_->linger, [weak] {
    if (auto self = weak.lock()) {
      self->timer_ = 0;
      self->close(self->finish_reason_);
    }
  });
}

void Connection::close(CloseReason reason, std::error_code ec) {
  if (!fd_) return;
  auto self = shared_from_this();
  if (timer_ != 0) loop_->cancel(std::exchange(timer_, 0));
  if (started_) loop_->unwatch(fd_.get());
  fd_.reset();
  release_queue();
  sync_budget();
  // The end of a wave of slow readers: hand the freed chunks back (glibc keeps them otherwise).
  if (opts_->budget != nullptr && opts_->budget->trim_due()) ::malloc_trim(0);
  interest_ = Interest::none;
  on_closed(reason, ec);
}

void Connection::close_after_one_write(CloseReason reason) {
  if (!fd_) return;
  std::span<std::byte> buf = loop_->scratch();
  for (int i = 0; i < opts_->reads_per_event; ++i) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) break;
    loop_->count_io(static_cast<std::size_t>(n), 0);
  }
  if (out_) {
    auto r = out_->write_to(fd_.get());
    if (r && *r > 0) loop_->count_io(0, *r);
  }
  close(reason);
}

void Connection::pause_reading() {
  user_paused_ = true;
  update_interest();
}

void Connection::resume_reading() {
  bool was_paused = user_paused_;
  user_paused_ = false;
  if (edge_ && was_paused) schedule_reread();  // input that arrived meanwhile raises no new edge
  update_interest();
}

void Connection::set_drain_notify(bool on) {
  drain_notify_ = on;
  update_interest();
}

void Connection::arm_idle_timer() {
  if (opts_->idle_timeout <= std::chrono::nanoseconds::zero() || write_shut_) return;
  std::weak_ptr<Connection> weak = weak_from_this();
  auto when = last_activity_ + std::chrono::duration_cast<Duration>(opts_->idle_timeout);
  timer_ = loop_->run_at(when, [weak] {
    if (auto self = weak.lock()) self->on_idle_timer();
  });
}

void Connection::on_idle_timer() {
  timer_ = 0;
  if (!fd_) return;
  auto idle_for = loop_->now() - last_activity_;
  if (idle_for >= opts_->idle_timeout) {
    close(CloseReason::idle_timeout);
    return;
  }
  arm_idle_timer();
}

}  // namespace sockit::loop
