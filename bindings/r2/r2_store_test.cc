#include "bindings/r2/r2_store.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "base/testing/temp_dir.h"

namespace edge::bindings {
namespace {
namespace fs = std::filesystem;

constexpr int64_t kStart = 1'800'000'000'500;  // a fixed Unix ms, half a second in

std::string Md5Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_md5(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

class R2StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open(R2Limits limits = {}) {
    store_.reset();
    store_ = R2Store::Open(dir_.path(), limits, [this] { return now_; });
  }

  StatusOr<std::optional<R2ObjectMeta>> Put(const std::string& key, std::string_view body,
                                            R2PutOptions options = {}, size_t piece = 7,
                                            std::string owner = "account:a") {
    auto writer = store_->BeginPut(owner, "bucket", key, std::move(options), std::nullopt);
    if (!writer.ok()) return writer.status();
    for (size_t i = 0; i < body.size(); i += piece) {
      Status written = (*writer)->Write(body.substr(i, piece));
      if (!written.ok()) return written;
    }
    return (*writer)->Commit();
  }

  std::optional<std::string> Body(const std::string& key, std::optional<R2Range> range = {},
                                  R2Conditional only_if = {}) {
    auto got = store_->Get("account:a", "bucket", key, only_if, range);
    EXPECT_TRUE(got.ok()) << got.status().message();
    if (!got.ok() || !*got || !(*got)->has_body) return std::nullopt;
    auto bytes = (*got)->Read((*got)->offset, static_cast<size_t>((*got)->length));
    EXPECT_TRUE(bytes.ok());
    return *bytes;
  }

  std::vector<std::string> Keys(const R2ListResult& result) {
    std::vector<std::string> keys;
    for (const auto& meta : result.objects) keys.push_back(meta.key);
    return keys;
  }

  StatusOr<R2ObjectMeta> Part(const std::string& key, const std::string& upload_id, uint32_t number,
                              std::string_view body) {
    auto writer = store_->BeginPart("account:a", "bucket", key, upload_id, number, body.size());
    if (!writer.ok()) return writer.status();
    for (size_t i = 0; i < body.size(); i += 1 << 20) {
      Status written = (*writer)->Write(body.substr(i, 1 << 20));
      if (!written.ok()) return written;
    }
    auto meta = (*writer)->Commit();
    if (!meta.ok()) return meta.status();
    return **meta;
  }

  base::testing::TempDir dir_;
  int64_t now_ = kStart;
  std::shared_ptr<R2Store> store_;
};

TEST_F(R2StoreTest, PutGetHeadDelete) {
  R2PutOptions options;
  options.http.content_type = "text/plain";
  options.custom = {{"owner", "me"}};
  auto put = Put("a/b.txt", "hello, world");
  ASSERT_TRUE(put.ok()) << put.status().message();
  ASSERT_TRUE(*put);
  EXPECT_EQ((*put)->size, 12u);
  EXPECT_EQ((*put)->etag, Md5Hex("hello, world"));
  EXPECT_EQ((*put)->uploaded_ms, kStart);
  EXPECT_EQ((*put)->checksums.md5, Unhex(Md5Hex("hello, world")));
  EXPECT_EQ((*put)->version.size(), 32u);
  EXPECT_EQ(Body("a/b.txt"), "hello, world");

  auto replaced = Put("a/b.txt", "second", options);
  ASSERT_TRUE(replaced.ok());
  EXPECT_NE((*replaced)->version, (*put)->version);
  auto head = store_->Head("account:a", "bucket", "a/b.txt");
  ASSERT_TRUE(head.ok() && *head);
  EXPECT_EQ((*head)->size, 6u);
  EXPECT_EQ((*head)->http.content_type, "text/plain");
  ASSERT_EQ((*head)->custom.size(), 1u);
  EXPECT_EQ((*head)->custom[0].second, "me");

  // Another owner, or another bucket, does not see it.
  auto other = store_->Head("account:b", "bucket", "a/b.txt");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(*other);
  auto other_bucket = store_->Head("account:a", "elsewhere", "a/b.txt");
  ASSERT_TRUE(other_bucket.ok());
  EXPECT_FALSE(*other_bucket);

  ASSERT_TRUE(store_->Delete("account:a", "bucket", {"a/b.txt", "missing"}).ok());
  EXPECT_EQ(Body("a/b.txt"), std::nullopt);
  EXPECT_EQ(*store_->OwnerBytes("account:a"), 0u);
  // Nothing is left on disk but the index.
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(store_->path()) / "bodies")) {
    files += entry.is_regular_file();
  }
  EXPECT_EQ(files, 0u);
}

