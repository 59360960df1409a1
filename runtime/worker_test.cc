#include "runtime/worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "runtime/request_chain.h"
#include "runtime/testing/worker_fixture.h"
#include "runtime/thread_pool_queue.h"
#include "runtime/watchdog.h"

namespace edge::runtime::testing {
namespace {

using ::testing::HasSubstr;
using WorkerTest = WorkerFixture;

TEST_F(WorkerTest, ModuleWorkerAnswers) {
  auto worker = LoadOrDie(R"(
    export default {
      async fetch(request, env, ctx) {
        return new Response("hello " + new URL(request.url).pathname, {
          headers: { "x-method": request.method },
        });
      },
    };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker, "POST", "http://localhost/a/b");
  ASSERT_TRUE(response->finished) << response->failure;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello /a/b");
  EXPECT_EQ(response->Header("x-method"), "POST");
  EXPECT_EQ(response->Header("content-type"), "text/plain;charset=UTF-8");
}

TEST_F(WorkerTest, ServiceWorkerScriptAnswers) {
  auto worker = LoadOrDie(R"(
    addEventListener("fetch", (event) => {
      event.respondWith(new Response("sw " + event.request.method));
    });)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker);
  ASSERT_TRUE(response->finished) << response->failure;
  EXPECT_EQ(response->body, "sw GET");
}

TEST_F(WorkerTest, GlobalStatePersistsAcrossRequests) {
  auto worker = LoadOrDie(R"(
    let count = 0;
    export default { fetch() { return new Response(String(++count)); } };)");
  ASSERT_TRUE(worker);
  EXPECT_EQ(Fetch(*worker)->body, "1");
  EXPECT_EQ(Fetch(*worker)->body, "2");
  EXPECT_EQ(Fetch(*worker)->body, "3");
}

TEST_F(WorkerTest, RelativeImportsAndCycles) {
  auto worker = LoadFiles({
      {"src/index.js",
       "import { a } from './lib/a.js'; import { b } from '../shared/b.mjs';\n"
       "export default { fetch() { return new Response(a() + b()); } };"},
      {"src/lib/a.js", "import { b } from '../../shared/b.mjs'; export const a = () => 'a';\n"
                       "export const fromA = () => b();"},
      {"shared/b.mjs", "import { a } from '../src/lib/a.js'; export const b = () => 'b';\n"
                       "export const fromB = () => a();"},
  }, "src/index.js");
  ASSERT_TRUE(worker.ok()) << worker.status().message();
  EXPECT_EQ(Fetch(**worker)->body, "ab");
  EXPECT_EQ((*worker)->module_paths().size(), 3u);
}

TEST_F(WorkerTest, SyntaxErrorNamesFileLineAndColumn) {
  std::string error = LoadError({{"index.js", "import './bad.js';\nexport default {};"},
                                 {"bad.js", "const x = 1;\nconst y = ;\n"}});
  EXPECT_THAT(error, HasSubstr("bad.js:2:11"));
  EXPECT_THAT(error, HasSubstr("SyntaxError"));
}

TEST_F(WorkerTest, MissingImportNamesTheImportingLine) {
  std::string error = LoadError({{"index.js", "// first\nimport x from './missing.js';\n"}});
  EXPECT_THAT(error, HasSubstr("index.js:2:"));
  EXPECT_THAT(error, HasSubstr("./missing.js"));
}

TEST_F(WorkerTest, WorkerWithoutHandlerIsRefused) {
  EXPECT_THAT(LoadError({{"index.js", "export default { nothing: 1 };"}}),
              HasSubstr("no fetch handler"));
}

TEST_F(WorkerTest, ThrowingHandlerGives500AndKeepsServing) {
  auto worker = LoadOrDie(R"(
    let n = 0;
    export default {
      fetch(request) {
        n++;
        if (request.url.endsWith("/throw")) throw new Error("boom");
        if (request.url.endsWith("/reject")) return Promise.reject(new TypeError("nope"));
        if (request.url.endsWith("/string")) return "not a response";
        return new Response("ok " + n);
      },
    };)");
  ASSERT_TRUE(worker);
  for (const char* path : {"/throw", "/reject", "/string"}) {
    auto failed = Fetch(*worker, "GET", std::string("http://localhost") + path);
    EXPECT_TRUE(failed->failed) << path;
    EXPECT_FALSE(failed->started) << path;
    EXPECT_EQ(failed->limit, LimitKind::kNone) << path;  // a throw is no limit kill
  }
  EXPECT_EQ(Fetch(*worker)->body, "ok 4");
}

TEST_F(WorkerTest, CodeGenerationFromStringsIsOff) {
  auto worker = LoadOrDie("export default { fetch() { return new Response('x'); } };");
  ASSERT_TRUE(worker);
  auto eval_result = Run(*worker, "try { eval('1+1'); 'allowed' } catch (e) { e.name }");
  ASSERT_TRUE(eval_result.ok());
  EXPECT_EQ(*eval_result, "EvalError");
  auto function_result = Run(*worker, "try { new Function('return 1'); 'allowed' } catch (e) { e.name }");
  ASSERT_TRUE(function_result.ok());
  EXPECT_EQ(*function_result, "EvalError");
  // The smallest valid module: "\0asm" and version 1.
  auto wasm_result = Run(*worker, R"(
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    WebAssembly.compile(bytes).then(() => 'allowed', (e) => e.name))");
  ASSERT_TRUE(wasm_result.ok()) << wasm_result.status().message();
  EXPECT_EQ(*wasm_result, "CompileError");
}

TEST_F(WorkerTest, HeapLimitStopsTheWorkerNotTheProcess) {
  heap_limit_bytes_ = 32u << 20;
  auto worker = LoadOrDie(R"(
    const hoard = [];
    export default {
      fetch(request) {
        if (request.url.endsWith("/grow")) {
          for (;;) hoard.push(new Array(100000).fill(hoard.length));
        }
        return new Response("fine");
      },
    };)");
  ASSERT_TRUE(worker);
  EXPECT_EQ(Fetch(*worker)->body, "fine");
  auto response = Fetch(*worker, "GET", "http://localhost/grow");
  ExpectFailed(*response, "Worker exceeded its memory limit of 32 MiB", LimitKind::kMemory);
  EXPECT_TRUE(worker->discarded());
  // A fresh load of the same spec serves again.
  auto fresh = Worker::Load(loop(), natives_, worker->spec());
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_EQ(Fetch(**fresh)->body, "fine");
}

TEST_F(WorkerTest, CpuLimitStopsARunawayHandler) {
  cpu_limit_ms_ = 100;
  auto worker = LoadOrDie(R"(
    export default {
      async fetch(request) {
        if (request.url.endsWith("/spin")) for (;;) {}
        if (request.url.endsWith("/spin-later")) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          for (;;) {}
        }
        return new Response("fine");
      },
    };)");
  ASSERT_TRUE(worker);
  bool told = false;
  worker->SetOnDiscard([&] { told = true; });
  EXPECT_EQ(Fetch(*worker)->body, "fine");
  auto response = Fetch(*worker, "GET", "http://localhost/spin");
  ExpectFailed(*response, "Worker exceeded its CPU time limit of 100 ms", LimitKind::kCpu);
  EXPECT_TRUE(worker->discarded());
  EXPECT_TRUE(told);

