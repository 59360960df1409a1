#include "edge-sync/epoch.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/testing/temp_dir.h"
#include "edge-sync/signing_keys.h"
#include "edge-sync/testing/entries.h"

namespace edge::sync {
namespace {

class EpochTest : public ::testing::Test {
 protected:
  EpochTest() {
    auto key = SigningKey::Generate();
    EXPECT_TRUE(key.ok());
    key_.emplace(std::move(key).value());
    Reopen();
  }
  void Reopen() {
    log_.reset();
    auto log = SyncLog::Open(dir_.path());
    ASSERT_TRUE(log.ok()) << log.status().message();
    log_ = std::move(log).value();
  }
  void Append(uint64_t seq) {
    Entry entry = testing::WorkerEntry(EntryType::kRoutes, seq, "w");
    entry.routes = std::vector<std::string>{"a.example/*"};
    ASSERT_TRUE(log_->Append(key_->Sign(entry)).ok());
  }
  std::string Open(bool force_new, std::string* why) {
    auto epoch = OpenOriginEpoch(*log_, dir_.path(), force_new, why);
    EXPECT_TRUE(epoch.ok()) << epoch.status().message();
    return epoch.ok() ? *epoch : "";
  }

  base::testing::TempDir dir_;
  std::optional<SigningKey> key_;
  std::unique_ptr<SyncLog> log_;
};

TEST_F(EpochTest, NewEpochsAreRandomHex) {
  std::string a = NewEpoch(), b = NewEpoch();
  EXPECT_TRUE(IsEpoch(a));
  EXPECT_NE(a, b);
  EXPECT_FALSE(IsEpoch(""));
  EXPECT_FALSE(IsEpoch(std::string(32, 'G')));
  EXPECT_FALSE(IsEpoch(std::string(31, 'a')));
}

TEST_F(EpochTest, ANewLogGetsAnEpochThatStays) {
  std::string why;
  std::string epoch = Open(false, &why);
  EXPECT_TRUE(IsEpoch(epoch));
  EXPECT_EQ(why, "a new log");
  EXPECT_EQ(log_->GetMeta(kEpochMetaKey)->value(), epoch);
  Append(1);
  Append(2);
  ASSERT_TRUE(WriteOriginMark(OriginMarkPath(dir_.path()), OriginMark{epoch, 2}).ok());
  Reopen();
  EXPECT_EQ(Open(false, &why), epoch);
  EXPECT_EQ(why, "");
  auto mark = ReadOriginMark(OriginMarkPath(dir_.path()));
  ASSERT_TRUE(mark.ok()) << mark.status().message();
  EXPECT_EQ(mark->epoch, epoch);
  EXPECT_EQ(mark->highest_seq, 2u);
  // Asked for: a new one.
  std::string forced = Open(true, &why);
  EXPECT_NE(forced, epoch);
  EXPECT_NE(why.find("--new-epoch"), std::string::npos);
}

// The stores restored from a backup taken at seq 1, the mark file kept: the
// log is behind what this origin served.
TEST_F(EpochTest, ARestoredLogIsFoundOutByTheMark) {
  std::string why;
  std::string epoch = Open(false, &why);
  Append(1);
  ASSERT_TRUE(WriteOriginMark(OriginMarkPath(dir_.path()), OriginMark{epoch, 3}).ok());
  std::string restored = Open(false, &why);
  EXPECT_NE(restored, epoch);
  EXPECT_NE(why.find("restored from a backup"), std::string::npos) << why;
  EXPECT_EQ(log_->GetMeta(kEpochMetaKey)->value(), restored);
  EXPECT_EQ(ReadOriginMark(OriginMarkPath(dir_.path()))->highest_seq, 1u);
  // A mark of another epoch: the log was replaced.
  ASSERT_TRUE(WriteOriginMark(OriginMarkPath(dir_.path()), OriginMark{NewEpoch(), 1}).ok());
  std::string replaced = Open(false, &why);
  EXPECT_NE(replaced, restored);
  EXPECT_NE(why.find("restored from a backup or replaced"), std::string::npos) << why;
}

TEST_F(EpochTest, ADamagedMarkIsAnError) {
  {
    std::ofstream out(OriginMarkPath(dir_.path()));
    out << "epoch nothex\nhighest_seq 1\n";
  }
  std::string why;
  auto epoch = OpenOriginEpoch(*log_, dir_.path(), false, &why);
  ASSERT_FALSE(epoch.ok());
  EXPECT_NE(epoch.status().message().find("damaged"), std::string::npos);
  EXPECT_EQ(ReadOriginMark(dir_.path() + "/none").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace edge::sync
