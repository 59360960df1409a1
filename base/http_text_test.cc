#include "base/http_text.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "base/ascii.h"

namespace edge::base {
namespace {

TEST(AsciiTest, CaseFoldingLeavesOtherBytesAlone) {
  EXPECT_EQ(AsciiLower("Content-LENGTH"), "content-length");
  EXPECT_EQ(AsciiLower("\xC3\x89T\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // only A-Z change
  EXPECT_TRUE(EqualsIgnoreCase("Transfer-Encoding", "transfer-encoding"));
  EXPECT_FALSE(EqualsIgnoreCase("host", "hosts"));
  EXPECT_FALSE(EqualsIgnoreCase("\xC3\x89", "\xC3\xA9"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_TRUE(StartsWithIgnoreCase("bearer abc", "Bearer "));
  EXPECT_FALSE(StartsWithIgnoreCase("Bear", "Bearer "));
}

TEST(AsciiTest, Hex) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('f'), 15);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_EQ(HexEncode(std::string("\x00\x7f\xff", 3)), "007fff");
  EXPECT_EQ(HexDecode("007FfF"), std::string("\x00\x7f\xff", 3));
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
  EXPECT_TRUE(IsLowerHex("0123456789abcdef"));
  EXPECT_FALSE(IsLowerHex("ABCDEF"));
}

// Expects `predicate` to hold for each of `accepted` and for none of `refused`.
void ExpectPredicate(bool (*predicate)(std::string_view), std::vector<std::string_view> accepted,
                     std::vector<std::string_view> refused) {
  for (std::string_view text : accepted)
    EXPECT_TRUE(predicate(text)) << ::testing::PrintToString(text);
  for (std::string_view text : refused)
    EXPECT_FALSE(predicate(text)) << ::testing::PrintToString(text);
}

TEST(HttpTextTest, Tokens) {
  ExpectPredicate(IsToken, {"GET", "X-Custom_Header!#$%&'*+-.^`|~"},
                  {"", "Bad Name", "colon:", std::string_view("a\0b", 3), "caf\xC3\xA9"});
}

TEST(HttpTextTest, FieldValueRules) {
  // Printable ASCII and HTAB only.
  ExpectPredicate(IsPrintableFieldValue, {"pop-1 \tx"}, {"caf\xC3\xA9", "a\x7f"});
  // RFC 9110 field text: obs-text allowed, controls but HTAB refused.
  ExpectPredicate(IsFieldText, {"caf\xC3\xA9\tok"}, {"a\r\nb", "a\x01", "a\x7f"});
  // Fetch: only NUL, CR and LF refused.
  ExpectPredicate(IsFetchFieldValue, {"a\x01\x7f\xC3\xA9"},
                  {"a\rb", "a\nb", std::string_view("a\0b", 3)});
}

TEST(HttpTextTest, OwsAndLists) {
  EXPECT_EQ(TrimOws(" \t100-continue\t "), "100-continue");
  EXPECT_EQ(TrimOws(" \r\n "), "\r\n");  // only spaces and tabs
  EXPECT_EQ(TrimOws(""), "");
  EXPECT_TRUE(HasToken("keep-alive, Close", "close"));
  EXPECT_TRUE(HasToken("close", "close"));
  EXPECT_FALSE(HasToken("closed, x", "close"));
  EXPECT_FALSE(HasToken("", "close"));
}

TEST(HttpTextTest, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(413), "Content Too Large");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(299), "");
}

TEST(HttpTextTest, Dates) {
  EXPECT_EQ(FormatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  std::string_view now = HttpDateNow();
  EXPECT_EQ(now.size(), 29u);
  EXPECT_TRUE(now.ends_with(" GMT"));
}

TEST(HttpTextTest, ChunkedFraming) {
  std::string out;
  AppendChunk(out, "hello");
  AppendChunk(out, std::string(26, 'x'));
  out.append(kLastChunk);
  EXPECT_EQ(out, "5\r\nhello\r\n1a\r\n" + std::string(26, 'x') + "\r\n0\r\n\r\n");
}

}  // namespace
}  // namespace edge::base
