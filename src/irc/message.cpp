#include "sockit/irc/message.hpp"

#include <cstdint>

namespace sockit::irc {

std::string_view to_string(ParseError e) noexcept {
  switch (e) {
    case ParseError::empty: return "empty line";
    case ParseError::too_long: return "line too long";
    case ParseError::tags_too_long: return "tags too long";
    case ParseError::bad_char: return "NUL, CR or LF in line";
    case ParseError::no_command: return "no command";
    case ParseError::bad_command: return "malformed command";
    case ParseError::bad_tags: return "malformed tags";
  }
  return "parse error";
}

namespace {

ParseResult failed(ParseError e) {
  ParseResult r;
  r.error = e;
  return r;
}

std::string unescape_tag_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i == v.size()) break;  // a lone trailing backslash is dropped
    switch (v[i]) {
      case ':': out.push_back(';'); break;
      case 's': out.push_back(' '); break;
      case 'r': out.push_back('\r'); break;
      case 'n': out.push_back('\n'); break;
      default: out.push_back(v[i]); break;  // "\\" -> "\", "\x" -> "x"
    }
  }
  return out;
}

bool parse_tags(std::string_view section, std::vector<Tag>& tags) {
  if (section.empty()) return false;
  std::size_t pos = 0;
  while (pos <= section.size()) {
    std::size_t end = section.find(';', pos);
    if (end == std::string_view::npos) end = section.size();
    std::string_view item = section.substr(pos, end - pos);
    if (!item.empty()) {
      std::size_t eq = item.find('=');
      std::string_view key = item.substr(0, eq);
      if (key.empty()) return false;
      Tag t{std::string(key), eq == std::string_view::npos ? std::string() : unescape_tag_value(item.substr(eq + 1))};
      // Later duplicates win (IRCv3); keep one entry per key.
      bool replaced = false;
      for (auto& old : tags) {
        if (old.key == t.key) {
          old.value = std::move(t.value);
          replaced = true;
        }
      }
      if (!replaced) tags.push_back(std::move(t));
    }
    pos = end + 1;
  }
  return true;
}

std::string_view skip_spaces(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

bool is_command(std::string_view c) {
  if (c.empty()) return false;
  bool digits = true;
  bool letters = true;
  for (char ch : c) {
    digits = digits && ch >= '0' && ch <= '9';
    letters = letters && ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'));
  }
  return letters || (digits && c.size() == 3);
}

void append_clean(std::string& out, std::string_view s, bool middle) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0' || (middle && c == ' ')) c = ' ';
    if (middle && c == ' ') c = '_';
    out.push_back(c);
  }
}

// Largest n <= max such that s[0..n) does not end inside a UTF-8 sequence.
std::size_t utf8_cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s.size();
  std::size_t n = max;
  // Back up over continuation bytes (at most 3) to the start of the sequence that crosses `max`.
  std::size_t back = 0;
  while (n > 0 && back < 4 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
    --n;
    ++back;
  }
  return back == 4 ? max : n;
}

}  // namespace

ParseResult parse(std::string_view line) {
  for (char c : line) {
    if (c == '\0' || c == '\r' || c == '\n') return failed(ParseError::bad_char);
  }
  Message m;
  std::string_view rest = line;
  if (!rest.empty() && rest.front() == '@') {
    std::size_t sp = rest.find(' ');
    std::size_t tag_len = sp == std::string_view::npos ? rest.size() : sp + 1;
    if (tag_len > kMaxTagBytes) return failed(ParseError::tags_too_long);
    if (!parse_tags(rest.substr(1, (sp == std::string_view::npos ? rest.size() : sp) - 1), m.tags)) {
      return failed(ParseError::bad_tags);
    }
    if (sp == std::string_view::npos) return failed(ParseError::no_command);
    rest = rest.substr(sp + 1);
  }
  rest = skip_spaces(rest);
  if (rest.size() > kMaxBodyBytes) return failed(ParseError::too_long);
  if (rest.empty()) return failed(m.tags.empty() ? ParseError::empty : ParseError::no_command);
  if (rest.front() == ':') {
    std::size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) return failed(ParseError::no_command);
    m.prefix = std::string(rest.substr(1, sp - 1));
    rest = skip_spaces(rest.substr(sp + 1));
    if (rest.empty()) return failed(ParseError::no_command);
  }
  std::size_t sp = rest.find(' ');
  std::string_view cmd = rest.substr(0, sp);
  if (!is_command(cmd)) {
    ParseResult r = failed(ParseError::bad_command);
    r.bad_command = std::string(cmd);
    return r;
  }
  m.command = std::string(cmd);
  rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
  while (true) {
    rest = skip_spaces(rest);
    if (rest.empty()) break;
    if (rest.front() == ':' || m.params.size() == kMaxParams - 1) {
      // Trailing parameter; the 15th parameter takes the rest of the line (RFC 1459 §2.3.1).
      if (rest.front() == ':') rest.remove_prefix(1);
      m.params.emplace_back(rest);
      break;
    }
    std::size_t end = rest.find(' ');
    m.params.emplace_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  ParseResult r;
  r.message = std::move(m);
  return r;
}

std::string escape_tag_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case ';': out += "\\:"; break;
      case ' ': out += "\\s"; break;
      case '\\': out += "\\\\"; break;
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\0': break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string serialize(const Message& m, bool truncate) {
  std::string tags;
  if (!m.tags.empty()) {
    tags.push_back('@');
    for (std::size_t i = 0; i < m.tags.size(); ++i) {
      if (i) tags.push_back(';');
      append_clean(tags, m.tags[i].key, true);
      if (!m.tags[i].value.empty()) {
        tags.push_back('=');
        tags += escape_tag_value(m.tags[i].value);
      }
    }
    tags.push_back(' ');
  }
  std::string body;
  body.reserve(64);
  if (!m.prefix.empty()) {
    body.push_back(':');
    append_clean(body, m.prefix, true);
    body.push_back(' ');
  }
  append_clean(body, m.command, true);
  for (std::size_t i = 0; i < m.params.size(); ++i) {
    const std::string& p = m.params[i];
    bool last = i + 1 == m.params.size();
    body.push_back(' ');
    bool needs_trailing = p.empty() || p.front() == ':' || p.find(' ') != std::string::npos;
    if (last && needs_trailing) {
      body.push_back(':');
      append_clean(body, p, false);
    } else if (p.empty()) {
      body.push_back('*');  // an empty middle parameter would vanish; never happens in sockit
    } else {
      std::size_t start = body.size();
      append_clean(body, p, true);
      if (body[start] == ':') body[start] = '_';
    }
  }
  if (truncate && body.size() > kMaxBodyBytes) body.resize(utf8_cut(body, kMaxBodyBytes));
  std::string out;
  out.reserve(tags.size() + body.size() + 2);
  out += tags;
  out += body;
  out += "\r\n";
  return out;
}

std::string_view truncate_utf8(std::string_view s, std::size_t max) noexcept { return s.substr(0, utf8_cut(s, max)); }

bool is_valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong 2-byte lead (C0/C1) or F5..FF
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return false;
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace sockit::irc
