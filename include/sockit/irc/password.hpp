// Public header. Operator / server password hashes: PBKDF2-HMAC-SHA256 from OpenSSL's libcrypto.
// Format: "pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX" (32-byte hash). Comparison is constant-time.
// Cost: one verify is ITERATIONS HMAC-SHA256 rounds (default 100000, about 30 ms).
#pragma once

#include "sockit/net/result.hpp"

#include <string>
#include <string_view>

namespace sockit::irc {

inline constexpr unsigned kDefaultPbkdf2Iterations = 100000;

/// Hashes `password` with a fresh random 16-byte salt.
Result<std::string> hash_password(std::string_view password, unsigned iterations = kDefaultPbkdf2Iterations);
/// True when `password` matches `encoded`; false for a malformed `encoded`.
bool verify_password(std::string_view password, std::string_view encoded);
/// True when `encoded` has the form hash_password() produces.
bool is_password_hash(std::string_view encoded);

}  // namespace sockit::irc
