#include "edge-sync/kv_forward_queue.h"

#include <gtest/gtest.h>

#include "base/testing/temp_dir.h"
#include "edge-sync/fleet.h"
#include "edge-sync/kv_forwarder.h"
#include "edge-sync/origin.h"

namespace edge::sync {
namespace {

bindings::KvWrite Put(std::string key, std::string value, std::string metadata = "",
                      uint64_t expiration = 0) {
  return bindings::KvWrite{false,     "data", std::move(key), std::move(value), std::move(metadata),
                           expiration};
}

bindings::KvWrite Delete(std::string key) {
  return bindings::KvWrite{true, "data", std::move(key), "", "", 0};
}

std::vector<std::string> Keys(const KvForwardQueue& queue) {
  auto records = queue.ReadAll();
  EXPECT_TRUE(records.ok()) << records.status().message();
  std::vector<std::string> keys;
  for (const auto& record : *records) keys.push_back(record.write.key);
  return keys;
}

TEST(KvForwardQueueTest, RecordsRoundTrip) {
  bindings::KvWrite write =
      Put(std::string("k\0x", 3), std::string("v\0\xff", 3), "{\"city\":\"Zürich\"}", 42);
  auto decoded = DecodeForwardRecord(EncodeForwardRecord(write));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->key, write.key);
  EXPECT_EQ(decoded->value, write.value);
  EXPECT_EQ(decoded->metadata, write.metadata);
  EXPECT_EQ(decoded->expiration, 42u);
  EXPECT_FALSE(decoded->is_delete);
  EXPECT_TRUE(DecodeForwardRecord(EncodeForwardRecord(Delete("gone")))->is_delete);
  std::string damaged = EncodeForwardRecord(write);
  damaged.pop_back();
  EXPECT_FALSE(DecodeForwardRecord(damaged));
  EXPECT_FALSE(DecodeForwardRecord(""));
}

TEST(KvForwardQueueTest, AppendRemoveAndReopenKeepOrder) {
  base::testing::TempDir dir;
  {
    auto queue = KvForwardQueue::Open(dir.path());
    ASSERT_TRUE(queue.ok()) << queue.status().message();
    for (const char* key : {"a", "b", "c", "d"}) ASSERT_TRUE((*queue)->Append(Put(key, "v")).ok());
    auto records = (*queue)->ReadAll();
    ASSERT_TRUE(records.ok());
    ASSERT_EQ(records->size(), 4u);
    // Acknowledged: removed, the others keep their order.
    ASSERT_TRUE((*queue)->Remove((*records)[0].id).ok());
    ASSERT_TRUE((*queue)->Remove((*records)[2].id).ok());
    ASSERT_TRUE((*queue)->Remove((*records)[2].id).ok());  // twice is fine
    EXPECT_EQ((*queue)->count(), 2u);
  }
  auto queue = KvForwardQueue::Open(dir.path());
  ASSERT_TRUE(queue.ok()) << queue.status().message();
  EXPECT_EQ((*queue)->count(), 2u);
  EXPECT_EQ(Keys(**queue), (std::vector<std::string>{"b", "d"}));
  // New writes go after the ones from before the restart.
  ASSERT_TRUE((*queue)->Append(Delete("e")).ok());
  EXPECT_EQ(Keys(**queue), (std::vector<std::string>{"b", "d", "e"}));
}

// A write's id is its id at the origin, which applies each once: ids are
// never given twice, not even after the queue emptied and reopened, and the
// writer's name stays with the queue.
TEST(KvForwardQueueTest, IdsAreNeverReusedAndTheWriterStays) {
  base::testing::TempDir dir;
  std::string writer;
  {
    auto queue = KvForwardQueue::Open(dir.path());
    ASSERT_TRUE(queue.ok()) << queue.status().message();
    writer = (*queue)->writer();
    EXPECT_EQ(writer.size(), 32u);
    auto first = (*queue)->Append(Put("a", "v"));
    auto second = (*queue)->Append(Put("b", "v"));
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_EQ(*first, 1u);
    EXPECT_EQ(*second, 2u);
    ASSERT_TRUE((*queue)->Remove(1).ok());
    ASSERT_TRUE((*queue)->Remove(2).ok());
    EXPECT_EQ((*queue)->count(), 0u);
  }
  auto queue = KvForwardQueue::Open(dir.path());
  ASSERT_TRUE(queue.ok()) << queue.status().message();
  EXPECT_EQ((*queue)->writer(), writer);
  auto third = (*queue)->Append(Put("c", "v"));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, 3u);

  base::testing::TempDir other;
  auto another = KvForwardQueue::Open(other.path());
  ASSERT_TRUE(another.ok());
  EXPECT_NE((*another)->writer(), writer);
}

TEST(KvForwardQueueTest, FullQueueRefusesWithAClearError) {
  base::testing::TempDir dir;
  auto queue = KvForwardQueue::Open(dir.path(), KvForwardLimits{2, 1 << 20});
  ASSERT_TRUE(queue.ok());
  ASSERT_TRUE((*queue)->Append(Put("a", "v")).ok());
  ASSERT_TRUE((*queue)->Append(Put("b", "v")).ok());
  auto full = (*queue)->Append(Put("c", "v"));
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.status().message().find("forward queue is full"), std::string::npos);
  EXPECT_EQ((*queue)->count(), 2u);
  // Room again once one is acknowledged.
  ASSERT_TRUE((*queue)->Remove(1).ok());
  EXPECT_TRUE((*queue)->Append(Put("c", "v")).ok());

  base::testing::TempDir small;
  auto bytes = KvForwardQueue::Open(small.path(), KvForwardLimits{100, 100});
  ASSERT_TRUE(bytes.ok());
  EXPECT_FALSE((*bytes)->Append(Put("big", std::string(200, 'x'))).ok());
  EXPECT_EQ((*bytes)->count(), 0u);
}

