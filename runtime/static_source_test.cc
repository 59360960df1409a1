// The runtime's sources as the process's external strings (static_source.h):
// an isolate made from the startup snapshot reads them in place (V8 counts
// them as external memory, not as heap it deserialised) and they read back
// as the text they were made from.
#include "runtime/static_source.h"

#include <gtest/gtest.h>

#include "runtime/errors.h"
#include "runtime/native.h"
#include "runtime/platform.h"
#include "runtime/snapshot.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::runtime::testing {
namespace {

class StaticSourceTest : public WorkerFixture {};

std::string ReadBack(v8::Isolate* isolate, const StaticSource& source) {
  v8::HandleScope scope(isolate);
  v8::Local<v8::String> text;
  if (!source.NewString(isolate).ToLocal(&text)) return "<no string>";
  if (!text->IsExternalOneByte() && !text->IsExternalTwoByte()) return "<not external>";
  v8::String::Utf8Value utf8(isolate, text);
  return std::string(*utf8, utf8.length());
}

TEST_F(StaticSourceTest, TextReadsBackAsItWasGivenAsciiOrNot) {
  InitializeV8();
  // The texts outlive the isolate whose strings point at them, as the
  // runtime's live until the process ends.
  StaticSource ascii("(", "let a = 1;", ")");
  // Latin-1, BMP and astral characters: V8 must not read UTF-8 bytes as
  // Latin-1 ones.
  StaticSource wide("", "caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x98\x80", "");
  // A broken sequence becomes U+FFFD instead of running past the text.
  StaticSource broken("", "a\xE2\x86", "");
  BareIsolate bare;
  v8::Isolate* isolate = bare.get();
  {
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Local<v8::Context> context = v8::Context::New(isolate);
    v8::Context::Scope context_scope(context);
    EXPECT_EQ(ReadBack(isolate, ascii), "(let a = 1;)");
    EXPECT_EQ(ascii.payload_bytes(), 12u);
    EXPECT_EQ(ReadBack(isolate, wide), "caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x98\x80");
    EXPECT_EQ(wide.payload_bytes(), 2u * 9u);  // "café → " is 7 units, the emoji 2
    EXPECT_EQ(ReadBack(isolate, broken), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  }
}

TEST_F(StaticSourceTest, AnIsolateFromTheSnapshotReadsTheRuntimeSourcesInPlace) {
  const StartupSnapshot* snapshot = FindStartupSnapshot(natives_);
  ASSERT_NE(snapshot, nullptr);
  ASSERT_GT(RuntimeJsSourceBytes(), 100u * 1024u);

  BareIsolate bare(snapshot->blob());
  v8::Isolate* isolate = bare.get();
  {
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Local<v8::Context> context;
    ASSERT_TRUE(v8::Context::FromSnapshot(isolate, kSnapshotRuntimeContext).ToLocal(&context));
    v8::Context::Scope context_scope(context);
    v8::HeapStatistics stats;
    isolate->GetHeapStatistics(&stats);
    // Every runtime file's source came back as the process's string: had
    // the snapshot copied them into the heap, none of this would be
    // external.
    EXPECT_GE(stats.external_memory(), RuntimeJsSourceBytes());
    // And reads as the runtime's text (a function's source is a slice of
    // its file's).
    v8::Local<v8::Script> script;
    v8::Local<v8::Value> result;
    ASSERT_TRUE(v8::Script::Compile(context, Utf8String(isolate, "String(Headers).slice(0, 13)"))
                    .ToLocal(&script));
    ASSERT_TRUE(script->Run(context).ToLocal(&result));
    EXPECT_EQ(ToStdString(isolate, result), "class Headers");
  }
}

}  // namespace
}  // namespace edge::runtime::testing