  // A runaway continuation (in a timer) is stopped too; its request stays
  // open until the owner discards the worker, which fails it.
  auto fresh = Worker::Load(loop(), natives_, worker->spec());
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  auto sink = std::make_shared<MemorySink>();
  FetchRequest request;
  request.method = "GET";
  request.url = "http://localhost/spin-later";
  (*fresh)->Fetch(std::move(request), sink);
  RunUntil([&] { return (*fresh)->discarded(); });
  EXPECT_TRUE((*fresh)->discarded());
  EXPECT_FALSE(sink->done());
  fresh->reset();
  EXPECT_TRUE(sink->failed);
  EXPECT_EQ(sink->limit, LimitKind::kCpu);
}

TEST_F(WorkerTest, CpuLimitStopsANodeZlibOneShotBetweenSlices) {
  // brotliCompressSync at quality 11 of 4 MiB takes seconds; it is
  // a loop of bounded native calls, so the CPU limit stops it soon after
  // the limit, not at its end.
  cpu_limit_ms_ = 100;
  compatibility_flags_ = {"nodejs_compat"};
  auto worker = LoadOrDie(R"(
    import zlib from "node:zlib";
    export default {
      async fetch(request) {
        const input = new Uint8Array(4 << 20);
        for (let i = 0; i < input.length; i += 65536) crypto.getRandomValues(input.subarray(i, i + 65536));
        if (request.url.endsWith("/gzip")) {
          // The same for a stream: each write's output is pulled in slices.
          const gzip = zlib.createGzip({ level: 9 });
          gzip.on("data", () => {});
          for (;;) gzip.write(input);
        }
        zlib.brotliCompressSync(input);
        return new Response("done");
      },
    };)");
  ASSERT_TRUE(worker);
  for (const char* url : {"http://localhost/brotli", "http://localhost/gzip"}) {
    auto started = std::chrono::steady_clock::now();
    auto response = Fetch(*worker, "GET", url);
    auto elapsed = std::chrono::steady_clock::now() - started;
    ExpectFailed(*response, "Worker exceeded its CPU time limit of 100 ms", LimitKind::kCpu);
    EXPECT_LT(elapsed, std::chrono::seconds(3)) << url;
    EXPECT_TRUE(worker->discarded());
    auto fresh = Worker::Load(loop(), natives_, worker->spec());
    ASSERT_TRUE(fresh.ok()) << fresh.status().message();
    worker = std::move(*fresh);
  }
}

