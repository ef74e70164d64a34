#include "sockit/tls/transport.hpp"

#include "detail.hpp"
#include "sockit/tls/error.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace sockit::tls {

Transport::Transport(const Context& ctx, const TransportOptions& opts)
    : ctx_(ctx),
      server_name_(opts.server_name),
      resume_(opts.session),
      handshake_timeout_(opts.handshake_timeout),
      counts_(opts.counts),
      on_established_(opts.on_established) {
  if (ctx_.role() == Role::client) want_ = loop::Want::write;  // the ClientHello goes first
}

Transport::~Transport() { detail::free_ssl(ssl_); }

void Transport::handshake_expired() noexcept {
  if (counts_ == nullptr || established_ || failure_ != 0 || expired_) return;
  expired_ = true;
  counts_->timed_out.fetch_add(1, std::memory_order_relaxed);
}

void Transport::fail(int err) noexcept {
  failure_ = err;
  if (counts_ != nullptr) counts_->failed.fetch_add(1, std::memory_order_relaxed);
}

bool Transport::start(int fd) noexcept {
  ssl_ = detail::new_ssl(ctx_);
  if (ssl_ != nullptr) SSL_set_read_ahead(ssl_, 1);  // one recv per record, not header then body
  if (ssl_ == nullptr || !detail::attach_socket(ssl_, fd)) {
    fail(ENOMEM);
    failure_text_ = "tls: SSL_new: " + take_error_text("out of memory");
    return false;
  }
  if (ctx_.role() == Role::server) {
    SSL_set_accept_state(ssl_);
  } else {
    if (!detail::set_peer_name(ssl_, ctx_, server_name_)) {
      fail(EINVAL);
      failure_text_ = "tls: server name '" + server_name_ + "' refused";
      return false;
    }
    if (resume_ && SSL_set_session(ssl_, resume_.get()) != 1) ERR_clear_error();  // a full handshake then
    SSL_set_connect_state(ssl_);
  }
  return true;
}

bool Transport::handshake(int fd) noexcept {
  if (established_) return true;
  if (failure_ != 0) return false;
  if (ssl_ == nullptr && !start(fd)) return false;
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  int saved = errno;
  if (rc == 1) {
    established_ = true;
    want_ = loop::Want::none;
    if (counts_ != nullptr) counts_->ok.fetch_add(1, std::memory_order_relaxed);
    if (on_established_) {
      try {
        on_established_();
      } catch (...) {  // noexcept here: the notice is lost, the connection is not
      }
    }
    if (shut_requested_ && shutdown_write(fd) < 0) broken_ = true;  // asked while handshaking
    return true;
  }
  int kind = SSL_get_error(ssl_, rc);
  if (kind == SSL_ERROR_WANT_READ) {
    want_ = loop::Want::read;
    return false;
  }
  if (kind == SSL_ERROR_WANT_WRITE) {
    want_ = loop::Want::write;
    return false;
  }
  broken_ = true;
  want_ = loop::Want::none;
  try {
    failure_text_ = detail::handshake_error(ssl_, rc, saved, "handshake").message();
  } catch (...) {  // std::bad_alloc: the reason is lost, the failure is not
  }
  fail(kind == SSL_ERROR_SYSCALL && saved != 0 ? saved : EPROTO);
  return false;
}

ssize_t Transport::io_result(int rc, bool reading) noexcept {
  int saved = errno;
  int kind = SSL_get_error(ssl_, rc);
  switch (kind) {
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or a FIN (SSL_OP_IGNORE_UNEXPECTED_EOF)
      if (reading) return 0;
      // A write that failed after the peer's end was read: OpenSSL names it by that end, but
      // 0 would read as "no progress" to a caller that retries (the event loop spun on it).
      broken_ = true;
      ERR_clear_error();
      errno = saved != 0 && saved != EAGAIN ? saved : EPIPE;
      return -1;
    case SSL_ERROR_WANT_READ:
      want_ = reading ? loop::Want::none : loop::Want::read;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      want_ = reading ? loop::Want::write : loop::Want::none;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        broken_ = true;
        ERR_clear_error();
        errno = saved != 0 ? saved : ECONNRESET;
        return -1;
      }
      [[fallthrough]];
    default:
      broken_ = true;
      ERR_clear_error();
      errno = EPROTO;
      return -1;
  }
}

// A caller that reads or writes before handshake() said true (a connection asked to shut down
// while the handshake ran counts as started) drives the handshake here, as SSL_read would.
bool Transport::ready(int fd) noexcept {
  if (established_ || handshake(fd)) return true;
  errno = failure_ != 0 ? failure_ : EAGAIN;
  return false;
}

