// sockit nc -C: LF -> CRLF on data sent, existing CRLF untouched, state kept across reads.
#include "nc/crlf.hpp"

#include <gtest/gtest.h>

namespace {

std::string encode_all(std::initializer_list<std::string_view> chunks) {
  sockit::nc::CrlfEncoder enc;
  std::string out;
  for (auto c : chunks) enc.encode(c, out);
  return out;
}

TEST(NcCrlf, BareLfBecomesCrLf) { EXPECT_EQ(encode_all({"a\nb\n"}), "a\r\nb\r\n"); }

TEST(NcCrlf, ExistingCrLfIsLeftAlone) { EXPECT_EQ(encode_all({"a\r\nb\n"}), "a\r\nb\r\n"); }

TEST(NcCrlf, CrLfSplitAcrossReadsIsNotDoubled) { EXPECT_EQ(encode_all({"a\r", "\nb"}), "a\r\nb"); }

TEST(NcCrlf, LoneCrIsKept) { EXPECT_EQ(encode_all({"a\rb"}), "a\rb"); }

TEST(NcCrlf, LfAtStartOfSecondReadAfterOrdinaryByte) { EXPECT_EQ(encode_all({"a", "\n"}), "a\r\n"); }

TEST(NcCrlf, EmptyLines) { EXPECT_EQ(encode_all({"\n\n"}), "\r\n\r\n"); }

}  // namespace