TEST_F(WorkerTest, StartupOverTheCpuLimitIsRefused) {
  cpu_limit_ms_ = 100;
  auto worker = LoadFiles({{"index.js", "for (;;) {}\nexport default { fetch() {} };"}});
  ASSERT_FALSE(worker.ok());
  EXPECT_NE(worker.status().message().find("CPU time limit"), std::string::npos)
      << worker.status().message();
  EXPECT_EQ(worker.status().limit(), LimitKind::kStartupCpu);
}

TEST_F(WorkerTest, CpuLimitCountsEveryEntryOfTheRequest) {
  // Each entry stays under the limit; together they go over it. The spins
  // are measured in wall time, so a busy machine gives them less CPU: the
  // heavy request spins in up to 60 segments of 25 ms, which reach the
  // limit even with a small share of a core, and only if CPU is summed
  // across entries.
  cpu_limit_ms_ = 60;
  auto worker = LoadOrDie(R"(
    function spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} }
    export default {
      async fetch(request) {
        const segments = Number(new URL(request.url).searchParams.get("segments"));
        for (let i = 0; i < segments; i++) {
          spin(25);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        return new Response("survived");
      },
    };)");
  ASSERT_TRUE(worker);
  auto light = Fetch(*worker, "GET", "http://localhost/?segments=1");
  ASSERT_TRUE(light->finished) << light->failure;
  ASSERT_TRUE(light->cpu_ns.has_value());
  EXPECT_GT(*light->cpu_ns, 1'000'000u);
  EXPECT_LT(*light->cpu_ns, 60'000'000u);
  auto heavy = Fetch(*worker, "GET", "http://localhost/?segments=60");
  EXPECT_TRUE(worker->discarded());
  // Stopped in a later entry; the owner discards the isolate, which fails
  // the request with the limit's name.
  worker.reset();
  ExpectFailed(*heavy, "Worker exceeded its CPU time limit of 60 ms", LimitKind::kCpu);
}

TEST_F(WorkerTest, CryptoWorkOffTheThreadCountsAgainstTheCpuLimit) {
  // PBKDF2 runs on the thread pool (runtime/crypto/crypto_job.h), where the
  // watchdog cannot see it; its CPU is charged to the request all the same,
  // which is stopped at its next entry once over the limit. 200 derivations
  // at the iteration cap take seconds of CPU; each is a few tens of ms.
  cpu_limit_ms_ = 60;
  auto worker = LoadOrDie(R"(
    export default {
      async fetch(request) {
        const key = await crypto.subtle.importKey(
          "raw", new Uint8Array(8), "PBKDF2", false, ["deriveBits"]);
        const params = { name: "PBKDF2", hash: "SHA-512", salt: new Uint8Array(8),
                         iterations: 100000 };
        for (let i = 0; i < 200; i++) await crypto.subtle.deriveBits(params, key, 512);
        return new Response("survived");
      },
    };)");
  ASSERT_TRUE(worker);
  auto heavy = Fetch(*worker, "GET", "http://localhost/");
  EXPECT_TRUE(worker->discarded());
  worker.reset();
  ExpectFailed(*heavy, "Worker exceeded its CPU time limit of 60 ms", LimitKind::kCpu);
}

