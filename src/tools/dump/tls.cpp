// sockit's --tls view (not in tcpdump, which prints nothing for TLS): the TLS records that start
// in one TCP segment, with the ClientHello's SNI, ALPN, cipher-suite count and supported versions,
// the ServerHello's choice and alert names. Per segment, no reassembly: a record continued in a
// later segment is parsed as far as this one goes.
#include "app_decoders.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

namespace sockit::dump::app {

namespace {

constexpr std::size_t kMaxRecords = 16;

std::string version_name(unsigned v) {
  switch (v) {
    case 0x0300: return "SSL 3.0";
    case 0x0301: return "TLS 1.0";
    case 0x0302: return "TLS 1.1";
    case 0x0303: return "TLS 1.2";
    case 0x0304: return "TLS 1.3";
    default:
      if ((v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)) return "GREASE";
      return fmt::format("0x{:04x}", v);
  }
}

std::string cipher_name(unsigned c) {
  switch (c) {
    case 0x1301: return "TLS_AES_128_GCM_SHA256";
    case 0x1302: return "TLS_AES_256_GCM_SHA384";
    case 0x1303: return "TLS_CHACHA20_POLY1305_SHA256";
    case 0xc02b: return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    case 0xc02c: return "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
    case 0xc02f: return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
    case 0xc030: return "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384";
    case 0xcca8: return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
    case 0xcca9: return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
    case 0x009c: return "TLS_RSA_WITH_AES_128_GCM_SHA256";
    case 0x009d: return "TLS_RSA_WITH_AES_256_GCM_SHA384";
    case 0x002f: return "TLS_RSA_WITH_AES_128_CBC_SHA";
    case 0x0035: return "TLS_RSA_WITH_AES_256_CBC_SHA";
    default: return fmt::format("0x{:04x}", c);
  }
}

const char* handshake_name(unsigned t) {
  switch (t) {
    case 0: return "HelloRequest";
    case 1: return "ClientHello";
    case 2: return "ServerHello";
    case 4: return "NewSessionTicket";
    case 5: return "EndOfEarlyData";
    case 8: return "EncryptedExtensions";
    case 11: return "Certificate";
    case 12: return "ServerKeyExchange";
    case 13: return "CertificateRequest";
    case 14: return "ServerHelloDone";
    case 15: return "CertificateVerify";
    case 16: return "ClientKeyExchange";
    case 20: return "Finished";
    case 24: return "KeyUpdate";
    default: return nullptr;
  }
}

std::string alert_name(unsigned d) {
  switch (d) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 21: return "decryption_failed";
    case 22: return "record_overflow";
    case 30: return "decompression_failure";
    case 40: return "handshake_failure";
    case 41: return "no_certificate";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 100: return "no_renegotiation";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    default: return fmt::format("alert {}", d);
  }
}

std::string text(const Bytes& b, std::size_t off, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) print_char(s, b.u8(off + i));
  return s;
}

// The extensions of a ClientHello (client = true) or ServerHello at [off, end).
void extensions(std::string& out, const Bytes& b, std::size_t off, std::size_t end, bool client) {
  while (off + 4 <= end) {
    const unsigned type = b.be16(off), len = b.be16(off + 2);
    const std::size_t data = off + 4;
    off = data + len;
    if (off > end) break;
    if (type == 0 && client && len >= 2) {  // server_name
      std::size_t p = data + 2;
      while (p + 3 <= data + len) {
        const unsigned ntype = b.u8(p), nlen = b.be16(p + 1);
        if (p + 3 + nlen > data + len) break;
        if (ntype == 0) out += ", SNI " + text(b, p + 3, nlen);
        p += 3 + nlen;
      }
    } else if (type == 16 && len >= 2) {  // application_layer_protocol_negotiation
      std::vector<std::string> protos;
      for (std::size_t p = data + 2; p < data + len;) {
        const unsigned plen = b.u8(p);
        if (p + 1 + plen > data + len) break;
        protos.push_back(text(b, p + 1, plen));
        p += 1 + plen;
      }
      out += ", ALPN " + fmt::format("{}", fmt::join(protos, ","));
    } else if (type == 43) {  // supported_versions
      if (client && len >= 1) {
        std::vector<std::string> versions;
        const std::size_t n = b.u8(data);
        for (std::size_t p = data + 1; p + 2 <= data + 1 + n && p + 2 <= data + len; p += 2)
          versions.push_back(version_name(b.be16(p)));
        out += ", supported_versions " + fmt::format("{}", fmt::join(versions, ","));
      } else if (!client && len == 2) {
        out += ", supported_version " + version_name(b.be16(data));
      }
    }
  }
}

