// Fuzz target: the IRC line parser never crashes, rejects what the grammar forbids, and what it
// accepts round-trips through the serializer: parse(serialize(m)) == m.
#include "sockit/irc/message.hpp"
#include "sockit/irc/names.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sockit::irc;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseResult r = parse(text);
  if (r) {
    const Message& m = *r.message;
    if (m.command.empty() || m.params.size() > kMaxParams) std::abort();
    std::string wire = serialize(m, false);
    if (wire.size() < 2 || wire.compare(wire.size() - 2, 2, "\r\n") != 0) std::abort();
    std::string_view line(wire.data(), wire.size() - 2);
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) std::abort();
    ParseResult again = parse(line);
    if (again) {
      if (!(*again.message == m)) std::abort();
    } else if (again.error != ParseError::too_long && again.error != ParseError::tags_too_long) {
      std::abort();  // only a body that grew past 510 bytes (added ':') may fail to re-parse
    }
    std::string cut = serialize(m, true);
    if (cut.size() > kMaxLineBytes + kMaxTagBytes + 2) std::abort();
  }
  std::string_view t = truncate_utf8(text, size / 2);
  if (t.size() > size / 2) std::abort();
  if (is_valid_utf8(text) && !is_valid_utf8(t)) std::abort();
  for (Casemapping cm : {Casemapping::rfc1459, Casemapping::strict_rfc1459, Casemapping::ascii}) {
    std::string f = fold(text, cm);
    if (f.size() != text.size() || !equal_folded(f, text, cm) || fold(f, cm) != f) std::abort();
    // Without wildcards a mask matches exactly the names equal to it under the mapping.
    if (f.find_first_of("*?") == std::string::npos && !mask_match(f, text, cm)) std::abort();
  }
  (void)valid_nick(text, 30);
  (void)valid_channel(text, 50);
  std::size_t half = size / 2;
  (void)mask_match(text.substr(0, half), text.substr(half));
  (void)normalize_mask(text);
  return 0;
}