// Service-binding calls (request_chain.h): an invocation reached through
// one runs under what its chain has left of the top-level request's CPU
// limit, even when its own limit is larger, and charges its CPU to it.
TEST_F(WorkerTest, AnInvocationInAChainSharesItsCpuBudget) {
  cpu_limit_ms_ = 2000;  // the callee's own limit, larger than the chain's
  auto worker = LoadOrDie(R"(
    function spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} }
    export default {
      async fetch(request) {
        spin(Number(new URL(request.url).searchParams.get("spin")));
        return new Response("spun");
      },
    };)");
  ASSERT_TRUE(worker);
  auto fetch_in = [&](const std::shared_ptr<RequestChain>& chain, const std::string& url) {
    auto sink = std::make_shared<MemorySink>();
    FetchRequest request;
    request.method = "GET";
    request.url = url;
    request.chain = chain;
    worker->Fetch(std::move(request), sink);
    RunUntil([&] { return sink->done(); });
    return sink;
  };

  // Within the budget: served, and the chain was charged what it used.
  auto chain = RequestChain::TopLevel(1000);
  auto light = fetch_in(chain, "http://localhost/?spin=5");
  ASSERT_TRUE(light->finished) << light->failure;
  ASSERT_TRUE(light->cpu_ns.has_value());
  EXPECT_GT(chain->cpu_used_ns.load(), 1'000'000u);
  EXPECT_NEAR(static_cast<double>(chain->cpu_used_ns.load()), static_cast<double>(*light->cpu_ns),
              1000.0);
  EXPECT_FALSE(worker->discarded());

  // 20 ms left of 100: a spin of up to 1 s (within the worker's own 2 s
  // limit, since CPU never runs ahead of the wall clock) is stopped, with
  // the chain's limit named.
  auto short_chain = RequestChain::TopLevel(100);
  short_chain->ChargeCpu(80'000'000);
  auto heavy = fetch_in(short_chain, "http://localhost/?spin=1000");
  ExpectFailed(*heavy, "Worker exceeded its CPU time limit of 100 ms", LimitKind::kCpu);
  EXPECT_TRUE(worker->discarded());
  EXPECT_GE(short_chain->cpu_used_ns.load(), 100'000'000u);

  // A spent chain: the next invocation in it is stopped before it runs.
  worker = LoadOrDie(R"(export default { fetch() { return new Response("ran"); } };)");
  ASSERT_TRUE(worker);
  auto spent = fetch_in(short_chain, "http://localhost/");
  ExpectFailed(*spent, "Worker exceeded its CPU time limit of 100 ms", LimitKind::kCpu);
  EXPECT_TRUE(worker->discarded());
}

