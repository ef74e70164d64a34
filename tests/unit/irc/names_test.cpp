#include "sockit/irc/names.hpp"
#include "sockit/irc/password.hpp"

#include <gtest/gtest.h>

using namespace sockit::irc;

TEST(IrcNames, Rfc1459Casemapping) {
  EXPECT_EQ(fold("Nick[]\\~"), "nick{}|^");
  EXPECT_TRUE(equal_folded("FOO[x]", "foo{X}"));
  EXPECT_FALSE(equal_folded("foo", "fooo"));
}

TEST(IrcNames, NickValidation) {
  EXPECT_TRUE(valid_nick("alice", 30));
  EXPECT_TRUE(valid_nick("[bot]_", 30));
  EXPECT_TRUE(valid_nick("a-1", 30));
  EXPECT_FALSE(valid_nick("", 30));
  EXPECT_FALSE(valid_nick("1abc", 30));
  EXPECT_FALSE(valid_nick("-abc", 30));
  EXPECT_FALSE(valid_nick("a b", 30));
  for (char c : std::string("!@:,*?#&.")) EXPECT_FALSE(valid_nick(std::string("a") + c, 30)) << c;
  EXPECT_FALSE(valid_nick("caf\xC3\xA9", 30));
  EXPECT_FALSE(valid_nick(std::string(31, 'a'), 30));
  EXPECT_TRUE(valid_nick(std::string(30, 'a'), 30));
}

TEST(IrcNames, ChannelValidation) {
  EXPECT_TRUE(valid_channel("#chan", 50));
  EXPECT_TRUE(valid_channel("&local", 50));
  EXPECT_TRUE(valid_channel("#caf\xC3\xA9", 50));
  EXPECT_FALSE(valid_channel("chan", 50));
  EXPECT_FALSE(valid_channel("#", 50));
  EXPECT_FALSE(valid_channel("#a,b", 50));
  EXPECT_FALSE(valid_channel("#a:b", 50));
  EXPECT_FALSE(valid_channel("#a\x07", 50));
  EXPECT_FALSE(valid_channel("#" + std::string(50, 'x'), 50));
}

TEST(IrcNames, UsernameIsCleaned) {
  EXPECT_EQ(clean_username("al!ce@x", 10), "alcex");
  EXPECT_EQ(clean_username("averyveryverylongname", 10), "averyveryv");
  EXPECT_EQ(clean_username("\xC3\xA9", 10), "");
}

TEST(IrcNames, MaskMatch) {
  EXPECT_TRUE(mask_match("*!*@127.0.0.1", "bob!~bob@127.0.0.1"));
  EXPECT_TRUE(mask_match("B?B!*@*", "bob!~bob@h"));
  EXPECT_TRUE(mask_match("nick[x]!*@*", "NICK{X}!u@h"));
  EXPECT_FALSE(mask_match("*!*@10.*", "bob!~bob@127.0.0.1"));
  EXPECT_TRUE(mask_match("*", ""));
  EXPECT_TRUE(mask_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(mask_match("a*b*c", "aXXbYY"));
}

TEST(IrcNames, NormalizeMask) {
  EXPECT_EQ(normalize_mask("bob"), "bob!*@*");
  EXPECT_EQ(normalize_mask("u@h"), "*!u@h");
  EXPECT_EQ(normalize_mask("n!u"), "n!u@*");
  EXPECT_EQ(normalize_mask("n!u@h"), "n!u@h");
}

TEST(IrcPassword, HashVerifies) {
  auto h = hash_password("s3cret", 1000);
  ASSERT_TRUE(h);
  EXPECT_TRUE(is_password_hash(*h));
  EXPECT_TRUE(verify_password("s3cret", *h));
  EXPECT_FALSE(verify_password("s3cret!", *h));
  auto h2 = hash_password("s3cret", 1000);
  ASSERT_TRUE(h2);
  EXPECT_NE(*h, *h2);  // fresh salt
}

TEST(IrcPassword, MalformedHashNeverVerifies) {
  EXPECT_FALSE(verify_password("x", ""));
  EXPECT_FALSE(verify_password("x", "x"));
  EXPECT_FALSE(verify_password("x", "pbkdf2-sha256$0$00$00"));
  EXPECT_FALSE(verify_password("x", "pbkdf2-sha256$10$zz$00"));
  EXPECT_FALSE(is_password_hash("sha256$1$00$00"));
}
