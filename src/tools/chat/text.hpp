// Internal header of sockit chat: UTF-8 helpers and mIRC formatting codes (colour, bold, ...).
// Pure functions, thread-safe, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sockit::chat {

/// Decodes UTF-8 into code points; each byte of an ill-formed sequence becomes U+FFFD.
std::u32string utf8_decode(std::string_view s);
/// Encodes code points as UTF-8 (surrogates and values over U+10FFFF become U+FFFD).
std::string utf8_encode(std::u32string_view s);
void utf8_append(std::string& out, char32_t cp);

/// Text from the network made displayable as UTF-8: well-formed UTF-8 is kept, every other byte is
/// read as Latin-1 (what irssi's recode fallback does for old clients). O(n).
std::string recode_incoming(std::string_view raw);
/// Text typed by the user made valid UTF-8: ill-formed bytes become U+FFFD.
std::string sanitize_utf8(std::string_view s);

/// A run of text in one style. Colours are mIRC numbers 0..15, -1 = terminal default.
struct Style {
  int fg = -1;
  int bg = -1;
  bool bold = false;
  bool italic = false;
  bool underline = false;
  bool reverse = false;
  friend bool operator==(const Style&, const Style&) = default;
};

struct Span {
  Style style;
  std::string text;
};

/// Splits text on the mIRC formatting codes: ^B bold, ^C fg[,bg] colour (two digits at most; 99 =
/// default), ^D hex colour (skipped, approximated as default), ^O reset, ^V reverse, ^] italic,
/// ^_ underline, ^Q monospace and ^^ strike-through (ignored). Other control bytes are dropped,
/// a tab becomes a space. Adjacent runs of equal style are merged.
std::vector<Span> parse_formatting(std::string_view s, Style base = {});
/// The text of parse_formatting() without the styles (the --plain rendering).
std::string strip_formatting(std::string_view s);

}  // namespace sockit::chat
