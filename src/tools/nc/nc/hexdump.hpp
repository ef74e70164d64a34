// Internal header of sockit nc. Hex + ASCII dump of the bytes crossing the connection (`-x`), in
// ncat's line layout, with one header line per chunk naming the direction:
//
//   > 23 bytes to 127.0.0.1:45678
//   00000000   72 65 70 6c 79 20 66 72  6f 6d 20 63 6c 69 65 6e  reply.from.clien
//   00000010   74 20 73 69 64 65 0a                              t.side.
//   < 5 bytes from 127.0.0.1:45678
//   00000000   68 65 6c 6c 6f                                    hello
//
// Offsets count bytes per direction and per peer since the connection started, so a line can be
// found again in the stream. Not thread-safe; cost is linear in the bytes dumped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

namespace sockit::nc {

enum class Direction { sent, received };

/// Appends the dump lines of `data` (no header) to `out`; the first line is labelled `offset`.
void format_hex_lines(std::string& out, std::span<const std::byte> data, std::uint64_t offset);

/// Appends "> N bytes to PEER" / "< N bytes from PEER" and the dump lines to `out`.
void format_hex_chunk(std::string& out, Direction dir, std::string_view peer, std::span<const std::byte> data,
                      std::uint64_t offset);

/// Writes dumps to a FILE (not owned); flushed after each chunk so a crash loses nothing.
class HexDumper {
 public:
  HexDumper() = default;
  explicit HexDumper(std::FILE* out) : out_(out) {}
  bool enabled() const noexcept { return out_ != nullptr; }
  /// Dumps one chunk; `offset` is the count of bytes already dumped in that direction.
  void dump(Direction dir, std::string_view peer, std::span<const std::byte> data, std::uint64_t offset);

 private:
  std::FILE* out_ = nullptr;
  std::string buf_;
};

}  // namespace sockit::nc
