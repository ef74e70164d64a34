#include "sockit/tls/stream.hpp"

#include "detail.hpp"
#include "sockit/net/io.hpp"
#include "sockit/tls/error.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>

namespace sockit::tls {
namespace {

// What OpenSSL waits for after a call that did not complete: readable or writable, or nothing
// (a real error, reported by the caller).
std::optional<Wait> wait_kind(int ssl_error) noexcept {
  if (ssl_error == SSL_ERROR_WANT_READ) return Wait::readable;
  if (ssl_error == SSL_ERROR_WANT_WRITE) return Wait::writable;
  return std::nullopt;
}

Error io_error(int kind, int saved_errno, const char* what) {
  std::string context = std::string("tls: ") + what;
  if (kind == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    return Error(sys_error(saved_errno != 0 ? saved_errno : ECONNRESET), std::move(context));
  }
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  return Error(ssl_error(e), std::move(context));
}

}  // namespace

void Stream::SslFree::operator()(SSL* s) const noexcept { detail::free_ssl(s); }

Stream::~Stream() = default;

Result<Stream> Stream::connect(const Context& ctx, std::string_view host, std::string_view service, Deadline deadline,
                               const ClientOptions& copts, const ConnectOptions& opts, Family family) {
  auto tcp = TcpStream::connect(host, service, deadline, family, opts);
  if (!tcp) return std::move(tcp).error();
  return handshake(ctx, std::move(*tcp), host, deadline, &copts);
}

Result<Stream> Stream::client(const Context& ctx, TcpStream tcp, std::string_view host, Deadline deadline,
                              const ClientOptions& copts) {
  return handshake(ctx, std::move(tcp), host, deadline, &copts);
}

Result<Stream> Stream::accept(const Context& ctx, TcpStream tcp, Deadline deadline) {
  return handshake(ctx, std::move(tcp), {}, deadline, nullptr);
}

Result<Stream> Stream::handshake(const Context& ctx, TcpStream tcp, std::string_view host, Deadline deadline,
                                 const ClientOptions* copts) {
  ERR_clear_error();
  Stream s;
  s.ssl_.reset(detail::new_ssl(ctx));
  if (!s.ssl_ || !detail::attach_socket(s.ssl_.get(), tcp.fd())) return Error(ssl_error(ERR_get_error()), "tls: SSL_new");
  s.tcp_ = std::move(tcp);
  SSL* ssl = s.ssl_.get();
  if (copts != nullptr) {
    std::string_view name = copts->server_name.empty() ? host : std::string_view(copts->server_name);
    if (!detail::set_peer_name(ssl, ctx, name)) return Error(errc::bad_option, "tls: server name '" + std::string(name) + "'");
    SSL_set_connect_state(ssl);
  } else {
    SSL_set_accept_state(ssl);
  }
  for (;;) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl);
    int saved = errno;
    if (rc == 1) return s;
    auto w = wait_kind(SSL_get_error(ssl, rc));
    if (!w) return detail::handshake_error(ssl, rc, saved, "handshake");
    if (auto r = wait_for(s.fd(), *w, deadline); !r) return std::move(r).error().with_context("tls: handshake");
  }
}

Result<std::size_t> Stream::read_some(Bytes buf, Deadline deadline) {
  for (;;) {
    ERR_clear_error();
    std::size_t n = 0;
    int rc = SSL_read_ex(ssl_.get(), buf.data(), buf.size(), &n);
    int saved = errno;
    if (rc == 1) return n;
    int kind = SSL_get_error(ssl_.get(), rc);
    if (kind == SSL_ERROR_ZERO_RETURN) return std::size_t{0};  // close_notify, or the FIN
    auto w = wait_kind(kind);
    if (!w) return io_error(kind, saved, "read");
    if (auto r = wait_for(fd(), *w, deadline); !r) return std::move(r).error().with_context("tls: read");
  }
}

Result<std::size_t> Stream::write_some(ConstBytes buf, Deadline deadline) {
  if (buf.empty()) return std::size_t{0};
  for (;;) {
    ERR_clear_error();
    std::size_t n = 0;
    int rc = SSL_write_ex(ssl_.get(), buf.data(), buf.size(), &n);
    int saved = errno;
    if (rc == 1) return n;
    int kind = SSL_get_error(ssl_.get(), rc);
    auto w = wait_kind(kind);
    if (!w) return io_error(kind, saved, "write");
    if (auto r = wait_for(fd(), *w, deadline); !r) return std::move(r).error().with_context("tls: write");
  }
}

Result<void> Stream::write_all(ConstBytes buf, Deadline deadline) {
  while (!buf.empty()) {
    auto n = write_some(buf, deadline);
    if (!n) return std::move(n).error();
    buf = buf.subspan(*n);
  }
  return {};
}

Result<void> Stream::shutdown_write(Deadline deadline) {
  if (write_shut_) return {};
  for (;;) {
    ERR_clear_error();
    int rc = SSL_shutdown(ssl_.get());  // 0: our close_notify is out, the peer's not in yet
    int saved = errno;
    if (rc >= 0) break;
    int kind = SSL_get_error(ssl_.get(), rc);
    if (kind != SSL_ERROR_WANT_WRITE) {
      if (kind == SSL_ERROR_WANT_READ) break;
      return io_error(kind, saved, "close_notify");
    }
    if (auto r = wait_for(fd(), Wait::writable, deadline); !r) return std::move(r).error().with_context("tls: close_notify");
  }
  write_shut_ = true;
  return tcp_.shutdown_write();
}

std::string Stream::version() const { return ssl_ ? SSL_get_version(ssl_.get()) : ""; }

std::string Stream::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  if (ssl_) SSL_get0_alpn_selected(ssl_.get(), &p, &len);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

std::string Stream::peer_subject() const {
  X509* x = ssl_ ? SSL_get0_peer_certificate(ssl_.get()) : nullptr;
  if (x == nullptr) return {};
  char* line = X509_NAME_oneline(X509_get_subject_name(x), nullptr, 0);
  std::string s = line != nullptr ? line : "";
  OPENSSL_free(line);
  if (!s.empty() && s[0] == '/') s.erase(0, 1);
  return s;
}

}  // namespace sockit::tls
