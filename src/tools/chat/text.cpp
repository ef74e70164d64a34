// UTF-8 helpers and mIRC formatting codes for sockit chat.
#include "tools/chat/text.hpp"

#include <cstdint>

namespace sockit::chat {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Length of the well-formed UTF-8 sequence at s[i], or 0 when it is ill-formed (RFC 3629 table:
// no overlongs, no surrogates, nothing above U+10FFFF). Sets *cp on success.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t* cp) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<std::uint8_t>(s[i + k]); };
  const std::size_t left = s.size() - i;
  const std::uint8_t c = b(0);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  const auto cont = [&](std::size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) {
    if (!cont(1)) return 0;
    *cp = (static_cast<char32_t>(c & 0x1F) << 6) | (b(1) & 0x3F);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    *cp = (static_cast<char32_t>(c & 0x0F) << 12) | (static_cast<char32_t>(b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    *cp = (static_cast<char32_t>(c & 0x07) << 18) | (static_cast<char32_t>(b(1) & 0x3F) << 12) |
          (static_cast<char32_t>(b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    return 4;
  }
  return 0;
}

// mIRC colour number at s[i] (one or two digits); advances i. -1 when there is no digit.
int read_colour(std::string_view s, std::size_t& i) {
  if (i >= s.size() || s[i] < '0' || s[i] > '9') return -1;
  int n = s[i++] - '0';
  if (i < s.size() && s[i] >= '0' && s[i] <= '9') n = n * 10 + (s[i++] - '0');
  return n;
}

int normalize_colour(int n) { return n >= 0 && n <= 15 ? n : -1; }

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

void utf8_append(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = kReplacement;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::u32string utf8_decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(s, i, &cp);
    if (n == 0) {
      out.push_back(kReplacement);
      ++i;
    } else {
      out.push_back(cp);
      i += n;
    }
  }
  return out;
}

std::string utf8_encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) utf8_append(out, cp);
  return out;
}

std::string recode_incoming(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(raw, i, &cp);
    if (n == 0) {
      const auto byte = static_cast<std::uint8_t>(raw[i]);
      utf8_append(out, byte < 0xA0 ? kReplacement : byte);  // Latin-1; C1 controls never reach the tty
      ++i;
    } else {
      if (cp < 0x80 || cp > 0x9F) out.append(raw.substr(i, n));  // C1 (U+0080..U+009F) dropped
      i += n;
    }
  }
  return out;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(s, i, &cp);
    if (n == 0) {
      utf8_append(out, kReplacement);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::vector<Span> parse_formatting(std::string_view s, Style base) {
  std::vector<Span> spans;
  Style cur = base;
  const auto emit = [&](char c) {
    if (spans.empty() || !(spans.back().style == cur)) spans.push_back({cur, {}});
    spans.back().text.push_back(c);
  };
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i++];
    switch (c) {
      case '\x02': cur.bold = !cur.bold; break;
      case '\x1d': cur.italic = !cur.italic; break;
      case '\x1f': cur.underline = !cur.underline; break;
      case '\x16': cur.reverse = !cur.reverse; break;
      case '\x0f': cur = base; break;
      case '\x11': case '\x1e': break;
      case '\x03': {
        const int fg = read_colour(s, i);
        if (fg < 0) {  // bare ^C resets the colours
          cur.fg = base.fg;
          cur.bg = base.bg;
          break;
        }
        cur.fg = fg == 99 ? base.fg : normalize_colour(fg);
        if (i + 1 < s.size() && s[i] == ',' && s[i + 1] >= '0' && s[i + 1] <= '9') {
          ++i;
          const int bg = read_colour(s, i);
          cur.bg = bg == 99 ? base.bg : normalize_colour(bg);
        }
        break;
      }
      case '\x04': {  // ^D RRGGBB[,RRGGBB]: no palette mapping, shown in the default colours
        std::size_t n = 0;
        while (n < 6 && i < s.size() && is_hex(s[i])) ++i, ++n;
        if (n == 6 && i + 1 < s.size() && s[i] == ',' && is_hex(s[i + 1])) {
          ++i;
          for (n = 0; n < 6 && i < s.size() && is_hex(s[i]); ++n) ++i;
        }
        cur.fg = base.fg;
        cur.bg = base.bg;
        break;
      }
      case '\t': emit(' '); break;
      default:
        if ((static_cast<unsigned char>(c) < 0x20) || c == '\x7f') break;  // other controls dropped
        emit(c);
    }
  }
  return spans;
}

std::string strip_formatting(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const Span& sp : parse_formatting(s)) out += sp.text;
  return out;
}

}  // namespace sockit::chat
