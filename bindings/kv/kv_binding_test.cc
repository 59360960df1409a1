// Workers KV through a real worker: env.KV backed by an LMDB store in a
// temporary folder, every operation and every limit as worker code sees it.
#include <gtest/gtest.h>

#include <filesystem>

#include "bindings/binding_services.h"
#include "bindings/kv/kv_store.h"
#include "runtime/global_scope.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::bindings {
// bindings/kv/kv_natives.cc
void RegisterKvNatives(runtime::NativeRegistry& registry);

namespace {
using runtime::testing::WorkerFixture;

// Keeps `env` where the test scripts can reach it.
constexpr char kWorker[] = R"(
export default {
  async fetch(request, env) {
    globalThis.env = env;
    return new Response("ready");
  },
};
)";

// Adds the KV natives to `natives` unless they are there already.
void RegisterKvNativesOnce(runtime::NativeRegistry& natives) {
  for (const auto& entry : natives.entries()) {
    if (entry.name == "kvGet") return;
  }
  RegisterKvNatives(natives);
}

class KvBindingTest : public WorkerFixture {
 protected:
  KvBindingTest() {
    RegisterKvNativesOnce(natives_);
    auto store = KvStore::Open(dir_ + "/.edge/state");
    EXPECT_TRUE(store.ok()) << store.status().message();
    if (store.ok()) store_ = std::move(store).value();
    auto services = std::make_shared<BindingServices>();
    services->kv = store_;
    services_ = services;
    bindings_ = {{"KV", "kv", {{"namespace", "ns-one"}}},
                 {"OTHER", "kv", {{"namespace", "ns-two"}}}};
  }

  void SetUp() override {
    worker_ = LoadOrDie(kWorker);
    ASSERT_TRUE(worker_);
    auto response = Fetch(*worker_);
    ASSERT_EQ(response->body, "ready");
  }

  // Runs the body of an async function with `env` in scope; returns
  // JSON.stringify of its result, or "threw <name>: <message>".
  std::string Eval(const std::string& body) {
    return EvalIn(*worker_, body);
  }
  std::string EvalIn(runtime::Worker& worker, const std::string& body) {
    std::string script = "(async () => {\n" + body +
                         "\n})().then((r) => JSON.stringify(r), "
                         "(e) => `threw ${e.name}: ${e.message}`)";
    auto result = Run(worker, script);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? *result : "<script failed: " + result.status().message() + ">";
  }

  std::shared_ptr<KvStore> store_;
  std::unique_ptr<runtime::Worker> worker_;
};

TEST_F(KvBindingTest, PutGetDeleteText) {
  EXPECT_EQ(Eval("return typeof env.KV.get"), R"("function")");
  EXPECT_EQ(Eval("return await env.KV.get('missing')"), "null");
  EXPECT_EQ(Eval("return await env.KV.put('greeting', 'héllo 👋')"), "undefined");
  EXPECT_EQ(Eval("return await env.KV.get('greeting')"), R"("héllo 👋")");
  EXPECT_EQ(Eval("return await env.KV.get('greeting', 'text')"), R"("héllo 👋")");
  EXPECT_EQ(Eval("return await env.KV.get('greeting', { type: 'text', cacheTtl: 60 })"),
            R"("héllo 👋")");
  EXPECT_EQ(Eval("await env.KV.put('greeting', 'bye'); return await env.KV.get('greeting')"),
            R"("bye")");
  EXPECT_EQ(Eval("return await env.KV.delete('greeting')"), "undefined");
  EXPECT_EQ(Eval("return await env.KV.get('greeting')"), "null");
  EXPECT_EQ(Eval("return await env.KV.delete('never-there')"), "undefined");
  // Keys are converted to strings, as WebIDL does.
  EXPECT_EQ(Eval("await env.KV.put(42, 7); return await env.KV.get('42')"), R"("7")");
  // The store saw what the worker wrote.
  auto entry = store_->Get("ns-one", "42");
  ASSERT_TRUE(entry.ok() && *entry);
  EXPECT_EQ((*entry)->value, "7");
}

