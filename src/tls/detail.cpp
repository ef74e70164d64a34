#include "detail.hpp"

#include "sockit/tls/error.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <array>
#include <cerrno>

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

}  // namespace

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
