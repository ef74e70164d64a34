#include "detail.hpp"

#include "sockit/net/sys.hpp"
#include "sockit/tls/error.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstdint>

namespace sockit::tls::detail {
namespace {

// The subject (CN=...) of the certificate that failed verification, kept as the SSL's app data.
std::string* subject_of(SSL* ssl) { return static_cast<std::string*>(SSL_get_app_data(ssl)); }

bool is_ip_literal(const std::string& s) {
  std::array<unsigned char, 16> buf{};
  return ::inet_pton(AF_INET, s.c_str(), buf.data()) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf.data()) == 1;
}

std::string oneline(X509_NAME* name) {
  if (name == nullptr) return {};
  std::array<char, 256> buf{};
  X509_NAME_oneline(name, buf.data(), static_cast<int>(buf.size()));
  std::string s = buf.data();
  if (!s.empty() && s[0] == '/') s.erase(0, 1);  // "/CN=x/O=y" -> "CN=x/O=y"
  return s;
}

// The socket BIO: one read or write system call per call, through sys::, never SIGPIPE.
int fd_of(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

bool is_retry(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

int bio_write(BIO* b, const char* in, int n) {
  BIO_clear_retry_flags(b);
  ssize_t r = sys::send(fd_of(b), in, static_cast<std::size_t>(n), MSG_NOSIGNAL);
  if (r < 0 && is_retry(errno)) BIO_set_retry_write(b);
  return static_cast<int>(r);
}

int bio_read(BIO* b, char* out, int n) {
  BIO_clear_retry_flags(b);
  ssize_t r = sys::recv(fd_of(b), out, static_cast<std::size_t>(n), 0);
  if (r < 0 && is_retry(errno)) BIO_set_retry_read(b);
  if (r == 0) BIO_set_flags(b, BIO_FLAGS_IN_EOF);  // BIO_eof: how OpenSSL tells a FIN from an error
  return static_cast<int>(r);
}

long bio_ctrl(BIO* b, int cmd, long /*num*/, void* ptr) {
  switch (cmd) {
    case BIO_C_GET_FD:  // SSL_get_fd
      if (ptr != nullptr) *static_cast<int*>(ptr) = fd_of(b);
      return fd_of(b);
    case BIO_CTRL_FLUSH:
      return 1;  // nothing is buffered here
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    case BIO_CTRL_GET_CLOSE:
      return BIO_NOCLOSE;  // the descriptor belongs to the Connection or TcpStream
    default:
      return 0;  // kTLS and the rest: not offered
  }
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "sockit socket");
    if (m != nullptr) {
      BIO_meth_set_write(m, bio_write);
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, [](BIO* b) {
        BIO_set_init(b, 1);
        return 1;
      });
    }
    return m;
  }();
  return method;
}

}  // namespace

bool attach_socket(SSL* ssl, int fd) noexcept {
  const BIO_METHOD* m = socket_method();
  BIO* bio = m != nullptr ? BIO_new(m) : nullptr;
  if (bio == nullptr) return false;
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  SSL_set_bio(ssl, bio, bio);  // one reference, taken by the SSL for both directions
  return true;
}

SSL* new_ssl(const Context& ctx) {
  SSL* ssl = SSL_new(ctx.native());
  if (ssl != nullptr) SSL_set_app_data(ssl, new std::string());
  return ssl;
}

void free_ssl(SSL* ssl) noexcept {
  if (ssl == nullptr) return;
  delete subject_of(ssl);
  SSL_free(ssl);
}

int verify_callback(int ok, X509_STORE_CTX* store) {
  if (ok == 0) {
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    std::string* subject = ssl != nullptr ? subject_of(ssl) : nullptr;
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    if (subject != nullptr && subject->empty() && cert != nullptr) *subject = oneline(X509_get_subject_name(cert));
  }
  return ok;
}

bool set_peer_name(SSL* ssl, const Context& ctx, std::string_view name_view) {
  std::string name(name_view);
  if (name.empty()) return true;
  if (is_ip_literal(name)) {
    return !ctx.verify() || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
  }
  // SSL_set_tlsext_host_name() without its C cast.
  if (SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, name.data()) != 1) return false;
  return !ctx.verify() || SSL_set1_host(ssl, name.c_str()) == 1;
}

Error handshake_error(SSL* ssl, int rc, int saved_errno, std::string_view what) {
  int kind = SSL_get_error(ssl, rc);
  long verify = SSL_get_verify_result(ssl);
  unsigned long e = ERR_peek_error();
  if (verify != X509_V_OK && (e == 0 || ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED)) {
    ERR_clear_error();
    const std::string* subject = subject_of(ssl);
    std::string ctx = "tls: certificate verify failed";
    if (subject != nullptr && !subject->empty()) ctx += " (" + *subject + ")";
    return Error(verify_error(verify), std::move(ctx));
  }
  std::string context = "tls: " + std::string(what);
  if (kind == SSL_ERROR_SYSCALL && e == 0) {
    ERR_clear_error();
    if (saved_errno != 0) return Error(sys_error(saved_errno), std::move(context));
    return Error(errc::peer_closed, std::move(context));
  }
  ERR_clear_error();
  if (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL &&
      (ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER || ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST ||
       ERR_GET_REASON(e) == SSL_R_PACKET_LENGTH_TOO_LONG)) {
    // A plaintext peer: say so, with OpenSSL's own words after it.
    return Error(ssl_error(e), context + ": the peer does not speak TLS");
  }
  return Error(ssl_error(e), std::move(context));
}

}  // namespace sockit::tls::detail
