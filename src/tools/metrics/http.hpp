// The HTTP/1.1 subset a Prometheus scrape needs, sans-I/O: parse one request head from the bytes
// received so far and build the answer. GET (and HEAD) of /metrics gets the page, another path
// 404, another method 405, anything unparsable 400, a head over the size cap 431; every error
// answer closes the connection. Keep-alive follows RFC 9112 9.3: HTTP/1.1 persists unless
// "Connection: close", HTTP/1.0 only with "Connection: keep-alive". A request with a body
// (Content-Length > 0 or Transfer-Encoding) is answered and the connection closed, so the body
// is never mistaken for the next request.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sockit::metrics {

inline constexpr std::size_t kMaxRequestHead = 8192;  ///< request line + headers
inline constexpr std::size_t kMaxHeaders = 64;

struct HttpRequest {
  enum class Status { incomplete, complete, bad, too_large };
  Status status = Status::incomplete;
  std::string method, target;
  bool keep_alive = false;
  bool has_body = false;
  std::size_t consumed = 0;  ///< bytes of the head (complete only)
  std::string error;         ///< why bad (for the 400 body)
};

/// Parses the request head at the start of `buf` (lines end in CRLF or a bare LF).
HttpRequest parse_request(std::string_view buf);

struct HttpResponse {
  std::string bytes;  ///< status line, headers and body
  bool close = false; ///< close the connection once written
};

/// The answer to `req` (complete, bad or too_large). `page` renders the metrics, called only for
/// a GET or HEAD of /metrics.
template <typename Page>
HttpResponse respond(const HttpRequest& req, Page&& page);

/// A whole response; `head_only` leaves the body out (HEAD) but keeps its Content-Length.
std::string format_response(int status, std::string_view content_type, std::string_view body, bool close,
                            bool head_only = false, std::string_view extra_headers = {});
/// Picks the status and body for `req`; sets `wants_page` when the metrics page is the body.
int classify(const HttpRequest& req, bool& wants_page, std::string& body, std::string& extra_headers);

template <typename Page>
HttpResponse respond(const HttpRequest& req, Page&& page) {
  bool wants_page = false;
  std::string body, extra;
  int status = classify(req, wants_page, body, extra);
  HttpResponse r;
  r.close = status != 200 || !req.keep_alive || req.has_body;
  if (wants_page) {
    r.bytes = format_response(200, "text/plain; version=0.0.4; charset=utf-8", page(), r.close, req.method == "HEAD");
  } else {
    r.bytes = format_response(status, "text/plain; charset=utf-8", body, r.close, req.method == "HEAD", extra);
  }
  return r;
}

}  // namespace sockit::metrics