TEST_F(WorkerTest, LargeDigestsWaitInTheIsolatesCryptoQueue) {
  // Over 256 KiB a digest is a job off the serving thread
  // (runtime/crypto/crypto_job.h); an isolate has at most kCpuJobs of them
  // running, the rest wait in its queue. Small ones stay inline.
  auto worker = LoadOrDie(R"(export default { fetch() { return new Response("x"); } };)");
  ASSERT_TRUE(worker);
  ASSERT_TRUE(Run(*worker, R"(
    globalThis.small = [];
    for (let i = 0; i < 16; i++) small.push(crypto.subtle.digest("SHA-256", new Uint8Array(1024)));
    "started")").ok());
  EXPECT_EQ(worker->cpu_jobs().in_flight() + worker->cpu_jobs().waiting(), 0u);

  Status started = worker->RunScript(R"(
    globalThis.done = 0;
    for (let i = 0; i < 16; i++) {
      crypto.subtle.digest("SHA-256", new Uint8Array(1 << 20)).then(() => done++);
    }
    "started")", [](StatusOr<std::string>) {});
  ASSERT_TRUE(started.ok()) << started.message();
  EXPECT_LE(worker->cpu_jobs().in_flight(), ThreadPoolQueue::kCpuJobs);
  EXPECT_EQ(worker->cpu_jobs().in_flight() + worker->cpu_jobs().waiting(), 16u);
  RunUntil([&] { return worker->cpu_jobs().in_flight() + worker->cpu_jobs().waiting() == 0; });
  auto done = Run(*worker, "done");
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(*done, "16");
}

TEST_F(WorkerTest, StartupHasItsOwnCpuLimit) {
  cpu_limit_ms_ = 20;
  startup_cpu_limit_ms_ = 30000;
  // Top-level code that spins for `ms` of wall time. How much CPU that is
  // depends on how busy the machine is: the thread may get a fraction of a
  // core.
  auto spinning = [](int ms) {
    return std::map<std::string, std::string>{
        {"index.js", "const end = Date.now() + " + std::to_string(ms) +
                         "; while (Date.now() < end) {}\n"
                         "export default { fetch() { return new Response('warm'); } };"}};
  };
  // A startup that uses more CPU than cpu_ms loads under its own limit. The
  // spin grows until the load did use twice cpu_ms (a spin of at most
  // 15,360 ms of wall time cannot use the 30,000 ms of CPU of the limit).
  for (int ms = 60;; ms *= 2) {
    auto worker = LoadFiles(spinning(ms));
    ASSERT_TRUE(worker.ok()) << ms << " ms: " << worker.status().message();
    uint64_t startup_ns = (*worker)->cpu_total_ns();
    EXPECT_EQ(Fetch(**worker)->body, "warm");
    if (startup_ns > 2 * 20'000'000u) break;
    ASSERT_LT(ms, 15360) << "a startup of " << ms << " ms of wall time got only " << startup_ns
                       << " ns of CPU";
  }
  // One over its own limit is stopped. It spins for 60 s of wall time, far
  // more than 30 ms of CPU however busy the machine is, so it cannot end
  // before the limit stops it.
  startup_cpu_limit_ms_ = 30;
  auto slow = LoadFiles(spinning(60000));
  ASSERT_FALSE(slow.ok());
  EXPECT_NE(slow.status().message().find("startup exceeded its CPU time limit of 30 ms"),
            std::string::npos)
      << slow.status().message();
  EXPECT_EQ(slow.status().limit(), LimitKind::kStartupCpu);
}

TEST_F(WorkerTest, ConsoleLinesReachTheirInvocation) {
  auto worker = LoadOrDie(R"(
    console.log("at startup");
    export default {
      async fetch(request) {
        console.log("handling", new URL(request.url).pathname);
        await null;
        console.warn("after await");
        return new Response("ok");
      },
    };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker, "GET", "http://localhost/a");
  ASSERT_TRUE(response->finished);
  EXPECT_EQ(response->console,
            (std::vector<std::string>{"log: handling /a", "warn: after await"}));
}

TEST_F(WorkerTest, ModulesFromMemory) {
  auto files = std::make_shared<ModuleFiles>();
  (*files)["/bundle/src/index.js"] =
      "import { greet } from './lib/greet';\n"
      "export default { fetch() { return new Response(greet()); } };";
  (*files)["/bundle/src/lib/greet.js"] = "export const greet = () => 'from memory';";
  WorkerSpec spec;
  spec.name = "memory";
  spec.root_dir = "/bundle";
  spec.entry_path = "/bundle/src/index.js";
  spec.files = files;
  auto graph = Worker::CompileModuleGraph(spec);
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  EXPECT_EQ(*graph, (std::vector<std::string>{"/bundle/src/index.js", "/bundle/src/lib/greet.js"}));
  auto worker = Worker::Load(loop(), natives_, spec);
  ASSERT_TRUE(worker.ok()) << worker.status().message();
  EXPECT_EQ(Fetch(**worker)->body, "from memory");

  (*files)["/bundle/src/index.js"] = "import './missing.js'; export default {};";
  auto missing = Worker::CompileModuleGraph(spec);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("Cannot find module './missing.js'"),
            std::string::npos)
      << missing.status().message();
}

