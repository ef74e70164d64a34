// A minimal HTTP/1.1 request parser and response writer for /metrics: see http.hpp.
#include "http.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>

namespace sockit::metrics {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y)); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 token characters (method, header name).
bool token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// "close", "keep-alive" among the comma-separated Connection options.
bool has_option(std::string_view value, std::string_view option) {
  while (!value.empty()) {
    auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), option)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

constexpr std::string_view kHttpScheme = "http://";  // a target in absolute form starts so

HttpRequest bad(std::string why) {
  HttpRequest r;
  r.status = HttpRequest::Status::bad;
  r.error = std::move(why);
  return r;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

HttpRequest too_large() {
  HttpRequest r;
  r.status = HttpRequest::Status::too_large;
  return r;
}

// Where the head ends (after its empty line: CRLF CRLF or LF LF, or a mix), or npos.
std::size_t head_end(std::string_view buf) {
  std::size_t pos = 0;
  while (true) {
    auto nl = buf.find('\n', pos);
    if (nl == std::string_view::npos) return std::string_view::npos;
    std::string_view line = buf.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return nl + 1;  // never the first line: empty lines were skipped before
    pos = nl + 1;
  }
}

// The head's next line without its CR LF (or LF); head starts after it.
std::string_view next_line(std::string_view& head) {
  auto nl = head.find('\n');
  std::string_view line = head.substr(0, nl);
  head.remove_prefix(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

struct RequestLine {
  std::string_view method, target, version;
};

// "METHOD TARGET VERSION"; the error text when it is not one sockit serves.
std::optional<std::string> parse_request_line(std::string_view line, RequestLine& rl) {
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return "malformed request line";
  rl.method = line.substr(0, sp1);
  rl.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  rl.version = line.substr(sp2 + 1);
  const std::string_view target = rl.target;
  if (!token(rl.method)) return "malformed method";
  if (target.empty() || (target.front() != '/' && target != "*" && !target.starts_with(kHttpScheme)))
    return "malformed request target";
  if (std::any_of(target.begin(), target.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
    return "malformed request target";
  if (rl.version != "HTTP/1.1" && rl.version != "HTTP/1.0") return "unsupported HTTP version";
  return std::nullopt;
}

// The header lines up to the empty one: Connection's options, whether a body follows. An error
// request when one is malformed or there are too many.
std::optional<HttpRequest> parse_headers(std::string_view& head, HttpRequest& r, bool& close, bool& keep) {
  std::size_t headers = 0;
  while (true) {
    const std::string_view line = next_line(head);
    if (line.empty()) return std::nullopt;
    if (++headers > kMaxHeaders) return too_large();
    auto colon = line.find(':');
    if (colon == std::string_view::npos || !token(line.substr(0, colon))) return bad("malformed header line");
    std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
    if (iequals(name, "connection")) {
      close = close || has_option(value, "close");
      keep = keep || has_option(value, "keep-alive");
    } else if (iequals(name, "content-length")) {
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size()) return bad("malformed Content-Length");
      if (n > 0) r.has_body = true;
    } else if (iequals(name, "transfer-encoding")) {
      r.has_body = true;
    }
  }
}

}  // namespace

HttpRequest parse_request(std::string_view buf) {
  // RFC 9112 2.2: empty lines before the request line are ignored (iteratively: a flood of them
  // must neither recurse nor wait for ever).
  std::size_t skipped = 0;
  while (skipped < buf.size() && (buf[skipped] == '\r' || buf[skipped] == '\n')) ++skipped;
  if (skipped > kMaxRequestHead) return bad("too many empty lines before the request");
  if (skipped != 0) {
    HttpRequest r = parse_request(buf.substr(skipped));  // one level: it starts with no empty line
    if (r.status == HttpRequest::Status::complete) r.consumed += skipped;
    return r;
  }
  const std::size_t end = head_end(buf);
  if (end == std::string_view::npos) {
    if (buf.size() > kMaxRequestHead) return too_large();
    // A first line that cannot become a request: say so now, not after 8 KiB.
    auto nl = buf.find('\n');
    if (nl != std::string_view::npos && buf.substr(0, nl).find("HTTP/") == std::string_view::npos)
      return bad("malformed request line");
    return {};
  }
  if (end > kMaxRequestHead + 2) return too_large();

  HttpRequest r;
  std::string_view head = buf.substr(0, end);
  RequestLine rl;
  if (auto why = parse_request_line(next_line(head), rl)) return bad(std::move(*why));
  bool close = false, keep = false;
  if (auto error = parse_headers(head, r, close, keep)) return std::move(*error);
  r.status = HttpRequest::Status::complete;
  r.method = std::string(rl.method);
  std::string_view target = rl.target;
  if (target.starts_with(kHttpScheme)) {  // absolute form: keep the path
    auto slash = target.find('/', kHttpScheme.size());
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  r.target = std::string(target);
  r.keep_alive = !close && (rl.version == "HTTP/1.1" || keep);
  r.consumed = end;
  return r;
}

std::string format_response(int status, std::string_view content_type, std::string_view body, bool close,
                            bool head_only, std::string_view extra_headers) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: {}\r\n\r\n",
                                status, reason_phrase(status), content_type, body.size(), extra_headers,
                                close ? "close" : "keep-alive");
  if (!head_only) out += body;
  return out;
}

int classify(const HttpRequest& req, bool& wants_page, std::string& body, std::string& extra_headers) {
  wants_page = false;
  if (req.status == HttpRequest::Status::too_large) {
    body = "request head too large\n";
    return 431;
  }
  if (req.status != HttpRequest::Status::complete) {
    body = "bad request: " + (req.error.empty() ? std::string("malformed") : req.error) + "\n";
    return 400;
  }
  std::string_view path = req.target;
  path = path.substr(0, path.find('?'));
  if (path != "/metrics") {
    body = "not found: this server answers GET /metrics\n";
    return 404;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    body = "method not allowed: use GET\n";
    extra_headers = "Allow: GET, HEAD\r\n";
    return 405;
  }
  wants_page = true;
  return 200;
}

}  // namespace sockit::metrics
