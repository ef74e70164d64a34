// Public header. IRC messages: parsing one line into a Message and serializing a Message back.
//
// Wire grammar (RFC 1459 §2.3.1, RFC 2812 §2.3.1, IRCv3 message-tags):
//   [ "@" tags SPACE ] [ ":" prefix SPACE ] command *( SPACE middle ) [ SPACE ":" trailing ]
// Limits: the tag section (with '@' and its space) is at most kMaxTagBytes; the rest of the line is
// at most kMaxLineBytes - 2 bytes (510) without the CR LF; at most kMaxParams parameters (a 16th
// and later words are folded into the 15th, as RFC 1459 says).
//
// Pure functions: no allocation beyond the returned strings, no I/O, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sockit::irc {

inline constexpr std::size_t kMaxLineBytes = 512;   ///< RFC 1459: including CR LF
inline constexpr std::size_t kMaxBodyBytes = 510;   ///< without CR LF, without tags
inline constexpr std::size_t kMaxTagBytes = 8191;   ///< IRCv3 message-tags: '@' .. space included
inline constexpr std::size_t kMaxParams = 15;

struct Tag {
  std::string key;
  std::string value;  ///< unescaped
  friend bool operator==(const Tag&, const Tag&) = default;
};

struct Message {
  std::vector<Tag> tags;
  std::string prefix;   ///< without the ':'; empty when absent
  std::string command;  ///< as sent (callers upper-case it for lookup)
  std::vector<std::string> params;
  friend bool operator==(const Message&, const Message&) = default;
};

/// Why a line could not be parsed.
enum class ParseError {
  empty,         ///< nothing but spaces (ignored by servers)
  too_long,      ///< body over 510 bytes (417 ERR_INPUTTOOLONG)
  tags_too_long, ///< tag section over 8191 bytes (417)
  bad_char,      ///< NUL, CR or LF inside the line
  no_command,    ///< tags and/or prefix but no command
  bad_command,   ///< command not letters-only nor a 3-digit numeric
  bad_tags,      ///< malformed tag section ("@" alone, empty key)
};
std::string_view to_string(ParseError e) noexcept;

/// The outcome of parse(): a Message or a ParseError.
struct ParseResult {
  std::optional<Message> message;
  ParseError error = ParseError::empty;
  /// bad_command only: the word where the command should be ("JOIN\t#a" when tabs separate the
  /// words), for the 421 reply.
  std::string bad_command;
  explicit operator bool() const noexcept { return message.has_value(); }
  /// The message; only when parsing succeeded.
  const Message* operator->() const noexcept { return &*message; }
};

/// Parses one line, without its CR LF. Tag values are unescaped (\: \s \\ \r \n).
ParseResult parse(std::string_view line);

/// Escapes a tag value for the wire (the inverse of parse's unescaping).
std::string escape_tag_value(std::string_view value);

/// Serializes to wire form with the trailing CR LF. Never emits CR, LF or NUL inside the line:
/// such bytes in a field are replaced by spaces. The last parameter is written as trailing
/// (":...") when it is empty, contains a space or starts with ':'. A middle parameter that would
/// break the grammar (space, leading ':', empty) is also folded into a trailing one when it is
/// last, and otherwise has its spaces replaced (callers validate before this point). The body is
/// cut to kMaxBodyBytes on a UTF-8 boundary when `truncate` is set.
std::string serialize(const Message& m, bool truncate = true);

/// The longest prefix of `s` of at most `max` bytes that does not end inside a UTF-8 sequence.
std::string_view truncate_utf8(std::string_view s, std::size_t max) noexcept;

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace sockit::irc
