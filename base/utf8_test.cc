#include "base/utf8.h"

#include <gtest/gtest.h>

#include "base/ascii.h"

namespace edge::base {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF
}

TEST(Utf8Test, RefusesWhatTheEncodingStandardRefuses) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Utf8ToUtf16Test, DecodesEveryLengthAndSurrogatePairs) {
  EXPECT_EQ(Utf8ToUtf16("a"), u"a");
  EXPECT_EQ(Utf8ToUtf16("caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x98\x80"), u"caf\u00E9 \u2192 \U0001F600");
  EXPECT_EQ(Utf8ToUtf16("\xF0\x9F\x98\x80").size(), 2u);
}

TEST(Utf8ToUtf16Test, ABrokenSequenceBecomesReplacementCharacters) {
  // Truncated at the end, a stray continuation byte, a lead byte followed
  // by ASCII: never read past the text, never swallow the next character.
  EXPECT_EQ(Utf8ToUtf16("a\xE2\x86"), u"a\uFFFD\uFFFD");
  EXPECT_EQ(Utf8ToUtf16("\x80x"), u"\uFFFDx");
  EXPECT_EQ(Utf8ToUtf16("\xC3x"), u"\uFFFDx");
}

TEST(IsAsciiTest, AnyByteFrom0x80IsNot) {
  EXPECT_TRUE(IsAscii(""));
  EXPECT_TRUE(IsAscii("plain text\n\x7F"));
  EXPECT_FALSE(IsAscii("caf\xC3\xA9"));
  EXPECT_FALSE(IsAscii(std::string_view("\x80", 1)));
}

}  // namespace
}  // namespace edge::base
