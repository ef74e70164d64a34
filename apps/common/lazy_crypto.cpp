// libcrypto, loaded on the first call (lazy_lib.hpp): only chat-server's password hashes
// (src/irc/password.cpp) use it, and loading it cost ~120 page faults at every start-up.
#include "common/lazy_lib.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace {
constexpr const char* kCrypto = "libcrypto.so.3";
}

extern "C" {

const EVP_MD* EVP_sha256() { SOCKIT_LAZY_FORWARD(kCrypto, EVP_sha256); }
int PKCS5_PBKDF2_HMAC(const char* pass, int passlen, const unsigned char* salt, int saltlen, int iter,
                      const EVP_MD* digest, int keylen, unsigned char* out) {
  SOCKIT_LAZY_FORWARD(kCrypto, PKCS5_PBKDF2_HMAC, pass, passlen, salt, saltlen, iter, digest, keylen, out);
}
int RAND_bytes(unsigned char* buf, int num) { SOCKIT_LAZY_FORWARD(kCrypto, RAND_bytes, buf, num); }
int CRYPTO_memcmp(const void* a, const void* b, size_t len) { SOCKIT_LAZY_FORWARD(kCrypto, CRYPTO_memcmp, a, b, len); }

}  // extern "C"