TEST_F(R2StoreTest, KeysAndMetadataAreLimited) {
  EXPECT_EQ(Put("", "x").status().message(), "The specified object name is not valid. (10020)");
  EXPECT_FALSE(Put(std::string(1025, 'k'), "x").ok());
  EXPECT_TRUE(Put(std::string(1024, 'k'), "x").ok());
  R2PutOptions options;
  options.custom = {{"k", std::string(8192, 'v')}};
  EXPECT_EQ(Put("m", "x", options).status().message(),
            "Your metadata headers exceed the maximum allowed metadata size. (10012)");
  options.custom = {{"k", std::string(8191, 'v')}};
  EXPECT_TRUE(Put("m", "x", options).ok());
}

TEST_F(R2StoreTest, LongKeysShareAPrefixAndStayApart) {
  std::string base(600, 'p');
  ASSERT_TRUE(Put(base + "1", "one").ok());
  ASSERT_TRUE(Put(base + "2", "two").ok());
  EXPECT_EQ(Body(base + "1"), "one");
  EXPECT_EQ(Body(base + "2"), "two");
  auto listed = store_->List("account:a", "bucket", {});
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->objects.size(), 2u);
}

TEST_F(R2StoreTest, ListWithPrefixDelimiterCursorAndStartAfter) {
  for (const char* key : {"a", "b/1", "b/2", "b/3", "c/x/1", "c/y", "d"}) {
    ASSERT_TRUE(Put(key, key).ok());
  }
  auto all = store_->List("account:a", "bucket", {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Keys(*all), (std::vector<std::string>{"a", "b/1", "b/2", "b/3", "c/x/1", "c/y", "d"}));
  EXPECT_FALSE(all->truncated);

  R2ListOptions delimited;
  delimited.delimiter = "/";
  auto top = store_->List("account:a", "bucket", delimited);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(Keys(*top), (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(top->delimited_prefixes, (std::vector<std::string>{"b/", "c/"}));

  delimited.prefix = "c/";
  auto under_c = store_->List("account:a", "bucket", delimited);
  ASSERT_TRUE(under_c.ok());
  EXPECT_EQ(Keys(*under_c), (std::vector<std::string>{"c/y"}));
  EXPECT_EQ(under_c->delimited_prefixes, (std::vector<std::string>{"c/x/"}));

  // Pages of two, prefixes counting toward the limit.
  R2ListOptions paged;
  paged.delimiter = "/";
  paged.limit = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto result = store_->List("account:a", "bucket", paged);
    ASSERT_TRUE(result.ok()) << result.status().message();
    for (const auto& key : Keys(*result)) seen.push_back(key);
    for (const auto& prefix : result->delimited_prefixes) seen.push_back(prefix);
    if (!result->truncated) break;
    paged.cursor = result->cursor;
  }
  // (Each page's objects, then its prefixes.)
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b/", "d", "c/"}));

  R2ListOptions after;
  after.start_after = "b/2";
  auto rest = store_->List("account:a", "bucket", after);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(Keys(*rest), (std::vector<std::string>{"b/3", "c/x/1", "c/y", "d"}));

  R2ListOptions bad;
  bad.limit = 1001;
  EXPECT_FALSE(store_->List("account:a", "bucket", bad).ok());
  bad.limit = 10;
  bad.cursor = "zz";
  EXPECT_FALSE(store_->List("account:a", "bucket", bad).ok());
}

TEST_F(R2StoreTest, ListLeavesMetadataOutUnlessIncluded) {
  R2PutOptions options;
  options.http.content_type = "text/plain";
  options.custom = {{"k", "v"}};
  ASSERT_TRUE(Put("x", "1", options).ok());
  auto plain = store_->List("account:a", "bucket", {});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->objects[0].http.content_type);
  EXPECT_TRUE(plain->objects[0].custom.empty());
  R2ListOptions include;
  include.include_http = include.include_custom = true;
  auto full = store_->List("account:a", "bucket", include);
  EXPECT_EQ(full->objects[0].http.content_type, "text/plain");
  EXPECT_EQ(full->objects[0].custom.size(), 1u);
}

TEST_F(R2StoreTest, Ranges) {
  ASSERT_TRUE(Put("r", "0123456789").ok());
  EXPECT_EQ(Body("r", R2Range{2, 3, std::nullopt}), "234");
  EXPECT_EQ(Body("r", R2Range{7, std::nullopt, std::nullopt}), "789");
  EXPECT_EQ(Body("r", R2Range{std::nullopt, 4, std::nullopt}), "0123");
  EXPECT_EQ(Body("r", R2Range{8, 100, std::nullopt}), "89");
  EXPECT_EQ(Body("r", R2Range{std::nullopt, std::nullopt, 3}), "789");
  EXPECT_EQ(Body("r", R2Range{std::nullopt, std::nullopt, 30}), "0123456789");
  auto past = store_->Get("account:a", "bucket", "r", {}, R2Range{10, std::nullopt, std::nullopt});
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().message(), "The requested range is not satisfiable (10039)");
}

