// Hex dump formatting for sockit nc -x (see nc/hexdump.hpp).
#include "nc/hexdump.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace sockit::nc {

void format_hex_lines(std::string& out, std::span<const std::byte> data, std::uint64_t offset) {
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr std::size_t kPerLine = 16;
  for (std::size_t pos = 0; pos < data.size(); pos += kPerLine) {
    const std::size_t n = std::min(kPerLine, data.size() - pos);
    fmt::format_to(std::back_inserter(out), "{:08x}  ", offset + pos);
    for (std::size_t i = 0; i < kPerLine; ++i) {
      if (i == 8) out += ' ';
      if (i < n) {
        const auto b = static_cast<unsigned>(data[pos + i]);
        out += ' ';
        out += kHex[b >> 4];
        out += kHex[b & 0xf];
      } else {
        out += "   ";
      }
    }
    out += "  ";
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(data[pos + i]);
      out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
    }
    out += '\n';
  }
}

void format_hex_chunk(std::string& out, Direction dir, std::string_view peer, std::span<const std::byte> data,
                      std::uint64_t offset) {
  const bool sent = dir == Direction::sent;
  fmt::format_to(std::back_inserter(out), "{} {} {} {} {}\n", sent ? '>' : '<', data.size(),
                 data.size() == 1 ? "byte" : "bytes", sent ? "to" : "from", peer);
  format_hex_lines(out, data, offset);
}

void HexDumper::dump(Direction dir, std::string_view peer, std::span<const std::byte> data, std::uint64_t offset) {
  if (!out_ || data.empty()) return;
  buf_.clear();
  format_hex_chunk(buf_, dir, peer, data, offset);
  std::fwrite(buf_.data(), 1, buf_.size(), out_);
  std::fflush(out_);
}

}  // namespace sockit::nc
