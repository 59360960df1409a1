// Buckets in a fleet: R2Remote (a PoP's side) against an R2Home (the
// origin's) over a real R2Store behind a test HTTP server that feeds
// uploads to it as they arrive. Every call answers as the store does;
// another account's bucket, malformed and truncated uploads are refused
// with nothing stored; an origin away fails calls with a clear error.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "base/http_client/testing/test_server.h"
#include "base/sha256.h"
#include "base/testing/temp_dir.h"
#include "bindings/r2/r2_wire.h"
#include "edge-sync/r2_home.h"
#include "edge-sync/r2_remote.h"

namespace edge::sync {
namespace {

using bindings::R2Conditional;
using bindings::R2Etag;
using bindings::R2PutOptions;
using bindings::R2Range;

constexpr const char* kAccount = "alpha";
constexpr const char* kBucket = "photos";

class FakeOrigin {
 public:
  explicit FakeOrigin(uint64_t quota = uint64_t{1} << 30) {
    bindings::R2Limits limits;
    limits.max_owner_bytes = quota;
    store_ = bindings::R2Store::Open(dir_.path(), limits, [] { return int64_t{1'700'000'000'000}; });
    home_ = std::make_unique<R2Home>(store_, [](std::string_view account, std::string_view bucket) {
      if (account == kAccount && bucket == kBucket) return Status::Ok();
      return Status(ErrorCode::kInvalidInput, "not this account's bucket");
    });
    server_ = std::make_unique<base::testing::TestServer>([this](base::testing::ServerConnection& c) {
      Serve(c);
    });
  }

  base::HttpTarget target() const {
    base::HttpTarget target;
    target.url = "http://127.0.0.1:" + std::to_string(server_->port());
    return target;
  }
  bindings::R2Store& store() { return *store_; }
  R2Home& home() { return *home_; }
  int aborted_uploads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return aborted_;
  }

 private:
  void Serve(base::testing::ServerConnection& connection) {
    base::testing::ServerRequest request;
    if (!connection.ReadHead(&request)) return;
    R2Home::Answer answer;
    if (request.method == "PUT") {
      std::optional<uint64_t> length;
      if (request.HasHeader("content-length")) length = std::stoull(request.Header("content-length"));
      std::unique_ptr<R2Home::Upload> upload;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        upload = home_->BeginUpload(length);
      }
      uint64_t got = 0;
      std::string piece;
      while (connection.ReadBodyPiece(request, &piece)) {
        got += piece.size();
        std::lock_guard<std::mutex> lock(mutex_);
        upload->Feed(piece);
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (length && got < *length) {
        upload->Abort();
        ++aborted_;
        return;
      }
      answer = upload->Finish();
    } else {
      std::string piece;
      while (connection.ReadBodyPiece(request, &piece)) request.body += piece;
      std::lock_guard<std::mutex> lock(mutex_);
      answer = home_->Call(request.body);
    }
    connection.Respond(answer.status, {{"Content-Type", answer.content_type}, {"Connection", "close"}},
                       answer.body);
  }