TEST_F(R2StoreTest, Conditionals) {
  auto put = Put("c", "v1");
  ASSERT_TRUE(put.ok());
  std::string etag = (*put)->etag;
  R2Conditional matches;
  matches.etag_matches = std::vector<R2Etag>{{R2Etag::kStrong, etag}};
  EXPECT_EQ(Body("c", {}, matches), "v1");
  R2Conditional other;
  other.etag_matches = std::vector<R2Etag>{{R2Etag::kStrong, "nope"}};
  auto failed = store_->Get("account:a", "bucket", "c", other, std::nullopt);
  ASSERT_TRUE(failed.ok() && *failed);
  EXPECT_FALSE((*failed)->has_body);  // the metadata, without a body
  R2Conditional none_match;
  none_match.etag_does_not_match = std::vector<R2Etag>{{R2Etag::kWildcard, ""}};
  EXPECT_EQ(Body("c", {}, none_match), std::nullopt);

  // Dates: uploaded at kStart (x.500 s).
  R2Conditional after;
  after.uploaded_after_ms = kStart - 1;
  EXPECT_TRUE(after.Test(&**put));
  after.uploaded_after_ms = kStart;
  EXPECT_FALSE(after.Test(&**put));
  after.seconds_granularity = true;
  after.uploaded_after_ms = kStart - 400;  // the same second
  EXPECT_FALSE(after.Test(&**put));
  after.uploaded_after_ms = kStart - 600;  // the second before
  EXPECT_TRUE(after.Test(&**put));
  R2Conditional before;
  before.uploaded_before_ms = kStart + 1;
  EXPECT_TRUE(before.Test(&**put));
  before.uploaded_before_ms = kStart;
  EXPECT_FALSE(before.Test(&**put));
  // An etag match wins over uploadedBefore (RFC 7232 section 6).
  before.etag_matches = std::vector<R2Etag>{{R2Etag::kStrong, etag}};
  EXPECT_TRUE(before.Test(&**put));
  // No object: only etagMatches and uploadedAfter fail.
  EXPECT_FALSE(matches.Test(nullptr));
  EXPECT_TRUE(none_match.Test(nullptr));

  // A put whose onlyIf does not hold stores nothing.
  R2PutOptions conditional;
  conditional.only_if = other;
  auto skipped = Put("c", "v2", conditional);
  ASSERT_TRUE(skipped.ok());
  EXPECT_FALSE(*skipped);
  EXPECT_EQ(Body("c"), "v1");
  conditional.only_if = matches;
  auto done = Put("c", "v2", conditional);
  ASSERT_TRUE(done.ok() && *done);
  EXPECT_EQ(Body("c"), "v2");
}

TEST_F(R2StoreTest, ChecksumsAreVerified) {
  R2PutOptions options;
  options.checksum_algorithm = "md5";
  options.checksum = Unhex(Md5Hex("body"));
  EXPECT_TRUE(Put("k", "body", options).ok());
  options.checksum = Unhex(Md5Hex("other"));
  auto bad = Put("k2", "body", options);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().message().starts_with(
      "The MD5 checksum you specified did not match what we received."));
  EXPECT_FALSE(*store_->Head("account:a", "bucket", "k2"));
  options.checksum_algorithm = "sha256";
  options.checksum = Unhex("230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5");
  auto sha = Put("k3", "body", options);
  ASSERT_TRUE(sha.ok()) << sha.status().message();
  EXPECT_EQ((*sha)->checksums.sha256, options.checksum);
}

TEST_F(R2StoreTest, QuotaRefusesWhatDoesNotFit) {
  R2Limits limits;
  limits.max_owner_bytes = 10 * 1024;
  Open(limits);
  ASSERT_TRUE(Put("a", std::string(4000, 'a')).ok());
  auto full = Put("b", std::string(8000, 'b'), {}, 1000);
  ASSERT_FALSE(full.ok());
  EXPECT_TRUE(full.status().message().find("storage quota of 10240 bytes is full") != std::string::npos)
      << full.status().message();
  // A declared length that cannot fit fails at once.
  auto declared = store_->BeginPut("account:a", "bucket", "c", {}, uint64_t{1} << 40);
  EXPECT_FALSE(declared.ok());
  // Another account has its own room.
  EXPECT_TRUE(Put("b", std::string(8000, 'b'), {}, 1000, "account:b").ok());
  // Room comes back with a delete.
  ASSERT_TRUE(store_->Delete("account:a", "bucket", {"a"}).ok());
  EXPECT_TRUE(Put("b", std::string(8000, 'b'), {}, 1000).ok());
}

