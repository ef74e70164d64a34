// The WebSocket opening handshake, server side: see sockit/ws/handshake.hpp.
#include "sockit/ws/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace sockit::ws {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::size_t kMaxHeaders = 100;

bool iequal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 tchar.
bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Calls f(token) for each comma-separated, trimmed, non-empty token of `list`.
template <typename F>
bool any_token(std::string_view list, F f) {
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view t = trim(list.substr(0, comma));
    if (!t.empty() && f(t)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool valid_key(std::string_view key) noexcept {
  // 16 random bytes in base64: 22 characters and "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/';
  });
}

std::string_view status_text(int status) noexcept {
  switch (status) {
    case 101: return "Switching Protocols";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    default: return "Error";
  }
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view name) const noexcept {
  for (const auto& [k, v] : headers) {
    if (iequal(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

ParseStatus parse_request(std::string_view data, std::size_t limit, Request& out, std::size_t& consumed) {
  // The head ends at the first empty line (CRLF CRLF, or bare LFs as RFC 9112 tolerates).
  std::size_t end = std::string_view::npos;
  std::size_t body = 0;
  for (std::size_t i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
    std::size_t next = i + 1;
    if (next < data.size() && data[next] == '\n') {
      end = i + 1;
      body = next + 1;
      break;
    }
    if (next + 1 < data.size() && data[next] == '\r' && data[next + 1] == '\n') {
      end = i + 1;
      body = next + 2;
      break;
    }
  }
  if (end == std::string_view::npos) return data.size() >= limit ? ParseStatus::too_large : ParseStatus::incomplete;
  if (body > limit) return ParseStatus::too_large;
  out = Request{};
  std::string_view head = data.substr(0, end);
  bool first = true;
  while (!head.empty()) {
    std::size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) return ParseStatus::bad;
    if (first) {
      first = false;
      auto sp1 = line.find(' ');
      auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return ParseStatus::bad;
      out.method = line.substr(0, sp1);
      out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      out.version = line.substr(sp2 + 1);
      if (!is_token(out.method) || out.target.empty() || !out.version.starts_with("HTTP/")) return ParseStatus::bad;
      continue;
    }
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return ParseStatus::bad;  // obsolete folding
    auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return ParseStatus::bad;
    if (out.headers.size() == kMaxHeaders) return ParseStatus::too_large;
    out.headers.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  if (first) return ParseStatus::bad;
  consumed = body;
  return ParseStatus::done;
}

std::string accept_key(std::string_view key) {
  std::string input(key);
  input += kGuid;
  std::array<unsigned char, SHA_DIGEST_LENGTH> md{};
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), md.data(), &len, EVP_sha1(), nullptr) != 1) return {};
  std::array<unsigned char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> b64{};
  int n = EVP_EncodeBlock(b64.data(), md.data(), static_cast<int>(len));
  return std::string(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(std::max(n, 0)));
}

std::string choose_subprotocol(std::string_view offered, std::span<const std::string> supported) {
  std::string chosen;
  any_token(offered, [&](std::string_view t) {
    for (const std::string& s : supported) {
      if (t == s) {
        chosen = s;
        return true;
      }
    }
    return false;
  });
  return chosen;
}

Answer error_answer(int status, std::string reason) {
  Answer a;
  a.status = status;
  a.reason = std::move(reason);
  std::string body = a.reason + "\n";
  a.response = "HTTP/1.1 " + std::to_string(status) + " " + std::string(status_text(status)) + "\r\n";
  if (status == 426) a.response += "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n";
  if (status == 405) a.response += "Allow: GET\r\n";
  a.response += "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\nConnection: close\r\n\r\n" + body;
  return a;
}

Answer answer(const Request& req, const Policy& policy) {
  if (!req.header("Upgrade")) return page_answer(req, web_files());  // a browser asking for the page
  if (req.method != "GET") return error_answer(405, "method " + req.method + " not allowed: a WebSocket upgrade is a GET");
  if (req.version != "HTTP/1.1") return error_answer(400, "version " + req.version + ": a WebSocket upgrade needs HTTP/1.1");
  auto upgrade = req.header("Upgrade");
  auto connection = req.header("Connection");
  if (!upgrade || !any_token(*upgrade, [](std::string_view t) { return iequal(t, "websocket"); }) || !connection ||
      !any_token(*connection, [](std::string_view t) { return iequal(t, "upgrade"); })) {
    return error_answer(400, "not a WebSocket upgrade (Upgrade: websocket and Connection: Upgrade expected)");
  }
  auto version = req.header("Sec-WebSocket-Version");
  if (!version || trim(*version) != "13") {
    return error_answer(426, "Sec-WebSocket-Version " + std::string(version ? *version : "missing") + ": only 13 is spoken");
  }
  auto key = req.header("Sec-WebSocket-Key");
  if (!key) return error_answer(400, "Sec-WebSocket-Key missing");
  if (!valid_key(*key)) return error_answer(400, "Sec-WebSocket-Key is not 16 bytes in base64");
  if (auto origin = req.header("Origin"); origin && !policy.allowed_origins.empty()) {
    bool ok = std::any_of(policy.allowed_origins.begin(), policy.allowed_origins.end(),
                          [&](const std::string& o) { return iequal(o, *origin); });
    if (!ok) return error_answer(403, "origin " + std::string(*origin) + " not allowed");
  }
  std::string offered;
  for (const auto& [k, v] : req.headers) {
    if (!iequal(k, "Sec-WebSocket-Protocol")) continue;
    if (!offered.empty()) offered += ',';
    offered += v;
  }
  Answer a;
  a.status = 101;
  a.subprotocol = choose_subprotocol(offered, policy.subprotocols);
  a.response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
               accept_key(*key) + "\r\n";
  if (!a.subprotocol.empty()) a.response += "Sec-WebSocket-Protocol: " + a.subprotocol + "\r\n";
  a.response += "\r\n";
  return a;
}

}  // namespace sockit::ws
