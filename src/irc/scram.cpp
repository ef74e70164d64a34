// SASL SCRAM-SHA-256 (scram.hpp): RFC 5802's server side with RFC 7677's hash, on OpenSSL's
// PKCS5_PBKDF2_HMAC, HMAC and EVP_Digest. Pure functions: the exchange's state lives in the
// Client (commands_accounts.cpp), the credentials in the account store.
#include "sockit/irc/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

namespace sockit::irc {

namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kSaltBytes = 16;
constexpr std::string_view kScheme = "SCRAM-SHA-256";

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), out, &len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(out), len);
}

/// Splits "a=x,b=y" into its attributes; each must be one letter, '=', a value.
std::optional<std::vector<std::pair<char, std::string_view>>> attributes(std::string_view msg) {
  std::vector<std::pair<char, std::string_view>> out;
  while (true) {
    std::size_t comma = msg.find(',');
    std::string_view a = msg.substr(0, comma);
    if (a.size() < 2 || a[1] != '=' || !((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z'))) {
      return std::nullopt;
    }
    out.emplace_back(a[0], a.substr(2));
    if (comma == std::string_view::npos) return out;
    msg.remove_prefix(comma + 1);
  }
}

/// saslname (RFC 5802): "=2C" -> ',', "=3D" -> '='; any other '=' is malformed.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    std::string_view esc = s.substr(i, 3);
    if (esc == "=2C") {
      out += ',';
    } else if (esc == "=3D") {
      out += '=';
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

/// A nonce: printable ASCII except ','.
bool valid_nonce(std::string_view n) {
  if (n.empty()) return false;
  for (char ch : n) {
    if (ch < 0x21 || ch > 0x7e || ch == ',') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  auto val = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    std::array<int, 4> v{};
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char ch = in[i + static_cast<std::size_t>(k)];
      if (ch == '=' && last && k >= 2) {
        ++pad;
        v[static_cast<std::size_t>(k)] = 0;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[static_cast<std::size_t>(k)] = val(ch);
      if (v[static_cast<std::size_t>(k)] < 0) return std::nullopt;
    }
    std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                      (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string encode_base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

ScramCredentials scram_derive(std::string_view password, std::string_view salt, unsigned iterations) {
  ScramCredentials c;
  c.salt = std::string(salt);
  c.iterations = iterations;
  unsigned char salted[kKeyBytes];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                        static_cast<int>(iterations), EVP_sha256(), static_cast<int>(kKeyBytes), salted) != 1) {
    return c;
  }
  const std::string_view sp(reinterpret_cast<const char*>(salted), kKeyBytes);
  c.stored_key = sha256(hmac(sp, "Client Key"));
  c.server_key = hmac(sp, "Server Key");
  OPENSSL_cleanse(salted, sizeof salted);
  return c;
}

ScramCredentials scram_new(std::string_view password) {
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return {};
  return scram_derive(password, std::string_view(reinterpret_cast<const char*>(salt), sizeof salt), kScramIterations);
}

std::string scram_encode(const ScramCredentials& c) {
  return std::string(kScheme) + "$" + std::to_string(c.iterations) + "$" + encode_base64(c.salt) + "$" +
         encode_base64(c.stored_key) + "$" + encode_base64(c.server_key);
}

std::optional<ScramCredentials> scram_parse(std::string_view text) {
  std::vector<std::string_view> f;
  while (true) {
    std::size_t d = text.find('$');
    f.push_back(text.substr(0, d));
    if (d == std::string_view::npos) break;
    text.remove_prefix(d + 1);
  }
  if (f.size() != 5 || f[0] != kScheme) return std::nullopt;
  ScramCredentials c;
  auto [ptr, ec] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), c.iterations);
  if (ec != std::errc() || ptr != f[1].data() + f[1].size() || c.iterations == 0 || c.iterations > kScramMaxIterations) {
    return std::nullopt;
  }
  auto salt = decode_base64(f[2]), stored = decode_base64(f[3]), server = decode_base64(f[4]);
  if (!salt || salt->empty() || !stored || stored->size() != kKeyBytes || !server || server->size() != kKeyBytes) {
    return std::nullopt;
  }
  c.salt = std::move(*salt);
  c.stored_key = std::move(*stored);
  c.server_key = std::move(*server);
  return c;
}

std::optional<ScramClientFirst> scram_parse_client_first(std::string_view msg) {
  // gs2-header: cbind-flag "," [ "a=" authzid ] ","; only "n" and "y" (no channel binding here).
  if (msg.size() < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',') return std::nullopt;
  std::size_t second = msg.find(',', 2);
  if (second == std::string_view::npos) return std::nullopt;
  std::string_view authz = msg.substr(2, second - 2);
  if (!authz.empty() && !authz.starts_with("a=")) return std::nullopt;
  ScramClientFirst out;
  out.gs2_header = std::string(msg.substr(0, second + 1));
  out.bare = std::string(msg.substr(second + 1));
  auto attrs = attributes(out.bare);
  // "n=user,r=nonce" and optional extensions after them; "m=" (mandatory extension) is refused.
  if (!attrs || attrs->size() < 2 || (*attrs)[0].first != 'n' || (*attrs)[1].first != 'r') return std::nullopt;
  for (std::size_t i = 2; i < attrs->size(); ++i) {
    if ((*attrs)[i].first == 'm') return std::nullopt;
  }
  auto user = decode_saslname((*attrs)[0].second);
  if (!user || user->empty() || !valid_nonce((*attrs)[1].second)) return std::nullopt;
  if (!authz.empty()) {
    auto z = decode_saslname(authz.substr(2));
    if (!z || *z != *user) return std::nullopt;  // acting as someone else: refused
  }
  out.user = std::move(*user);
  out.nonce = std::string((*attrs)[1].second);
  return out;
}

std::optional<ScramClientFinal> scram_parse_client_final(std::string_view msg) {
  auto attrs = attributes(msg);
  if (!attrs || attrs->size() != 3 || (*attrs)[0].first != 'c' || (*attrs)[1].first != 'r' || (*attrs)[2].first != 'p') {
    return std::nullopt;
  }
  auto proof = decode_base64((*attrs)[2].second);
  if (!proof || proof->size() != kKeyBytes || !valid_nonce((*attrs)[1].second)) return std::nullopt;
  ScramClientFinal out;
  out.channel_binding = std::string((*attrs)[0].second);
  out.nonce = std::string((*attrs)[1].second);
  out.proof = std::move(*proof);
  out.without_proof = std::string(msg.substr(0, msg.rfind(",p=")));
  return out;
}

std::string scram_server_first(std::string_view nonce, const ScramCredentials& c) {
  return "r=" + std::string(nonce) + ",s=" + encode_base64(c.salt) + ",i=" + std::to_string(c.iterations);
}

std::optional<std::string> scram_verify(const ScramClientFirst& first, std::string_view server_first,
                                        std::string_view full_nonce, const ScramClientFinal& final_msg,
                                        const ScramCredentials& c) {
  if (final_msg.channel_binding != encode_base64(first.gs2_header) || final_msg.nonce != full_nonce) return std::nullopt;
  if (c.stored_key.size() != kKeyBytes || c.server_key.size() != kKeyBytes) return std::nullopt;
  const std::string auth = first.bare + "," + std::string(server_first) + "," + final_msg.without_proof;
  std::string key = hmac(c.stored_key, auth);  // ClientSignature, then ClientKey = proof XOR it
  if (key.size() != kKeyBytes) return std::nullopt;
  for (std::size_t i = 0; i < kKeyBytes; ++i) key[i] = static_cast<char>(key[i] ^ final_msg.proof[i]);
  const std::string stored = sha256(key);
  OPENSSL_cleanse(key.data(), key.size());
  if (stored.size() != kKeyBytes || CRYPTO_memcmp(stored.data(), c.stored_key.data(), kKeyBytes) != 0) return std::nullopt;
  return "v=" + encode_base64(hmac(c.server_key, auth));
}

ScramCredentials scram_fake(std::string_view user) {
  static const std::string secret = [] {
    unsigned char b[32];
    if (RAND_bytes(b, sizeof b) != 1) return std::string("sockit-scram-fallback");
    return std::string(reinterpret_cast<const char*>(b), sizeof b);
  }();
  std::string lower(user);
  for (char& ch : lower) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  ScramCredentials c;
  c.salt = hmac(secret, "salt:" + lower).substr(0, kSaltBytes);
  c.iterations = kScramIterations;
  c.stored_key = hmac(secret, "stored:" + lower);  // no password derives these
  c.server_key = hmac(secret, "server:" + lower);
  return c;
}

std::string scram_nonce() {
  unsigned char b[18];
  if (RAND_bytes(b, sizeof b) != 1) return {};
  return encode_base64(std::string_view(reinterpret_cast<const char*>(b), sizeof b));
}

}  // namespace sockit::irc