// (i32, i32) -> i32 "add", the smallest useful module.
const char kAddWasm[] =
    "\x00\x61\x73\x6d\x01\x00\x00\x00\x01\x07\x01\x60\x02\x7f\x7f\x01\x7f\x03\x02\x01\x00"
    "\x07\x07\x01\x03\x61\x64\x64\x00\x00\x0a\x09\x01\x07\x00\x20\x00\x20\x01\x6a\x0b";

TEST_F(WorkerTest, WasmImportsAreCompiledAtLoadNotAtRunTime) {
  auto worker = LoadFiles({
      {"index.js", R"(
        import addModule from "./add.wasm";
        const { add } = new WebAssembly.Instance(addModule).exports;
        export default {
          async fetch() {
            let late = "allowed";
            try {
              await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
            } catch (e) {
              late = e.name;
            }
            return new Response(`${addModule instanceof WebAssembly.Module} ${add(2, 3)} ${late}`);
          },
        };)"},
      {"add.wasm", std::string(kAddWasm, sizeof kAddWasm - 1)},
  });
  ASSERT_TRUE(worker.ok()) << worker.status().message();
  EXPECT_EQ(Fetch(**worker)->body, "true 5 CompileError");
}

TEST_F(WorkerTest, InvalidWasmIsALoadError) {
  EXPECT_THAT(LoadError({{"index.js", "import m from './bad.wasm'; export default { fetch() {} };"},
                         {"bad.wasm", "not wasm"}}),
              HasSubstr("bad.wasm: invalid WebAssembly"));
}

TEST_F(WorkerTest, TimersRunOnTheLoop) {
  // Only orderings libuv guarantees whatever the machine's load: timers fire
  // by due time, microtasks before any timer, cleared timers never.
  auto worker = LoadOrDie(R"(
    export default {
      async fetch() {
        const order = [];
        await new Promise((resolve) => {
          let pending = 3;
          const done = () => { if (--pending === 0) resolve(); };
          setTimeout(() => { order.push("t2"); done(); }, 20);
          setTimeout((x) => { order.push(x); done(); }, 1, "t1");
          const cancelled = setTimeout(() => order.push("never"), 5);
          clearTimeout(cancelled);
          let ticks = 0;
          const interval = setInterval(() => {
            if (++ticks === 3) { clearInterval(interval); order.push("i3"); done(); }
          }, 2);
          queueMicrotask(() => order.push("micro"));
        });
        await new Promise((resolve) => setTimeout(resolve, 10));
        return new Response(JSON.stringify({
          first: order[0],
          t1BeforeT2: order.indexOf("t1") < order.indexOf("t2"),
          interval: order.filter((x) => x === "i3").length,
          never: order.includes("never"),
        }));
      },
    };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker);
  ASSERT_TRUE(response->finished) << response->failure;
  EXPECT_EQ(response->body, R"({"first":"micro","t1BeforeT2":true,"interval":1,"never":false})");
}