TEST_F(KvBindingTest, ValueTypes) {
  EXPECT_EQ(Eval(R"(
    await env.KV.put('j', JSON.stringify({ a: [1, 2], b: 'x' }));
    return await env.KV.get('j', 'json');)"),
            R"({"a":[1,2],"b":"x"})");
  EXPECT_EQ(Eval(R"(
    const buffer = await env.KV.get('j', { type: 'arrayBuffer' });
    return [buffer instanceof ArrayBuffer, buffer.byteLength,
            new TextDecoder().decode(buffer)];)"),
            R"([true,19,"{\"a\":[1,2],\"b\":\"x\"}"])");
  EXPECT_EQ(Eval(R"(
    const stream = await env.KV.get('j', 'stream');
    const text = await new Response(stream).text();
    return [stream instanceof ReadableStream, text];)"),
            R"([true,"{\"a\":[1,2],\"b\":\"x\"}"])");
  EXPECT_EQ(Eval("return await env.KV.get('missing', 'stream')"), "null");
  // JSON that does not parse rejects the get with a SyntaxError.
  EXPECT_EQ(Eval("await env.KV.put('bad', '{nope'); return await env.KV.get('bad', 'json')"),
            std::string("threw SyntaxError: ") +
                "Unexpected token n in JSON at position 1");

  // Every kind of value a put accepts.
  EXPECT_EQ(Eval(R"(
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252]);
    await env.KV.put('buffer', bytes.buffer);
    await env.KV.put('view', bytes.subarray(2, 5));
    await env.KV.put('dataview', new DataView(bytes.buffer, 1, 2));
    await env.KV.put('int16', new Int16Array([1, -1]));
    await env.KV.put('stream', new ReadableStream({
      start(c) { c.enqueue(new TextEncoder().encode('str')); c.enqueue(new Uint8Array([101, 97, 109])); c.close(); },
    }));
    const read = async (k) => [...new Uint8Array(await env.KV.get(k, 'arrayBuffer'))];
    return [await read('buffer'), await read('view'), await read('dataview'), await read('int16'),
            await env.KV.get('stream')];)"),
            R"([[0,1,2,250,251,252],[2,250,251],[1,2],[1,0,255,255],"stream"])");
  // The value is taken when put() is called.
  EXPECT_EQ(Eval(R"(
    const bytes = new Uint8Array([1, 2, 3]);
    const done = env.KV.put('snapshot', bytes);
    bytes[0] = 9;
    await done;
    return [...new Uint8Array(await env.KV.get('snapshot', 'arrayBuffer'))];)"),
            "[1,2,3]");
  EXPECT_EQ(Eval("await env.KV.put('empty', ''); return await env.KV.get('empty')"), R"("")");
  EXPECT_EQ(Eval("return (await env.KV.get('empty', 'arrayBuffer')).byteLength"), "0");
  // Binary read back as text is decoded with replacement characters.
  EXPECT_EQ(Eval("await env.KV.put('bin', new Uint8Array([104, 255, 105])); return await env.KV.get('bin')"),
            R"("h�i")");
}

TEST_F(KvBindingTest, MetadataAndExpiration) {
  EXPECT_EQ(Eval(R"(
    await env.KV.put('m', 'value', { metadata: { tag: 'x', n: 1 } });
    return await env.KV.getWithMetadata('m');)"),
            R"({"value":"value","metadata":{"tag":"x","n":1},"cacheStatus":null})");
  EXPECT_EQ(Eval("return await env.KV.getWithMetadata('missing')"),
            R"({"value":null,"metadata":null,"cacheStatus":null})");
  EXPECT_EQ(Eval("await env.KV.put('plain', 'v'); return await env.KV.getWithMetadata('plain', 'json').catch(e => e.name)"),
            R"("SyntaxError")");
  EXPECT_EQ(Eval(R"(
    await env.KV.put('plain', '[1]');
    return await env.KV.getWithMetadata('plain', { type: 'json' });)"),
            R"({"value":[1],"metadata":null,"cacheStatus":null})");
  EXPECT_EQ(Eval(R"(
    const { value, metadata } = await env.KV.getWithMetadata('m', 'stream');
    return [await new Response(value).text(), metadata];)"),
            R"(["value",{"tag":"x","n":1}])");

  // expirationTtl: visible now, gone once the store's clock passes it.
  EXPECT_EQ(Eval(R"(
    const before = Math.floor(Date.now() / 1000);
    await env.KV.put('ttl', 'soon gone', { expirationTtl: 60, metadata: 'm' });
    await env.KV.put('at', 'later', { expiration: before + 3600 });
    const { keys } = await env.KV.list();
    const ttl = keys.find((k) => k.name === 'ttl');
    const at = keys.find((k) => k.name === 'at');
    return [ttl.expiration - before >= 60 && ttl.expiration - before <= 61, ttl.metadata,
            at.expiration === before + 3600, 'metadata' in at, await env.KV.get('ttl')];)"),
            R"([true,"m",true,false,"soon gone"])");
  store_->AdvanceClockForTesting(120);
  EXPECT_EQ(Eval(R"(
    const { keys } = await env.KV.list();
    return [await env.KV.get('ttl'), (await env.KV.getWithMetadata('ttl')).value,
            keys.map((k) => k.name)];)"),
            R"([null,null,["at","m","plain"]])");
  store_->AdvanceClockForTesting(-120);
}

