#include "tools/chat/editor.hpp"
#include "tools/chat/text.hpp"

#include <gtest/gtest.h>

using namespace sockit::chat;

TEST(ChatText, DecodeReplacesEachIllFormedByte) {
  EXPECT_EQ(utf8_decode("a\xC3\xA9"), U"aé");
  EXPECT_EQ(utf8_decode("\xC0\xAF"), U"\uFFFD\uFFFD");       // overlong '/'
  EXPECT_EQ(utf8_decode("\xED\xA0\x80"), U"\uFFFD\uFFFD\uFFFD");  // surrogate
  EXPECT_EQ(utf8_encode(U"日本✓"), "日本✓");
}

TEST(ChatText, RecodeKeepsUtf8AndReadsOtherBytesAsLatin1) {
  EXPECT_EQ(recode_incoming("caf\xC3\xA9"), "café");
  EXPECT_EQ(recode_incoming("caf\xE9"), "café");  // Latin-1 client
  EXPECT_EQ(recode_incoming("x\xC2\x9B" "2Jy"), "x2Jy");  // U+009B (8-bit CSI) never reaches the tty
}

TEST(ChatText, SanitizeMakesTypedTextValidUtf8) {
  EXPECT_EQ(sanitize_utf8("ok \xFF"), "ok \xEF\xBF\xBD");
}

TEST(ChatText, ParsesMircBoldColourAndReset) {
  auto spans = parse_formatting("a\x02" "b\x0F" "c\x03" "04,01d\x03" "e");
  ASSERT_EQ(spans.size(), 5u);
  EXPECT_EQ(spans[0].text, "a");
  EXPECT_TRUE(spans[1].style.bold);
  EXPECT_EQ(spans[1].text, "b");
  EXPECT_FALSE(spans[2].style.bold);
  EXPECT_EQ(spans[3].style.fg, 4);
  EXPECT_EQ(spans[3].style.bg, 1);
  EXPECT_EQ(spans[3].text, "d");
  EXPECT_EQ(spans[4].style.fg, -1);  // bare ^C resets colours
}

TEST(ChatText, ColourCommaWithoutDigitIsText) {
  auto spans = parse_formatting("\x03" "3,x");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].style.fg, 3);
  EXPECT_EQ(spans[0].text, ",x");
}

TEST(ChatText, StripRemovesCodesAndControlBytes) {
  EXPECT_EQ(strip_formatting("\x1f" "u\x1f \x16r\x16 \x1di\x1d \x04" "FF0000hex\x03" "99d"), "u r i hexd");
  EXPECT_EQ(strip_formatting("esc\x1b[2Jape\ttab"), "esc[2Jape tab");
}

TEST(ChatEditor, InsertsMovesAndDeletesByCodePoint) {
  LineEditor e;
  e.insert_utf8("héllo");
  e.left();
  e.left();
  e.backspace();  // removes the first 'l'
  EXPECT_EQ(e.text(), "hélo");
  e.home();
  e.delete_char();
  EXPECT_EQ(e.text(), "élo");
  e.end();
  e.insert(U'!');
  EXPECT_EQ(e.text(), "élo!");
  EXPECT_EQ(e.cursor(), 4u);
}

TEST(ChatEditor, CtrlUKillsToStartCtrlWKillsWord) {
  LineEditor e;
  e.insert_utf8("one two  three");
  e.kill_word_before();
  EXPECT_EQ(e.text(), "one two  ");
  e.kill_word_before();
  EXPECT_EQ(e.text(), "one ");
  e.insert_utf8("x");
  e.left();
  e.kill_to_start();
  EXPECT_EQ(e.text(), "x");
  EXPECT_EQ(e.cursor(), 0u);
}

TEST(ChatEditor, HistoryKeepsTheDraft) {
  LineEditor e;
  e.insert_utf8("first");
  EXPECT_EQ(e.submit(), "first");
  e.insert_utf8("second");
  e.submit();
  e.insert_utf8("  ");
  e.submit();  // blank: not stored
  e.insert_utf8("draft");
  e.history_prev();
  EXPECT_EQ(e.text(), "second");
  e.history_prev();
  EXPECT_EQ(e.text(), "first");
  e.history_prev();
  EXPECT_EQ(e.text(), "first");
  e.history_next();
  e.history_next();
  EXPECT_EQ(e.text(), "draft");
  EXPECT_EQ(e.history().size(), 2u);
}

TEST(ChatEditor, TabCompletesNickAtLineStartWithColon) {
  LineEditor e;
  e.insert_utf8("BO");
  e.complete({"alice", "bob", "bobby"});
  EXPECT_EQ(e.text(), "bob: ");
  e.complete({"alice", "bob", "bobby"});  // cycles
  EXPECT_EQ(e.text(), "bobby: ");
  e.complete({"alice", "bob", "bobby"});
  EXPECT_EQ(e.text(), "bob: ");
}

TEST(ChatEditor, TabCompletesMidLineWithSpaceAndLeavesUnknownAlone) {
  LineEditor e;
  e.insert_utf8("hi al");
  e.complete({"alice", "bob"});
  EXPECT_EQ(e.text(), "hi alice ");
  e.insert_utf8("zz");
  e.complete({"alice", "bob"});
  EXPECT_EQ(e.text(), "hi alice zz");
}