TEST_F(WorkerTest, EnvCarriesVarsAndIsTheSameObjectEachTime) {
  auto worker = LoadFiles({{"index.js", R"(
    let first;
    export default {
      fetch(request, env) {
        first ??= env;
        return new Response(JSON.stringify([env.GREETING, env.LIMITS.max, first === env]));
      },
    };)"}},
                          "index.js",
                          {{"GREETING", "hi", false}, {"LIMITS", R"({"max":3})", true}});
  ASSERT_TRUE(worker.ok()) << worker.status().message();
  EXPECT_EQ(Fetch(**worker)->body, R"(["hi",3,true])");
  EXPECT_EQ(Fetch(**worker)->body, R"(["hi",3,true])");
}

TEST_F(WorkerTest, StreamedResponseArrivesInChunks) {
  auto worker = LoadOrDie(R"(
    export default {
      fetch() {
        let i = 0;
        const stream = new ReadableStream({
          pull(controller) {
            if (i === 3) return controller.close();
            controller.enqueue(new TextEncoder().encode("chunk" + i++ + ";"));
          },
        });
        return new Response(stream, { status: 201 });
      },
    };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker);
  ASSERT_TRUE(response->finished) << response->failure;
  EXPECT_EQ(response->status, 201);
  EXPECT_FALSE(response->content_length.has_value());
  EXPECT_EQ(response->body, "chunk0;chunk1;chunk2;");
}

TEST_F(WorkerTest, StreamsOfKnownLengthAreSentWithContentLength) {
  auto worker = LoadOrDie(R"(
    export default {
      async fetch(request) {
        if (request.url.endsWith("/read")) {
          const inner = new Response("partly read");
          const reader = inner.body.getReader();
          await reader.read();
          reader.releaseLock();
          return new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([1])); c.close(); } }));
        }
        return new Response(new Response("Unauthorized").body, { status: 401 });
      },
    };)");
  ASSERT_TRUE(worker);
  auto rewrapped = Fetch(*worker);
  ASSERT_TRUE(rewrapped->finished) << rewrapped->failure;
  EXPECT_EQ(rewrapped->status, 401);
  EXPECT_EQ(rewrapped->content_length, 12u);
  EXPECT_EQ(rewrapped->body, "Unauthorized");
  // A stream the runtime did not make has no known length: chunked.
  auto unknown = Fetch(*worker, "GET", "http://localhost/read");
  ASSERT_TRUE(unknown->finished) << unknown->failure;
  EXPECT_FALSE(unknown->content_length.has_value());
}

TEST_F(WorkerTest, RequestBodyAndHeadersReachTheWorker) {
  auto worker = LoadOrDie(R"(
    export default {
      async fetch(request) {
        const body = await request.json();
        return Response.json({ sum: body.a + body.b, type: request.headers.get("Content-Type") });
      },
    };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker, "POST", "http://localhost/", R"({"a":1,"b":2})",
                        {{"content-type", "application/json"}});
  ASSERT_TRUE(response->finished) << response->failure;
  EXPECT_EQ(response->body, R"({"sum":3,"type":"application/json"})");
  EXPECT_EQ(response->Header("content-type"), "application/json");
}

TEST_F(WorkerTest, WaitUntilHoldsTheWorkerUntilItSettles) {
  auto worker = LoadOrDie(R"(
    export let done = 0;
    export default {
      fetch(request, env, ctx) {
        ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 20)));
        ctx.waitUntil(Promise.reject(new Error("reported, not thrown")));
        return new Response("sent first");
      },
    };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker);
  EXPECT_EQ(response->body, "sent first");
  EXPECT_EQ(worker->in_flight(), 0u);
  EXPECT_EQ(worker->holds(), 1u);  // the rejected one settled already
  RunUntil([&] { return worker->holds() == 0; });
  EXPECT_EQ(worker->holds(), 0u);
}

TEST_F(WorkerTest, TimersOfAFinishedRequestNoLongerFire) {
  // As on Workers: once the response has ended (and no waitUntil work is
  // left), the timers its request set are cleared; one set outside any
  // request (code run after the load, as `edge test` does) keeps running.
  auto worker = LoadOrDie(R"(
    globalThis.fired = 0;
    globalThis.background = 0;
    export default {
      async fetch(request) {
        setInterval(() => globalThis.fired++, 1);
        setTimeout(() => { globalThis.fired += 1000; }, 2);
        await new Promise((resolve) => setTimeout(resolve, 5));  // still running: fires
        const before = globalThis.fired;
        return new Response(String(before));
      },
    };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker);
  ASSERT_TRUE(response->finished) << response->failure;
  int before = std::stoi(response->body);
  EXPECT_GE(before, 1000);  // the request's timers ran while it did
  auto after = Run(*worker,
                   "globalThis.background = 0; setInterval(() => globalThis.background++, 1);"
                   "new Promise((resolve) => setTimeout(() => "
                   "resolve(`${globalThis.fired} ${globalThis.background > 0}`), 30))");
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(*after, std::to_string(before) + " true");
}