TEST_F(KvBindingTest, GetManyKeys) {
  EXPECT_EQ(Eval(R"(
    await env.KV.put('a', '1', { metadata: { m: 'a' } });
    await env.KV.put('b', '{"x":2}');
    const map = await env.KV.get(['a', 'b', 'zz']);
    return [map instanceof Map, [...map.entries()]];)"),
            R"([true,[["a","1"],["b","{\"x\":2}"],["zz",null]]])");
  EXPECT_EQ(Eval("return [...(await env.KV.get(['b'], 'json')).entries()]"), R"([["b",{"x":2}]])");
  EXPECT_EQ(Eval("return [...(await env.KV.get(['b'], { type: 'json', cacheTtl: 120 })).entries()]"),
            R"([["b",{"x":2}]])");
  EXPECT_EQ(Eval("return [...(await env.KV.getWithMetadata(['a', 'zz'])).entries()]"),
            R"([["a",{"value":"1","metadata":{"m":"a"}}],["zz",{"value":null,"metadata":null}]])");
  EXPECT_EQ(Eval("return (await env.KV.get([])).size"), "0");
  EXPECT_EQ(Eval(R"(
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => env.KV.put(k, k.toUpperCase())));
    const map = await env.KV.get(keys);
    return [map.size, map.get('k0'), map.get('k99')];)"),
            R"([100,"K0","K99"])");
  EXPECT_EQ(Eval("return await env.KV.get(Array.from({ length: 101 }, (_, i) => `k${i}`))"),
            "threw Error: KV GET_BULK failed: 400 Too many keys: 101 were requested, at most 100 "
            "can be read at once.");
  EXPECT_EQ(Eval("return await env.KV.get(['a'], 'arrayBuffer')"),
            "threw Error: KV GET_BULK failed: 400 \"arrayBuffer\" is not a valid type for several "
            "keys. Use \"json\" or \"text\".");
  EXPECT_EQ(Eval("return await env.KV.get(['a', ''])"), "threw TypeError: Key name cannot be empty.");
}

