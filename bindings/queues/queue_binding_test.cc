// Workers Queues through a real worker: env.Q backed by a QueueStore in a
// temporary folder (every send, every limit and error as worker code sees
// it, a hostile tenant's tricks), and the queue handler run by
// Worker::Queue with the decisions it sends back.
#include <gtest/gtest.h>

#include "bindings/binding_services.h"
#include "bindings/queues/queue_engine.h"
#include "bindings/queues/queue_store.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::bindings {
void RegisterQueueNatives(runtime::NativeRegistry& registry);

namespace {
using runtime::testing::MemorySink;
using runtime::testing::WorkerFixture;

constexpr char kProducer[] = R"(
export default {
  async fetch(request, env) {
    globalThis.env = env;
    return new Response("ready");
  },
};
)";

class QueueBindingTest : public WorkerFixture {
 protected:
  QueueBindingTest() {
    bool registered = false;
    for (const auto& entry : natives_.entries()) registered |= entry.name == "queueSend";
    if (!registered) RegisterQueueNatives(natives_);
    auto store = QueueStore::Open(dir_ + "/.edge/state", {.account_quota_bytes = 4u << 20},
                                  [this] { return now_; });
    EXPECT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    EXPECT_TRUE(store_->CreateQueue("acct", "jobs").ok());
    auto services = std::make_shared<BindingServices>();
    services->queues = store_;
    services_ = services;
    bindings_ = {{"Q", "queue", {{"queue", "jobs"}, {"account", "acct"}}},
                 {"GONE", "queue", {{"queue", "missing"}, {"account", "acct"}}}};
  }

  void LoadProducer() {
    worker_ = LoadOrDie(kProducer);
    ASSERT_TRUE(worker_);
    ASSERT_EQ(Fetch(*worker_)->body, "ready");
  }

  std::string Eval(const std::string& body) {
    std::string script = "(async () => {\n" + body +
                         "\n})().then((r) => JSON.stringify(r), "
                         "(e) => `threw ${e.name}: ${e.message}`)";
    auto result = Run(*worker_, script);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? *result : "<script failed>";
  }

  std::vector<QueueMessage> Stored() {
    auto leased = store_->Lease("acct", "jobs", 100);
    EXPECT_TRUE(leased.ok());
    return leased.ok() ? *leased : std::vector<QueueMessage>{};
  }

  // Runs `worker`'s queue handler on `messages`.
  std::shared_ptr<MemorySink> Deliver(runtime::Worker& worker,
                                      std::vector<runtime::QueueEventMessage> messages) {
    auto sink = std::make_shared<MemorySink>();
    worker.Queue({"jobs", std::move(messages)}, sink);
    RunUntil([&] { return sink->done(); });
    return sink;
  }

  static runtime::QueueEventMessage Message(std::string id, std::string body,
                                            std::string type = "json", uint32_t attempts = 1) {
    return {std::move(id), 1700000000000, std::move(body), std::move(type), attempts};
  }

  int64_t now_ = 1700000000000;
  std::shared_ptr<QueueStore> store_;
  std::unique_ptr<runtime::Worker> worker_;
};

TEST_F(QueueBindingTest, SendStoresEachContentType) {
  LoadProducer();
  EXPECT_EQ(Eval("return String(env.Q)"), R"("[object Queue]")");
  EXPECT_EQ(Eval("return await env.Q.send({ a: 1 })"), "undefined");
  EXPECT_EQ(Eval("return await env.Q.send('plain', { contentType: 'text' })"), "undefined");
  EXPECT_EQ(Eval("return await env.Q.send(new Uint8Array([1, 2, 3]), { contentType: 'bytes' })"),
            "undefined");
  EXPECT_EQ(Eval("return await env.Q.send(new Map([[1, 2]]), { contentType: 'V8' })"), "undefined");
  auto stored = Stored();
  ASSERT_EQ(stored.size(), 4u);
  EXPECT_EQ(stored[0].content_type, "json");
  EXPECT_EQ(stored[0].body, R"({"a":1})");
  EXPECT_EQ(stored[1].content_type, "text");
  EXPECT_EQ(stored[1].body, "plain");
  EXPECT_EQ(stored[2].content_type, "bytes");
  EXPECT_EQ(stored[2].body, std::string("\x01\x02\x03", 3));
  EXPECT_EQ(stored[3].content_type, "v8");
}

