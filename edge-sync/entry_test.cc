#include "edge-sync/entry.h"

#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "base/base64.h"
#include "base/testing/temp_dir.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/testing/entries.h"

namespace edge::sync {
namespace {
using ::testing::HasSubstr;

const std::string kShaA(64, 'a');
const std::string kShaB = std::string(63, 'b') + "0";

using testing::KvEntry;
using testing::SecretEntry;
using testing::WorkerEntry;

Entry Base(EntryType type, uint64_t seq = 7) { return testing::NewEntry(type, seq); }

// One entry of every type, each with every field its type has set.
std::vector<Entry> OneOfEach() {
  std::vector<Entry> entries;
  Entry version = WorkerEntry(EntryType::kVersion, 7, "shop");
  version.version = 3;
  version.blob = kShaA;
  version.routes = std::vector<std::string>{"shop.example.com/*", "example.com/shop/*"};
  version.make_current = false;
  entries.push_back(version);
  Entry bare_version = version;
  bare_version.routes.reset();
  bare_version.make_current = true;
  entries.push_back(bare_version);
  Entry routes = WorkerEntry(EntryType::kRoutes, 7, "shop");
  routes.routes = std::vector<std::string>{"a.example/*"};
  entries.push_back(routes);
  Entry no_routes = routes;
  no_routes.routes = std::vector<std::string>{};
  entries.push_back(no_routes);
  Entry rollback = WorkerEntry(EntryType::kRollback, 7, "shop");
  rollback.version = 2;
  entries.push_back(rollback);
  entries.push_back(WorkerEntry(EntryType::kDeleteWorker, 7, "shop"));
  Entry secret = SecretEntry(EntryType::kSecretPut, 7, "shop", "API_KEY");
  secret.sealed = std::string("\x00\x01\xff\xfe", 4) + std::string(40, '\x80');
  entries.push_back(secret);
  entries.push_back(SecretEntry(EntryType::kSecretDelete, 7, "shop", "API_KEY"));
  Entry kv = KvEntry(EntryType::kKvPut, 7, "ns-1", "user/\"42\"\n\u00e9");
  kv.value = std::string("bin\x00\xff", 5);
  kv.metadata = R"({"a":1})";
  kv.expiration = 1800000000;
  entries.push_back(kv);
  entries.push_back(KvEntry(EntryType::kKvPut, 7, "ns-1", "empty"));
  Entry kv_blob = KvEntry(EntryType::kKvPut, 7, "ns-1", "big");
  kv_blob.blob = kShaB;
  entries.push_back(kv_blob);
  entries.push_back(KvEntry(EntryType::kKvDelete, 7, "ns-1", "gone"));
  return entries;
}

TEST(EntryTest, EveryTypeRoundTrips) {
  for (const Entry& entry : OneOfEach()) {
    SCOPED_TRACE(EntryTypeName(entry.type));
    EXPECT_TRUE(ValidateEntry(entry).ok()) << ValidateEntry(entry).message();
    std::string json = EncodeEntry(entry);
    StatusOr<Entry> decoded = DecodeEntry(json);
    ASSERT_TRUE(decoded.ok()) << decoded.status().message() << "\n" << json;
    EXPECT_EQ(*decoded, entry) << json;
    EXPECT_EQ(EncodeEntry(*decoded), json);
  }
}

TEST(EntryTest, TypeNames) {
  EXPECT_EQ(EntryTypeName(EntryType::kVersion), "version");
  EXPECT_EQ(EntryTypeName(EntryType::kRoutes), "routes");
  EXPECT_EQ(EntryTypeName(EntryType::kRollback), "rollback");
  EXPECT_EQ(EntryTypeName(EntryType::kDeleteWorker), "delete_worker");
  EXPECT_EQ(EntryTypeName(EntryType::kSecretPut), "secret_put");
  EXPECT_EQ(EntryTypeName(EntryType::kSecretDelete), "secret_delete");
  EXPECT_EQ(EntryTypeName(EntryType::kKvPut), "kv_put");
  EXPECT_EQ(EntryTypeName(EntryType::kKvDelete), "kv_delete");
}

TEST(EntryTest, CanonicalBytes) {
  std::vector<Entry> all = OneOfEach();
  EXPECT_EQ(EncodeEntry(all[0]),
            R"({"seq":7,"time_ms":1700000000123,"type":"version","worker":"shop","version":3,)"
            R"("blob":")" +
                kShaA +
                R"(","routes":["shop.example.com/*","example.com/shop/*"],"make_current":false})");
  EXPECT_EQ(EncodeEntry(all[1]),
            R"({"seq":7,"time_ms":1700000000123,"type":"version","worker":"shop","version":3,)"
            R"("blob":")" +
                kShaA + R"(","make_current":true})");
  EXPECT_EQ(EncodeEntry(all[3]),
            R"({"seq":7,"time_ms":1700000000123,"type":"routes","worker":"shop","routes":[]})");
  EXPECT_EQ(EncodeEntry(all[6]),
            R"({"seq":7,"time_ms":1700000000123,"type":"secret_put","worker":"shop",)"
            R"("name":"API_KEY","sealed":")" +
                base::Base64Encode(all[6].sealed) + R"("})");
  EXPECT_EQ(EncodeEntry(all[8]),
            "{\"seq\":7,\"time_ms\":1700000000123,\"type\":\"kv_put\",\"ns\":\"ns-1\","
            "\"key\":\"user/\\\"42\\\"\\n\u00e9\",\"value\":\"YmluAP8=\","
            "\"metadata\":\"{\\\"a\\\":1}\",\"expiration\":1800000000}");
  EXPECT_EQ(EncodeEntry(all[9]),
            R"({"seq":7,"time_ms":1700000000123,"type":"kv_put","ns":"ns-1","key":"empty",)"
            R"("value":""})");
  EXPECT_EQ(EncodeEntry(all[10]),
            R"({"seq":7,"time_ms":1700000000123,"type":"kv_put","ns":"ns-1","key":"big",)"
            R"("blob":")" +
                kShaB + R"("})");
  EXPECT_EQ(EncodeEntry(all[11]),
            R"({"seq":7,"time_ms":1700000000123,"type":"kv_delete","ns":"ns-1","key":"gone"})");
}