TEST_F(KvBindingTest, ListPagesWithCursorUntilComplete) {
  EXPECT_EQ(Eval(R"(
    const names = [];
    for (let i = 0; i < 45; i++) names.push(`user:${String(i).padStart(2, '0')}`);
    names.push('a', 'user', 'users', 'zeta');
    // Written out of order and all at once.
    await Promise.all(names.reverse().map((n) => env.KV.put(n, 'v', n === 'user:07' ? { metadata: [7] } : {})));
    await env.OTHER.put('user:99', 'not in this namespace');

    const seen = [];
    let cursor;
    let pages = 0;
    let shapes = [];
    for (;;) {
      const page = await env.KV.list({ prefix: 'user:', limit: 10, cursor });
      pages++;
      shapes.push(Object.keys(page).join(','));
      for (const key of page.keys) seen.push(key.name);
      if (page.list_complete) break;
      cursor = page.cursor;
    }
    const all = await env.KV.list();
    const sorted = [...seen].sort();
    return [pages, seen.length, seen.join() === sorted.join(), seen[0], seen[44], shapes,
            all.keys.length, all.list_complete, all.keys[0], all.keys.find((k) => k.name === 'user:07')];)"),
            R"([5,45,true,"user:00","user:44",)"
            R"(["keys,list_complete,cursor,cacheStatus","keys,list_complete,cursor,cacheStatus",)"
            R"("keys,list_complete,cursor,cacheStatus","keys,list_complete,cursor,cacheStatus",)"
            R"("keys,list_complete,cacheStatus"],)"
            R"(49,true,{"name":"a"},{"name":"user:07","metadata":[7]}])");
  // limit that is not positive means the default; more than 1000 is refused.
  EXPECT_EQ(Eval("return (await env.KV.list({ limit: 0 })).keys.length"), "49");
  EXPECT_EQ(Eval("return (await env.KV.list({ limit: 1 })).keys.length"), "1");
  EXPECT_EQ(Eval("return (await env.KV.list({ limit: 1000 })).keys.length"), "49");
  EXPECT_EQ(Eval("return await env.KV.list({ limit: 1001 })"),
            "threw Error: KV GET failed: 400 Invalid key_count_limit of 1001. Please specify an "
            "integer less than or equal to 1000.");
  EXPECT_EQ(Eval("return await env.KV.list({ cursor: '!!' })"),
            "threw Error: KV GET failed: 400 Invalid cursor.");
  EXPECT_EQ(Eval("return (await env.OTHER.list()).keys"), R"([{"name":"user:99"}])");
  EXPECT_EQ(Eval("return (await env.OTHER.list({ prefix: 'zzz' }))"),
            R"({"keys":[],"list_complete":true,"cacheStatus":null})");
}

TEST_F(KvBindingTest, KeyLimits) {
  EXPECT_EQ(Eval("return await env.KV.get('')"), "threw TypeError: Key name cannot be empty.");
  EXPECT_EQ(Eval("return await env.KV.put('.', 'v')"),
            "threw TypeError: \".\" is not allowed as a key name.");
  EXPECT_EQ(Eval("return await env.KV.delete('..')"),
            "threw TypeError: \"..\" is not allowed as a key name.");
  EXPECT_EQ(Eval("return await env.KV.get()"),
            "threw TypeError: Failed to execute 'get' on 'KvNamespace': parameter 1 is not of type "
            "'string'.");
  // 512 bytes of UTF-8 is the most a key may have: 'é' is two bytes.
  EXPECT_EQ(Eval("await env.KV.put('é'.repeat(256), 'max'); return await env.KV.get('é'.repeat(256))"),
            R"("max")");
  EXPECT_EQ(Eval("return await env.KV.put('é'.repeat(256) + 'x', 'v')"),
            "threw Error: KV PUT failed: 414 UTF-8 encoded length of 513 exceeds key length limit "
            "of 512.");
  EXPECT_EQ(Eval("return await env.KV.get('k'.repeat(600))"),
            "threw Error: KV GET failed: 414 UTF-8 encoded length of 600 exceeds key length limit "
            "of 512.");
  EXPECT_EQ(Eval("return await env.KV.delete('😀'.repeat(129))"),
            "threw Error: KV DELETE failed: 414 UTF-8 encoded length of 516 exceeds key length "
            "limit of 512.");
  EXPECT_EQ(Eval("return await env.KV.list({ prefix: 'p'.repeat(513) })"),
            "threw Error: KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length limit "
            "of 512.");
  // Errors reject the promise; nothing throws synchronously.
  EXPECT_EQ(Eval("const p = env.KV.get(''); const isPromise = p instanceof Promise; "
                 "await p.catch(() => {}); return isPromise"),
            "true");
}

