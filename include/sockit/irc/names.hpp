// Public header. IRC names: casemappings (rfc1459, rfc1459-strict, ascii), nick / user / channel validation and the
// wildcard masks of bans (nick!user@host with '*' and '?'). Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sockit::irc {

/// ISUPPORT CASEMAPPING values (Modern IRC "Casemapping"): which characters are equal in names.
///  ascii:          A-Z -> a-z only.
///  rfc1459:        also [ ] \ ~ -> { } | ^ (the default, as ngIRCd and InspIRCd).
///  strict_rfc1459: also [ ] \ -> { } |, but ~ and ^ stay different.
enum class Casemapping { rfc1459, strict_rfc1459, ascii };

/// The ISUPPORT spelling (Modern IRC's): "rfc1459", "rfc1459-strict", "ascii".
std::string_view casemapping_name(Casemapping cm) noexcept;
/// The inverse of casemapping_name(); nullopt for any other text (case-sensitive, as on the wire).
std::optional<Casemapping> parse_casemapping(std::string_view name) noexcept;

char fold_char(char c, Casemapping cm = Casemapping::rfc1459) noexcept;
std::string fold(std::string_view s, Casemapping cm = Casemapping::rfc1459);
bool equal_folded(std::string_view a, std::string_view b, Casemapping cm = Casemapping::rfc1459) noexcept;

/// RFC 2812 §2.3.1: letter or special first, then letters, digits, specials and '-';
/// specials are [ ] \ ` _ ^ { |  }. ASCII only. Length 1..max_len.
bool valid_nick(std::string_view nick, std::size_t max_len) noexcept;

/// '#' or '&' first, length 2..max_len, no space, comma, colon, BEL, NUL, CR or LF
/// (ngIRCd channel.c; RFC 2812 §1.3). Non-ASCII bytes are allowed (UTF-8 is checked elsewhere).
bool valid_channel(std::string_view name, std::size_t max_len) noexcept;
bool is_channel_name(std::string_view target) noexcept;

/// Cleans a USER name: keeps printable ASCII except space ! @ * ? , : and cuts to max_len.
/// Returns "" when nothing usable is left.
std::string clean_username(std::string_view user, std::size_t max_len);

/// Wildcard match ('*' any run, '?' one byte) under the casemapping's folding. O(n*m) worst case,
/// no recursion.
bool mask_match(std::string_view mask, std::string_view text, Casemapping cm = Casemapping::rfc1459) noexcept;

/// Completes a ban mask: "nick" -> "nick!*@*", "user@host" -> "*!user@host", "n!u" -> "n!u@*".
std::string normalize_mask(std::string_view mask);

}  // namespace sockit::irc