TEST_F(R2StoreTest, DeclaredLengthMustMatch) {
  auto writer = store_->BeginPut("account:a", "bucket", "k", {}, 3);
  ASSERT_TRUE(writer.ok());
  EXPECT_FALSE((*writer)->Write("abcd").ok());
  auto short_writer = store_->BeginPut("account:a", "bucket", "k", {}, 5);
  ASSERT_TRUE((*short_writer)->Write("ab").ok());
  EXPECT_FALSE((*short_writer)->Commit().ok());
  EXPECT_FALSE(*store_->Head("account:a", "bucket", "k"));
}

TEST_F(R2StoreTest, MultipartRules) {
  auto upload = store_->CreateMultipartUpload("account:a", "bucket", "big", {});
  ASSERT_TRUE(upload.ok());
  std::string five(kR2MinPartBytes, 'x');
  auto p1 = Part("big", *upload, 1, five);
  auto p2 = Part("big", *upload, 2, five);
  auto p3 = Part("big", *upload, 3, "tail");
  ASSERT_TRUE(p1.ok() && p2.ok() && p3.ok()) << p1.status().message();
  EXPECT_EQ(p1->etag, Md5Hex(five));

  // Parts out of order, unknown, with a wrong etag: refused.
  EXPECT_FALSE(store_->CompleteMultipartUpload("account:a", "bucket", "big", *upload,
                                               {{2, p2->etag}, {1, p1->etag}}).ok());
  EXPECT_EQ(store_->CompleteMultipartUpload("account:a", "bucket", "big", *upload, {{9, "x"}})
                .status().message(),
            "One or more of the specified parts could not be found. (10025)");
  EXPECT_FALSE(store_->CompleteMultipartUpload("account:a", "bucket", "big", *upload,
                                               {{1, "0000"}}).ok());
  // A small part that is not the last.
  EXPECT_EQ(store_->CompleteMultipartUpload("account:a", "bucket", "big", *upload,
                                            {{1, p1->etag}, {3, p3->etag}, {4, "x"}})
                .status().message(),
            "One or more of the specified parts could not be found. (10025)");
  EXPECT_EQ(store_->CompleteMultipartUpload("account:a", "bucket", "big", *upload,
                                            {{3, p3->etag}, {2, p2->etag}}).status().message(),
            "There was a problem with the multipart upload. (10048)");
  auto small = store_->CreateMultipartUpload("account:a", "bucket", "small", {});
  auto s1 = Part("small", *small, 1, "abc");
  auto s2 = Part("small", *small, 2, "def");
  EXPECT_EQ(store_->CompleteMultipartUpload("account:a", "bucket", "small", *small,
                                            {{1, s1->etag}, {2, s2->etag}}).status().message(),
            "Your proposed upload is smaller than the minimum allowed object size. (10011)");
  // Another key, or another bucket, does not reach the upload.
  EXPECT_EQ(Part("other", *upload, 1, "x").status().message(),
            "The specified multipart upload does not exist. (10024)");
  EXPECT_FALSE(Part("big", *upload, 0, "x").ok());
  EXPECT_FALSE(Part("big", *upload, 10001, "x").ok());

  // Part 2 is left out: it goes, and its bytes with it.
  auto done = store_->CompleteMultipartUpload("account:a", "bucket", "big", *upload,
                                              {{1, p1->etag}, {3, p3->etag}});
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(done->size, five.size() + 4);
  EXPECT_EQ(done->etag, Md5Hex(Unhex(p1->etag) + Unhex(p3->etag)) + "-2");
  EXPECT_TRUE(done->checksums.md5.empty());
  EXPECT_EQ(Body("big", R2Range{five.size() - 2, 6, std::nullopt}), "xxtail");
  auto after = store_->CompleteMultipartUpload("account:a", "bucket", "big", *upload, {});
  EXPECT_EQ(after.status().message(), "The specified multipart upload does not exist. (10024)");

  // Abort drops the parts; aborting again is no error.
  ASSERT_TRUE(store_->AbortMultipartUpload("account:a", "bucket", "small", *small).ok());
  ASSERT_TRUE(store_->AbortMultipartUpload("account:a", "bucket", "small", *small).ok());
  auto used = store_->OwnerBytes("account:a");
  EXPECT_EQ(*used, five.size() + 4 + kR2ObjectOverhead);
}

