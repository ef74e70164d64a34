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
// client's order of preference. A request without an Upgrade header asks for the web chat page
// instead: page_answer() serves the files embedded from web/.
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

/// A file of the web chat page, embedded in the binary at build time (web/, src/ws/embed_web.cmake).
struct StaticFile {
  std::string_view path;  ///< "/index.html"
  std::string_view body;
  std::string_view etag;  ///< quoted, e.g. "\"1f2e...\""
};
/// The embedded web page's files.
std::span<const StaticFile> web_files() noexcept;

/// The answer to a parsed request: with an Upgrade header, the WebSocket upgrade (101 or an
/// error); without, a request for the page (page_answer() over web_files()).
Answer answer(const Request& req, const Policy& policy);
/// The answer to a request that is no upgrade, served from `files`: GET and HEAD (HTTP/1.0 or
/// 1.1) of a file's exact path ("/" is "/index.html"; the query string is ignored; anything else,
/// "..", percent-encoding included, is 404), 304 when If-None-Match holds its ETag, 405 with
/// `Allow: GET, HEAD` for other methods. Every answer carries Content-Type, Cache-Control
/// (no-cache for HTML, max-age=300 for the rest), a strict Content-Security-Policy,
/// X-Content-Type-Options: nosniff, Referrer-Policy and Connection: close.
Answer page_answer(const Request& req, std::span<const StaticFile> files);
/// The answer for a request that did not parse (431 for too_large, 400 for bad).
Answer error_answer(int status, std::string reason);

/// base64(SHA-1(key + the RFC 6455 GUID)).
std::string accept_key(std::string_view key);
/// The first token of `offered` (a comma-separated Sec-WebSocket-Protocol value, or several
/// joined) that `supported` holds; "" when none.
std::string choose_subprotocol(std::string_view offered, std::span<const std::string> supported);

}  // namespace sockit::ws
