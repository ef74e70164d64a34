// The WebSocket upgrade request parser and its answer (ws/handshake.hpp) on arbitrary bytes,
// whole and cut at every 7th byte as a socket would deliver them: no crash; `consumed` within
// the input; the head limit honoured (too_large once 512 bytes hold no end); every answer a
// complete HTTP/1.1 response, 101 only with Sec-WebSocket-Accept, a page answer (no Upgrade
// header: a file of web/, 304, 404, 405) only with its Content-Security-Policy.
#include "sockit/ws/handshake.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t kLimit = 512;
  sockit::ws::Policy policy{{"https://ok.example"}, {"text.ircv3.net", "binary.ircv3.net"}};
  for (std::size_t cut = 7; cut < in.size() + 7; cut += 7) {
    sockit::ws::Request req;
    std::size_t consumed = 0;
    std::string_view part = in.substr(0, cut);
    auto st = sockit::ws::parse_request(part, kLimit, req, consumed);
    if (st == sockit::ws::ParseStatus::incomplete && part.size() >= kLimit) __builtin_trap();
    if (st != sockit::ws::ParseStatus::done) continue;
    if (consumed > part.size() || consumed > kLimit) __builtin_trap();
    auto a = sockit::ws::answer(req, policy);
    if (a.response.find("\r\n\r\n") == std::string::npos || !a.response.starts_with("HTTP/1.1 ")) __builtin_trap();
    if (a.status == 101 && a.response.find("Sec-WebSocket-Accept: ") == std::string::npos) __builtin_trap();
    // The web page's answers (no Upgrade header) always carry the security headers.
    if (!req.header("Upgrade") && a.response.find("\r\nContent-Security-Policy: default-src 'self'") == std::string::npos) {
      __builtin_trap();
    }
    break;
  }
  return 0;
}