  base::testing::TempDir dir_;
  std::shared_ptr<bindings::R2Store> store_;
  std::mutex mutex_;
  std::unique_ptr<R2Home> home_;
  int aborted_ = 0;
  std::unique_ptr<base::testing::TestServer> server_;
};

std::string Pattern(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return bytes;
}

StatusOr<std::optional<bindings::R2ObjectMeta>> Put(R2Remote& remote, const std::string& key,
                                                   const std::string& body, R2PutOptions options = {},
                                                   const std::string& account = kAccount,
                                                   const std::string& bucket = kBucket) {
  auto writer = remote.BeginPut(account, bucket, key, std::move(options), body.size());
  if (!writer.ok()) return writer.status();
  for (size_t at = 0; at < body.size(); at += 100000) {
    Status written = (*writer)->Write(std::string_view(body).substr(at, 100000));
    if (!written.ok()) return written;
  }
  return (*writer)->Commit();
}

// The whole range of a get, read as the natives read it.
std::string ReadAll(const bindings::R2Fetched& fetched) {
  if (fetched.reader == nullptr) return fetched.inline_body;
  std::string out;
  for (uint64_t at = fetched.offset; at < fetched.offset + fetched.length;) {
    auto chunk = fetched.reader->Read(at, 256 << 10);
    EXPECT_TRUE(chunk.ok()) << chunk.status().message();
    if (!chunk.ok() || chunk->empty()) break;
    out += *chunk;
    at += chunk->size();
  }
  return out;
}

TEST(R2FleetTest, CallsThroughTheOriginAnswerAsTheStore) {
  FakeOrigin origin;
  auto remote = std::make_shared<R2Remote>(origin.target());
  R2PutOptions options;
  options.http.content_type = "image/png";
  options.http.cache_expiry_ms = 1234;
  options.custom = {{"owner", "ünïcode"}, {"n", "1"}};
  std::string small = "a small body";
  options.checksum_algorithm = "sha256";
  options.checksum = base::Sha256(small);
  auto put = Put(*remote, "dir/small.txt", small, options);
  ASSERT_TRUE(put.ok()) << put.status().message();
  ASSERT_TRUE(put->has_value());
  auto local = origin.store().Head(kAccount, kBucket, "dir/small.txt");
  ASSERT_TRUE(local.ok() && local->has_value());
  EXPECT_EQ((*put)->etag, (*local)->etag);
  EXPECT_EQ((*put)->version, (*local)->version);
  EXPECT_EQ((*put)->uploaded_ms, (*local)->uploaded_ms);
  EXPECT_EQ((*put)->checksums.md5, (*local)->checksums.md5);

  auto head = remote->Head(kAccount, kBucket, "dir/small.txt");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->http.content_type, "image/png");
  EXPECT_EQ((*head)->http.cache_expiry_ms, 1234);
  EXPECT_EQ((*head)->custom, options.custom);
  EXPECT_EQ((*head)->checksums.md5, (*local)->checksums.md5);
  EXPECT_EQ((*head)->checksums.sha256, base::Sha256(small));
  EXPECT_EQ((*head)->size, small.size());

  auto missing = remote->Head(kAccount, kBucket, "nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  // A body over the inline size is read from the origin block by block.
  std::string large = Pattern(3 * 1024 * 1024 + 17);
  ASSERT_TRUE(Put(*remote, "dir/large.bin", large).ok());
  auto got = remote->Get(kAccount, kBucket, "dir/large.bin", {}, std::nullopt, 64 << 10);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().message();
  ASSERT_NE((*got)->reader, nullptr);
  EXPECT_EQ(ReadAll(**got), large);

  R2Range range;
  range.offset = 1000;
  range.length = 5000;
  auto ranged = remote->Get(kAccount, kBucket, "dir/large.bin", {}, range, 64 << 10);
  ASSERT_TRUE(ranged.ok() && ranged->has_value());
  EXPECT_TRUE((*ranged)->ranged);
  EXPECT_EQ(ReadAll(**ranged), large.substr(1000, 5000));
  R2Range suffix;
  suffix.suffix = 100;
  auto tail = remote->Get(kAccount, kBucket, "dir/large.bin", {}, suffix, 64 << 10);
  ASSERT_TRUE(tail.ok() && tail->has_value());
  EXPECT_EQ(ReadAll(**tail), large.substr(large.size() - 100));

  R2Conditional not_this;
  not_this.etag_matches = std::vector<R2Etag>{{R2Etag::kStrong, "0123"}};
  auto conditional = remote->Get(kAccount, kBucket, "dir/small.txt", not_this, std::nullopt, 64 << 10);
  ASSERT_TRUE(conditional.ok() && conditional->has_value());
  EXPECT_FALSE((*conditional)->has_body);
  R2Conditional this_one;
  this_one.etag_matches = std::vector<R2Etag>{{R2Etag::kStrong, (*put)->etag}};
  auto matched = remote->Get(kAccount, kBucket, "dir/small.txt", this_one, std::nullopt, 64 << 10);
  ASSERT_TRUE(matched.ok() && matched->has_value());
  EXPECT_EQ(ReadAll(**matched), small);
  // A put whose onlyIf does not hold stores nothing and answers null.
  R2PutOptions guarded;
  guarded.only_if = not_this;
  auto skipped = Put(*remote, "dir/small.txt", "other", guarded);
  ASSERT_TRUE(skipped.ok());
  EXPECT_FALSE(skipped->has_value());

  bindings::R2ListOptions list;
  list.delimiter = "/";
  auto top = remote->List(kAccount, kBucket, list);
  ASSERT_TRUE(top.ok());
  EXPECT_TRUE(top->objects.empty());
  EXPECT_EQ(top->delimited_prefixes, std::vector<std::string>{"dir/"});
  list.prefix = "dir/";
  list.limit = 1;
  list.include_custom = true;
  auto page = remote->List(kAccount, kBucket, list);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_TRUE(page->truncated);
  list.cursor = page->cursor;
  auto next = remote->List(kAccount, kBucket, list);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->objects.size(), 1u);
  EXPECT_EQ(next->objects[0].key, "dir/small.txt");
  EXPECT_EQ(next->objects[0].custom, options.custom);