TEST_F(QueueBindingTest, SendBatchIsAllOrNothing) {
  LoadProducer();
  EXPECT_EQ(Eval("return await env.Q.sendBatch([{ body: 1 }, { body: 'x', contentType: 'text' }], "
                 "{ delaySeconds: 0 })"),
            "undefined");
  EXPECT_EQ(Stored().size(), 2u);
  // The second message is refused, so the first is not stored either.
  EXPECT_EQ(Eval("return await env.Q.sendBatch([{ body: 1 }, { body: 2, contentType: 'text' }])"),
            R"(threw TypeError: Content Type "text" requires a value of type string, but received: number)");
  EXPECT_EQ(store_->Info("acct", "jobs")->depth, 2u);
  // Any iterable will do.
  EXPECT_EQ(Eval("return await env.Q.sendBatch(new Set([{ body: 'a' }]))"), "undefined");
}

TEST_F(QueueBindingTest, WorkersErrorsAndLimits) {
  LoadProducer();
  EXPECT_EQ(Eval("return await env.Q.send(undefined)"),
            R"(threw TypeError: Message body cannot be undefined)");
  EXPECT_EQ(Eval("return await env.Q.send()"),
            R"(threw TypeError: Failed to execute 'send' on 'Queue': 1 argument required, but only 0 present.)");
  EXPECT_EQ(Eval("return await env.Q.send(1, { contentType: 'xml' })"),
            R"(threw TypeError: Unsupported queue message content type: xml)");
  EXPECT_EQ(Eval("return await env.Q.send(1, { contentType: 'bytes' })"),
            R"(threw TypeError: Content Type "bytes" requires a value of type ArrayBufferView, but received: number)");
  EXPECT_EQ(Eval("return await env.Q.send(() => 1)"),
            R"(threw TypeError: Content Type "json" requires a value that JSON.stringify can serialize)");
  EXPECT_EQ(Eval("return await env.Q.send(1, { delaySeconds: 43201 })"),
            R"x(threw RangeError: delaySeconds must be a number from 0 to 43200 (got 43201))x");
  EXPECT_EQ(Eval("return await env.Q.send(1, { delaySeconds: -1 })").substr(0, 16), "threw RangeError");
  EXPECT_EQ(Eval("return await env.Q.send('x'.repeat(128 * 1024 + 1), { contentType: 'text' })"),
            R"(threw Error: Queue send failed: message length of 131073 bytes exceeds limit of 131072 bytes)");
  EXPECT_EQ(Eval("return await env.Q.send('x'.repeat(128 * 1024), { contentType: 'text' })"), "undefined");
  EXPECT_EQ(Eval("return await env.Q.sendBatch([])"),
            R"(threw TypeError: sendBatch() requires at least one message)");
  EXPECT_EQ(Eval("return await env.Q.sendBatch(Array.from({ length: 101 }, () => ({ body: 1 })))"),
            R"(threw RangeError: Queue sendBatch failed: batch of 101 messages exceeds the limit of 100 messages)");
  EXPECT_EQ(Eval("return await env.Q.sendBatch(Array.from({ length: 3 }, () => ({ body: 'x'.repeat(100000), contentType: 'text' })))"),
            R"(threw Error: Queue sendBatch failed: batch of more than 262144 bytes exceeds the limit of 262144 bytes)");
  EXPECT_EQ(Eval("return await env.GONE.send(1)"),
            R"(threw Error: Queue send failed: Queue "missing" does not exist)");
  EXPECT_EQ(Eval("try { new env.Q.constructor(); } catch (e) { return e.name; }"), R"("TypeError")");
  EXPECT_EQ(store_->Info("acct", "jobs")->depth, 1u);
}

