// Connection: reading, writing, backpressure, half-close with lingering read, idle timer.
#include "sockit/loop/connection.hpp"

#include "detail.hpp"
#include "io.hpp"
#include "ring_recv.hpp"
#include "ring_send.hpp"
#include "sockit/net/sys.hpp"

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

std::string_view to_string(ConnState s) noexcept {
  switch (s) {
    case ConnState::connecting: return "connecting";
    case ConnState::open: return "open";
    case ConnState::read_closed: return "read-closed";
    case ConnState::draining: return "draining";
    case ConnState::read_closed_draining: return "read-closed, draining";
    case ConnState::write_closed: return "write-closed";
    case ConnState::closed: return "closed";
  }
  return "?";
}

bool Lifecycle::sync_budget(BufferBudget& budget, std::size_t& reported, std::size_t held, bool may_pause) noexcept {
  budget.update(reported, held);
  reported = held;
  bool pause = may_pause && budget.must_pause(held);
  if (pause == budget_paused_) return false;
  budget_paused_ = pause;
  if (pause) budget.count_pause();
  return !pause;
}

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

Connection::Connection(EventLoop& loop, Fd fd, const Address& remote, const ConnectionOptions& opts,
                       std::unique_ptr<Transport> transport)
    : Connection(loop, std::move(fd), remote, opts) {
  transport_ = std::move(transport);
}

Connection::~Connection() {
  if (timer_ != 0) loop_->cancel(timer_);
  if (recv_slot_ >= 0) recv_ring_->close(recv_slot_);
  if (fd_ && watched_) loop_->unwatch(fd_.get());
}

Result<void> Connection::start() {
  edge_ = opts_->edge_triggered && loop_->supports_edge();
  // Sends through the io_uring ring: plain sockets in edge mode only (a level-triggered writer
  // would be woken for room while its send is still out).
  if (edge_ && transport_ == nullptr) {
    ring_ = detail::send_ring(*loop_);
    // Reads through the ring too (SOCKIT_URING_RECV): opened before the descriptor is watched,
    // so its poll leaves input to the RECV.
    if (auto* rr = detail::recv_ring(*loop_); rr != nullptr && (recv_slot_ = rr->open(fd_.get())) >= 0) recv_ring_ = rr;
  }
  interest_ = edge_ ? Interest::read | Interest::write | Interest::edge : Interest::read;
  auto r = loop_->watch(fd_.get(), interest_, static_cast<IoHandler*>(this));  // unwatched in ~Connection/close
  if (!r) return r;
  watched_ = true;
  last_activity_ = loop_->now();
  arm_idle_timer();
  // A transport that waits for something (TLS) runs its handshake from the first readiness
  // event, not inside start(): failing there (a plaintext client's bytes already queued) would
  // close the connection before its owner holds it.
  if (io::wants(transport_.get()) != Want::none) {
    update_interest();
  } else if (handshake()) {
    update_interest();
  }
  return {};
}

bool Connection::handshake() {
  if (lc_.started()) return true;
  if (transport_ && !transport_->handshake(fd_.get())) {
    if (int err = transport_->failure(); err != 0) {  // a TLS alert, a peer that speaks no TLS
      close(CloseReason::protocol, sys_error(err));
      return false;
    }
    update_interest();  // what the transport waits for
    return false;
  }
  lc_.opened();
  return true;
}