TEST_F(R2StoreTest, PartsOfDifferentSizesAreRefused) {
  auto upload = store_->CreateMultipartUpload("account:a", "bucket", "k", {});
  std::string five(kR2MinPartBytes, 'x');
  std::string six(kR2MinPartBytes + 1, 'y');
  auto p1 = Part("k", *upload, 1, five);
  auto p2 = Part("k", *upload, 2, six);
  auto p3 = Part("k", *upload, 3, "z");
  EXPECT_EQ(store_->CompleteMultipartUpload("account:a", "bucket", "k", *upload,
                                            {{1, p1->etag}, {2, p2->etag}, {3, p3->etag}})
                .status().message(),
            "There was a problem with the multipart upload. (10048)");
}

TEST_F(R2StoreTest, BucketsAreCreatedListedAndDeletedWhenEmpty) {
  EXPECT_FALSE(store_->CreateBucket("account:a", "Bad_Name").ok());
  ASSERT_TRUE(store_->CreateBucket("account:a", "photos").ok());
  EXPECT_FALSE(store_->CreateBucket("account:a", "photos").ok());
  ASSERT_TRUE(Put("x", "1").ok());  // makes "bucket"
  auto buckets = store_->ListBuckets("account:a");
  ASSERT_TRUE(buckets.ok());
  ASSERT_EQ(buckets->size(), 2u);
  EXPECT_EQ((*buckets)[0].name, "bucket");
  EXPECT_EQ((*buckets)[1].name, "photos");
  EXPECT_TRUE(store_->ListBuckets("account:b")->empty());
  EXPECT_EQ(store_->DeleteBucket("account:a", "bucket").message(),
            "The bucket you tried to delete is not empty. (10008)");
  ASSERT_TRUE(store_->DeleteBucket("account:a", "photos").ok());
  EXPECT_FALSE(store_->DeleteBucket("account:a", "photos").ok());
  ASSERT_TRUE(store_->DropOwner("account:a").ok());
  EXPECT_TRUE(store_->ListBuckets("account:a")->empty());
  EXPECT_EQ(*store_->OwnerBytes("account:a"), 0u);
}

TEST_F(R2StoreTest, ChangesAreRecordedInTheirTransaction) {
  std::vector<std::string> seen;
  store_->SetChangeHook([&](MDB_txn*, const R2Change& change) -> Status {
    seen.push_back(fmt::format("{}:{}:{}", static_cast<int>(change.action), change.key, change.size));
    if (change.key == "refused") return Status(ErrorCode::kIo, "no room for the event");
    return Status::Ok();
  });
  ASSERT_TRUE(Put("k", "abc").ok());
  ASSERT_TRUE(store_->Delete("account:a", "bucket", {"k", "never"}).ok());
  // The hook's error fails the write: nothing is stored.
  EXPECT_FALSE(Put("refused", "x").ok());
  EXPECT_FALSE(*store_->Head("account:a", "bucket", "refused"));
  EXPECT_EQ(seen, (std::vector<std::string>{"0:k:3", "2:k:0", "0:refused:1"}));
  store_->SetChangeHook(nullptr);
}

TEST_F(R2StoreTest, AnUnfinishedPutIsRemovedAtOpen) {
  // A child process begins a put, writes, and dies without a word.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto writer = store_->BeginPut("account:a", "bucket", "half", {}, std::nullopt);
    if (!writer.ok() || !(*writer)->Write(std::string(100000, 'h')).ok()) _exit(1);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  size_t tmp_files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(store_->path()) / "tmp")) {
    tmp_files += entry.is_regular_file();
  }
  EXPECT_EQ(tmp_files, 1u);
  Open();  // a new process would do this
  EXPECT_FALSE(*store_->Head("account:a", "bucket", "half"));
  EXPECT_TRUE(Put("k", "v").ok());  // opens the store
  tmp_files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(store_->path()) / "tmp")) {
    tmp_files += entry.is_regular_file();
  }
  EXPECT_EQ(tmp_files, 0u);
}

// How many body files are on disk (linked names count one each).
size_t BodyFiles(const std::string& store_path) {
  size_t count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(store_path) / "bodies")) {
    count += entry.is_regular_file();
  }
  return count;
}