  ASSERT_TRUE(remote->Delete(kAccount, kBucket, {"dir/small.txt", "dir/large.bin", "never"}).ok());
  auto gone = origin.store().Head(kAccount, kBucket, "dir/large.bin");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST(R2FleetTest, MultipartThroughTheOrigin) {
  FakeOrigin origin;
  auto remote = std::make_shared<R2Remote>(origin.target());
  auto id = remote->CreateMultipartUpload(kAccount, kBucket, "big", R2PutOptions{});
  ASSERT_TRUE(id.ok()) << id.status().message();
  std::string first = Pattern(5 << 20), second = "the last part";
  std::vector<std::pair<uint32_t, std::string>> parts;
  for (auto [number, body] : {std::pair<uint32_t, std::string*>{1, &first}, {2, &second}}) {
    auto writer = remote->BeginPart(kAccount, kBucket, "big", *id, number, body->size());
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(*body).ok());
    auto part = (*writer)->Commit();
    ASSERT_TRUE(part.ok() && part->has_value()) << part.status().message();
    parts.emplace_back(number, (*part)->etag);
  }
  // A part of an upload that does not exist: the store's error.
  auto stray = remote->BeginPart(kAccount, kBucket, "big", "no-such-upload", 1, 3);
  ASSERT_TRUE(stray.ok());
  ASSERT_TRUE((*stray)->Write("abc").ok());
  auto refused = (*stray)->Commit();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("(10024)"), std::string::npos)
      << refused.status().message();
  auto meta = remote->CompleteMultipartUpload(kAccount, kBucket, "big", *id, parts);
  ASSERT_TRUE(meta.ok()) << meta.status().message();
  EXPECT_EQ(meta->size, first.size() + second.size());
  EXPECT_NE(meta->etag.find("-2"), std::string::npos);
  auto got = remote->Get(kAccount, kBucket, "big", {}, std::nullopt, 64 << 10);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(ReadAll(**got), first + second);
  // Another upload, aborted: its part goes, the object stays.
  auto other = remote->CreateMultipartUpload(kAccount, kBucket, "big", R2PutOptions{});
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(remote->AbortMultipartUpload(kAccount, kBucket, "big", *other).ok());
  auto after = remote->BeginPart(kAccount, kBucket, "big", *other, 1, 1);
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE((*after)->Write("x").ok());
  EXPECT_FALSE((*after)->Commit().ok());
  auto kept = origin.store().Head(kAccount, kBucket, "big");
  ASSERT_TRUE(kept.ok() && kept->has_value());
}

TEST(R2FleetTest, AnotherAccountsBucketIsRefusedAndNothingStored) {
  FakeOrigin origin;
  auto remote = std::make_shared<R2Remote>(origin.target());
  auto put = Put(*remote, "k", "body", {}, "beta", kBucket);
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.status().message().find("refused this bucket"), std::string::npos)
      << put.status().message();
  EXPECT_FALSE(Put(*remote, "k", "body", {}, kAccount, "other-bucket").ok());
  EXPECT_FALSE(remote->Head("beta", kBucket, "k").ok());
  EXPECT_FALSE(remote->Delete("beta", kBucket, {"k"}).ok());
  auto buckets = origin.store().ListBuckets("beta");
  ASSERT_TRUE(buckets.ok());
  EXPECT_TRUE(buckets->empty());
  auto used = origin.store().OwnerBytes(kAccount);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, 0u);
}

