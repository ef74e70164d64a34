#include "sockit/tls/error.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

namespace sockit::tls {
namespace {

constexpr int kVerifyBase = 1000;
constexpr int kVerifyEnd = 2000;

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int ev) const override {
    if (ev >= kVerifyBase && ev < kVerifyEnd) return X509_verify_cert_error_string(ev - kVerifyBase);
    if (ev >= kVerifyEnd) {
      const char* r = ERR_reason_error_string(static_cast<unsigned long>(ev));
      return r != nullptr ? r : "TLS error " + std::to_string(ev);
    }
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "Success";
      case errc::handshake_failed: return "handshake failed";
      case errc::not_tls: return "the peer does not speak TLS";
      case errc::peer_closed: return "the peer closed the connection during the handshake";
      case errc::no_certificate: return "a TLS server needs a certificate and its key";
      case errc::bad_option: return "option refused by OpenSSL";
    }
    return "TLS error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const TlsCategory c;
  return c;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

std::error_code verify_error(long x509_result) noexcept {
  return {kVerifyBase + static_cast<int>(x509_result % (kVerifyEnd - kVerifyBase)), category()};
}

std::error_code ssl_error(unsigned long packed) noexcept {
  if (packed == 0) return make_error_code(errc::handshake_failed);
  if (ERR_SYSTEM_ERROR(packed)) return {ERR_GET_REASON(packed), std::system_category()};
  unsigned long key = ERR_PACK(ERR_GET_LIB(packed), 0, ERR_GET_REASON(packed));
  if (key < static_cast<unsigned long>(kVerifyEnd) || key > 0x7fffffffUL) return make_error_code(errc::handshake_failed);
  return {static_cast<int>(key), category()};
}

bool is_verify_error(const std::error_code& ec) noexcept {
  return ec.category() == category() && ec.value() >= kVerifyBase && ec.value() < kVerifyEnd;
}

std::string take_error_text(const char* fallback) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return fallback;
  const char* r = ERR_reason_error_string(e);
  return r != nullptr ? r : fallback;
}

}  // namespace sockit::tls