TEST_F(R2StoreTest, CopyWithinAndBetweenBucketsSharesTheBody) {
  R2PutOptions options;
  options.http.content_type = "text/plain";
  options.custom = {{"who", "me"}};
  options.checksum_algorithm = "sha256";
  options.checksum = Unhex("230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5");
  auto put = Put("src", "body", options);
  ASSERT_TRUE(put.ok()) << put.status().message();
  now_ += 5000;
  auto copy = store_->CopyObject("account:a", "bucket", "src", "bucket", "dst", {});
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  ASSERT_TRUE(copy->has_value());
  const R2ObjectMeta& meta = **copy;
  EXPECT_EQ(meta.key, "dst");
  EXPECT_EQ(meta.size, 4u);
  EXPECT_EQ(meta.etag, (*put)->etag);  // one part: the same MD5
  EXPECT_NE(meta.version, (*put)->version);
  EXPECT_EQ(meta.uploaded_ms, kStart + 5000);
  EXPECT_EQ(meta.http.content_type, "text/plain");  // COPY keeps the metadata
  EXPECT_EQ(meta.custom, options.custom);
  EXPECT_EQ(meta.checksums.sha256, options.checksum);
  EXPECT_EQ(Body("dst"), "body");
  // Another bucket of the same owner, made by the copy.
  auto other = store_->CopyObject("account:a", "bucket", "src", "archive", "2026/src", {});
  ASSERT_TRUE(other.ok()) << other.status().message();
  auto got = store_->Get("account:a", "archive", "2026/src", {}, std::nullopt);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(*(*got)->Read(0, 4), "body");
  // Each copy counts as a new object.
  EXPECT_EQ(*store_->OwnerBytes("account:a"), 3 * (4 + kR2ObjectOverhead));
  // No byte was copied: three names, one file (three links).
  struct stat info {};
  ASSERT_EQ(::stat(store_->BodyPathForTesting(1).c_str(), &info), 0);
  EXPECT_EQ(info.st_nlink, 3u);
}

TEST_F(R2StoreTest, ACopyOutlivesItsSourceAndItsSourcesReplacement) {
  ASSERT_TRUE(Put("src", "first").ok());
  ASSERT_TRUE(store_->CopyObject("account:a", "bucket", "src", "bucket", "dst", {}).ok());
  ASSERT_TRUE(Put("src", "second").ok());
  EXPECT_EQ(Body("dst"), "first");
  ASSERT_TRUE(store_->Delete("account:a", "bucket", {"src"}).ok());
  EXPECT_EQ(Body("dst"), "first");
  Open();
  EXPECT_EQ(Body("dst"), "first");
  ASSERT_TRUE(store_->Delete("account:a", "bucket", {"dst"}).ok());
  EXPECT_EQ(BodyFiles(store_->path()), 0u);
  EXPECT_EQ(*store_->OwnerBytes("account:a"), 0u);
}

TEST_F(R2StoreTest, CopyReplacesMetadataOnRequest) {
  R2PutOptions options;
  options.http.content_type = "text/plain";
  options.custom = {{"a", "1"}};
  ASSERT_TRUE(Put("src", "body", options).ok());
  R2CopyOptions copy;
  copy.replace_metadata = true;
  copy.http.content_type = "application/json";
  copy.http.cache_control = "max-age=60";
  copy.custom = {{"b", "2"}};
  auto made = store_->CopyObject("account:a", "bucket", "src", "bucket", "dst", copy);
  ASSERT_TRUE(made.ok()) << made.status().message();
  auto head = store_->Head("account:a", "bucket", "dst");
  ASSERT_TRUE(head.ok() && *head);
  EXPECT_EQ((*head)->http.content_type, "application/json");
  EXPECT_EQ((*head)->http.cache_control, "max-age=60");
  EXPECT_EQ((*head)->custom, copy.custom);
  // The source keeps its own.
  EXPECT_EQ((*store_->Head("account:a", "bucket", "src"))->custom, options.custom);
  // Replaced metadata is held to R2's limits.
  copy.custom = {{"big", std::string(kR2MaxMetadataBytes, 'x')}};
  EXPECT_FALSE(store_->CopyObject("account:a", "bucket", "src", "bucket", "dst2", copy).ok());
  copy.custom.clear();
  copy.storage_class = "Glacier";
  EXPECT_FALSE(store_->CopyObject("account:a", "bucket", "src", "bucket", "dst2", copy).ok());
  EXPECT_FALSE(*store_->Head("account:a", "bucket", "dst2"));
}

