#include "bindings/fetch/outbound/body_decoder.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "bindings/fetch/testing/compress.h"

namespace edge::bindings::outbound {
namespace {

using testing::Compress;

// Feeds `encoded` in pieces of `piece` bytes, reading at most `max` per call.
std::string DecodeAll(BodyDecoder& decoder, const std::string& encoded, size_t piece, size_t max) {
  std::string output;
  std::string pending;
  size_t offset = 0;
  for (int guard = 0; guard < 1000000; ++guard) {
    if (offset < encoded.size()) {
      pending += encoded.substr(offset, piece);
      offset += piece;
    }
    size_t consumed = 0;
    size_t before = output.size();
    EXPECT_TRUE(decoder.Decode(pending, max, &consumed, &output).ok());
    EXPECT_LE(output.size() - before, max);
    pending.erase(0, consumed);
    if (offset >= encoded.size() && output.size() == before && consumed == 0) break;
  }
  return output;
}

TEST(BodyDecoderTest, OnlyKnownSingleCodings) {
  EXPECT_NE(BodyDecoder::ForContentEncoding("gzip"), nullptr);
  EXPECT_NE(BodyDecoder::ForContentEncoding(" GZIP "), nullptr);
  EXPECT_NE(BodyDecoder::ForContentEncoding("x-gzip"), nullptr);
  EXPECT_NE(BodyDecoder::ForContentEncoding("deflate"), nullptr);
  EXPECT_EQ(BodyDecoder::ForContentEncoding("br"), nullptr);
  EXPECT_EQ(BodyDecoder::ForContentEncoding("gzip, gzip"), nullptr);
  EXPECT_EQ(BodyDecoder::ForContentEncoding("identity"), nullptr);
}

TEST(BodyDecoderTest, GzipInSmallPiecesWithBoundedOutput) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "hello edge " + std::to_string(i) + "\n";
  std::string gz = Compress(text, 15 + 16);
  auto decoder = BodyDecoder::ForContentEncoding("gzip");
  EXPECT_EQ(DecodeAll(*decoder, gz, 7, 1000), text);
}

TEST(BodyDecoderTest, DeflateZlibWrappedAndRaw) {
  std::string text(100000, 'a');
  auto zlib = BodyDecoder::ForContentEncoding("deflate");
  EXPECT_EQ(DecodeAll(*zlib, Compress(text, 15), 1, 4096), text);
  auto raw = BodyDecoder::ForContentEncoding("deflate");
  EXPECT_EQ(DecodeAll(*raw, Compress(text, -15), 3, 4096), text);
}

TEST(BodyDecoderTest, ConcatenatedGzipMembers) {
  std::string gz = Compress("first,", 15 + 16) + Compress("second", 15 + 16);
  auto decoder = BodyDecoder::ForContentEncoding("gzip");
  EXPECT_EQ(DecodeAll(*decoder, gz, 1000, 1000), "first,second");
}

TEST(BodyDecoderTest, CorruptDataIsATypeError) {
  auto decoder = BodyDecoder::ForContentEncoding("gzip");
  std::string out;
  size_t consumed = 0;
  Status status = decoder->Decode("this is not gzip at all", 100, &consumed, &out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kTypeError);
  EXPECT_NE(status.message().find("gzip"), std::string::npos);
}

TEST(BodyDecoderTest, ABombIsDecodedAtTheReadersPace) {
  std::string zeros(64 << 20, '\0');  // 64 MiB
  std::string gz = Compress(zeros, 15 + 16);
  ASSERT_LT(gz.size(), 1u << 20);
  auto decoder = BodyDecoder::ForContentEncoding("gzip");
  std::string out;
  size_t consumed = 0;
  ASSERT_TRUE(decoder->Decode(gz, 65536, &consumed, &out).ok());
  EXPECT_EQ(out.size(), 65536u);
  EXPECT_LT(consumed, gz.size());
}

}  // namespace
}  // namespace edge::bindings::outbound
