#include "base/http_text.h"

#include <gtest/gtest.h>

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

TEST(HttpTextTest, Tokens) {
  EXPECT_TRUE(IsToken("GET"));
  EXPECT_TRUE(IsToken("X-Custom_Header!#$%&'*+-.^`|~"));
  EXPECT_FALSE(IsToken(""));
  EXPECT_FALSE(IsToken("Bad Name"));
  EXPECT_FALSE(IsToken("colon:"));
  EXPECT_FALSE(IsToken(std::string_view("a\0b", 3)));
  EXPECT_FALSE(IsToken("caf\xC3\xA9"));
}

TEST(HttpTextTest, FieldValueRules) {
  // Printable ASCII and HTAB only.
  EXPECT_TRUE(IsPrintableFieldValue("pop-1 \tx"));
  EXPECT_FALSE(IsPrintableFieldValue("caf\xC3\xA9"));
  EXPECT_FALSE(IsPrintableFieldValue("a\x7f"));
  // RFC 9110 field text: obs-text allowed, controls but HTAB refused.
  EXPECT_TRUE(IsFieldText("caf\xC3\xA9\tok"));
  EXPECT_FALSE(IsFieldText("a\r\nb"));
  EXPECT_FALSE(IsFieldText("a\x01"));
  EXPECT_FALSE(IsFieldText("a\x7f"));
  // Fetch: only NUL, CR and LF refused.
  EXPECT_TRUE(IsFetchFieldValue("a\x01\x7f\xC3\xA9"));
  EXPECT_FALSE(IsFetchFieldValue("a\rb"));
  EXPECT_FALSE(IsFetchFieldValue("a\nb"));
  EXPECT_FALSE(IsFetchFieldValue(std::string_view("a\0b", 3)));
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
