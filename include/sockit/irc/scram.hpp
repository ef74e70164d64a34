// Public header. SASL SCRAM-SHA-256 (RFC 5802, RFC 7677) for the IRC server's AUTHENTICATE: the
// stored verifier (salt, iteration count, StoredKey, ServerKey from PBKDF2-HMAC-SHA-256, OpenSSL)
// and the server's side of the exchange as pure functions (no I/O, no clock): the client-first and
// client-final parsers, the server-first builder and the proof check. Channel binding: "n,," or
// "y,," only (no SCRAM-SHA-256-PLUS).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sockit::irc {

/// PBKDF2-HMAC-SHA-256 iterations of new SCRAM credentials (RFC 7677's minimum is 4096; the
/// client runs them once per login, the server never does).
inline constexpr unsigned kScramIterations = 4096;
inline constexpr unsigned kScramMaxIterations = 1000000;

/// Strict base64 (RFC 4648, padding required): nullopt for anything else.
std::optional<std::string> decode_base64(std::string_view in);
std::string encode_base64(std::string_view in);

/// What the server keeps for an account (raw bytes; keys are 32 bytes).
struct ScramCredentials {
  std::string salt;
  unsigned iterations = 0;
  std::string stored_key;  ///< H(HMAC(SaltedPassword, "Client Key"))
  std::string server_key;  ///< HMAC(SaltedPassword, "Server Key")
};

/// Derives the credentials of `password` with `salt` (RFC 5802 section 3). Empty keys on failure.
ScramCredentials scram_derive(std::string_view password, std::string_view salt, unsigned iterations);
/// With a fresh random 16-byte salt and kScramIterations.
ScramCredentials scram_new(std::string_view password);
/// The text form kept in the accounts database: "SCRAM-SHA-256$ITER$SALT$STOREDKEY$SERVERKEY"
/// (base64 fields); parse returns nullopt for anything else.
std::string scram_encode(const ScramCredentials& c);
std::optional<ScramCredentials> scram_parse(std::string_view text);

/// The client-first message: gs2 header ("n,," or "y,,", an authzid allowed when it names the
/// same user) and bare part "n=USER,r=NONCE".
struct ScramClientFirst {
  std::string gs2_header;  ///< e.g. "n,,"; its base64 is the client-final's c= value
  std::string user;        ///< decoded (=2C -> ',', =3D -> '=')
  std::string nonce;
  std::string bare;        ///< "n=...,r=..." as sent (part of the AuthMessage)
};
std::optional<ScramClientFirst> scram_parse_client_first(std::string_view msg);

/// The client-final message "c=...,r=...,p=..." (extensions before p= are refused).
struct ScramClientFinal {
  std::string channel_binding;  ///< c= as sent (base64)
  std::string nonce;
  std::string proof;            ///< decoded, 32 bytes
  std::string without_proof;    ///< "c=...,r=..." (part of the AuthMessage)
};
std::optional<ScramClientFinal> scram_parse_client_final(std::string_view msg);

/// "r=NONCE,s=SALT,i=ITER".
std::string scram_server_first(std::string_view nonce, const ScramCredentials& c);

/// Checks the client-final against the credentials and the earlier messages: the channel binding
/// is the gs2 header's, the nonce is the server-first's, and the proof matches StoredKey (constant
/// time). Returns the server-final message ("v=SIGNATURE") on success, nullopt otherwise.
std::optional<std::string> scram_verify(const ScramClientFirst& first, std::string_view server_first,
                                        std::string_view full_nonce, const ScramClientFinal& final_msg,
                                        const ScramCredentials& c);

/// Credentials for an unknown user that look like real ones and never verify: the salt is an
/// HMAC of the name under a per-process secret (the same name gets the same salt each time).
ScramCredentials scram_fake(std::string_view user);

/// A random printable nonce (base64 of 18 random bytes).
std::string scram_nonce();

}  // namespace sockit::irc
