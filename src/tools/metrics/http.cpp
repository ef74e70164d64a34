// A minimal HTTP/1.1 request parser and response writer for /metrics: see http.hpp.
#include "http.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

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
  // The end of the head: an empty line (CRLF CRLF or LF LF, or a mix).
  std::size_t end = std::string_view::npos, pos = 0;
  while (true) {
    auto nl = buf.find('\n', pos);
    if (nl == std::string_view::npos) break;
    std::string_view line = buf.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {  // never the first line: empty lines were skipped above
      end = nl + 1;
      break;
    }
    pos = nl + 1;
  }
  if (end == std::string_view::npos) {
    if (buf.size() > kMaxRequestHead) {
      HttpRequest r;
      r.status = HttpRequest::Status::too_large;
      return r;
    }
    // A first line that cannot become a request: say so now, not after 8 KiB.
    auto nl = buf.find('\n');
    if (nl != std::string_view::npos && buf.substr(0, nl).find("HTTP/") == std::string_view::npos)
      return bad("malformed request line");
    return {};
  }
  if (end > kMaxRequestHead + 2) {
    HttpRequest r;
    r.status = HttpRequest::Status::too_large;
    return r;
  }

  HttpRequest r;
  std::string_view head = buf.substr(0, end);
  auto next_line = [&head]() {
    auto nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  std::string_view line = next_line();
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return bad("malformed request line");
  std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                   version = line.substr(sp2 + 1);
  if (!token(method)) return bad("malformed method");
  if (target.empty() || (target.front() != '/' && target != "*" && !target.starts_with("http://")))
    return bad("malformed request target");
  if (std::any_of(target.begin(), target.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
    return bad("malformed request target");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return bad("unsupported HTTP version");
  bool http11 = version == "HTTP/1.1";
  bool close = false, keep = false;
  std::size_t headers = 0;
  while (true) {
    line = next_line();
    if (line.empty()) break;
    if (++headers > kMaxHeaders) {
      HttpRequest t;
      t.status = HttpRequest::Status::too_large;
      return t;
    }
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
  r.status = HttpRequest::Status::complete;
  r.method = std::string(method);
  if (target.starts_with("http://")) {  // absolute form: keep the path
    auto slash = target.find('/', 7);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  r.target = std::string(target);
  r.keep_alive = !close && (http11 || keep);
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
