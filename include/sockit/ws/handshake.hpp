// Public header. The server side of the WebSocket opening handshake (RFC 6455 section 4.2):
// a small bounded HTTP/1.1 request parser and the answer to it. Sans-I/O: ws::Transport feeds
// it the bytes it read and writes the answer; the fuzz target and the unit tests call it alone.
//
// parse_request() takes the bytes received so far: `incomplete` until the blank line, then
// `done` with the request (method, target, version, headers in order, names as sent); `too_large`
// once `limit` bytes hold no blank line yet (-> 431), `bad` for a malformed request line or
// header (-> 400). answer() checks it as a WebSocket upgrade: GET only (405), HTTP/1.1, Upgrade:
// websocket and Connection: upgrade (400), Sec-WebSocket-Key of 16 bytes in base64 (400),
// Sec-WebSocket-Version 13 (426 with Sec-WebSocket-Version: 13), Origin in the allow-list when
// one is set (403); then 101 with Sec-WebSocket-Accept and the subprotocol picked in the
// client's order of preference.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sockit::ws {

struct Request {
  std::string method;
  std::string target;
  std::string version;  ///< "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;  ///< values trimmed
  /// The first header of that name (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const noexcept;
};

enum class ParseStatus { incomplete, done, too_large, bad };

/// Parses `data` (the bytes received so far). On `done`, `consumed` is the length of the request
/// up to and including its blank line (bytes after it are the peer's first frames).
ParseStatus parse_request(std::string_view data, std::size_t limit, Request& out, std::size_t& consumed);

struct Policy {
  /// Origins allowed (exact, case-insensitive, e.g. "https://chat.example.org"); empty: any.
  /// A request without Origin (not a browser) is accepted either way.
  std::vector<std::string> allowed_origins;
  /// Subprotocols the server speaks; the first the client lists that is here wins.
  std::vector<std::string> subprotocols;
};

struct Answer {
  int status = 0;             ///< 101 on success, else the HTTP error status
  std::string subprotocol;    ///< chosen on 101 ("" = none)
  std::string reason;         ///< why it failed, in words (logs)
  std::string response;       ///< the whole HTTP response to write
};

/// The answer to a parsed request.
Answer answer(const Request& req, const Policy& policy);
/// The answer for a request that did not parse (431 for too_large, 400 for bad).
Answer error_answer(int status, std::string reason);

/// base64(SHA-1(key + the RFC 6455 GUID)).
std::string accept_key(std::string_view key);
/// The first token of `offered` (a comma-separated Sec-WebSocket-Protocol value, or several
/// joined) that `supported` holds; "" when none.
std::string choose_subprotocol(std::string_view offered, std::span<const std::string> supported);

}  // namespace sockit::ws