TEST_F(R2StoreTest, CopyOntoItselfNeedsReplace) {
  ASSERT_TRUE(Put("k", "body").ok());
  auto before = *store_->Head("account:a", "bucket", "k");
  auto refused = store_->CopyObject("account:a", "bucket", "k", "bucket", "k", {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("copy an object to itself"), std::string::npos);
  R2CopyOptions replace;
  replace.replace_metadata = true;
  replace.custom = {{"reviewed", "yes"}};
  now_ += 1000;
  auto copied = store_->CopyObject("account:a", "bucket", "k", "bucket", "k", replace);
  ASSERT_TRUE(copied.ok()) << copied.status().message();
  auto after = *store_->Head("account:a", "bucket", "k");
  EXPECT_NE(after->version, before->version);
  EXPECT_EQ(after->etag, before->etag);
  EXPECT_EQ(after->uploaded_ms, kStart + 1000);
  EXPECT_EQ(after->custom, replace.custom);
  EXPECT_EQ(Body("k"), "body");
  EXPECT_EQ(BodyFiles(store_->path()), 1u);
  EXPECT_EQ(*store_->OwnerBytes("account:a"), 4 + kR2ObjectOverhead);
  // A new storage class is a change too.
  R2CopyOptions infrequent;
  infrequent.storage_class = "InfrequentAccess";
  ASSERT_TRUE(store_->CopyObject("account:a", "bucket", "k", "bucket", "k", infrequent).ok());
  EXPECT_EQ((*store_->Head("account:a", "bucket", "k"))->storage_class, "InfrequentAccess");
}

TEST_F(R2StoreTest, CopyIsConditionalOnTheSource) {
  auto put = Put("src", "body");
  ASSERT_TRUE(put.ok());
  const std::string etag = (*put)->etag;
  auto copy = [&](R2Conditional only_if) {
    R2CopyOptions options;
    options.source_only_if = std::move(only_if);
    return store_->CopyObject("account:a", "bucket", "src", "bucket", "dst", options);
  };
  R2Conditional match;
  match.etag_matches = std::vector<R2Etag>{{R2Etag::kStrong, "other"}};
  auto refused = copy(match);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->has_value());
  EXPECT_FALSE(*store_->Head("account:a", "bucket", "dst"));
  match.etag_matches = std::vector<R2Etag>{{R2Etag::kStrong, etag}};
  EXPECT_TRUE(copy(match)->has_value());
  R2Conditional none;
  none.etag_does_not_match = std::vector<R2Etag>{{R2Etag::kWildcard, ""}};
  EXPECT_FALSE(copy(none)->has_value());
  // if-unmodified-since before the upload fails; if-match that holds wins
  // over it (RFC 7232, as S3 documents for copies).
  R2Conditional unmodified;
  unmodified.uploaded_before_ms = kStart - 1000;
  EXPECT_FALSE(copy(unmodified)->has_value());
  unmodified.etag_matches = std::vector<R2Etag>{{R2Etag::kStrong, etag}};
  EXPECT_TRUE(copy(unmodified)->has_value());
  R2Conditional modified;
  modified.uploaded_after_ms = kStart + 1000;
  EXPECT_FALSE(copy(modified)->has_value());
  modified.uploaded_after_ms = kStart - 1000;
  EXPECT_TRUE(copy(modified)->has_value());
  // A refused copy leaves no file behind.
  ASSERT_TRUE(store_->Delete("account:a", "bucket", {"dst"}).ok());
  EXPECT_EQ(BodyFiles(store_->path()), 1u);
}

TEST_F(R2StoreTest, CopyOfWhatIsNotThereIsNotFound) {
  auto no_bucket = store_->CopyObject("account:a", "nowhere", "k", "bucket", "dst", {});
  ASSERT_FALSE(no_bucket.ok());
  EXPECT_EQ(no_bucket.status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(Put("k", "v").ok());
  auto no_key = store_->CopyObject("account:a", "bucket", "missing", "bucket", "dst", {});
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(no_key.status().message(), "The specified key does not exist. (10007)");
  EXPECT_FALSE(store_->CopyObject("account:a", "bucket", "k", "bucket", "", {}).ok());
  EXPECT_FALSE(store_->CopyObject("account:a", "bucket", "k", "bucket", std::string(1025, 'k'), {}).ok());
  EXPECT_FALSE(store_->CopyObject("account:a", "bucket", std::string(1025, 'k'), "bucket", "d", {}).ok());
}

TEST_F(R2StoreTest, CopyReachesOnlyTheOwnersBuckets) {
  ASSERT_TRUE(Put("secret", "theirs", {}, 7, "account:b").ok());
  // account:a names account:b's bucket: it has no bucket of that name.
  auto stolen = store_->CopyObject("account:a", "bucket", "secret", "bucket", "mine", {});
  ASSERT_FALSE(stolen.ok());
  EXPECT_EQ(stolen.status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->ListBuckets("account:a")->empty());
  EXPECT_EQ(*store_->OwnerBytes("account:a"), 0u);
  // Nor does a copy of account:a's land in account:b's bucket.
  ASSERT_TRUE(Put("own", "mine").ok());
  ASSERT_TRUE(store_->CopyObject("account:a", "bucket", "own", "bucket", "secret", {}).ok());
  auto theirs = store_->Get("account:b", "bucket", "secret", {}, std::nullopt);
  ASSERT_TRUE(theirs.ok() && *theirs);
  EXPECT_EQ(*(*theirs)->Read(0, 6), "theirs");
}

TEST_F(R2StoreTest, CopyCountsAgainstTheQuota) {
  R2Limits limits;
  limits.max_owner_bytes = 10 * 1024;
  Open(limits);
  ASSERT_TRUE(Put("a", std::string(4000, 'a')).ok());
  ASSERT_TRUE(store_->CopyObject("account:a", "bucket", "a", "bucket", "b", {}).ok());
  auto full = store_->CopyObject("account:a", "bucket", "a", "bucket", "c", {});
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.status().message().find("storage quota of 10240 bytes is full"), std::string::npos);
  EXPECT_FALSE(*store_->Head("account:a", "bucket", "c"));
  EXPECT_EQ(BodyFiles(store_->path()), 2u);
  // Replacing an object gives its bytes back first.
  EXPECT_TRUE(store_->CopyObject("account:a", "bucket", "a", "bucket", "b", {}).ok());
  EXPECT_EQ(*store_->OwnerBytes("account:a"), 2 * (4000 + kR2ObjectOverhead));
}

