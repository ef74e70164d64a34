#include "sockit/irc/names.hpp"

namespace sockit::irc {

std::string_view casemapping_name(Casemapping cm) noexcept {
  switch (cm) {
    case Casemapping::ascii: return "ascii";
    case Casemapping::strict_rfc1459: return "rfc1459-strict";
    case Casemapping::rfc1459: break;
  }
  return "rfc1459";
}

std::optional<Casemapping> parse_casemapping(std::string_view name) noexcept {
  for (Casemapping cm : {Casemapping::rfc1459, Casemapping::strict_rfc1459, Casemapping::ascii}) {
    if (name == casemapping_name(cm)) return cm;
  }
  // Modern IRC spells it rfc1459-strict; some servers' configurations say strict-rfc1459.
  if (name == "strict-rfc1459") return Casemapping::strict_rfc1459;
  return std::nullopt;
}

char fold_char(char c, Casemapping cm) noexcept {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  if (cm == Casemapping::ascii) return c;
  switch (c) {
    case '[': return '{';
    case ']': return '}';
    case '\\': return '|';
    case '~': return cm == Casemapping::rfc1459 ? '^' : c;
    default: return c;
  }
}

std::string fold(std::string_view s, Casemapping cm) {
  std::string out(s);
  for (char& c : out) c = fold_char(c, cm);
  return out;
}

bool equal_folded(std::string_view a, std::string_view b, Casemapping cm) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (fold_char(a[i], cm) != fold_char(b[i], cm)) return false;
  }
  return true;
}

namespace {
bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_special(char c) {
  switch (c) {
    case '[': case ']': case '\\': case '`': case '_': case '^': case '{': case '|': case '}': return true;
    default: return false;
  }
}
}  // namespace

bool valid_nick(std::string_view nick, std::size_t max_len) noexcept {
  if (nick.empty() || nick.size() > max_len) return false;
  if (!is_letter(nick[0]) && !is_special(nick[0])) return false;
  for (char c : nick.substr(1)) {
    if (!is_letter(c) && !is_digit(c) && !is_special(c) && c != '-') return false;
  }
  return true;
}

bool is_channel_name(std::string_view target) noexcept {
  return !target.empty() && (target[0] == '#' || target[0] == '&');
}

bool valid_channel(std::string_view name, std::size_t max_len) noexcept {
  if (name.size() < 2 || name.size() > max_len || !is_channel_name(name)) return false;
  for (char c : name) {
    if (c == ' ' || c == ',' || c == ':' || c == '\x07' || c == '\0' || c == '\r' || c == '\n') return false;
  }
  return true;
}

std::string clean_username(std::string_view user, std::size_t max_len) {
  std::string out;
  for (char c : user) {
    if (out.size() >= max_len) break;
    if (c <= ' ' || c >= 0x7f) continue;
    if (c == '!' || c == '@' || c == '*' || c == '?' || c == ',' || c == ':') continue;
    out.push_back(c);
  }
  return out;
}

bool mask_match(std::string_view mask, std::string_view text, Casemapping cm) noexcept {
  // Iterative glob with single-star backtracking (linear in practice, O(n*m) worst case).
  std::size_t m = 0, t = 0;
  std::size_t star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (m < mask.size() && (mask[m] == '?' || fold_char(mask[m], cm) == fold_char(text[t], cm)) && mask[m] != '*') {
      ++m;
      ++t;
    } else if (m < mask.size() && mask[m] == '*') {
      star = m++;
      mark = t;
    } else if (star != std::string_view::npos) {
      m = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (m < mask.size() && mask[m] == '*') ++m;
  return m == mask.size();
}

std::string normalize_mask(std::string_view mask) {
  std::size_t bang = mask.find('!');
  std::size_t at = mask.find('@');
  std::string nick, user, host;
  if (bang != std::string_view::npos && (at == std::string_view::npos || bang < at)) {
    nick = mask.substr(0, bang);
    if (at != std::string_view::npos) {
      user = mask.substr(bang + 1, at - bang - 1);
      host = mask.substr(at + 1);
    } else {
      user = mask.substr(bang + 1);
    }
  } else if (at != std::string_view::npos) {
    user = mask.substr(0, at);
    host = mask.substr(at + 1);
  } else {
    nick = mask;
  }
  if (nick.empty()) nick = "*";
  if (user.empty()) user = "*";
  if (host.empty()) host = "*";
  return nick + "!" + user + "@" + host;
}

}  // namespace sockit::irc
