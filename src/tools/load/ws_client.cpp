// The client side of RFC 6455 for `sockit load irc --websocket` (ws_client.hpp).
#include "ws_client.hpp"

#include "sockit/ws/handshake.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <strings.h>

namespace sockit::load::wsc {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

/// Whether the comma-separated `value` holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) noexcept {
  for (std::size_t at = 0; at <= value.size();) {
    const auto comma = std::min(value.find(',', at), value.size());
    std::string_view t = value.substr(at, comma - at);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (iequals(t, token)) return true;
    at = comma + 1;
  }
  return false;
}

}  // namespace

Masks::Masks() {
  (void)RAND_bytes(reinterpret_cast<unsigned char*>(&s_), sizeof s_);
  s_ |= 1;  // never the all-zero state
}

std::string make_key() {
  unsigned char raw[16];
  std::memset(raw, 0, sizeof raw);
  (void)RAND_bytes(raw, sizeof raw);  // fails only without an entropy source; the key need not be secret
  unsigned char b64[32];
  const int n = EVP_EncodeBlock(b64, raw, sizeof raw);
  return std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
}

std::string upgrade_request(std::string_view host, std::string_view path, std::string_view key,
                            std::string_view subprotocol) {
  std::string r = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {}\r\n"
      "Sec-WebSocket-Version: 13\r\n",
      path, host, key);
  if (!subprotocol.empty()) r += fmt::format("Sec-WebSocket-Protocol: {}\r\n", subprotocol);
  r += "\r\n";
  return r;
}

Status check_answer(std::string_view data, std::string_view key, std::string_view subprotocol, std::size_t& consumed,
                    std::string& why) {
  const auto end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() <= kMaxAnswer) return Status::incomplete;
    why = fmt::format("the server's answer has no end of head in {} bytes", kMaxAnswer);
    return Status::bad;
  }
  consumed = end + 4;
  const auto eol = data.find("\r\n");
  const std::string_view status_line = data.substr(0, eol);
  if (!status_line.starts_with("HTTP/1.1 101")) {
    why = fmt::format("upgrade refused: {}", status_line.substr(0, 120));
    return Status::bad;
  }
  // The headers through the server side's parser (bounded, names case-insensitive, values trimmed).
  std::string as_request = "GET / HTTP/1.1";
  as_request.append(data.substr(eol, consumed - eol));
  ws::Request head;
  std::size_t used = 0;
  if (ws::parse_request(as_request, kMaxAnswer + 16, head, used) != ws::ParseStatus::done) {
    why = "the 101's headers do not parse";
    return Status::bad;
  }
  const auto upgrade_h = head.header("Upgrade"), connection_h = head.header("Connection");
  const bool upgrade = upgrade_h && iequals(*upgrade_h, "websocket");
  const bool connection = connection_h && has_token(*connection_h, "upgrade");
  const std::string expected = ws::accept_key(key);
  const auto accept_h = head.header("Sec-WebSocket-Accept");
  const bool accepted = accept_h && *accept_h == expected;
  const std::string_view protocol = head.header("Sec-WebSocket-Protocol").value_or("");
  if (!upgrade || !connection) {
    why = "the 101 lacks Upgrade: websocket or Connection: Upgrade";
  } else if (!accepted) {
    why = "the 101 has no or a wrong Sec-WebSocket-Accept";
  } else if (protocol != subprotocol) {
    why = fmt::format("the server picked subprotocol '{}', asked for '{}'", protocol, subprotocol);
  } else {
    return Status::ok;
  }
  return Status::bad;
}

void append_frame(std::string& out, std::uint8_t opcode, std::string_view payload, std::uint32_t mask) {
  const std::size_t n = payload.size();
  const std::size_t at = out.size();
  const std::size_t ext = n < 126 ? 0 : n <= 0xffff ? 2 : 8;
  out.resize(at + 2 + ext + 4 + n);
  auto* p = reinterpret_cast<unsigned char*>(out.data() + at);
  *p++ = static_cast<unsigned char>(0x80 | opcode);
  if (ext == 0) {
    *p++ = static_cast<unsigned char>(0x80 | n);
  } else {
    *p++ = ext == 2 ? 0x80 | 126 : 0x80 | 127;
    for (std::size_t i = ext; i-- > 0;) *p++ = static_cast<unsigned char>(n >> (8 * i));
  }
  unsigned char key[4];
  for (int i = 0; i < 4; ++i) key[i] = static_cast<unsigned char>(mask >> (8 * (3 - i)));
  std::memcpy(p, key, 4);
  p += 4;
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(payload[i]) ^ key[i & 3];
}

Status parse_frame(std::string_view data, std::size_t max_payload, Frame& f, std::size_t& consumed, std::string& why) {
  if (data.size() < 2) return Status::incomplete;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  f.fin = (p[0] & 0x80) != 0;
  f.opcode = p[0] & 0x0f;
  const bool control = (f.opcode & 0x8) != 0;
  if ((p[0] & 0x70) != 0) {
    why = "a server frame with reserved bits set";
  } else if (f.opcode > kBinary && f.opcode != kClose && f.opcode != kPing && f.opcode != kPong) {
    why = fmt::format("a server frame with unknown opcode {}", f.opcode);
  } else if ((p[1] & 0x80) != 0) {
    why = "a masked server frame";
  } else if (control && (!f.fin || (p[1] & 0x7f) > 125)) {
    why = "a fragmented or long control frame";
  } else {
    std::size_t len = p[1] & 0x7f, head = 2;
    if (len >= 126) {
      const std::size_t ext = len == 126 ? 2 : 8;
      if (data.size() < 2 + ext) return Status::incomplete;
      len = 0;
      for (std::size_t i = 0; i < ext; ++i) len = (len << 8) | p[2 + i];
      head += ext;
    }
    if (len > max_payload) {
      why = fmt::format("a server message of {} bytes (more than {})", len, max_payload);
      return Status::bad;
    }
    if (data.size() - head < len) return Status::incomplete;
    f.payload = data.substr(head, len);
    consumed = head + len;
    return Status::ok;
  }
  return Status::bad;
}

}  // namespace sockit::load::wsc