TEST_F(KvBindingTest, ValueMetadataAndTtlLimits) {
  EXPECT_EQ(Eval(R"(
    await env.KV.put('big', 'a'.repeat(25 * 1024 * 1024));
    return (await env.KV.get('big', 'arrayBuffer')).byteLength;)"),
            "26214400");
  EXPECT_EQ(Eval("return await env.KV.put('big', 'a'.repeat(25 * 1024 * 1024 + 1))"),
            "threw Error: KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.");
  EXPECT_EQ(Eval("return await env.KV.put('big', new Uint8Array(25 * 1024 * 1024 + 2))"),
            "threw Error: KV PUT failed: 413 Value length of 26214402 exceeds limit of 26214400.");
  EXPECT_EQ(Eval(R"(
    const chunk = new Uint8Array(1024 * 1024);
    let sent = 0;
    const stream = new ReadableStream({ pull(c) { if (sent++ < 30) c.enqueue(chunk); else c.close(); } });
    return await env.KV.put('big', stream);)"),
            "threw Error: KV PUT failed: 413 Value length of 27262976 exceeds limit of 26214400.");
  EXPECT_EQ(Eval("await env.KV.delete('big'); return await env.KV.put('k', { an: 'object' })"),
            "threw TypeError: KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and "
            "ReadableStreams as values.");
  EXPECT_EQ(Eval("return await env.KV.put('k', 'v', { metadata: 'x'.repeat(1022) })"), "undefined");
  EXPECT_EQ(Eval("return await env.KV.put('k', 'v', { metadata: 'x'.repeat(1023) })"),
            "threw Error: KV PUT failed: 413 Metadata length of 1025 exceeds limit of 1024.");
  EXPECT_EQ(Eval("return await env.KV.put('k', 'v', { expirationTtl: 30 })"),
            "threw Error: KV PUT failed: 400 Invalid expiration_ttl of 30. Expiration TTL must be at "
            "least 60.");
  EXPECT_EQ(Eval("return await env.KV.put('k', 'v', { expirationTtl: 0 })"),
            "threw Error: KV PUT failed: 400 Invalid expiration_ttl of 0. Please specify integer "
            "greater than 0.");
  EXPECT_EQ(Eval("return await env.KV.put('k', 'v', { expirationTtl: 'soon' })"),
            "threw Error: KV PUT failed: 400 Invalid expiration_ttl of soon. Please specify integer "
            "greater than 0.");
  EXPECT_EQ(Eval("return await env.KV.put('k', 'v', { expiration: 1000 })"),
            "threw Error: KV PUT failed: 400 Invalid expiration of 1000. Please specify integer "
            "greater than the current number of seconds since the UNIX epoch.");
  EXPECT_EQ(Eval("const at = Math.floor(Date.now() / 1000) + 30; "
                 "return await env.KV.put('k', 'v', { expiration: at }).catch((e) => e.message.replace(at, 'AT'))"),
            R"("KV PUT failed: 400 Invalid expiration of AT. Expiration times must be at least 60 seconds in the future.")");
  EXPECT_EQ(Eval("return await env.KV.put('k', 'v', { expiration: Math.floor(Date.now() / 1000) + 90 })"),
            "undefined");
  EXPECT_EQ(Eval("return await env.KV.get('k', { cacheTtl: 10 })"),
            "threw Error: KV GET failed: 400 Invalid cache_ttl of 10. Cache TTL must be at least 60.");
  EXPECT_EQ(Eval("return await env.KV.get('k', { type: 'blob' })"),
            "threw TypeError: Unknown response type. Possible types are \"text\", \"arrayBuffer\", "
            "\"json\", and \"stream\".");
  EXPECT_EQ(Eval("return await env.KV.get('k', 'bytes')"),
            "threw TypeError: Unknown response type. Possible types are \"text\", \"arrayBuffer\", "
            "\"json\", and \"stream\".");
}

TEST_F(KvBindingTest, NamespacesAreIsolatedAndSharedAcrossWorkers) {
  EXPECT_EQ(Eval(R"(
    await env.KV.put('same', 'one');
    await env.OTHER.put('same', 'two');
    return [await env.KV.get('same'), await env.OTHER.get('same')];)"),
            R"(["one","two"])");
  // Another worker (a reload) with the same store sees the data.
  auto second = LoadOrDie(kWorker);
  ASSERT_TRUE(second);
  Fetch(*second);
  EXPECT_EQ(EvalIn(*second, "return await env.OTHER.get('same')"), R"("two")");
  EXPECT_EQ(Eval(R"(
    return [Object.prototype.toString.call(env.KV), env.KV === env.KV,
            (() => { try { new env.KV.constructor(); } catch (e) { return e.message; } })()];)"),
            R"(["[object KvNamespace]",true,"Illegal constructor"])");
}