TEST_F(QueueBindingTest, AFullQuotaRefusesSends) {
  LoadProducer();
  // 4 MiB of quota: 32 messages of 128 KiB fill it.
  EXPECT_EQ(Eval("for (let i = 0; i < 40; i++) {"
                 "  try { await env.Q.send('x'.repeat(128 * 1024), { contentType: 'text' }); }"
                 "  catch (e) { return [i, e.message.slice(0, 56)]; }"
                 "} return 'never full';"),
            R"([31,"Queue send failed: the account's queue storage is full ("])");
}

TEST_F(QueueBindingTest, HostileArguments) {
  LoadProducer();
  // Options and bodies whose getters, toString or valueOf throw.
  EXPECT_EQ(Eval("return await env.Q.send(1, { get contentType() { throw new EvalError('ct'); } })"),
            R"(threw EvalError: ct)");
  EXPECT_EQ(Eval("return await env.Q.send(1, { delaySeconds: { valueOf() { throw new EvalError('d'); } } })"),
            R"(threw EvalError: d)");
  EXPECT_EQ(Eval("return await env.Q.send(1, { contentType: { toString() { throw new EvalError('s'); } } })"),
            R"(threw EvalError: s)");
  EXPECT_EQ(Eval("return await env.Q.send({ get x() { throw new EvalError('body'); } })"),
            R"(threw EvalError: body)");
  EXPECT_EQ(Eval("return await env.Q.send({ get x() { throw new EvalError('v8'); } }, { contentType: 'v8' })"),
            R"(threw EvalError: v8)");
  EXPECT_EQ(Eval("return await env.Q.send({ toJSON() { throw new EvalError('json'); } })"),
            R"(threw EvalError: json)");
  // Proxies: a revoked one cannot be stringified or cloned.
  EXPECT_EQ(Eval("const { proxy, revoke } = Proxy.revocable({}, {}); revoke();"
                 "return await env.Q.send(proxy)"),
            R"(threw TypeError: Cannot perform 'get' on a proxy that has been revoked)");
  EXPECT_EQ(Eval("const { proxy, revoke } = Proxy.revocable({}, {}); revoke();"
                 "return (await env.Q.send(proxy, { contentType: 'v8' }).catch((e) => e.name))"),
            R"("DataCloneError")");
  EXPECT_EQ(Eval("return (await env.Q.send(new Proxy({}, {}), { contentType: 'v8' }).catch((e) => e.name))"),
            R"("DataCloneError")");
  // A batch that claims a huge length is refused before any item is read.
  EXPECT_EQ(Eval("const p = new Proxy([], { get(t, k) { if (k === 'length') return 2 ** 32 - 1; throw new Error('read ' + String(k)); } });"
                 "return await env.Q.sendBatch(p)").substr(0, 16),
            "threw RangeError");
  // An iterable that never ends is cut at the limit.
  EXPECT_EQ(Eval("const endless = { *[Symbol.iterator]() { for (;;) yield { body: 1 }; } };"
                 "return await env.Q.sendBatch(endless)"),
            R"(threw RangeError: Queue sendBatch failed: batch of more than 100 messages exceeds the limit of 100 messages)");
  EXPECT_EQ(Eval("return await env.Q.sendBatch([null])"),
            R"(threw TypeError: Failed to execute 'sendBatch' on 'Queue': message 0 is not an object.)");
  EXPECT_EQ(store_->Info("acct", "jobs")->depth, 0u);
}

TEST_F(QueueBindingTest, PoisonedPrototypesChangeNothing) {
  LoadProducer();
  EXPECT_EQ(Eval(R"(
    const saved = { then: Promise.prototype.then, iterator: Array.prototype[Symbol.iterator],
                    push: Array.prototype.push, stringify: JSON.stringify };
    let seen = 0;
    Object.defineProperty(Object.prototype, "contentType", { get() { seen++; return "xml"; }, configurable: true });
    Object.defineProperty(Object.prototype, "delaySeconds", { get() { seen++; return 99999; }, configurable: true });
    Object.defineProperty(Array.prototype, "0", { set(v) { throw new Error("setter"); }, configurable: true });
    Array.prototype.push = () => { throw new Error("push"); };
    Array.prototype[Symbol.iterator] = function* () { throw new Error("iterator"); };
    JSON.stringify = () => { throw new Error("stringify"); };
    Promise.prototype.then = function () { throw new Error("then"); };
    let result;
    try {
      // Own options win; the Object.prototype getters are what an absent
      // key reads, as on Workers: contentType "xml" is refused.
      const p = env.Q.send({ n: 1 }, { contentType: "json", delaySeconds: 0 });
      const refused = env.Q.send({ n: 2 }, {});
      result = [p instanceof Promise, refused instanceof Promise];
      globalThis.pending = [p, refused];
    } finally {
      Promise.prototype.then = saved.then;
      Array.prototype[Symbol.iterator] = saved.iterator;
      Array.prototype.push = saved.push;
      JSON.stringify = saved.stringify;
      delete Array.prototype[0];
      delete Object.prototype.contentType;
      delete Object.prototype.delaySeconds;
    }
    const [ok, refused] = await Promise.allSettled(globalThis.pending);
    return [result, ok.status, refused.status, refused.reason.message];
  )"),
            R"([[true,true],"fulfilled","rejected","Unsupported queue message content type: xml"])");
  auto stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].body, R"({"n":1})");
}