void Connection::on_ready(const Ready& r) {
  auto self = shared_from_this();  // a callback may drop the last outside reference
  if (!lc_.started()) {
    if (!handshake()) return;
    if (out_) handle_write();  // output sent while connecting
    if (!fd_) return;
  }
  if (transport_ && transport_->pending_output() > 0 && fd_) flush_transport();
  if (r.readable && fd_) handle_read(edge_ && (r.peer_closed || r.hangup || r.error));
  // Edge mode reports "writable" with every input event: only act when something waits for it.
  if (r.writable && fd_ && (!edge_ || out_ || drain_notify_)) {
    if ((opts_->coalesce_writes || ring_sends()) && out_ && !drain_notify_) {
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
  if (edge_ && fd_ && (r.error || r.hangup)) check_dead_while_paused();
}

// Edge mode reports a reset once. If reading is paused, the read that would find it does not
// run, and a write may have met the error only to leave it for "the next write" (a transport that
// buffers, OutputQueue::write_to after progress): no further edge comes, and the connection would
// stay open for good. A zero-length send asks the socket without sending a byte: EPIPE or
// ECONNRESET while we have not shut our side ourselves means the peer is gone.
void Connection::check_dead_while_paused() {
  if (lc_.reads() || lc_.write_shut()) return;
  ssize_t n;
  do {
    n = sys::send(fd_.get(), nullptr, 0, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    int err = errno;
    close(io::is_reset(err) ? CloseReason::reset : CloseReason::error, sys_error(err));
  }
}

void Connection::handle_read(bool to_eagain) {
  std::span<std::byte> buf = loop_->scratch();
  std::size_t want = buf.size();  // less while a buffer budget is nearly spent
  // A transport that cuts reads on its own (a record, a slice) is read to EAGAIN.
  to_eagain = to_eagain || !io::drains_on_short_io(transport_.get());
  if (recv_slot_ >= 0) {
    if (!read_ring()) {
      if (fd_) update_interest();
      return;
    }
    to_eagain = true;  // the socket is read to EAGAIN, then the RECV is armed again
  }
  for (int i = 0; fd_; ++i) {
    bool lingering = lc_.lingering();
    if (!lc_.reads()) break;  // edge mode: resume_reading()/low water reread
    if (i == opts_->reads_per_event) {
      // Fairness: other descriptors first. Level-triggered polls report us again; edge mode
      // will not (no new arrival needed), so it asks to read again at the end of the turn.
      // Nor does a transport holding decoded input: it is read again at the turn end too.
      if (edge_ || (transport_ && transport_->pending_input() > 0)) schedule_reread();
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
      n = io::read(transport_.get(), fd_.get(), buf.first(want));
    }
    if (n > 0) {
      auto got = static_cast<std::size_t>(n);
      detail::count_io(*loop_, got, 0);
      last_activity_ = loop_->now();
      input_turn_ = static_cast<std::uint32_t>(loop_->turns());
      if (!lingering) on_data(std::span<const std::byte>(buf.data(), got));
      if (echo_splice_ && got >= kSpliceMin) splicing_ = true;
      if (got < want && !to_eagain) {  // drained (a later arrival is a new edge)
        if (recv_ring_ != nullptr && recv_slot_ < 0 && !splicing_) enter_ring();  // small again
        break;
      }
      continue;
    }
    if (n == 0) {
      read_eof();
      return;
    }
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      if (recv_ring_ != nullptr && recv_slot_ < 0 && !splicing_ && !lingering) enter_ring();
      break;
    }
    close(io::is_reset(err) ? CloseReason::reset : CloseReason::error, sys_error(err));
    return;
  }
  if (fd_) update_interest();
}

void Connection::read_eof() {
  if (lc_.half_closing() && lc_.write_shut()) {
    on_eof();  // half_close(): the user hears of the peer's FIN before the close it brings
    if (!fd_) return;
  }
  if (lc_.peer_fin()) {
    close(finish_reason_);
    return;
  }
  update_interest();
  on_eof();
}

void Connection::set_echo_splice(bool on) noexcept {
  echo_splice_ = on && transport_ == nullptr;  // splice bypasses a transport
  if (!echo_splice_) splicing_ = false;
  // Whether an echo's reads are large is seen from the first one, which readiness makes (the
  // ring would have taken every byte in the socket before the decision).
  if (echo_splice_ && recv_slot_ >= 0 && !recv_leaving_) {
    recv_leaving_ = true;
    recv_ring_->leave(recv_slot_);
  }
}

void Connection::enter_ring() {
  int slot = recv_ring_->open(fd_.get());  // the poll leaves input to the RECV from now on
  if (slot < 0) return;
  recv_slot_ = slot;
  recv_on_ = false;  // armed by update_interest()
}

bool Connection::read_ring() {
  using Item = detail::RecvRing::Item;
  Item it;
  while (fd_ && recv_slot_ >= 0 && lc_.reads() && recv_ring_->front(recv_slot_, it)) {
    switch (it.kind) {
      case Item::data:
        detail::count_io(*loop_, it.size, 0);
        last_activity_ = loop_->now();
        input_turn_ = static_cast<std::uint32_t>(loop_->turns());
        if (!lc_.lingering()) on_data(std::span<const std::byte>(it.bytes, it.size));
        if (!fd_) return false;  // closed inside on_data: the slot is gone, its buffers back
        recv_ring_->pop(recv_slot_);
        if (echo_splice_ && it.size >= kSpliceMin && !recv_leaving_) {
          // Large reads on an echo: splice(2) them. The RECV is cancelled; what it still brings
          // comes first, then the `end` item hands the socket to readiness.
          recv_leaving_ = true;
          recv_ring_->leave(recv_slot_);
        }
        break;
      case Item::eof:
        recv_ring_->pop(recv_slot_);
        recv_on_ = false;
        read_eof();
        return false;
      case Item::error:
        recv_ring_->pop(recv_slot_);
        close(io::is_reset(it.err) ? CloseReason::reset : CloseReason::error, sys_error(it.err));
        return false;
      case Item::no_buffers:
        recv_ring_->pop(recv_slot_);
        recv_on_ = false;  // armed again by update_interest() once the socket is drained
        return true;
      case Item::stale:  // front() never returns it
      case Item::end:
        recv_ring_->pop(recv_slot_);
        recv_ring_->close(recv_slot_);
        recv_slot_ = -1;  // recv_ring_ stays: a small read enters the ring again
        recv_on_ = recv_leaving_ = false;
        splicing_ = echo_splice_;
        return true;
    }
  }
  return false;
}

ssize_t Connection::splice_echo(std::size_t max) {
  int pipe_r = -1, pipe_w = -1;
  if (!detail::splice_pipe(*loop_, pipe_r, pipe_w)) {
    splicing_ = false;
    errno = EAGAIN;
    return -1;
  }
  ssize_t n;
  do {
    n = sys::splice(fd_.get(), pipe_w, max, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  auto got = static_cast<std::size_t>(n);
  detail::count_io(*loop_, got, 0);
  last_activity_ = loop_->now();
  std::size_t left = got;
  while (left > 0) {
    ssize_t w = sys::splice(pipe_r, fd_.get(), left, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (w > 0) {
      left -= static_cast<std::size_t>(w);
    } else if (!(w < 0 && errno == EINTR)) {
      break;  // EAGAIN (socket full) or an error: the next write reports an error
    }
  }
  detail::count_io(*loop_, 0, got - left);
  detail::count_spliced(*loop_, got - left);
  if (left > 0) {
    // The pipe is the loop's: empty it into the output queue, which the socket drains the
    // ordinary way (writability, backpressure, max_output).
    std::span<std::byte> buf = loop_->scratch();
    while (left > 0) {
      ssize_t r = sys::read(pipe_r, buf.data(), std::min(left, buf.size()));
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        // Should not happen (the bytes are in the pipe), but bytes left there would reach the
        // next connection that splices: the pipe goes, and so does this connection's stream.
        detail::drop_splice_pipe(*loop_);
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
  if (ring_slot_ >= 0) return;  // a send is out: its completion goes on (on_ring_sent)
  // The ring takes one slot (sized to the bytes, at most 16 KiB) per send and one send per turn:
  // a backlog larger than that (a fan-out burst, a reader catching up) goes with one writev of all
  // the kernel takes, as on epoll, instead of 16 KiB a turn while the queue grows past the SendQ
  // cap.
  if (out_ && ring_sends() && !drain_notify_ && lc_.started() && out_->size() <= detail::SendRing::kSlotSize) {
    int slot = ring_->send(fd_.get(), *out_, this, &Connection::ring_sent);
    if (slot >= 0) {
      ring_slot_ = slot;
      ring_hold_ = shared_from_this();
      return;
    }
  }
  if (out_) {
    auto r = out_->write_to(fd_.get(), transport_.get());
    if (!r) {
      int err = r.code().value();
      close(io::is_reset(err) ? CloseReason::reset : CloseReason::error, r.code());
      return;
    }
    if (*r > 0) {
      detail::count_io(*loop_, 0, *r);
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

void Connection::ring_sent(void* self, int result) { static_cast<Connection*>(self)->on_ring_sent(result); }

void Connection::on_ring_sent(int result) {
  ring_slot_ = -1;
  std::shared_ptr<Connection> keep = std::move(ring_hold_);  // we may close (and go) below
  if (!fd_ || !out_) return;
  if (result > 0) {
    auto n = static_cast<std::size_t>(result);
    out_->consume(n);
    detail::count_io(*loop_, 0, n);
    last_activity_ = loop_->now();
    if (out_->empty()) release_queue();
  } else if (result < 0 && result != -EAGAIN && result != -EINTR && result != -ECANCELED) {
    close(io::is_reset(-result) ? CloseReason::reset : CloseReason::error, sys_error(-result));
    return;
  }
  after_write_progress();
  // More queued (or a short send): it leaves at this turn's end. After EAGAIN it waits for the
  // socket's next "writable" edge instead (on_ready).
  if (fd_ && out_ && result > 0 && !flush_scheduled_) {
    flush_scheduled_ = true;
    schedule_turn_end();
  }
  if (fd_) update_interest();
}

void Connection::flush_transport() {
  ssize_t n = transport_->flush(fd_.get());
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    int err = errno;
    close(io::is_reset(err) ? CloseReason::reset : CloseReason::error, sys_error(err));
    return;
  }
  if (n > 0) last_activity_ = loop_->now();
  if (transport_->pending_output() == 0 && !out_ && lc_.fin_pending()) do_shutdown_write();
}

void Connection::after_write_progress() {
  sync_budget();
  if (lc_.water_marks(queued_bytes(), opts_->marks()) && edge_) schedule_reread();
  // Bytes the transport still holds go first: flush_transport() sends the FIN once they are out.
  if (!out_ && lc_.fin_pending() && !(transport_ && transport_->pending_output() > 0)) do_shutdown_write();
}

void Connection::update_interest() {
  if (!fd_ || !watched_) return;
  if (recv_slot_ >= 0 && !recv_leaving_ && lc_.reads() != recv_on_) {
    recv_on_ = !recv_on_;
    if (recv_on_) {
      recv_ring_->arm(recv_slot_);
    } else {
      recv_ring_->stop(recv_slot_);
    }
  }
  Interest want;
  if (edge_ && !drain_notify_) {
    want = Interest::read | Interest::write | Interest::edge;  // registered once, never changed
  } else if (!lc_.started()) {
    Want t = io::wants(transport_.get());  // the handshake's
    want = (has(t, Want::read) ? Interest::read : Interest::none) | (has(t, Want::write) ? Interest::write : Interest::none);
  } else {
    want = lc_.reads() ? Interest::read : Interest::none;
    // Output waiting for the turn-end write needs no writability events (no epoll_ctl per line).
    bool backlog = out_ && !flush_scheduled_;
    if (backlog || (drain_notify_ && !shutting_down() && queued_bytes() <= opts_->low_water)) {
      want = want | Interest::write;
    }
    if (transport_ != nullptr) {
      Want t = transport_->wants();  // e.g. TLS: write to read
      if (has(t, Want::read)) want = want | Interest::read;
      if (has(t, Want::write) || transport_->pending_output() > 0) want = want | Interest::write;
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
  if (!fd_ || !lc_.accepts_output() || bytes.empty()) return;
  if (opts_->coalesce_writes || ring_sends()) {
    queue_coalesced(bytes);
    return;
  }
  std::size_t done = 0;
  if (!out_ && lc_.started()) {
    // A hard error is not handled here (we may be inside on_data): the bytes are queued and the
    // next write reports it from handle_write().
    done = io::write_now(transport_.get(), fd_.get(), std::as_bytes(std::span(bytes.data(), bytes.size())));
    if (done > 0) {
      detail::count_io(*loop_, 0, done);
      last_activity_ = loop_->now();
    }
  }
  if (done < bytes.size()) queue().append(bytes.substr(done));
  after_queue();
}

void Connection::send(std::string&& bytes) {
  if (!fd_ || !lc_.accepts_output() || bytes.empty()) return;
  if (out_) {
    // Already queued behind other output: take the string as a chunk without copying.
    out_->append(std::move(bytes));
    after_queue();
    return;
  }
  send(std::string_view(bytes));
}

void Connection::send(SharedBytes owner, std::string_view part) {
  if (!owner || !fd_ || !lc_.accepts_output() || part.empty()) return;
  if (opts_->coalesce_writes || ring_sends()) {
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
  // Held output that grew past hold_bytes leaves at this turn's end.
  if (held_ && out_->size() >= opts_->hold_bytes) schedule_turn_end();
  // Only a connection with nothing queued needs the turn-end write; one that already has a
  // backlog is waiting for writability and handle_write() takes the new bytes along.
  if (had == 0 && !flush_scheduled_) {
    flush_scheduled_ = true;
    schedule_turn_end();
  }
  if (flush_scheduled_ && had < kCoalesceLimit && out_->size() >= kCoalesceLimit && lc_.started() && ring_slot_ < 0) {
    // A burst (one read of many lines for this receiver) crossing the limit: write what the
    // kernel takes now rather than hold it all until the turn ends. A backlog already past the
    // limit (room just came for it) waits for the turn end and leaves in one write with what
    // the turn adds. An error is left for the turn-end write to report: we may be inside
    // another connection's callback.
    auto r = out_->write_to(fd_.get(), transport_.get());
    if (r && *r > 0) {
      detail::count_io(*loop_, 0, *r);
      last_activity_ = loop_->now();
      if (out_->empty()) release_queue();
    }
  }
  after_queue();
}

OutputQueue& Connection::queue() {
  if (!out_) out_ = detail::output_queues(*loop_).take();
  return *out_;
}

void Connection::release_queue() noexcept { detail::output_queues(*loop_).give(std::move(out_)); }

void Connection::after_queue() {
  std::size_t queued = queued_bytes();
  const WaterMarks marks = opts_->marks();
  if (Lifecycle::over_cap(queued, marks)) {
    close(CloseReason::send_queue_full);
    return;
  }
  if (lc_.water_marks(queued, marks) && edge_) schedule_reread();
  sync_budget();
  update_interest();
}

void Connection::sync_budget() {
  BufferBudget* b = opts_->budget;
  if (b == nullptr) return;
  if (lc_.sync_budget(*b, budgeted_, queued_bytes(), fd_.valid()) && edge_ && fd_) {
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
  if (out_ && hold_turn_end_write()) return;
  flush_scheduled_ = false;
  held_ = false;
  if (!out_) {
    update_interest();
    return;
  }
  handle_write();
}

bool Connection::hold_turn_end_write() {
  const auto hold = opts_->hold_output;
  // Not for a connection that sent input in this turn or the one before (its reply: the server's
  // turn-end hook may queue it a turn later), nor one that closes or waits for room.
  if (hold.count() <= 0 || out_->size() >= opts_->hold_bytes || drain_notify_ || !lc_.started() ||
      shutting_down() || ring_slot_ >= 0 || static_cast<std::uint32_t>(loop_->turns()) - input_turn_ <= 1) {
    return false;
  }
  if (held_) return true;  // already waiting for its deadline
  held_ = true;
  detail::HeldOutput& h = detail::held_output(*loop_);
  h.waiting.push_back({weak_from_this(), loop_->now() + hold});
  if (h.timer == 0) {
    EventLoop* loop = loop_;
    h.timer = loop->run_at(h.waiting.front().due, [loop] { release_due(*loop); });
  }
  return true;
}

void Connection::release_due(EventLoop& loop) {
  detail::HeldOutput& h = detail::held_output(loop);
  h.timer = 0;
  const TimePoint now = loop.now();
  while (!h.waiting.empty() && h.waiting.front().due <= now) {
    std::shared_ptr<Connection> c = h.waiting.front().conn.lock();
    h.waiting.pop_front();
    if (c) c->release_hold();
  }
  if (!h.waiting.empty() && h.timer == 0) {
    h.timer = loop.run_at(h.waiting.front().due, [l = &loop] { release_due(*l); });
  }
}

void Connection::release_hold() {
  // An entry left from an earlier hold (written at hold_bytes, held again since) may end the
  // current one early: never later than the hold time.
  if (!held_) return;
  held_ = false;
  if (!fd_ || !flush_scheduled_) return;
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
  if (!fd_ || lc_.write_shut()) return;
  finish_reason_ = reason;
  (void)lc_.request_shutdown();  // already draining: the reason is updated, the FIN still pending
  if (held_) schedule_turn_end();  // held output is not held any more: it goes, then the FIN
  if (!out_ && lc_.started() && !(transport_ && transport_->pending_output() > 0)) {
    do_shutdown_write();
  }
  if (fd_) update_interest();
}

void Connection::half_close(CloseReason reason) {
  if (!fd_ || !lc_.request_half_close()) return;
  finish_reason_ = reason;
  if (held_) schedule_turn_end();
  if (!out_ && lc_.started() && !(transport_ && transport_->pending_output() > 0)) {
    do_shutdown_write();
  }
  if (fd_) update_interest();
}

void Connection::do_shutdown_write() {
  const bool keep_reading = lc_.half_closing();
  if (io::shutdown_write(transport_.get(), fd_.get()) < 0 && keep_reading && errno != ENOTCONN) {
    int err = errno;
    close(io::is_reset(err) ? CloseReason::reset : CloseReason::error, sys_error(err));
    return;
  }
  if (lc_.fin_sent()) {
    close(finish_reason_);
    return;
  }
  if (keep_reading) return;  // input goes on to on_data() until the peer's FIN; the idle timer stays
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
  if (ring_slot_ >= 0) ring_->cancel(ring_slot_);  // before the number can be reused
  if (recv_slot_ >= 0) {
    recv_ring_->close(std::exchange(recv_slot_, -1));  // cancelled and submitted: the socket goes with the close
    recv_ring_ = nullptr;
  }
  if (watched_) loop_->unwatch(fd_.get());
  fd_.reset();
  lc_.closed();
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
    ssize_t n = io::read(transport_.get(), fd_.get(), buf);
    if (n <= 0) break;
    detail::count_io(*loop_, static_cast<std::size_t>(n), 0);
  }
  if (out_ && ring_slot_ < 0) {
    auto r = out_->write_to(fd_.get(), transport_.get());
    if (r && *r > 0) detail::count_io(*loop_, 0, *r);
  }
  close(reason);
}

void Connection::pause_reading() {
  (void)lc_.set_user_paused(true);
  update_interest();
}

void Connection::resume_reading() {
  bool was_paused = lc_.set_user_paused(false);
  if (edge_ && was_paused) schedule_reread();  // input that arrived meanwhile raises no new edge
  update_interest();
}

void Connection::set_drain_notify(bool on) {
  drain_notify_ = on;
  update_interest();
}

namespace {
// The idle timeout, or the transport's handshake limit while the handshake runs if it is shorter.
std::chrono::nanoseconds idle_limit(std::chrono::nanoseconds idle, const Transport* t, bool started) noexcept {
  if (started || t == nullptr) return idle;
  auto hs = t->handshake_timeout();
  if (hs <= std::chrono::nanoseconds::zero()) return idle;
  return idle > std::chrono::nanoseconds::zero() ? std::min(idle, hs) : hs;
}
}  // namespace

void Connection::arm_idle_timer() {
  auto limit = idle_limit(opts_->idle_timeout, transport_.get(), lc_.started());
  if (limit <= std::chrono::nanoseconds::zero() || lc_.lingering()) return;
  std::weak_ptr<Connection> weak = weak_from_this();
  auto when = Lifecycle::idle_deadline(last_activity_, limit);
  timer_ = loop_->run_at(when, [weak] {
    if (auto self = weak.lock()) self->on_idle_timer();
  });
}

void Connection::on_idle_timer() {
  timer_ = 0;
  if (!fd_) return;
  const auto limit = idle_limit(opts_->idle_timeout, transport_.get(), lc_.started());
  if (Lifecycle::idle_expired(last_activity_, loop_->now(), limit)) {
    if (!lc_.started() && transport_ != nullptr && limit == transport_->handshake_timeout()) transport_->handshake_expired();
    close(CloseReason::idle_timeout);
    return;
  }
  arm_idle_timer();
}

}  // namespace sockit::loop
