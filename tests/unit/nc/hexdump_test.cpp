// sockit nc -x: the dump layout (ncat's columns plus a direction header per chunk).
#include "nc/hexdump.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

using sockit::nc::Direction;

std::span<const std::byte> bytes(std::string_view s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }

// ncat's columns; unlike ncat, a space shows as a space (as in xxd and hexdump -C).
TEST(NcHexDump, FullLineHasTwoGroupsOfEightAndAscii) {
  std::string out;
  sockit::nc::format_hex_lines(out, bytes("reply from client side\n"), 0);
  EXPECT_EQ(out,
            "00000000   72 65 70 6c 79 20 66 72  6f 6d 20 63 6c 69 65 6e  reply from clien\n"
            "00000010   74 20 73 69 64 65 0a                              t side.\n");
}

TEST(NcHexDump, OffsetContinuesAcrossChunks) {
  std::string out;
  sockit::nc::format_hex_lines(out, bytes("AB"), 0x1234);
  EXPECT_EQ(out, "00001234   41 42                                             AB\n");
}

TEST(NcHexDump, NonPrintableBytesShowAsDots) {
  std::string out;
  std::string data("\x00\x7f\xff~ \t", 6);
  sockit::nc::format_hex_lines(out, bytes(data), 0);
  EXPECT_EQ(out, "00000000   00 7f ff 7e 20 09                                 ...~ .\n");
}

TEST(NcHexDump, ExactlySixteenBytesIsOneLine) {
  std::string out;
  sockit::nc::format_hex_lines(out, bytes("0123456789abcdef"), 0);
  EXPECT_EQ(out, "00000000   30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  0123456789abcdef\n");
}

TEST(NcHexDump, ChunkHeaderNamesDirectionAndPeer) {
  std::string out;
  sockit::nc::format_hex_chunk(out, Direction::sent, "127.0.0.1:80", bytes("hi"), 0);
  sockit::nc::format_hex_chunk(out, Direction::received, "127.0.0.1:80", bytes("!"), 0);
  EXPECT_EQ(out,
            "> 2 bytes to 127.0.0.1:80\n"
            "00000000   68 69                                             hi\n"
            "< 1 byte from 127.0.0.1:80\n"
            "00000000   21                                                !\n");
}

TEST(NcHexDump, EmptyInputProducesNoLines) {
  std::string out;
  sockit::nc::format_hex_lines(out, {}, 0);
  EXPECT_TRUE(out.empty());
}

TEST(NcHexDump, DumperWritesToItsFile) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  sockit::nc::HexDumper d(f);
  d.dump(Direction::received, "peer", bytes("x"), 7);
  std::rewind(f);
  char buf[256] = {};
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  EXPECT_EQ(std::string(buf, n),
            "< 1 byte from peer\n"
            "00000007   78                                                x\n");
}

}  // namespace