TEST(EntryTest, FieldsOfOtherTypesAreNotWritten) {
  Entry rollback = Base(EntryType::kRollback);
  rollback.worker = "shop";
  rollback.version = 2;
  rollback.routes = std::vector<std::string>{"x/*"};
  rollback.name = "N";
  rollback.ns = "ns";
  rollback.value = "v";
  rollback.blob = kShaA;
  rollback.make_current = false;
  EXPECT_EQ(EncodeEntry(rollback),
            R"({"seq":7,"time_ms":1700000000123,"type":"rollback","worker":"shop","version":2})");
}

TEST(EntryTest, KeysAndTombstones) {
  std::vector<Entry> all = OneOfEach();
  using V = std::vector<std::string>;
  EXPECT_EQ(all[0].Keys(), (V{"v/shop/3", "r/shop"}));  // not made current
  EXPECT_EQ(all[1].Keys(), (V{"v/shop/3", "c/shop"}));
  EXPECT_EQ(all[2].Keys(), (V{"r/shop"}));
  EXPECT_EQ(all[4].Keys(), (V{"c/shop"}));
  EXPECT_EQ(all[5].Keys(), (V{"w/shop"}));
  EXPECT_EQ(all[6].Keys(), (V{"s/shop/API_KEY"}));
  EXPECT_EQ(all[7].Keys(), (V{"s/shop/API_KEY"}));
  EXPECT_EQ(all[10].Keys(), (V{"k/ns-1/big"}));
  EXPECT_EQ(all[11].Keys(), (V{"k/ns-1/gone"}));

  // A namespace's '/' cannot make two different keys look the same.
  Entry a = Base(EntryType::kKvPut), b = Base(EntryType::kKvPut);
  a.ns = "a/b";
  a.key = "c";
  b.ns = "a";
  b.key = "b/c";
  EXPECT_EQ(a.Keys(), (V{"k/a%2Fb/c"}));
  EXPECT_EQ(b.Keys(), (V{"k/a/b/c"}));
  Entry c = Base(EntryType::kKvPut);
  c.ns = "a%2Fb";
  c.key = "c";
  EXPECT_EQ(c.Keys(), (V{"k/a%252Fb/c"}));

  std::vector<bool> tombstones;
  for (const Entry& entry : all) tombstones.push_back(entry.IsTombstone());
  EXPECT_EQ(tombstones, (std::vector<bool>{false, false, false, false, false, true, false, true,
                                           false, false, false, true}));
}

