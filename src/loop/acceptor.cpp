// AcceptCore (spare-fd EMFILE handling, rate-limited logging) and the loop-driven Acceptor.
#include "sockit/loop/acceptor.hpp"

#include "detail.hpp"
#include "ring_accept.hpp"

#include "sockit/net/io.hpp"
#include "sockit/net/sys.hpp"

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sockit::loop {

AcceptCore::AcceptCore(int listen_fd, ErrorLog log) : listen_fd_(listen_fd), log_(std::move(log)) {
  reopen_spare();
}

void AcceptCore::reopen_spare() noexcept {
  if (!spare_) spare_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

void AcceptCore::log(const Error& e) {
  if (!log_) return;
  auto now = std::chrono::steady_clock::now();
  if (last_log_ != std::chrono::steady_clock::time_point{} && now - last_log_ < std::chrono::seconds(1)) {
    ++suppressed_;
    return;
  }
  last_log_ = now;
  if (suppressed_ > 0) {
    log_(e.with_context("(" + std::to_string(suppressed_) + " similar suppressed)"));
    suppressed_ = 0;
  } else {
    log_(e);
  }
}

AcceptCore::Outcome AcceptCore::accept_one() {
  Outcome out;
  reopen_spare();  // lost during an earlier shortage: take it back as soon as possible
  Address peer;
  socklen_t len = Address::capacity();
  int fd;
  do {
    fd = sys::accept4(listen_fd_, peer.sockaddr_ptr(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd >= 0) {
    peer.set_length(len);
    ++accepted_;
    out.status = Status::accepted;
    out.fd = Fd(fd);
    out.peer = peer;
    return out;
  }
  int err = errno;
  switch (err) {
    case EAGAIN:
#if EAGAIN != EWOULDBLOCK
    case EWOULDBLOCK:
#endif
      out.status = Status::again;
      return out;
    // Transient: the connection died in the backlog, or a firewall said no. Try the next one.
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      out.status = Status::shed;
      out.error = sys_error(err);
      return out;
    case EMFILE:
    case ENFILE: {
      ++errors_;
      out.error = sys_error(err);
      if (spare_) {
        spare_.reset();
        int victim = sys::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (victim >= 0) {
          sys::close(victim);
          ++shed_;
        }
        reopen_spare();
        log(Error(sys_error(err), "accept: out of descriptors, closing new connections"));
        if (victim < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          out.status = Status::again;
          return out;
        }
        out.status = spare_ ? Status::shed : Status::paused;
        return out;
      }
      reopen_spare();
      log(Error(sys_error(err), "accept: out of descriptors, pausing accepts"));
      out.status = Status::paused;
      return out;
    }
    default:
      // ENOBUFS, ENOMEM and friends: nothing a client did; pause briefly rather than spin or die.
      ++errors_;
      out.error = sys_error(err);
      log(Error(sys_error(err), "accept"));
      out.status = Status::paused;
      return out;
  }
}

Result<std::unique_ptr<Acceptor>> Acceptor::create(EventLoop& loop, Fd listen_fd, NewConnection on_new,
                                                   AcceptCore::ErrorLog log, Options opts) {
  if (auto r = set_nonblocking(listen_fd.get()); !r) return std::move(r).error();
  std::unique_ptr<Acceptor> a(new Acceptor(loop, std::move(listen_fd), std::move(on_new), std::move(log), opts));
  if (auto* ring = detail::accept_ring(loop)) {
    int slot = ring->accept_open(a->fd_.get(), a.get(), [](void* self, int res, bool more) {
      static_cast<Acceptor*>(self)->on_ring(res, more);
    });
    if (slot >= 0) {
      a->ring_ = ring;
      a->ring_slot_ = slot;
      ring->accept_arm(slot);
      return a;
    }
  }
  if (auto r = a->watch(); !r) return std::move(r).error();
  return a;
}

Acceptor::Acceptor(EventLoop& loop, Fd fd, NewConnection on_new, AcceptCore::ErrorLog log, Options opts)
    : loop_(&loop), fd_(std::move(fd)), core_(fd_.get(), std::move(log)), on_new_(std::move(on_new)), opts_(opts) {}

Acceptor::~Acceptor() { close(); }

Result<void> Acceptor::watch() {
  return loop_->watch(fd_.get(), Interest::read, [this](const Ready&) { on_readable(); });
}

void Acceptor::close() {
  if (resume_timer_ != 0) loop_->cancel(std::exchange(resume_timer_, 0));
  if (!fd_) return;
  if (ring_slot_ >= 0) {
    ring_->accept_close(std::exchange(ring_slot_, -1));  // cancelled now; what it still brings is closed
  } else {
    loop_->unwatch(fd_.get());
  }
  fd_.reset();
}

void Acceptor::on_readable() {
  for (int i = 0; i < opts_.batch && fd_; ++i) {
    auto out = core_.accept_one();
    switch (out.status) {
      case AcceptCore::Status::accepted:
        on_new_(std::move(out.fd), out.peer);
        continue;
      case AcceptCore::Status::shed:
        continue;
      case AcceptCore::Status::again:
        // Out of descriptors with an empty backlog: the kernel's ACCEPT takes a descriptor number
        // before it looks for a connection, so armed now it would fail at once, again and again.
        // Back off instead, as when the spare is lost, and arm it then.
        if (ring_short_ && ring_slot_ >= 0) {
          pause();
        } else {
          rearm_ring();
        }
        return;
      case AcceptCore::Status::paused:
      case AcceptCore::Status::error:
        pause();
        return;
    }
  }
  rearm_ring();  // on the ring, the multishot accept takes the rest of the backlog
}

void Acceptor::rearm_ring() {
  if (ring_slot_ >= 0 && fd_) ring_->accept_arm(ring_slot_);
}

void Acceptor::pause() {
  // Stop accepting for a moment: a level-triggered listener (or a re-armed accept) would find the
  // same shortage at once.
  if (ring_slot_ < 0) (void)loop_->update(fd_.get(), Interest::none);
  resume_timer_ = loop_->run_after(opts_.pause, [this] {
    resume_timer_ = 0;
    if (!fd_) return;
    if (ring_slot_ >= 0) {
      ring_->accept_arm(ring_slot_);
    } else {
      (void)loop_->update(fd_.get(), Interest::read);
    }
  });
}

// A completion of the multishot accept (ring_accept.hpp).
void Acceptor::on_ring(int res, bool more) {
  if (res >= 0) {
    Fd fd(res);
    core_.reopen_spare();  // as accept_one() does: lost during a shortage, taken back at once
    Address peer;
    socklen_t len = Address::capacity();
    if (::getpeername(res, peer.sockaddr_ptr(), &len) == 0) {
      peer.set_length(len);
      ++core_.accepted_;
      ++ring_accepts_;
      ring_short_ = false;
      on_new_(std::move(fd), peer);
    }  // else reset before we saw it (ENOTCONN): closed, as accept4 would have skipped it
    if (!more) rearm_ring();
    return;
  }
  if (more) return;
  if (res == -EINVAL && ring_accepts_ == 0) {
    // The kernel refused the multishot accept itself: accept on readiness from now on.
    ring_->accept_close(std::exchange(ring_slot_, -1));
    core_.log(Error(sys_error(EINVAL), "accept: io_uring multishot accept refused; accepting on readiness"));
    if (auto r = watch(); !r) core_.log(r.error());
    return;
  }
  // The error ended the multishot accept: the readiness step meets it again and handles it as on
  // epoll (EMFILE: the spare descriptor; transient: the next connection), then arms it again.
  ring_short_ = res == -EMFILE || res == -ENFILE;
  on_readable();
}

}  // namespace sockit::loop