TEST_F(KvBindingTest, ConcurrentOperationsFromOneIsolate) {
  EXPECT_EQ(Eval(R"(
    const keys = Array.from({ length: 200 }, (_, i) => `c${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((k) => env.KV.put(k, k)));
    const values = await Promise.all(keys.map((k) => env.KV.get(k)));
    const { keys: listed } = await env.KV.list({ prefix: 'c' });
    await Promise.all(keys.slice(0, 100).map((k) => env.KV.delete(k)));
    const after = await env.KV.list({ prefix: 'c' });
    return [values.every((v, i) => v === keys[i]), listed.length, after.keys.length, after.keys[0].name];)"),
            R"([true,200,100,"c100"])");
}

// "/queue" starts 500 reads and answers at once (`queue` says how: the
// statements that start them); "/count" does reads of its own, which queue
// behind whatever is left of the 500, then answers how many of the 500 had
// settled, so its count is final.
std::string QueueingWorker(const std::string& queue) {
  return R"(
    let settled = 0;
    export default {
      async fetch(request, env, ctx) {
        if (new URL(request.url).pathname === "/queue") {
          )" + queue + R"(
          return new Response("queued");
        }
        for (let i = 0; i < 8; i++) await env.KV.get("mine");
        return new Response(String(settled));
      },
    };)";
}

// When the request's invocation ends, the reads not started are dropped and
// the results of the ones running never reach JavaScript, even with
// Promise.prototype.then poisoned.
TEST_F(KvBindingTest, ReadsAnEndedRequestLeftQueuedNeverReachJavaScript) {
  auto worker = LoadOrDie(QueueingWorker(R"(
    for (let i = 0; i < 500; i++) env.KV.get("k" + i).then(() => settled++, () => settled++);
    Promise.prototype.then = function () { throw new Error("poisoned then"); };)"));
  ASSERT_TRUE(worker);
  auto queued = Fetch(*worker, "GET", "http://localhost/queue");
  ASSERT_TRUE(queued->finished) << queued->failure;
  EXPECT_EQ(queued->body, "queued");
  auto count = Fetch(*worker, "GET", "http://localhost/count");
  ASSERT_TRUE(count->finished) << count->failure;
  EXPECT_EQ(count->body, "0");
  EXPECT_EQ(worker->natives_cancelled(), 500u);
}

// The same reads given to waitUntil all settle.
TEST_F(KvBindingTest, ReadsInWaitUntilSettleAfterTheResponse) {
  auto worker = LoadOrDie(QueueingWorker(R"(
    const reads = [];
    for (let i = 0; i < 500; i++) reads.push(env.KV.get("k" + i).then(() => settled++));
    ctx.waitUntil(Promise.all(reads));)"));
  ASSERT_TRUE(worker);
  auto queued = Fetch(*worker, "GET", "http://localhost/queue");
  EXPECT_EQ(queued->body, "queued");
  RunUntil([&] { return worker->holds() == 0; });
  auto count = Fetch(*worker, "GET", "http://localhost/count");
  EXPECT_EQ(count->body, "500");
  EXPECT_EQ(worker->natives_cancelled(), 0u);
}

// KV in a worker's global scope is refused with Workers' error (a module's
// top level has no env; the natives refuse anyway).
TEST_F(KvBindingTest, RefusedInTheGlobalScope) {
  expose_natives_ = true;
  auto worker = LoadOrDie(R"(
    let seen = "none";
    try { __native.kvGet(0, "k", 0, false); seen = "called"; } catch (e) { seen = e.message; }
    export default { fetch() { return new Response(seen); } };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker);
  EXPECT_EQ(response->body, runtime::kGlobalScopeError);
}

class KvWithoutStoreTest : public WorkerFixture {
 protected:
  KvWithoutStoreTest() {
    RegisterKvNativesOnce(natives_);
    bindings_ = {{"KV", "kv", {{"namespace", "x"}}}};
  }
};

TEST_F(KvWithoutStoreTest, SaysSo) {
  auto worker = LoadOrDie(kWorker);
  ASSERT_TRUE(worker);
  Fetch(*worker);
  auto result = Run(*worker, "env.KV.get('k').catch((e) => `${e.name}: ${e.message}`)");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, "Error: KV is not available: this host was started without a KV store");
}

}  // namespace
}  // namespace edge::bindings