// Every failure below is kInvalidInput with a message that names the problem.
void ExpectRefused(std::string_view json, std::string_view message) {
  StatusOr<Entry> entry = DecodeEntry(json);
  ASSERT_FALSE(entry.ok()) << json;
  EXPECT_EQ(entry.status().code(), ErrorCode::kInvalidInput) << json;
  EXPECT_THAT(entry.status().message(), HasSubstr(message)) << json;
}

TEST(EntryTest, EveryTruncationIsRefused) {
  for (const Entry& entry : OneOfEach()) {
    std::string json = EncodeEntry(entry);
    for (size_t length = 0; length < json.size(); ++length) {
      StatusOr<Entry> decoded = DecodeEntry(std::string_view(json).substr(0, length));
      ASSERT_FALSE(decoded.ok()) << json.substr(0, length);
      EXPECT_EQ(decoded.status().code(), ErrorCode::kInvalidInput);
    }
  }
}

TEST(EntryTest, HostileInputIsRefused) {
  const std::string head = R"({"seq":7,"time_ms":1,)";
  ExpectRefused("", "not valid JSON");
  ExpectRefused("[1,2]", "must be a JSON object");
  ExpectRefused("\"version\"", "must be a JSON object");
  ExpectRefused(R"({"seq":7,"time_ms":1})", "no \"type\"");
  ExpectRefused(R"({"time_ms":1,"type":"delete_worker","worker":"w"})", "no \"seq\"");
  ExpectRefused(R"({"seq":7,"type":"delete_worker","worker":"w"})", "no \"time_ms\"");
  ExpectRefused(head + R"("type":"explode","worker":"w"})", "unknown type \"explode\"");
  ExpectRefused(head + R"("type":7,"worker":"w"})", "\"type\" must be a string");
  ExpectRefused(head + R"("type":"delete_worker","worker":"w","color":"red"})",
                "unknown key \"color\"");
  ExpectRefused(head + R"("type":"delete_worker","worker":"w","worker":"x"})",
                "\"worker\" appears twice");
  ExpectRefused(head + R"("type":"rollback","worker":"w","version":2,"routes":[]})",
                "a rollback entry has no routes");
  ExpectRefused(head + R"("type":"version","worker":"w","version":2})",
                "a version entry needs blob");
  ExpectRefused(head + R"("type":"version","worker":"w","version":0,"blob":")" + kShaA + "\"}",
                "\"version\" must be above 0");
  ExpectRefused(head + R"("type":"version","worker":"w","version":1,"blob":"abc"})",
                "\"blob\" must name the bundle by its SHA-256");
  ExpectRefused(
      head + R"("type":"version","worker":"w","version":1,"blob":")" + std::string(64, 'A') + "\"}",
      "lower-case hex");
  ExpectRefused(
      head + R"("type":"version","worker":"Bad Name","version":1,"blob":")" + kShaA + "\"}",
      "not a valid worker name");
  ExpectRefused(R"({"seq":"7","time_ms":1,"type":"delete_worker","worker":"w"})",
                "\"seq\" must be an integer");
  ExpectRefused(R"({"seq":-7,"time_ms":1,"type":"delete_worker","worker":"w"})",
                "\"seq\" must be an integer");
  ExpectRefused(R"({"seq":7.5,"time_ms":1,"type":"delete_worker","worker":"w"})",
                "\"seq\" must be an integer");
  ExpectRefused(R"({"seq":0,"time_ms":1,"type":"delete_worker","worker":"w"})",
                "\"seq\" must be above 0");
  ExpectRefused(R"({"seq":99999999999999999999999,"time_ms":1,"type":"delete_worker"})",
                "not valid JSON");
  ExpectRefused(head + R"("type":"routes","worker":"w","routes":"a/*"})",
                "\"routes\" must be an array of strings");
  ExpectRefused(head + R"("type":"routes","worker":"w","routes":["a/*",3]})",
                "\"routes\" must be an array of strings");
  ExpectRefused(head + R"("type":"version","worker":"w","version":1,"blob":")" + kShaA +
                    R"(","make_current":"yes"})",
                "\"make_current\" must be true or false");
  ExpectRefused(head + R"("type":"secret_put","worker":"w","name":"K","sealed":"not base64!"})",
                "\"sealed\": invalid base64");
  ExpectRefused(head + R"("type":"secret_put","worker":"w","name":"K","sealed":"AAAA"})",
                "too few for a sealed secret");
  ExpectRefused(head + R"("type":"secret_put","worker":"w","name":"1K","sealed":")" +
                    base::Base64Encode(std::string(40, 'x')) + "\"}",
                "not a valid binding name");
  ExpectRefused(head + R"("type":"kv_put","ns":"n","key":"k","value":"AAA"})",
                "\"value\": invalid base64");
  ExpectRefused(head + R"("type":"kv_put","ns":"n","key":"k"})", "needs its value");
  ExpectRefused(head + R"("type":"kv_put","ns":"n","key":"k","value":"","blob":")" + kShaA + "\"}",
                "not both");
  ExpectRefused(head + R"("type":"kv_put","ns":"n","key":"","value":""})",
                "\"key\" must be 1 to 512 bytes");
  ExpectRefused(head + R"("type":"kv_put","ns":"n","key":"..","value":""})",
                "not allowed as a key name");
  ExpectRefused(head + R"("type":"kv_put","ns":"","key":"k","value":""})",
                "\"ns\" must be 1 to 511 bytes");
  ExpectRefused(head + R"("type":"kv_put","ns":"n","key":"k","value":")" +
                    base::Base64Encode(std::string(kInlineValueBytes + 1, 'v')) + "\"}",
                "an inline value is at most 4096 bytes");
  ExpectRefused(head + R"("type":"kv_put","ns":"n","key":"k","value":"","metadata":""})",
                "\"metadata\" cannot be empty");
  ExpectRefused(head + R"("type":"kv_put","ns":"n","key":"k","value":"","expiration":-1})",
                "\"expiration\" must be an integer");
  ExpectRefused(head + "\"type\":\"kv_delete\",\"ns\":\"n\",\"key\":\"\xff\"}", "UTF-8");
  ExpectRefused(std::string(kMaxEntryBytes + 1, ' '), "over the limit");
}

TEST(EntryTest, ValidateCatchesWhatWouldNotDecode) {
  Entry kv = Base(EntryType::kKvDelete);
  kv.ns = "n";
  kv.key = "\xc3";  // half a UTF-8 sequence
  EXPECT_THAT(ValidateEntry(kv).message(), HasSubstr("\"key\" is not valid UTF-8"));
  Entry routes = Base(EntryType::kRoutes);
  routes.worker = "w";
  EXPECT_THAT(ValidateEntry(routes).message(), HasSubstr("needs \"routes\""));
  routes.routes = std::vector<std::string>(20000, std::string(40, 'r'));
  EXPECT_THAT(ValidateEntry(routes).message(), HasSubstr("over the limit"));
  Entry both = Base(EntryType::kKvPut);
  both.ns = "n";
  both.key = "k";
  both.value = "v";
  both.blob = kShaA;
  EXPECT_THAT(ValidateEntry(both).message(), HasSubstr("not both"));
}

TEST(EntryTest, AccountEntriesRoundTripAndAreChecked) {
  Entry account = Base(EntryType::kAccount);
  account.account = "shop";
  account.record = R"({"hosts":["shop.example","*.shop.example"],"token_sha256":")" + kShaA +
                   R"(","created_ms":1})";
  Entry removed = Base(EntryType::kAccountDelete);
  removed.account = "shop";
  Entry owned = WorkerEntry(EntryType::kVersion, 7, "api");
  owned.version = 1;
  owned.blob = kShaA;
  owned.account = "shop";
  for (const Entry& entry : {account, removed, owned}) {
    SCOPED_TRACE(EntryTypeName(entry.type));
    ASSERT_TRUE(ValidateEntry(entry).ok()) << ValidateEntry(entry).message();
    StatusOr<Entry> decoded = DecodeEntry(EncodeEntry(entry));
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(*decoded, entry);
  }
  EXPECT_EQ(EncodeEntry(removed),
            R"({"seq":7,"time_ms":1700000000123,"type":"account_delete","account":"shop"})");
  EXPECT_EQ(account.Keys(), std::vector<std::string>{"a/shop"});
  EXPECT_EQ(removed.Keys(), std::vector<std::string>{"a/shop"});
  EXPECT_TRUE(removed.IsTombstone());
  EXPECT_FALSE(account.IsTombstone());
  // A version without an owner (logged before accounts) still decodes.
  Entry unowned = owned;
  unowned.account.clear();
  EXPECT_EQ(EncodeEntry(unowned).find("account"), std::string::npos);
  EXPECT_TRUE(DecodeEntry(EncodeEntry(unowned)).ok());

  // What a hostile log could hold.
  Entry bad_name = removed;
  bad_name.account = "a/b";
  EXPECT_THAT(ValidateEntry(bad_name).message(), HasSubstr("account \"a/b\" must be"));
  Entry bad_owner = owned;
  bad_owner.account = "../x";
  EXPECT_FALSE(ValidateEntry(bad_owner).ok());
  const std::string_view records[] = {
      "{}", "not json", R"({"hosts":["a b"],"token_sha256":"","created_ms":1})",
      R"({"hosts":[],"token_sha256":"short","created_ms":1})"};
  for (std::string_view record : records) {
    Entry bad_record = account;
    bad_record.record = std::string(record);
    EXPECT_THAT(ValidateEntry(bad_record).message(), HasSubstr("not an account's record"))
        << record;
  }
  std::string head = R"({"seq":7,"time_ms":1,)";
  EXPECT_THAT(DecodeEntry(head + R"("type":"account","account":"shop"})").status().message(),
              HasSubstr("needs record"));
  EXPECT_THAT(
      DecodeEntry(head + R"("type":"version","worker":"w","version":1,"blob":")" + kShaA +
                  R"(","account":""})")
          .status()
          .message(),
      HasSubstr("\"account\" cannot be empty"));
  EXPECT_THAT(DecodeEntry(head + R"("type":"kv_delete","ns":"n","key":"k","account":"a"})")
                  .status()
                  .message(),
              HasSubstr("has no account"));
}

TEST(EntryTest, HostPolicyEntriesRoundTripAndAreCheckedAsText) {
  Entry set = Base(EntryType::kHostPolicies);
  set.policies = R"([{"hosts":["api.example"],"validate":{"methods":["GET"]}}])";
  Entry none = Base(EntryType::kHostPolicies);
  none.policies = "[]";
  Entry removed = Base(EntryType::kHostPoliciesDelete);
  for (const Entry& entry : {set, none, removed}) {
    SCOPED_TRACE(EncodeEntry(entry));
    ASSERT_TRUE(ValidateEntry(entry).ok()) << ValidateEntry(entry).message();
    StatusOr<Entry> decoded = DecodeEntry(EncodeEntry(entry));
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(*decoded, entry);
    // One key for the fleet's whole set: a newer set supersedes the older.
    EXPECT_EQ(entry.Keys(), std::vector<std::string>{"h"});
  }
  EXPECT_EQ(EncodeEntry(none),
            R"({"seq":7,"time_ms":1700000000123,"type":"host_policies","policies":"[]"})");
  EXPECT_EQ(EncodeEntry(removed),
            R"({"seq":7,"time_ms":1700000000123,"type":"host_policies_delete"})");
  EXPECT_TRUE(removed.IsTombstone());
  EXPECT_FALSE(set.IsTombstone());
  // A set a PoP cannot read still decodes (the PoP keeps its own set and
  // moves on); only text that cannot be signed and read back is refused.
  Entry unreadable = Base(EntryType::kHostPolicies);
  unreadable.policies = R"([{"hosts":["a.example"],"jwt":{"issuer":"x"}}])";
  EXPECT_TRUE(DecodeEntry(EncodeEntry(unreadable)).ok());
  Entry empty = Base(EntryType::kHostPolicies);
  EXPECT_THAT(ValidateEntry(empty).message(), HasSubstr("\"policies\" cannot be empty"));
  EXPECT_THAT(
      DecodeEntry(R"({"seq":7,"time_ms":1,"type":"host_policies","policies":""})").status().message(),
      HasSubstr("\"policies\" cannot be empty"));
  Entry binary = Base(EntryType::kHostPolicies);
  binary.policies = "[\xff]";
  EXPECT_THAT(ValidateEntry(binary).message(), HasSubstr("not valid UTF-8"));
  EXPECT_THAT(DecodeEntry(R"({"seq":7,"time_ms":1,"type":"host_policies"})").status().message(),
              HasSubstr("needs policies"));
  EXPECT_THAT(DecodeEntry(R"({"seq":7,"time_ms":1,"type":"host_policies_delete","policies":"[]"})")
                  .status()
                  .message(),
              HasSubstr("has no policies"));
  Entry huge = Base(EntryType::kHostPolicies);
  huge.policies = "[" + std::string(kMaxEntryBytes, ' ') + "]";
  EXPECT_THAT(ValidateEntry(huge).message(), HasSubstr("over the limit"));
}

// Lines and signatures.

class SignedTest : public ::testing::Test {
 protected:
  SignedTest() {
    auto key = SigningKey::Generate();
    EXPECT_TRUE(key.ok()) << key.status().message();
    key_.emplace(std::move(key).value());
    auto verify = VerifyKey::FromPem(key_->PublicPem());
    EXPECT_TRUE(verify.ok()) << verify.status().message();
    verify_.emplace(std::move(verify).value());
  }

  std::optional<SigningKey> key_;
  std::optional<VerifyKey> verify_;
  base::testing::TempDir temp_{"edge-sync-entry-test"};
  std::string dir_ = temp_.path();
};

TEST_F(SignedTest, SignVerifyAndLineRoundTrip) {
  for (const Entry& entry : OneOfEach()) {
    SignedEntry signed_entry = key_->Sign(entry);
    EXPECT_EQ(signed_entry.seq, entry.seq);
    EXPECT_EQ(signed_entry.bytes, EncodeEntry(entry));
    EXPECT_EQ(signed_entry.signature.size(), 64u);
    std::string line = signed_entry.Line();
    ASSERT_TRUE(line.ends_with("\n"));
    EXPECT_EQ(line, fmt::format("{{\"seq\":7,\"entry\":\"{}\",\"sig\":\"{}\"}}\n",
                                base::Base64Encode(signed_entry.bytes),
                                base::Base64Encode(signed_entry.signature)));
    StatusOr<SignedEntry> parsed = ParseLine(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(parsed->seq, signed_entry.seq);
    EXPECT_EQ(parsed->bytes, signed_entry.bytes);
    EXPECT_EQ(parsed->signature, signed_entry.signature);
    StatusOr<Entry> verified = verify_->Verify(*parsed);
    ASSERT_TRUE(verified.ok()) << verified.status().message();
    EXPECT_EQ(*verified, entry);
  }
}

TEST_F(SignedTest, EveryTamperedByteIsCaught) {
  SignedEntry good = key_->Sign(OneOfEach()[0]);
  // Flips `mask` in each byte of `field` in turn.
  auto expect_every_flip_caught = [&](std::string SignedEntry::*field, char mask) {
    for (size_t i = 0; i < (good.*field).size(); ++i) {
      SignedEntry bad = good;
      (bad.*field)[i] = static_cast<char>((bad.*field)[i] ^ mask);
      StatusOr<Entry> verified = verify_->Verify(bad);
      ASSERT_FALSE(verified.ok()) << i;
      EXPECT_THAT(verified.status().message(), HasSubstr("bad signature"));
    }
  };
  expect_every_flip_caught(&SignedEntry::bytes, 0x01);
  expect_every_flip_caught(&SignedEntry::signature, static_cast<char>(0x80));
  SignedEntry longer = good;
  longer.bytes += " ";
  EXPECT_THAT(verify_->Verify(longer).status().message(), HasSubstr("bad signature"));
  SignedEntry short_sig = good;
  short_sig.signature.pop_back();
  EXPECT_THAT(verify_->Verify(short_sig).status().message(), HasSubstr("bad signature"));
}

TEST_F(SignedTest, AnotherKeysSignatureIsRefused) {
  auto other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  StatusOr<Entry> verified = verify_->Verify(other->Sign(OneOfEach()[2]));
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().code(), ErrorCode::kInvalidInput);
  EXPECT_THAT(verified.status().message(), HasSubstr("bad signature"));
}

TEST_F(SignedTest, AnEmptyVerifyKeyVerifiesNothing) {
  VerifyKey none;
  StatusOr<Entry> verified = none.Verify(key_->Sign(OneOfEach()[2]));
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().code(), ErrorCode::kInvalidInput);
  EXPECT_THAT(verified.status().message(), HasSubstr("no public key"));
}

TEST_F(SignedTest, AnEntryMovedToAnotherSeqIsRefused) {
  Entry entry = OneOfEach()[2];
  entry.seq = 5;
  SignedEntry moved = key_->Sign(entry);
  moved.seq = 6;
  StatusOr<Entry> verified = verify_->Verify(moved);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().message(), "entry seq 5 in a line for seq 6");
  // The same through a line.
  StatusOr<SignedEntry> parsed = ParseLine(moved.Line());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(verify_->Verify(*parsed).status().message(), "entry seq 5 in a line for seq 6");
}

TEST_F(SignedTest, ASignedEntryThatDoesNotDecodeIsRefused) {
  Entry entry = Base(EntryType::kDeleteWorker, 9);
  entry.worker = "Not A Worker";
  StatusOr<Entry> verified = verify_->Verify(key_->Sign(entry));
  ASSERT_FALSE(verified.ok());
  EXPECT_THAT(verified.status().message(), HasSubstr("entry at seq 9"));
  EXPECT_THAT(verified.status().message(), HasSubstr("not a valid worker name"));
}

TEST_F(SignedTest, HostileLinesAreRefused) {
  std::string line = key_->Sign(OneOfEach()[8]).Line();
  line.pop_back();
  for (size_t length = 0; length < line.size(); ++length) {
    StatusOr<SignedEntry> parsed = ParseLine(std::string_view(line).substr(0, length));
    ASSERT_FALSE(parsed.ok()) << length;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidInput);
  }
  std::string sig = base::Base64Encode(std::string(64, 's'));
  auto refused = [](std::string_view text, std::string_view message) {
    StatusOr<SignedEntry> parsed = ParseLine(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidInput);
    EXPECT_THAT(parsed.status().message(), HasSubstr(message)) << text;
  };
  refused(R"({"seq":1,"entry":"e30="})", "no \"sig\"");
  refused(R"({"seq":1,"sig":")" + sig + "\"}", "no \"entry\"");
  refused(R"({"entry":"e30=","sig":")" + sig + "\"}", "no \"seq\"");
  refused(R"({"seq":0,"entry":"e30=","sig":")" + sig + "\"}", "\"seq\" must be an integer above 0");
  refused(R"({"seq":"1","entry":"e30=","sig":")" + sig + "\"}", "\"seq\" must be an integer");
  refused(R"({"seq":1,"entry":"e30","sig":")" + sig + "\"}", "\"entry\": invalid base64");
  refused(R"({"seq":1,"entry":"","sig":")" + sig + "\"}", "\"entry\" is empty");
  refused(R"({"seq":1,"entry":7,"sig":")" + sig + "\"}", "\"entry\" must be a string");
  refused(R"({"seq":1,"entry":"e30=","sig":"AAAA"})", "\"sig\" holds 3 bytes");
  refused(R"({"seq":1,"entry":"e30=","sig":"@@@@"})", "\"sig\": invalid base64");
  refused(R"({"seq":1,"entry":"e30=","sig":")" + sig + R"(","extra":1})", "unknown key \"extra\"");
  refused(R"({"seq":1,"seq":2,"entry":"e30=","sig":")" + sig + "\"}", "\"seq\" appears twice");
  refused("[]", "must be a JSON object");
  refused(std::string(kMaxLineBytes + 1, ' '), "over the limit");
}

// Key files.

mode_t Mode(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(SignedTest, KeysSaveAndLoad) {
  std::string path = dir_ + "/origin.key";
  ASSERT_TRUE(key_->Save(path).ok());
  EXPECT_EQ(Mode(path), 0600u);
  std::string pem = ReadFile(path);
  EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----\n")) << pem;
  EXPECT_EQ(ReadFile(path + ".pub"), key_->PublicPem());
  EXPECT_TRUE(key_->PublicPem().starts_with("-----BEGIN PUBLIC KEY-----\n"));

  auto loaded = SigningKey::LoadPrivate(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->PublicPem(), key_->PublicPem());
  Entry entry = OneOfEach()[5];
  // Ed25519 is deterministic: the same key signs the same bytes the same way.
  EXPECT_EQ(loaded->Sign(entry).signature, key_->Sign(entry).signature);
  auto verify = VerifyKey::LoadPublic(path + ".pub");
  ASSERT_TRUE(verify.ok()) << verify.status().message();
  EXPECT_TRUE(verify->Verify(loaded->Sign(entry)).ok());

  // Saving over a key is refused, and leaves it as it was.
  auto other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  Status again = other->Save(path);
  EXPECT_EQ(again.code(), ErrorCode::kInvalidInput);
  EXPECT_THAT(again.message(), HasSubstr("exists already"));
  EXPECT_EQ(ReadFile(path), pem);
  EXPECT_EQ(ReadFile(path + ".pub"), key_->PublicPem());
}

TEST_F(SignedTest, BadKeyFilesAreRefused) {
  auto missing = SigningKey::LoadPrivate(dir_ + "/nope.key");
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(VerifyKey::LoadPublic(dir_ + "/nope.pub").status().code(), ErrorCode::kNotFound);

  std::string path = dir_ + "/origin.key";
  ASSERT_TRUE(key_->Save(path).ok());
  // A public key is no private key, and the other way round.
  auto swapped = SigningKey::LoadPrivate(path + ".pub");
  EXPECT_EQ(swapped.status().code(), ErrorCode::kInvalidInput);
  EXPECT_THAT(swapped.status().message(), HasSubstr("PRIVATE KEY"));
  EXPECT_EQ(VerifyKey::LoadPublic(path).status().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(VerifyKey::FromPem("garbage").status().code(), ErrorCode::kInvalidInput);

  // Another algorithm's key.
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, ec);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  std::string ec_pem(data, static_cast<size_t>(length));
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr);
  length = BIO_get_mem_data(bio, &data);
  WriteFile(dir_ + "/ec.key", std::string_view(data, static_cast<size_t>(length)));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  auto ec_verify = VerifyKey::FromPem(ec_pem);
  EXPECT_EQ(ec_verify.status().code(), ErrorCode::kInvalidInput);
  EXPECT_THAT(ec_verify.status().message(), HasSubstr("not an Ed25519 key"));
  auto ec_sign = SigningKey::LoadPrivate(dir_ + "/ec.key");
  EXPECT_THAT(ec_sign.status().message(), HasSubstr("not an Ed25519 key"));
}

}  // namespace
}  // namespace edge::sync
