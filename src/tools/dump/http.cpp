// HTTP request and status lines as tcpdump 4.99 prints them (print-http.c and util-print.c's
// txtproto_print, fetch_token and print_txt_line).
#include "app_decoders.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace sockit::dump::app {

namespace {

constexpr std::array<std::string_view, 38> kHttpMethods = {
    "GET",        "PUT",        "COPY",       "HEAD",        "LOCK",        "MOVE",       "POLL",
    "POST",       "BCOPY",      "BMOVE",      "MKCOL",       "TRACE",       "LABEL",      "MERGE",
    "DELETE",     "SEARCH",     "UNLOCK",     "REPORT",      "UPDATE",      "NOTIFY",     "BDELETE",
    "CONNECT",    "OPTIONS",    "CHECKIN",    "PROPFIND",    "CHECKOUT",    "CCM_POST",   "SUBSCRIBE",
    "PROPPATCH",  "BPROPFIND",  "BPROPPATCH", "UNCHECKOUT",  "MKACTIVITY", "MKWORKSPACE", "UNSUBSCRIBE",
    "RPC_CONNECT", "VERSION-CONTROL", "BASELINE-CONTROL"};

constexpr std::size_t kMaxToken = 128;  // tcpdump's MAX_TOKEN

bool printable(std::uint8_t c) { return c >= 0x20 && c <= 0x7e; }
bool blank(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lx = static_cast<unsigned char>(x), ly = static_cast<unsigned char>(y);
           if (lx >= 'A' && lx <= 'Z') lx = static_cast<unsigned char>(lx + 32);
           if (ly >= 'A' && ly <= 'Z') ly = static_cast<unsigned char>(ly + 32);
           return lx == ly;
         });
}

// fetch_token: the token starting at idx and the index after the blanks that follow it; 0 when
// there is no token (non-ASCII, unprintable, too long, or not captured).
std::size_t fetch_token(const Bytes& b, std::size_t idx, std::size_t len, std::string& token) {
  token.clear();
  for (; idx < len; ++idx) {
    if (!b.have(idx, 1)) return 0;
    std::uint8_t c = b.u8(idx);
    if (c >= 0x80) return 0;
    if (blank(c)) break;
    if (!printable(c)) return 0;
    if (token.size() + 2 > kMaxToken + 1) return 0;
    token += static_cast<char>(c);
  }
  if (token.empty()) return 0;
  for (; idx < len; ++idx) {
    if (!b.have(idx, 1)) break;
    std::uint8_t c = b.u8(idx);
    if (c == '\r' || c == '\n' || !printable(c)) break;
    if (c != ' ' && c != '\t') break;
  }
  return idx;
}

// print_txt_line: prints prefix + the line at idx and returns the index after its end, or 0 when
// the line is not text or does not end in this segment (a line cut by the end is printed with
// " [|http]"). A read past the captured bytes throws (tcpdump's longjmp).
std::size_t print_txt_line(std::string& out, const Bytes& b, std::string_view prefix, std::size_t idx, std::size_t len) {
  const std::size_t start = idx;
  auto emit = [&](std::size_t n) {
    out += prefix;
    for (std::size_t i = 0; i < n; ++i) out += static_cast<char>(b.u8(start + i));
  };
  while (idx < len) {
    std::uint8_t c = b.u8(idx);
    if (c == '\n') {
      emit(idx - start);
      return idx + 1;
    }
    if (c == '\r') {
      if (idx + 1 >= len) return 0;
      if (b.u8(idx + 1) == '\n') {
        emit(idx - start);
        return idx + 2;
      }
      return 0;
    }
    if (!printable(c) && c != '\t') return 0;
    ++idx;
  }
  emit(idx - start);
  out += " [|http]";
  return 0;
}

}  // namespace

void http_print(std::string& out, Bytes b, std::uint32_t length, int verbose) {
  bool print_this = false;
  std::string token;
  std::size_t idx = fetch_token(b, 0, length, token);
  if (idx != 0) {
    print_this = std::any_of(kHttpMethods.begin(), kHttpMethods.end(),
                             [&](std::string_view m) { return equal_nocase(token, m); });
    idx = fetch_token(b, idx, length, token);  // RESP_CODE_SECOND_TOKEN
    if (idx != 0 && token.size() == 3 && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }))
      print_this = true;
  }
  out += "HTTP";
  if (!print_this) return;
  if (verbose) {
    out += fmt::format(", length: {}", length);
    for (std::size_t i = 0, eol = 0; i < length && (eol = print_txt_line(out, b, "\n\t", i, length)) != 0; i = eol) {
    }
  } else {
    print_txt_line(out, b, ": ", 0, length);
  }
}

}  // namespace sockit::dump::app