void hello(std::string& out, const Bytes& b, std::size_t off, std::size_t end, bool client) {
  out += ", version " + version_name(b.be16(off));
  std::size_t p = off + 2 + 32;
  p += 1 + b.u8(p);  // session id
  if (client) {
    const unsigned suites = b.be16(p);
    out += fmt::format(", {} cipher suites", suites / 2);
    p += 2 + suites;
    p += 1 + b.u8(p);  // compression methods
  } else {
    const unsigned suite = b.be16(p);
    out += fmt::format(", cipher {}", cipher_name(suite));
    if (cipher_name(suite).front() != '0') out += fmt::format(" (0x{:04x})", suite);
    p += 3;
  }
  if (p + 2 > end) return;
  const std::size_t ext_end = std::min<std::size_t>(end, p + 2 + b.be16(p));
  extensions(out, b, p + 2, ext_end, client);
}

// One record at `off` (its 5-byte header is captured); returns the offset of the next one.
std::size_t record(std::string& out, const Bytes& b, std::size_t off) {
  const unsigned type = b.u8(off), len = b.be16(off + 3);
  const std::size_t body = off + 5, end = body + len;
  switch (type) {
    case 20: out += "ChangeCipherSpec"; break;
    case 21:
      if (len == 2)
        out += fmt::format("Alert {} {}", b.u8(body) == 1 ? "warning" : b.u8(body) == 2 ? "fatal" : fmt::format("level {}", b.u8(body)),
                           alert_name(b.u8(body + 1)));
      else
        out += fmt::format("Alert (encrypted, {} bytes)", len);
      break;
    case 22: {
      const unsigned mtype = b.u8(body);
      const std::uint32_t mlen = (std::uint32_t{b.u8(body + 1)} << 16) | b.be16(body + 2);
      const char* name = handshake_name(mtype);
      if (!name || mlen + 4 > len) {
        out += fmt::format("Handshake (encrypted, {} bytes)", len);
        break;
      }
      out += fmt::format("Handshake {}", name);
      if (mtype == 1 || mtype == 2) hello(out, b, body + 4, body + 4 + mlen, mtype == 1);
      break;
    }
    case 23: out += fmt::format("ApplicationData {} bytes", len); break;
    case 24: out += fmt::format("Heartbeat {} bytes", len); break;
    default: out += fmt::format("record type {} {} bytes", type, len); break;
  }
  return end;
}

bool record_header(const Bytes& b, std::size_t off) {
  if (!b.have(off, 5)) return false;
  const unsigned type = b.u8(off), major = b.u8(off + 1), minor = b.u8(off + 2), len = b.be16(off + 3);
  return type >= 20 && type <= 24 && major == 3 && minor <= 4 && len > 0 && len <= 16384 + 2048;
}

}  // namespace

std::string tls_view(std::span<const std::uint8_t> payload) {
  Bytes b(payload);
  if (!record_header(b, 0)) return {};
  std::string out = "TLS: ";
  std::size_t off = 0;
  for (std::size_t n = 0; record_header(b, off); ++n) {
    if (n == kMaxRecords) {
      out += " | ...";
      break;
    }
    if (n) out += " | ";
    try {
      off = record(out, b, off);
    } catch (const AppTruncated&) {
      out += " [|tls]";
      break;
    }
  }
  return out;
}

}  // namespace sockit::dump::app
