// Internal: what Stream and Transport share (per-connection set-up, handshake errors in words).
#pragma once

#include "sockit/net/result.hpp"
#include "sockit/tls/context.hpp"

#include <string>
#include <string_view>

typedef struct ssl_st SSL;
typedef struct x509_store_ctx_st X509_STORE_CTX;

namespace sockit::tls::detail {

/// SSL_new with the subject holder the verify callback fills; nullptr on failure.
SSL* new_ssl(const Context& ctx);
/// SSL_free and the subject holder.
void free_ssl(SSL* ssl) noexcept;
/// Connects `ssl` to the socket `fd` (not owned) through a BIO of ours instead of SSL_set_fd's:
/// it sends with MSG_NOSIGNAL (OpenSSL's socket BIO write()s, so a peer's reset would raise
/// SIGPIPE in any program that has not ignored it) and goes through the sys:: seam (SOCKIT_FAULTS
/// reaches TLS). SSL_get_fd still answers `fd`. False when out of memory.
bool attach_socket(SSL* ssl, int fd) noexcept;
/// Client side: SNI and the name or address the certificate must match (when verifying).
bool set_peer_name(SSL* ssl, const Context& ctx, std::string_view name);
/// The error of a failed SSL_do_handshake (rc, with errno as it was right after the call):
/// "tls: certificate verify failed (CN=x): self-signed certificate", or OpenSSL's reason.
Error handshake_error(SSL* ssl, int rc, int saved_errno, std::string_view what);
/// The SSL_VERIFY callback that records the subject of the certificate that failed.
int verify_callback(int ok, X509_STORE_CTX* store);

}  // namespace sockit::tls::detail
