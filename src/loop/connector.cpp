// Connector: connect attempts with timeout, deadline and exponential backoff.
#include "sockit/loop/connector.hpp"
#include "sockit/net/socket.hpp"
#include "sockit/net/sys.hpp"

#include <algorithm>
#include <cerrno>

#include <sys/socket.h>

namespace sockit::loop {

std::shared_ptr<Connector> Connector::start(EventLoop& loop, const Address& to, ConnectorOptions opts, Callback cb) {
  auto c = std::make_shared<Connector>(loop, to, opts, std::move(cb));
  c->attempt();
  return c;
}

Connector::Connector(EventLoop& loop, const Address& to, ConnectorOptions opts, Callback cb)
    : loop_(&loop), to_(to), opts_(opts), cb_(std::move(cb)), backoff_(opts.initial_backoff) {}

Connector::~Connector() { cancel(); }

void Connector::cancel() {
  done_ = true;
  cleanup_attempt();
  cb_ = nullptr;
}

void Connector::cleanup_attempt() {
  if (timer_ != 0) loop_->cancel(std::exchange(timer_, 0));
  if (fd_) {
    loop_->unwatch(fd_.get());
    fd_.reset();
  }
}

void Connector::attempt() {
  if (done_) return;
  if (opts_.deadline.expired()) {
    fail(Error(std::make_error_code(std::errc::timed_out), "connect " + to_.to_string()));
    return;
  }
  ++attempts_;
  int s = sys::socket(to_.sockaddr_ptr()->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    fail(Error(sys_error(errno), "socket"));
    return;
  }
  fd_.reset(s);
  if (opts_.source) {
    if (auto b = bind_source(fd_.get(), *opts_.source, to_); !b) {
      fail(std::move(b).error());
      return;
    }
  }
  int rc;
  do {
    rc = sys::connect(fd_.get(), to_.sockaddr_ptr(), to_.length());
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != EINPROGRESS) {
    fail(Error(sys_error(errno), "connect " + to_.to_string()));
    return;
  }
  std::weak_ptr<Connector> weak = weak_from_this();
  if (auto r = loop_->watch(fd_.get(), Interest::write, [weak](const Ready&) {
        if (auto self = weak.lock()) self->on_writable();
      });
      !r) {
    fail(r.error());
    return;
  }
  auto limit = opts_.attempt_timeout;
  if (!opts_.deadline.is_never()) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(opts_.deadline.remaining());
    limit = std::min(limit, left);
  }
  timer_ = loop_->run_after(limit, [weak] {
    if (auto self = weak.lock()) {
      self->timer_ = 0;
      self->fail(Error(std::make_error_code(std::errc::timed_out), "connect " + self->to_.to_string()));
    }
  });
}

void Connector::on_writable() {
  int err = 0;
  socklen_t len = sizeof err;
  if (sys::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err != 0) {
    fail(Error(sys_error(err), "connect " + to_.to_string()));
    return;
  }
  if (timer_ != 0) loop_->cancel(std::exchange(timer_, 0));
  loop_->unwatch(fd_.get());
  done_ = true;
  Callback cb = std::move(cb_);
  Fd fd = std::move(fd_);
  if (cb) cb(std::move(fd));
}

void Connector::fail(Error e) {
  cleanup_attempt();
  bool more = !done_ && (opts_.max_attempts == 0 || attempts_ < opts_.max_attempts) && !opts_.deadline.expired();
  if (more) {
    std::weak_ptr<Connector> weak = weak_from_this();
    auto delay = backoff_;
    backoff_ = std::min(backoff_ * 2, opts_.max_backoff);
    timer_ = loop_->run_after(delay, [weak] {
      if (auto self = weak.lock()) {
        self->timer_ = 0;
        self->attempt();
      }
    });
    return;
  }
  done_ = true;
  Callback cb = std::move(cb_);
  if (cb) cb(std::move(e));
}

}  // namespace sockit::loop