TEST(R2FleetTest, MalformedCallsAreRefused) {
  FakeOrigin origin;
  R2Home& home = origin.home();
  auto status_of = [&](std::string_view body) { return home.Call(body).status; };
  EXPECT_EQ(status_of("not json"), 400);
  EXPECT_EQ(status_of("[]"), 400);
  EXPECT_EQ(status_of("{\"op\":\"head\"}"), 400);
  EXPECT_EQ(status_of("{\"op\":\"head\",\"account\":\"alpha\",\"bucket\":\"photos\"}"), 400);
  EXPECT_EQ(status_of("{\"op\":\"explode\",\"account\":\"alpha\",\"bucket\":\"photos\"}"), 400);
  EXPECT_EQ(status_of("{\"op\":\"head\",\"account\":\"beta\",\"bucket\":\"photos\",\"key\":\"k\"}"), 403);
  EXPECT_EQ(status_of("{\"op\":\"read\",\"account\":\"alpha\",\"bucket\":\"photos\",\"key\":\"k\","
                      "\"version\":\"v\",\"offset\":0,\"length\":99999999}"),
            400);
  EXPECT_EQ(status_of("{\"op\":\"get\",\"account\":\"alpha\",\"bucket\":\"photos\",\"key\":\"k\","
                      "\"only_if\":{\"etag_matches\":[[7,\"x\"]]},\"range\":null,\"inline_max\":1}"),
            400);
  EXPECT_EQ(status_of(std::string(kR2CallMaxBodyBytes + 1, ' ')), 413);
  auto answer = home.Call("{\"op\":\"list\",\"account\":\"alpha\",\"bucket\":\"photos\"}");
  EXPECT_EQ(answer.status, 400);
  EXPECT_NE(answer.body.find("\"code\":\"invalid\""), std::string::npos) << answer.body;
  EXPECT_GE(home.counts().refused, 9u);
}

TEST(R2FleetTest, TruncatedAndMalformedUploadsStoreNothing) {
  FakeOrigin origin;
  R2Home& home = origin.home();
  std::string header =
      "{\"op\":\"put\",\"account\":\"alpha\",\"bucket\":\"photos\",\"key\":\"k\",\"length\":10,"
      "\"options\":{\"http\":{},\"custom\":[],\"storage_class\":\"Standard\",\"only_if\":null,"
      "\"checksum_algorithm\":\"\",\"checksum\":\"\"}}\n";
  {
    // Cut short: the PoP went away.
    auto upload = home.BeginUpload(header.size() + 10);
    upload->Feed(header + "12345");
    upload->Abort();
  }
  {
    // Ended early: fewer bytes than its first line said.
    auto upload = home.BeginUpload(header.size() + 10);
    upload->Feed(header);
    upload->Feed("12345");
    EXPECT_EQ(upload->Finish().status, 400);
  }
  {
    // Content-Length not matching the first line's length.
    auto upload = home.BeginUpload(header.size() + 11);
    upload->Feed(header + "12345678901");
    EXPECT_EQ(upload->Finish().status, 400);
  }
  {
    auto upload = home.BeginUpload(std::nullopt);
    upload->Feed(header + "1234567890");
    EXPECT_EQ(upload->Finish().status, 400);
  }
  {
    // No first line at all, and one past its limit.
    auto upload = home.BeginUpload(5);
    upload->Feed("12345");
    EXPECT_EQ(upload->Finish().status, 400);
    auto huge = home.BeginUpload(std::nullopt);
    huge->Feed(std::string(kR2UploadMaxHeaderBytes + 1, 'x'));
    huge->Feed("\nmore");
    EXPECT_EQ(huge->Finish().status, 413);
  }
  {
    // Another account's bucket, in the first line.
    std::string other = header;
    other.replace(other.find("alpha"), 5, "beta!");
    auto upload = home.BeginUpload(other.size() + 10);
    upload->Feed(other + "1234567890");
    EXPECT_EQ(upload->Finish().status, 403);
  }
  auto head = origin.store().Head(kAccount, kBucket, "k");
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->has_value());
  auto used = origin.store().OwnerBytes(kAccount);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, 0u);
  // And the whole thing, once, is stored.
  auto upload = home.BeginUpload(header.size() + 10);
  upload->Feed(header + "1234567890");
  auto answer = upload->Finish();
  EXPECT_EQ(answer.status, 200) << answer.body;
  auto stored = origin.store().Head(kAccount, kBucket, "k");
  ASSERT_TRUE(stored.ok() && stored->has_value());
}