TEST_F(R2StoreTest, CopyOfAMultipartObjectKeepsItsEtagAndParts) {
  auto upload = store_->CreateMultipartUpload("account:a", "bucket", "big", {});
  ASSERT_TRUE(upload.ok());
  std::string five(kR2MinPartBytes, 'x');
  auto p1 = Part("big", *upload, 1, five);
  auto p2 = Part("big", *upload, 2, "tail");
  auto done = store_->CompleteMultipartUpload("account:a", "bucket", "big", *upload,
                                              {{1, p1->etag}, {2, p2->etag}});
  ASSERT_TRUE(done.ok()) << done.status().message();
  auto copy = store_->CopyObject("account:a", "bucket", "big", "other", "big", {});
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  EXPECT_EQ((*copy)->etag, done->etag);
  EXPECT_EQ((*copy)->size, five.size() + 4);
  ASSERT_TRUE(store_->Delete("account:a", "bucket", {"big"}).ok());
  auto got = store_->Get("account:a", "other", "big", {}, R2Range{five.size() - 2, 6, std::nullopt});
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(*(*got)->Read((*got)->offset, 6), "xxtail");
}

TEST_F(R2StoreTest, ACopyThatFailsInItsTransactionLeavesNothing) {
  ASSERT_TRUE(Put("src", "body").ok());
  store_->SetChangeHook([](MDB_txn*, const R2Change& change) -> Status {
    if (change.action == R2Change::kCopy) return Status(ErrorCode::kIo, "no room for the event");
    return Status::Ok();
  });
  EXPECT_FALSE(store_->CopyObject("account:a", "bucket", "src", "bucket", "dst", {}).ok());
  store_->SetChangeHook(nullptr);
  EXPECT_FALSE(*store_->Head("account:a", "bucket", "dst"));
  EXPECT_EQ(BodyFiles(store_->path()), 1u);
  EXPECT_EQ(*store_->OwnerBytes("account:a"), 4 + kR2ObjectOverhead);
}

TEST_F(R2StoreTest, ACopyCutByADeadProcessIsRemovedAtOpen) {
  ASSERT_TRUE(Put("src", "body").ok());
  store_.reset();  // LMDB environments do not cross fork()
  // A child process copies, and dies inside the transaction that would
  // have indexed the copy: its linked body is made, its record is not.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = R2Store::Open(dir_.path());
    store->SetChangeHook([](MDB_txn*, const R2Change&) -> Status { _exit(0); });
    (void)store->CopyObject("account:a", "bucket", "src", "bucket", "dst", {});
    _exit(1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  Open();  // a new process would do this
  EXPECT_EQ(BodyFiles(store_->path()), 2u);  // the orphan link, until the store opens
  EXPECT_FALSE(*store_->Head("account:a", "bucket", "dst"));
  EXPECT_EQ(Body("src"), "body");
  EXPECT_EQ(BodyFiles(store_->path()), 1u);
}

TEST_F(R2StoreTest, ObjectsSurviveReopening) {
  ASSERT_TRUE(Put("k", "durable").ok());
  Open();
  EXPECT_EQ(Body("k"), "durable");
}

}  // namespace
}  // namespace edge::bindings
