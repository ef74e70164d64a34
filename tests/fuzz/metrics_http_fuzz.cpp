// Fuzz target: the /metrics HTTP request parser never crashes on any bytes, never reads past
// them, and its answers keep their promises: a complete request consumed no more than it was
// given, every answer is one well-formed HTTP/1.1 response, and every error answer closes.
#include "tools/metrics/http.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sockit::metrics;
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  HttpRequest req = parse_request(buf);
  if (req.status == HttpRequest::Status::incomplete) {
    if (size > kMaxRequestHead + 2) std::abort();  // a head that can never complete must be refused
    return 0;
  }
  if (req.status == HttpRequest::Status::complete && (req.consumed == 0 || req.consumed > size)) std::abort();
  HttpResponse r = respond(req, [] { return std::string("x 1\n"); });
  if (!r.bytes.starts_with("HTTP/1.1 ") || r.bytes.find("\r\n\r\n") == std::string::npos) std::abort();
  bool ok = r.bytes.starts_with("HTTP/1.1 200 ");
  if (!ok && !r.close) std::abort();
  if (ok && (req.method != "GET" && req.method != "HEAD")) std::abort();
  return 0;
}
