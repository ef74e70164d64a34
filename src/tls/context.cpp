#include "sockit/tls/context.hpp"

#include "detail.hpp"
#include "sockit/tls/error.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <cstdio>
#include <ctime>

namespace sockit::tls {
namespace {

// The ALPN list in wire format (length-prefixed names), or an error for an empty or long name.
Result<std::string> alpn_wire(const std::vector<std::string>& names) {
  std::string wire;
  for (const auto& n : names) {
    if (n.empty() || n.size() > 255) return Error(errc::bad_option, "tls: ALPN protocol '" + n + "'");
    wire.push_back(static_cast<char>(n.size()));
    wire += n;
  }
  return wire;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
  const auto* ours = static_cast<const std::string*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(ours->data()),
                            static_cast<unsigned int>(ours->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN, as ncat does
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

Error openssl_error(std::string context) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  return Error(ssl_error(e), std::move(context));
}

}  // namespace

namespace {
Result<std::shared_ptr<SSL_CTX>> build(const ContextOptions& opts, bool load_cert) {
  ERR_clear_error();
  const bool server = opts.role == Role::server;
  auto alpn = alpn_wire(opts.alpn);
  if (!alpn) return std::move(alpn).error();
  auto held = std::make_shared<std::string>(std::move(*alpn));
  SSL_CTX* raw = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (raw == nullptr) return openssl_error("tls: SSL_CTX_new");
  std::shared_ptr<SSL_CTX> ctx(raw, [held](SSL_CTX* c) { SSL_CTX_free(c); });
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               (server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (load_cert && !opts.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(raw, opts.cert_file.c_str()) != 1) {
      return openssl_error("tls: certificate " + opts.cert_file);
    }
    const std::string& key = opts.key_file.empty() ? opts.cert_file : opts.key_file;
    if (SSL_CTX_use_PrivateKey_file(raw, key.c_str(), SSL_FILETYPE_PEM) != 1) return openssl_error("tls: key " + key);
    if (SSL_CTX_check_private_key(raw) != 1) return openssl_error("tls: key " + key + " does not match " + opts.cert_file);
  } else if (load_cert && server) {
    return Error(errc::no_certificate, "tls");
  }
  if (!opts.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(raw, opts.ca_file.c_str(), nullptr) != 1) {
      return openssl_error("tls: trust file " + opts.ca_file);
    }
  } else if (!server && SSL_CTX_set_default_verify_paths(raw) != 1) {
    // Servers check client certificates only against a given CA file, so they leave the system
    // store out: OpenSSL 3 searches it on every handshake (the certificate chain it builds for
    // the leaf, via the store's file: loader, which lists /etc/ssl/certs each time), about 20 %
    // of a full handshake's server CPU (docs/TLS.md, "Bench").
    return openssl_error("tls: system trust store");
  }
  int mode = SSL_VERIFY_NONE;
  if (!server && opts.verify) mode = SSL_VERIFY_PEER;
  if (server && opts.verify && !opts.ca_file.empty()) mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(raw, mode, &detail::verify_callback);
  if (!opts.ciphers.empty()) {
    bool tls13 = opts.ciphers.rfind("TLS_", 0) == 0;
    int ok = tls13 ? SSL_CTX_set_ciphersuites(raw, opts.ciphers.c_str()) : SSL_CTX_set_cipher_list(raw, opts.ciphers.c_str());
    if (ok != 1) {
      ERR_clear_error();
      return Error(errc::bad_option, "tls: ciphers '" + opts.ciphers + "'");
    }
  }
  if (!held->empty()) {
    if (server) {
      SSL_CTX_set_alpn_select_cb(raw, &select_alpn, held.get());
    } else if (SSL_CTX_set_alpn_protos(raw, reinterpret_cast<const unsigned char*>(held->data()),
                                       static_cast<unsigned int>(held->size())) != 0) {
      return Error(errc::bad_option, "tls: ALPN");
    }
  }
  return ctx;
}
}  // namespace

Result<Context> Context::create(const ContextOptions& opts) {
  auto ctx = build(opts, true);
  if (!ctx) return std::move(ctx).error();
  return Context(std::move(*ctx), opts.role, opts.verify);
}

Result<Context> Context::self_signed(const ContextOptions& opts, const std::string& common_name) {
  ContextOptions o = opts;
  o.role = Role::server;
  auto ctx = build(o, false);
  if (!ctx) return std::move(ctx).error();
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return openssl_error("tls: new key");
  X509* x = X509_new();
  bool ok = x != nullptr && X509_set_version(x, 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(x), static_cast<long>(std::time(nullptr))) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(x), 24L * 3600) != nullptr && X509_set_pubkey(x, key) == 1;
  if (ok) {
    X509_NAME* name = X509_get_subject_name(x);
    ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                    -1, -1, 0) == 1 &&
         X509_set_issuer_name(x, name) == 1 && X509_sign(x, key, EVP_sha256()) > 0 &&
         SSL_CTX_use_certificate(ctx->get(), x) == 1 && SSL_CTX_use_PrivateKey(ctx->get(), key) == 1;
  }
  X509_free(x);
  EVP_PKEY_free(key);
  if (!ok) return openssl_error("tls: self-signed certificate");
  return Context(std::move(*ctx), Role::server, o.verify);
}

std::string Context::fingerprint() const {
  X509* x = ctx_ ? SSL_CTX_get0_certificate(ctx_.get()) : nullptr;
  if (x == nullptr) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (X509_digest(x, EVP_sha256(), md.data(), &len) != 1) return {};
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    std::array<char, 4> hex{};
    std::snprintf(hex.data(), hex.size(), i == 0 ? "%02X" : ":%02X", md[i]);
    out += hex.data();
  }
  return out;
}

}  // namespace sockit::tls