ssize_t Transport::read(int fd, std::span<std::byte> buf) noexcept {
  if (!ready(fd)) return -1;
  ERR_clear_error();
  std::size_t n = 0;
  int rc = SSL_read_ex(ssl_, buf.data(), buf.size(), &n);
  if (rc == 1) {
    want_ = loop::Want::none;
    return static_cast<ssize_t>(n);
  }
  return io_result(rc, true);
}

ssize_t Transport::write(int fd, std::span<const std::byte> bytes) noexcept {
  if (!ready(fd)) return -1;
  if (bytes.empty()) return 0;
  ERR_clear_error();
  std::size_t n = 0;
  int rc = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &n);
  if (rc == 1) {
    want_ = loop::Want::none;
    return static_cast<ssize_t>(n);
  }
  return io_result(rc, false);
}

ssize_t Transport::writev(int fd, const iovec* iov, int n) noexcept {
  // Several entries are gathered into one record's worth (a retry after EAGAIN offers the same
  // bytes first again, as OpenSSL requires: the caller's queue keeps them in order).
  constexpr std::size_t kRecord = 16384;
  int first = 0;
  while (first < n && iov[first].iov_len == 0) ++first;
  if (first == n) return 0;
  if (first == n - 1 || iov[first].iov_len >= kRecord) {
    return write(fd, std::span(static_cast<const std::byte*>(iov[first].iov_base), iov[first].iov_len));
  }
  std::array<std::byte, kRecord> buf;
  std::size_t len = 0;
  for (int i = first; i < n && len < kRecord; ++i) {
    std::size_t take = std::min(iov[i].iov_len, kRecord - len);
    std::memcpy(buf.data() + len, iov[i].iov_base, take);
    len += take;
  }
  return write(fd, std::span<const std::byte>(buf.data(), len));
}

ssize_t Transport::send_close_notify(int /*fd*/) noexcept {
  ERR_clear_error();
  int rc = SSL_shutdown(ssl_);  // 0: ours is out, the peer's not in yet; 1: both
  if (rc >= 0) return 0;
  int kind = SSL_get_error(ssl_, rc);
  ERR_clear_error();
  if (kind == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  return 0;  // nothing more to say in TLS: the FIN follows
}

int Transport::shutdown_write(int fd) noexcept {
  if (!established_ && failure_ == 0) {
    shut_requested_ = true;  // close_notify and FIN once the handshake is done
    return 0;
  }
  shut_requested_ = false;
  if (ssl_ != nullptr && established_ && !broken_ && !close_pending_) {
    if (send_close_notify(fd) < 0) {
      close_pending_ = true;  // flush() finishes it, then the FIN
      want_ = loop::Want::write;
      return 0;
    }
  }
  if (close_pending_) return 0;
  return loop::PlainTransport::do_shutdown_write(fd);
}

ssize_t Transport::flush(int fd) noexcept {
  if (!close_pending_) return 0;
  if (send_close_notify(fd) < 0) return -1;
  close_pending_ = false;
  want_ = loop::Want::none;
  if (loop::PlainTransport::do_shutdown_write(fd) < 0 && errno != ENOTCONN) return -1;
  return 1;
}

std::size_t Transport::pending_input() const noexcept {
  if (ssl_ == nullptr || !established_) return 0;
  int n = SSL_pending(ssl_);
  if (n > 0) return static_cast<std::size_t>(n);
  // Read ahead: whole records not decoded yet. Not after a read that wanted more from the socket:
  // what is buffered then is the start of a record, and only the socket can finish it (reporting
  // it would have a blocking model poll with a zero timeout until the rest came).
  return !SSL_want_read(ssl_) && SSL_has_pending(ssl_) == 1 ? 1 : 0;
}

std::shared_ptr<SSL_SESSION> Transport::session() const {
  SSL_SESSION* s = ssl_ != nullptr && established_ ? SSL_get1_session(ssl_) : nullptr;
  if (s == nullptr) return {};
  if (SSL_SESSION_is_resumable(s) != 1) {
    SSL_SESSION_free(s);
    return {};
  }
  return std::shared_ptr<SSL_SESSION>(s, [](SSL_SESSION* p) { SSL_SESSION_free(p); });
}

std::string Transport::version() const { return ssl_ != nullptr && established_ ? SSL_get_version(ssl_) : ""; }

bool Transport::resumed() const noexcept { return ssl_ != nullptr && established_ && SSL_session_reused(ssl_) == 1; }

loop::TransportFactory transport_factory(Context ctx, TransportOptions opts) {
  return [ctx = std::move(ctx), opts = std::move(opts)]() -> std::unique_ptr<loop::Transport> {
    return std::make_unique<Transport>(ctx, opts);
  };
}

}  // namespace sockit::tls
