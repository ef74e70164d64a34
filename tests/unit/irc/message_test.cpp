#include "sockit/irc/message.hpp"

#include <gtest/gtest.h>

using namespace sockit::irc;

TEST(IrcParse, CommandAndParams) {
  auto r = parse("PRIVMSG #chan :hello world");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.message->command, "PRIVMSG");
  ASSERT_EQ(r.message->params.size(), 2u);
  EXPECT_EQ(r.message->params[0], "#chan");
  EXPECT_EQ(r.message->params[1], "hello world");
}

TEST(IrcParse, PrefixAndTags) {
  auto r = parse("@time=2020-01-01T00:00:00.000Z;+x=a\\sb\\:c :nick!u@h NOTICE me :hi");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.message->prefix, "nick!u@h");
  ASSERT_EQ(r.message->tags.size(), 2u);
  EXPECT_EQ(r.message->tags[1].key, "+x");
  EXPECT_EQ(r.message->tags[1].value, "a b;c");
}

TEST(IrcParse, EmptyTrailingIsAParameter) {
  auto r = parse("TOPIC #a :");
  ASSERT_TRUE(r);
  ASSERT_EQ(r.message->params.size(), 2u);
  EXPECT_EQ(r.message->params[1], "");
}

TEST(IrcParse, ExtraSpacesAreSkipped) {
  auto r = parse("  JOIN   #a    key  ");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.message->params, (std::vector<std::string>{"#a", "key"}));
}

TEST(IrcParse, FifteenthParameterTakesTheRest) {
  std::string line = "CMD";
  for (int i = 1; i <= 17; ++i) line += " p" + std::to_string(i);
  auto r = parse(line);
  ASSERT_TRUE(r);
  ASSERT_EQ(r.message->params.size(), kMaxParams);
  EXPECT_EQ(r.message->params.back(), "p15 p16 p17");
}

TEST(IrcParse, BodyOf510BytesIsAcceptedAnd511Rejected) {
  std::string ok = "PRIVMSG #a :" + std::string(510 - 12, 'x');
  ASSERT_EQ(ok.size(), 510u);
  EXPECT_TRUE(parse(ok));
  auto r = parse(ok + "y");
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, ParseError::too_long);
}

TEST(IrcParse, TagsDoNotCountTowardsTheBody) {
  std::string tags = "@a=" + std::string(8000, 'v') + " ";
  std::string body = "PRIVMSG #a :" + std::string(498, 'x');
  EXPECT_TRUE(parse(tags + body));
  std::string huge = "@a=" + std::string(8190, 'v') + " ";
  auto r = parse(huge + "PING x");
  EXPECT_EQ(r.error, ParseError::tags_too_long);
}

TEST(IrcParse, NulCrLfAreRejected) {
  EXPECT_EQ(parse(std::string("PRIVMSG #a :a\0b", 15)).error, ParseError::bad_char);
  EXPECT_EQ(parse("PRIVMSG #a :a\rQUIT").error, ParseError::bad_char);
  EXPECT_EQ(parse("PRIVMSG #a :a\nQUIT").error, ParseError::bad_char);
}

TEST(IrcParse, MalformedLines) {
  EXPECT_EQ(parse("").error, ParseError::empty);
  EXPECT_EQ(parse("   ").error, ParseError::empty);
  EXPECT_EQ(parse(":onlyprefix").error, ParseError::no_command);
  EXPECT_EQ(parse(":p ").error, ParseError::no_command);
  EXPECT_EQ(parse("@a=b").error, ParseError::no_command);
  EXPECT_EQ(parse("@ PING").error, ParseError::bad_tags);
  EXPECT_EQ(parse("PR1VMSG x").error, ParseError::bad_command);
  EXPECT_EQ(parse("12 x").error, ParseError::bad_command);
  EXPECT_TRUE(parse("001 nick :welcome"));
}

TEST(IrcSerialize, RoundTrip) {
  Message m;
  m.tags = {{"time", "x y;z"}};
  m.prefix = "n!u@h";
  m.command = "PRIVMSG";
  m.params = {"#a", "hello there"};
  std::string wire = serialize(m);
  EXPECT_EQ(wire, "@time=x\\sy\\:z :n!u@h PRIVMSG #a :hello there\r\n");
  auto r = parse(wire.substr(0, wire.size() - 2));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r.message, m);
}

TEST(IrcSerialize, NeverEmitsCrLfOrNulInsideTheLine) {
  Message m;
  m.command = "PRIVMSG";
  m.params = {"#a b\r\n", std::string("x\r\nQUIT :y\0z", 12)};
  std::string wire = serialize(m);
  EXPECT_EQ(wire.find('\r'), wire.size() - 2);
  EXPECT_EQ(wire.find('\n'), wire.size() - 1);
  EXPECT_EQ(wire.find('\0'), std::string::npos);
  auto r = parse(wire.substr(0, wire.size() - 2));
  ASSERT_TRUE(r);
  EXPECT_EQ(r.message->params.size(), 2u);
}

TEST(IrcSerialize, TruncatesOnUtf8Boundary) {
  Message m;
  m.command = "PRIVMSG";
  std::string text;
  while (text.size() < 600) text += "\xC3\xA9";  // é
  m.params = {"#a", text};
  std::string wire = serialize(m);
  EXPECT_LE(wire.size(), kMaxLineBytes);
  EXPECT_TRUE(is_valid_utf8(wire));
}

TEST(IrcUtf8, Validator) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("hi\xAA"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xFF"));
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong 3-byte
}