TEST_F(QueueBindingTest, ConsumerSeesWorkersMessageBatch) {
  auto worker = LoadOrDie(R"(
    export default {
      async queue(batch, env, ctx) {
        globalThis.seen = {
          queue: batch.queue,
          count: batch.messages.length,
          frozen: Object.isFrozen(batch.messages),
          ids: batch.messages.map((m) => m.id),
          bodies: batch.messages.map((m) => m.body instanceof ArrayBuffer ? [...new Uint8Array(m.body)] : m.body),
          timestamp: batch.messages[0].timestamp instanceof Date && batch.messages[0].timestamp.getTime(),
          attempts: batch.messages.map((m) => m.attempts),
          tag: String(batch), message: String(batch.messages[0]),
        };
        batch.messages[0].ack();
        batch.messages[1].retry({ delaySeconds: 30 });
        batch.messages[1].ack();  // after retry(): no effect
        batch.messages[2].retry();
        batch.ackAll();            // the rest: acked
      },
    };
  )");
  ASSERT_TRUE(worker);
  auto sink = Deliver(*worker, {Message("a", R"({"k":[1]})"), Message("b", "text", "text", 2),
                                Message("c", std::string("\x05\x06", 2), "bytes"), Message("d", "null")});
  EXPECT_TRUE(sink->finished) << sink->failure;
  EXPECT_EQ(sink->status, 200);
  EXPECT_EQ(sink->body, "[-2,30,-3,-2]");
  EXPECT_EQ(*Run(*worker, "JSON.stringify(globalThis.seen)"),
            R"({"queue":"jobs","count":4,"frozen":true,"ids":["a","b","c","d"],"bodies":[{"k":[1]},"text",[5,6],null],"timestamp":1700000000000,"attempts":[1,2,1,1],"tag":"[object MessageBatch]","message":"[object Message]"})");
}

TEST_F(QueueBindingTest, AThrowingHandlerKeepsItsAcks) {
  auto worker = LoadOrDie(R"(
    export default {
      queue(batch) {
        batch.messages[0].ack();
        throw new Error("consumer failed");
      },
    };
  )");
  ASSERT_TRUE(worker);
  auto sink = Deliver(*worker, {Message("a", "1"), Message("b", "2")});
  EXPECT_TRUE(sink->failed);
  EXPECT_EQ(sink->body, "[-2,-1]");
  EXPECT_EQ(ParseQueueDecisions(sink->body), (std::vector<int64_t>{-2, -1}));
}

TEST_F(QueueBindingTest, ServiceWorkerFormAndRetryAll) {
  auto worker = LoadOrDie(R"(
    addEventListener("queue", (event) => {
      event.retryAll({ delaySeconds: 5 });
      event.ackAll();  // after retryAll(): no effect
      event.waitUntil(Promise.resolve());
      globalThis.queueName = event.queue;
    });
  )");
  ASSERT_TRUE(worker);
  auto sink = Deliver(*worker, {Message("a", "1"), Message("b", "2")});
  EXPECT_TRUE(sink->finished) << sink->failure;
  EXPECT_EQ(sink->body, "[5,5]");
  EXPECT_EQ(*Run(*worker, "globalThis.queueName"), "jobs");
}

TEST_F(QueueBindingTest, RetryChecksItsDelay) {
  auto worker = LoadOrDie(R"(
    export default {
      queue(batch) {
        try { batch.messages[0].retry({ delaySeconds: 43201 }); } catch (e) { globalThis.error = e.name; }
        batch.retryAll({ delaySeconds: "7" });
      },
    };
  )");
  auto sink = Deliver(*worker, {Message("a", "1")});
  EXPECT_EQ(sink->body, "[7]");
  EXPECT_EQ(*Run(*worker, "globalThis.error"), "RangeError");
}

TEST_F(QueueBindingTest, NoQueueHandlerFails) {
  auto worker = LoadOrDie("export default { fetch() { return new Response('x'); } };");
  auto sink = Deliver(*worker, {Message("a", "1")});
  EXPECT_TRUE(sink->failed);
  EXPECT_EQ(sink->body, "[-1]");
}

TEST_F(QueueBindingTest, AHandlerThatNeverSettlesIsStoppedByTheCpuLimit) {
  background_cpu_limit_ms_ = 200;
  cpu_limit_ms_ = 50;
  auto worker = LoadOrDie("export default { queue() { for (;;) {} } };");
  auto sink = Deliver(*worker, {Message("a", "1")});
  EXPECT_TRUE(sink->failed);
  EXPECT_EQ(sink->limit, LimitKind::kCpu);
  EXPECT_TRUE(ParseQueueDecisions(sink->body).empty());
}

TEST_F(QueueBindingTest, AV8BodyIsAStructuredClone) {
  LoadProducer();
  EXPECT_EQ(Eval("return await env.Q.send({ when: new Date(5), set: new Set([1]), big: 2n ** 70n }, { contentType: 'v8' })"),
            "undefined");
  auto stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  auto worker = LoadOrDie(R"(
    export default {
      queue(batch) {
        const b = batch.messages[0].body;
        globalThis.clone = [b.when instanceof Date, b.when.getTime(), b.set.has(1), String(b.big)];
      },
    };
  )");
  auto sink = Deliver(*worker, {Message("a", stored[0].body, "v8")});
  EXPECT_TRUE(sink->finished) << sink->failure;
  EXPECT_EQ(*Run(*worker, "JSON.stringify(globalThis.clone)"), R"([true,5,true,"1180591620717411303424"])");
}

}  // namespace
}  // namespace edge::bindings
