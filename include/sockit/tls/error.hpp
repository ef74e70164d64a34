// Public header. TLS errors as std::error_code values of one category, tls::category() ("tls"),
// so they travel in Result<T> like every other sockit error and read as words:
//   "tls: certificate verify failed (CN=localhost): self-signed certificate"
//   "tls: handshake with 127.0.0.1:443: unsupported protocol"
// Three ranges of values share the category: sockit's own conditions (tls::errc), a certificate
// verification result (verify_error(X509_V_ERR_...), worded by X509_verify_cert_error_string) and
// an OpenSSL library error (ssl_error(ERR_get_error()), worded by ERR_reason_error_string).
#pragma once

#include <string>
#include <system_error>

namespace sockit::tls {

enum class errc {
  ok = 0,
  handshake_failed = 1,  ///< the handshake failed without a more precise OpenSSL reason
  not_tls,               ///< the peer answered with something that is not TLS
  peer_closed,           ///< the peer closed the connection during the handshake
  no_certificate,        ///< a server context without a certificate and key
  bad_option,            ///< an option OpenSSL refused (ALPN list, cipher string)
};

const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;
/// A certificate verification result (X509_V_ERR_*) as an error code.
std::error_code verify_error(long x509_result) noexcept;
/// An OpenSSL library error (a packed ERR_get_error() value) as an error code.
std::error_code ssl_error(unsigned long packed) noexcept;
/// True for a verify_error() code.
bool is_verify_error(const std::error_code& ec) noexcept;

/// The oldest queued OpenSSL error's reason in words ("wrong version number"), or `fallback`;
/// the queue is cleared.
std::string take_error_text(const char* fallback = "handshake failed");

}  // namespace sockit::tls

template <>
struct std::is_error_code_enum<sockit::tls::errc> : std::true_type {};
