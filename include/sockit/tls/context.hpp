// Public header. TlsContext: the shared settings of TLS connections of one role (an SSL_CTX):
// certificate chain and key from PEM files (servers, clients with a certificate), the trust
// store (the system's, or a CA file), ALPN, ciphers. TLS 1.2 is the minimum and 1.3 preferred;
// renegotiation is off; SSL_MODE_RELEASE_BUFFERS frees an idle connection's record buffers.
// Clients verify the server by default, host name included (SSL_set1_host), and refuse with the
// reason in words (error.hpp). Copies share the one SSL_CTX (reference-counted); thread-safe
// for making connections once built.
#pragma once

#include "sockit/net/result.hpp"

#include <memory>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace sockit::tls {

enum class Role { client, server };

struct ContextOptions {
  Role role = Role::client;
  std::string cert_file;  ///< PEM certificate chain (leaf first); servers need one
  std::string key_file;   ///< PEM private key; empty: read from cert_file
  std::string ca_file;    ///< PEM trust anchors; empty: the system trust store
  /// Clients: check the server's certificate and host name (on by default; off = ncat's default
  /// without --ssl-verify). Servers: ask for and check a client certificate.
  bool verify = true;
  std::vector<std::string> alpn;  ///< protocols, in preference order ("h2", "http/1.1")
  std::string ciphers;            ///< OpenSSL cipher string (TLS 1.2; TLS_* names set 1.3 suites)
};

class Context {
 public:
  /// Builds a context; errors name the file or option and OpenSSL's reason.
  static Result<Context> create(const ContextOptions& opts);
  /// A server context with a fresh self-signed certificate for `common_name` (ECDSA P-256, valid
  /// for a day), made in memory as `ncat -l --ssl` does without --ssl-cert; `opts.cert_file` and
  /// `opts.key_file` are ignored.
  static Result<Context> self_signed(const ContextOptions& opts, const std::string& common_name);

  Role role() const noexcept { return role_; }
  bool verify() const noexcept { return verify_; }
  /// SHA-256 fingerprint of the context's own certificate, "AB:CD:..." (empty without one).
  std::string fingerprint() const;
  SSL_CTX* native() const noexcept { return ctx_.get(); }

 private:
  Context(std::shared_ptr<SSL_CTX> ctx, Role role, bool verify) : ctx_(std::move(ctx)), role_(role), verify_(verify) {}
  std::shared_ptr<SSL_CTX> ctx_;
  Role role_ = Role::client;
  bool verify_ = true;
};

}  // namespace sockit::tls