TEST_F(WorkerTest, WaitUntilKeepsTheRequestsTimersUntilItSettles) {
  auto worker = LoadOrDie(R"(
    globalThis.ticks = 0;
    globalThis.atSettle = -1;
    export default {
      fetch(request, env, ctx) {
        setInterval(() => globalThis.ticks++, 1);
        ctx.waitUntil(new Promise((resolve) => setTimeout(() => {
          globalThis.atSettle = globalThis.ticks;
          resolve();
        }, 30)));
        return new Response("sent first");
      },
    };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker);
  EXPECT_EQ(response->body, "sent first");
  RunUntil([&] { return worker->holds() == 0; });
  auto after = Run(*worker,
                   "new Promise((resolve) => setTimeout(() => "
                   "resolve(`${globalThis.atSettle > 0} ${globalThis.ticks === globalThis.atSettle}`), "
                   "30))");
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(*after, "true true");  // ran after the response, stopped when waitUntil settled
}

TEST_F(WorkerTest, ATimerSetAfterItsRequestEndedNeverFires) {
  // A promise reaction of the request that runs after its response went out
  // (and ended it) still belongs to it: the timer it sets is not armed.
  auto worker = LoadOrDie(R"(
    globalThis.fired = 0;
    globalThis.id = -1;
    export default {
      fetch(request) {
        Promise.resolve().then(() => {
          globalThis.id = setTimeout(() => globalThis.fired++, 1);
        });
        return new Response("sent");
      },
    };)");
  ASSERT_TRUE(worker);
  EXPECT_EQ(Fetch(*worker)->body, "sent");
  auto after = Run(*worker,
                   "new Promise((resolve) => setTimeout(() => "
                   "resolve(`${globalThis.id > 0} ${globalThis.fired}`), 20))");
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(*after, "true 0");
}

TEST_F(WorkerTest, AFailedRequestsTimersAreClearedToo) {
  auto worker = LoadOrDie(R"(
    globalThis.fired = 0;
    addEventListener("fetch", (event) => {
      setInterval(() => globalThis.fired++, 1);
      throw new Error("boom");
    });)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker);
  EXPECT_TRUE(response->failed);
  auto after = Run(*worker, "new Promise((resolve) => setTimeout(() => resolve(String(globalThis.fired)), 20))");
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(*after, "0");
}

TEST_F(WorkerTest, StringBodiesAreSentAsUtf8AndHeadersAsBytes) {
  auto worker = LoadOrDie(R"(
    export default {
      fetch(request) {
        const seen = request.headers.get("x-latin1");
        return new Response("h\u00e9\uD800", {
          headers: { "x-seen": seen, "x-code": String(seen.charCodeAt(0)) },
        });
      },
    };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker, "GET", "http://localhost/", "", {{"X-Latin1", "\xE9"}});
  ASSERT_TRUE(response->finished) << response->failure;
  // "é" is two bytes of UTF-8; the lone surrogate becomes U+FFFD (three).
  EXPECT_EQ(response->body, "h\xC3\xA9\xEF\xBF\xBD");
  EXPECT_EQ(response->content_length, 6u);
  EXPECT_EQ(response->Header("x-code"), "233");
  EXPECT_EQ(response->Header("x-seen"), "\xE9");
}

// A worker's load is not background work: a worker loaded again after each
// eviction would otherwise count as heavy (gateway/node/worker_lanes.h) by
// its loads alone. What it runs outside a request afterwards still counts.
TEST_F(WorkerTest, ItsLoadIsNotABackgroundEntry) {
  Watchdog::TakeBackgroundEntries([](const Watchdog::Subject&, uint64_t) {});
  auto worker = LoadOrDie(
      "let n = 0; for (let i = 0; i < 200000; i++) n += i;\n"
      "export default { fetch() { return new Response(String(n)); } };");
  std::vector<std::string> reported;
  auto take = [&] {
    reported.clear();
    Watchdog::TakeBackgroundEntries(
        [&](const Watchdog::Subject& subject, uint64_t) { reported.push_back(subject.label()); });
  };
  take();
  EXPECT_THAT(reported, ::testing::Not(::testing::Contains(worker->name())));
  ASSERT_TRUE(Run(*worker, "1 + 1").ok());
  take();
  EXPECT_THAT(reported, ::testing::Contains(worker->name()));
}

}  // namespace
}  // namespace edge::runtime::testing