// Read-your-own-write survives a restart: the writes read back from the
// queue shadow older log entries for their keys.
TEST(KvForwardQueueTest, RestoredWritesShadowOlderEntries) {
  base::testing::TempDir dir;
  base::HttpTarget nowhere;
  nowhere.url = "http://127.0.0.1:1";
  {
    auto queue = KvForwardQueue::Open(dir.path());
    ASSERT_TRUE(queue.ok());
    KvForwarder forwarder(nowhere, std::move(queue).value());  // never started: nothing sent
    ASSERT_TRUE(forwarder.Forward(Put("mine", "local")).ok());
    EXPECT_FALSE(forwarder.ShouldApply("data", "mine", 7));
  }
  auto queue = KvForwardQueue::Open(dir.path());
  ASSERT_TRUE(queue.ok());
  KvForwarder forwarder(nowhere, std::move(queue).value());
  ASSERT_TRUE(forwarder.Restore().ok());
  EXPECT_EQ(forwarder.pending(), 1u);
  EXPECT_FALSE(forwarder.ShouldApply("data", "mine", 7));
  EXPECT_TRUE(forwarder.ShouldApply("data", "other", 7));
}

// A full queue fails the worker's write: with the forwarder as the KV
// store's write hook (as a PoP wires it), the put is refused with the
// queue's reason and nothing is applied locally.
TEST(KvForwardQueueTest, FullQueueFailsTheLocalWrite) {
  base::testing::TempDir dir;
  base::HttpTarget nowhere;
  nowhere.url = "http://127.0.0.1:1";
  auto queue = KvForwardQueue::Open(dir.path(), KvForwardLimits{1, 1 << 20});
  ASSERT_TRUE(queue.ok());
  KvForwarder forwarder(nowhere, std::move(queue).value());  // never started: nothing sent
  auto store = bindings::KvStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().message();
  (*store)->SetWriteHook(
      [&forwarder](const bindings::KvWrite& write) { return forwarder.Forward(write); });
  ASSERT_TRUE((*store)->Put("data", "first", "v").ok());
  Status second = (*store)->Put("data", "second", "v");
  EXPECT_EQ(second.code(), ErrorCode::kRangeError);
  EXPECT_NE(second.message().find("forward queue is full"), std::string::npos);
  EXPECT_EQ((*store)->Delete("data", "first").code(), ErrorCode::kRangeError);
  (*store)->SetWriteHook(nullptr);
  EXPECT_TRUE((*(*store)->Get("data", "first")).has_value());
  EXPECT_FALSE((*(*store)->Get("data", "second")).has_value());
  EXPECT_EQ(forwarder.pending(), 1u);
  EXPECT_EQ(forwarder.not_queued(), 2u);
}

TEST(KvForwardQueueTest, WriteIdsParseStrictly) {
  std::string writer(32, 'a');
  auto id = ParseWriteId(WriteId(writer, 42));
  ASSERT_TRUE(id);
  EXPECT_EQ(id->writer, writer);
  EXPECT_EQ(id->id, 42u);
  for (std::string bad :
       {std::string(""), writer, writer + ":", writer + ":0", writer + ":01", writer + ":-1",
        writer + ":1x", writer + ":99999999999999999999", std::string(31, 'a') + ":1",
        std::string(32, 'A') + ":1", std::string(32, 'g') + ":1", writer + "a:1"}) {
    EXPECT_FALSE(ParseWriteId(bad)) << bad;
  }
}

// A PoP's refused KV writes reach the origin's fleet view (edge status).
TEST(KvForwardQueueTest, CheckInsCarryRefusedWrites) {
  PopStatus pop;
  pop.pop_id = "fra1";
  pop.kv_refused = 3;
  pop.kv_last_refused = "PUT \"k\" in \"ns\": 400 {\"error\":\"no\"}";
  auto decoded = Fleet::Decode(Fleet::Encode({pop}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ((*decoded)[0].kv_refused, 3u);
  EXPECT_EQ((*decoded)[0].kv_last_refused, pop.kv_last_refused);
}

// The fleet view forgets a PoP not heard from for longer than its forget
// time; a PoP that keeps reporting stays; 0 keeps everyone.
TEST(FleetTest, PopsGoneLongerThanTheForgetTimeAreDropped) {
  Fleet fleet(/*forget_after_ms=*/1000);
  PopStatus a, b;
  a.pop_id = "a";
  b.pop_id = "b";
  fleet.Report({a, b}, 10000);
  EXPECT_EQ(fleet.Pops(10500).size(), 2u);
  fleet.Report({a}, 10900);  // b stops reporting
  std::vector<PopStatus> pops = fleet.Pops(11001);
  ASSERT_EQ(pops.size(), 1u);
  EXPECT_EQ(pops[0].pop_id, "a");
  EXPECT_EQ(pops[0].reported_ms, 10900u);
  EXPECT_EQ(fleet.Pops(10000).size(), 1u);  // dropped for good
  EXPECT_TRUE(fleet.Pops(12000).empty());
  fleet.Report({b}, 12000);  // back: listed again
  EXPECT_EQ(fleet.Pops(12000).size(), 1u);

  Fleet forever(0);
  forever.Report({a}, 1);
  EXPECT_EQ(forever.Pops(uint64_t{1} << 62).size(), 1u);
}

}  // namespace
}  // namespace edge::sync