TEST(R2FleetTest, APutCancelledMidwayStoresNothing) {
  FakeOrigin origin;
  auto remote = std::make_shared<R2Remote>(origin.target());
  auto writer = remote->BeginPut(kAccount, kBucket, "cut", R2PutOptions{}, 8 << 20);
  ASSERT_TRUE(writer.ok());
  // Past the pipe's 1 MiB the writes wait for the origin to take bytes:
  // the request is under way when it is cancelled.
  std::string piece = Pattern(256 << 10);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE((*writer)->Write(piece).ok());
  (*writer)->Abort();
  writer->reset();
  for (int i = 0; i < 200 && origin.aborted_uploads() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(origin.aborted_uploads(), 1);
  auto head = origin.store().Head(kAccount, kBucket, "cut");
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->has_value());
  // A body longer or shorter than declared fails at the PoP, as on one node.
  auto longer = remote->BeginPut(kAccount, kBucket, "cut", R2PutOptions{}, 3);
  ASSERT_TRUE(longer.ok());
  auto too_long = (*longer)->Write("abcd");
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.message().find("longer than its declared length"), std::string::npos);
  auto shorter = remote->BeginPut(kAccount, kBucket, "cut", R2PutOptions{}, 3);
  ASSERT_TRUE(shorter.ok());
  ASSERT_TRUE((*shorter)->Write("ab").ok());
  auto too_short = (*shorter)->Commit();
  ASSERT_FALSE(too_short.ok());
  EXPECT_NE(too_short.status().message().find("not its declared length"), std::string::npos);
  // What the store refuses up front is refused at the PoP before a byte
  // goes out.
  EXPECT_FALSE(remote->BeginPut(kAccount, kBucket, std::string(2000, 'k'), R2PutOptions{}, 1).ok());
  EXPECT_FALSE(remote->BeginPut(kAccount, kBucket, "k", R2PutOptions{}, bindings::kR2MaxPutBytes + 1).ok());
}

TEST(R2FleetTest, QuotaIsTheOrigins) {
  FakeOrigin origin(/*quota=*/1 << 20);
  auto remote = std::make_shared<R2Remote>(origin.target());
  auto put = Put(*remote, "big", Pattern(2 << 20));
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.status().message().find("quota"), std::string::npos) << put.status().message();
  auto used = origin.store().OwnerBytes(kAccount);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, 0u);
}

TEST(R2FleetTest, ABodyReplacedWhileReadFails) {
  FakeOrigin origin;
  auto remote = std::make_shared<R2Remote>(origin.target());
  std::string body = Pattern(3 << 20);
  ASSERT_TRUE(Put(*remote, "v", body).ok());
  auto got = remote->Get(kAccount, kBucket, "v", {}, std::nullopt, 64 << 10);
  ASSERT_TRUE(got.ok() && got->has_value());
  auto first = (*got)->reader->Read(0, 256 << 10);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, body.substr(0, 256 << 10));
  ASSERT_TRUE(Put(*remote, "v", "new").ok());
  auto later = (*got)->reader->Read(2 << 20, 256 << 10);
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.status().message().find("replaced or deleted"), std::string::npos);
}

TEST(R2FleetTest, AnOriginAwayFailsCallsClearly) {
  base::HttpTarget target;
  {
    FakeOrigin gone;
    target = gone.target();
  }
  auto remote = std::make_shared<R2Remote>(target);
  auto head = remote->Head(kAccount, kBucket, "k");
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().code(), ErrorCode::kIo);
  EXPECT_NE(head.status().message().find("could not be reached"), std::string::npos)
      << head.status().message();
  // Within the backoff, at once.
  auto start = std::chrono::steady_clock::now();
  auto put = remote->BeginPut(kAccount, kBucket, "k", R2PutOptions{}, 1);
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.status().message().find("tried again"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_GE(remote->counts().failed, 2u);
}

}  // namespace
}  // namespace edge::sync
