// The startup snapshot (snapshot.h): the one built into the test binary is
// the one workers start from, a snapshot made here holds the runtime, its
// header refuses what does not fit, and nothing per isolate is shared
// between isolates made from it.
#include "runtime/snapshot.h"

#include <gtest/gtest.h>

#include <chrono>

#include "bindings/bindings.h"
#include "runtime/errors.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::runtime::testing {
namespace {

class SnapshotTest : public WorkerFixture {
 protected:
  std::string Eval(Worker& worker, const std::string& source) {
    auto result = Run(worker, source);
    return result.ok() ? *result : "<error: " + result.status().message() + ">";
  }
};

// The snapshot file with header line `key` given `value` instead.
std::string WithHeaderLine(std::string file, const std::string& key, const std::string& value) {
  size_t start = file.find("\n" + key + " ");
  size_t end = file.find('\n', start + 1);
  return file.replace(start + 1, end - start - 1, key + " " + value);
}

TEST_F(SnapshotTest, TheEmbeddedSnapshotFitsTheRegistryEdgeUses) {
  // Every test binary links edge_snapshot_blob: the workers of the tests
  // start from it, as edge's do.
  ASSERT_FALSE(EmbeddedStartupSnapshot().empty());
  EXPECT_NE(FindStartupSnapshot(natives_), nullptr);

  NativeRegistry other;
  RegisterRuntimeNatives(other);
  EXPECT_EQ(FindStartupSnapshot(other), nullptr) << "made with every native, not these";
}

TEST_F(SnapshotTest, AMadeSnapshotParsesAndMatchesOnlyItsRegistry) {
  StatusOr<std::string> file = MakeStartupSnapshot(natives_);
  ASSERT_TRUE(file.ok()) << file.status().message();
  ASSERT_TRUE(file->starts_with("edge-snapshot 1\nv8 "));
  StatusOr<StartupSnapshot> parsed = StartupSnapshot::Parse(*file);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(parsed->Matches(natives_));
  EXPECT_GT(parsed->blob()->raw_size, 0);

  NativeRegistry more;
  bindings::RegisterNatives(more);
  more.AddConstant("extra", 1);
  EXPECT_FALSE(parsed->Matches(more));
}

TEST_F(SnapshotTest, AnIsolateStartsFromAMadeSnapshot) {
  StatusOr<std::string> file = MakeStartupSnapshot(natives_);
  ASSERT_TRUE(file.ok()) << file.status().message();
  StatusOr<StartupSnapshot> parsed = StartupSnapshot::Parse(*file);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();

  BareIsolate bare(parsed->blob());
  v8::Isolate* isolate = bare.get();
  {
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Local<v8::Context> context;
    ASSERT_TRUE(v8::Context::FromSnapshot(isolate, kSnapshotRuntimeContext).ToLocal(&context));
    v8::Context::Scope context_scope(context);
    v8::Local<v8::Value> internals;
    v8::Local<v8::Value> native;
    ASSERT_TRUE(context->GetDataFromSnapshotOnce<v8::Value>(kSnapshotInternals).ToLocal(&internals));
    ASSERT_TRUE(context->GetDataFromSnapshotOnce<v8::Value>(kSnapshotNative).ToLocal(&native));
    EXPECT_TRUE(internals->IsObject());
    EXPECT_TRUE(native->IsObject());
    // The globals are there without running the runtime's JavaScript; the
    // ones made on first use (lazy_js.h) as properties not yet evaluated.
    v8::Local<v8::Script> script;
    v8::Local<v8::Value> globals;
    ASSERT_TRUE(v8::Script::Compile(context, Utf8String(isolate, "typeof Response + typeof crypto + "
                                                                  "Object.getOwnPropertyNames(globalThis)"
                                                                  ".includes('URLPattern')"))
                    .ToLocal(&script));
    ASSERT_TRUE(script->Run(context).ToLocal(&globals));
    EXPECT_EQ(ToStdString(isolate, globals), "functionobjecttrue");
    // A native called from an isolate without IsolateData is an error, not
    // a call through a stale pointer.
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::Value> encode;
    ASSERT_TRUE(native.As<v8::Object>()->Get(context, Utf8String(isolate, "now")).ToLocal(&encode));
    ASSERT_TRUE(encode->IsFunction());
    EXPECT_TRUE(encode.As<v8::Function>()->Call(context, v8::Undefined(isolate), 0, nullptr).IsEmpty());
    EXPECT_TRUE(try_catch.HasCaught());
  }
}

// The rarely used APIs (lazy_js.h) are not in the heap an isolate starts
// from: each global is a lazy data property not yet read, and each name
// the lazy files put on `internals` an accessor that evaluates its file.
TEST_F(SnapshotTest, TheRarelyUsedApisAreNotEvaluatedInTheSnapshot) {
  const StartupSnapshot* snapshot = FindStartupSnapshot(natives_);
  ASSERT_NE(snapshot, nullptr);
  BareIsolate bare(snapshot->blob());
  v8::Isolate* isolate = bare.get();
  v8::Isolate::Scope isolate_scope(isolate);
  v8::HandleScope handle_scope(isolate);
  v8::Local<v8::Context> context;
  ASSERT_TRUE(v8::Context::FromSnapshot(isolate, kSnapshotRuntimeContext).ToLocal(&context));
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Value> internals;
  ASSERT_TRUE(context->GetDataFromSnapshotOnce<v8::Value>(kSnapshotInternals).ToLocal(&internals));
  ASSERT_TRUE(internals->IsObject());
  for (const char* name : {"URLPattern", "WebSocket", "CompressionStream", "IdentityTransformStream",
                           "FixedLengthStream"}) {
    bool lazy = false;
    ASSERT_TRUE(context->Global()
                    ->HasRealNamedCallbackProperty(context, Utf8String(isolate, name))
                    .To(&lazy));
    EXPECT_TRUE(lazy) << name << " was made in the snapshot";
  }
  for (const char* name : {"URLPattern", "IdentityTransformStream", "FixedLengthStream", "Workflow",
                           "workflowDispatcher"}) {
    v8::Local<v8::Value> desc;
    ASSERT_TRUE(internals.As<v8::Object>()
                    ->GetOwnPropertyDescriptor(context, Utf8String(isolate, name))
                    .ToLocal(&desc));
    ASSERT_TRUE(desc->IsObject()) << name;
    v8::Local<v8::Value> getter;
    ASSERT_TRUE(desc.As<v8::Object>()->Get(context, Utf8String(isolate, "get")).ToLocal(&getter));
    EXPECT_TRUE(getter->IsFunction()) << "internals." << name << " was evaluated in the snapshot";
  }
  // What every worker may import stays made in the snapshot.
  for (const char* name : {"WorkflowEntrypoint", "NonRetryableError", "prepareWorkflowHandler"}) {
    v8::Local<v8::Value> desc;
    ASSERT_TRUE(internals.As<v8::Object>()
                    ->GetOwnPropertyDescriptor(context, Utf8String(isolate, name))
                    .ToLocal(&desc));
    ASSERT_TRUE(desc->IsObject()) << name;
    v8::Local<v8::Value> value;
    ASSERT_TRUE(desc.As<v8::Object>()->Get(context, Utf8String(isolate, "value")).ToLocal(&value));
    EXPECT_TRUE(value->IsFunction()) << name;
  }
}

TEST_F(SnapshotTest, TheHeaderRefusesWhatDoesNotFitThisProcess) {
  StatusOr<std::string> made = MakeStartupSnapshot(natives_);
  ASSERT_TRUE(made.ok()) << made.status().message();
  const std::string& file = *made;
  auto error = [](const std::string& text) {
    StatusOr<StartupSnapshot> parsed = StartupSnapshot::Parse(text);
    return parsed.ok() ? std::string("(parsed)") : parsed.status().message();
  };
  EXPECT_NE(error(WithHeaderLine(file, "v8", "9.9.9")).find("made with v8 '9.9.9'"),
            std::string::npos);
  EXPECT_NE(error(WithHeaderLine(file, "flags", "--jitless")).find("made with flags '--jitless'"),
            std::string::npos);
  EXPECT_NE(error(WithHeaderLine(file, "js", std::string(64, '0'))).find("made with js"),
            std::string::npos);
  // Malformed files: never a crash, never handed to V8.
  EXPECT_NE(error("").find("not an edge snapshot"), std::string::npos);
  EXPECT_NE(error("edge-snapshot 2\n\n").find("wrong first line"), std::string::npos);
  EXPECT_NE(error(std::string(1 << 20, 'x')).find("no end of header"), std::string::npos);
  EXPECT_NE(error("edge-snapshot 1\n" + std::string(8192, 'a') + "\n\nblob").find("no end of header"),
            std::string::npos);
  std::string no_natives = file;
  no_natives.replace(no_natives.find("\nnatives "), 9, "\nnative_s ");
  EXPECT_NE(error(no_natives).find("no 'natives' line"), std::string::npos);
  std::string header_only = file.substr(0, file.size() - static_cast<size_t>(
                                                             StartupSnapshot::Parse(file)
                                                                 ->blob()
                                                                 ->raw_size));
  EXPECT_NE(error(header_only).find("no V8 blob"), std::string::npos);
  // One byte of V8's blob changed: its checksum, checked here once rather
  // than by V8 for each isolate (--no-verify-snapshot-checksum), refuses it.
  std::string flipped = file;
  flipped[flipped.size() - 100] ^= 0x20;
  EXPECT_NE(error(flipped).find("does not match its checksum"), std::string::npos) << error(flipped);
  std::string tiny = header_only + "0123";
  EXPECT_NE(error(tiny).find("too short"), std::string::npos) << error(tiny);
}

TEST_F(SnapshotTest, BothPathsGiveTheSameRuntime) {
  const std::string probe =
      "[typeof Request, typeof URLPattern, typeof crypto.subtle.digest, typeof CompressionStream, "
      "navigator.userAgent, Object.getOwnPropertyNames(globalThis).length].join(',')";
  auto snapshot_worker = LoadOrDie("export default { fetch() { return new Response('ok'); } };");
  use_snapshot_ = false;
  auto plain_worker = LoadOrDie("export default { fetch() { return new Response('ok'); } };");
  ASSERT_TRUE(snapshot_worker && plain_worker);
  EXPECT_EQ(Eval(*snapshot_worker, probe), Eval(*plain_worker, probe));
  EXPECT_EQ(Fetch(*snapshot_worker)->body, "ok");
  EXPECT_EQ(Fetch(*plain_worker)->body, "ok");
}

TEST_F(SnapshotTest, PerIsolateStateIsSetAfterDeserialisation) {
  expose_natives_ = true;
  double before_ms = std::chrono::duration<double, std::milli>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  auto a = LoadOrDie("export default { fetch() { return new Response('a'); } };");
  auto b = LoadOrDie("export default { fetch() { return new Response('b'); } };");
  ASSERT_TRUE(a && b);
  ASSERT_NE(FindStartupSnapshot(natives_), nullptr);
  // performance.timeOrigin is the isolate's, not the build's.
  EXPECT_EQ(Eval(*a, "performance.timeOrigin === __native.timeOrigin"), "true");
  EXPECT_EQ(Eval(*a, "performance.toJSON().timeOrigin === performance.timeOrigin"), "true");
  EXPECT_GE(std::stod(Eval(*a, "String(performance.timeOrigin)")), before_ms);
  EXPECT_EQ(Eval(*a, "__native.workerName"), "test-worker");
  // Math.random's state is not baked in: 8 draws in each isolate differ.
  std::string draws = "Array.from({length: 8}, Math.random).join(',')";
  EXPECT_NE(Eval(*a, draws), Eval(*b, draws));
  // V8 adds SharedArrayBuffer only when a context is restored, after the
  // runtime's JavaScript captured its built-ins: it is still recognised.
  EXPECT_EQ(Eval(*a, "new TextDecoder().decode(new SharedArrayBuffer(2)).length"), "2");
  // crypto comes from OpenSSL in each isolate.
  EXPECT_NE(Eval(*a, "crypto.randomUUID()"), Eval(*b, "crypto.randomUUID()"));
}

// Requests ran through the runtime while the snapshot was made
// (snapshot_warmup.h): nothing they were told by a native stays. Each
// worker's first request sees its own subrequest limit, and the two paths
// answer its requests alike.
TEST_F(SnapshotTest, TheWarmUpRequestsLeaveNothingOfTheirs) {
  expose_natives_ = true;
  const std::string source =
      "export default { async fetch(request) {"
      "  const limit = __native.invocationInfo(__native.currentInvocation().key)[1];"
      "  const body = await request.text();"
      "  return Response.json({ limit, body, url: request.url, cf: request.cf ?? null });"
      "} };";
  subrequest_limit_ = 3;
  auto three = LoadOrDie(source);
  subrequest_limit_ = 7;
  auto seven = LoadOrDie(source);
  use_snapshot_ = false;
  auto plain = LoadOrDie(source);
  ASSERT_TRUE(three && seven && plain);
  ASSERT_NE(FindStartupSnapshot(natives_), nullptr);
  std::string expected_tail = R"(,"body":"x","url":"http://localhost/","cf":null})";
  EXPECT_EQ(Fetch(*three, "POST", "http://localhost/", "x")->body,
            R"({"limit":3)" + expected_tail);
  EXPECT_EQ(Fetch(*seven, "POST", "http://localhost/", "x")->body,
            R"({"limit":7)" + expected_tail);
  EXPECT_EQ(Fetch(*plain, "POST", "http://localhost/", "x")->body,
            R"({"limit":7)" + expected_tail);
  // No response or invocation of the warm-up is open in a new isolate.
  EXPECT_EQ(three->in_flight(), 0u);
}

TEST_F(SnapshotTest, IsolatesFromTheSnapshotShareNothing) {
  auto attacker = LoadOrDie(
      "Object.prototype.then = () => {}; Array.prototype.push = () => { throw 1; };"
      "Response.prototype.text = () => 'poisoned'; globalThis.leak = 'attacker';"
      "export default { fetch() { return new Response('a'); } };");
  auto victim = LoadOrDie(
      "export default { async fetch() { return new Response(await new Response('v').text()); } };");
  ASSERT_TRUE(attacker && victim);
  EXPECT_EQ(Eval(*victim, "[typeof leak, typeof ({}).then, [1].push(2)].join()"),
            "undefined,undefined,2");
  EXPECT_EQ(Fetch(*victim)->body, "v");
  // The snapshot's context still refuses code from strings, and hides the
  // natives.
  EXPECT_EQ(Eval(*victim, "try { eval('1'); 'ran' } catch (e) { e.name }"), "EvalError");
  EXPECT_EQ(Eval(*victim, "try { new Function('return 1')(); 'ran' } catch (e) { e.name }"),
            "EvalError");
  EXPECT_EQ(Eval(*victim, "typeof __native + typeof native + typeof internals"),
            "undefinedundefinedundefined");
}

TEST_F(SnapshotTest, AnotherRegistryRunsTheRuntimeJavaScript) {
  // A registry the snapshot was not made with (a test's extra native) gets
  // isolates built the old way, with its own natives.
  natives_.Add("snapshotTestExtra",
               [](NativeCall& call) -> NativeResult { return v8::Local<v8::Value>(call.String("extra")); });
  ASSERT_EQ(FindStartupSnapshot(natives_), nullptr);
  expose_natives_ = true;
  auto worker = LoadOrDie("export default { fetch() { return new Response('ok'); } };");
  ASSERT_TRUE(worker);
  EXPECT_EQ(Eval(*worker, "__native.snapshotTestExtra()"), "extra");
  EXPECT_EQ(Fetch(*worker)->body, "ok");
}

}  // namespace
}  // namespace edge::runtime::testing
