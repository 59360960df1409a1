// The memory budget that the V8 heap and ArrayBuffers share
// (runtime/buffer_allocator.h): going over it ends the request with the
// memory-limit failure, never the process, and a fresh isolate serves on.
#include "runtime/buffer_allocator.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "runtime/testing/worker_fixture.h"

namespace edge::runtime {
namespace {

using testing::ExpectFailed;
using testing::MemorySink;

class BufferBudgetTest : public testing::WorkerFixture {
 protected:
  BufferBudgetTest() { heap_limit_bytes_ = 32u << 20; }

  // Loads `handler` (the body of `fetch(request)`), checks that it fails
  // at the memory limit, that the worker is discarded, and that a fresh
  // isolate of the same worker then answers "/fine".
  void ExpectMemoryLimit(const std::string& handler, const std::string& body = "",
                         const std::string& imports = "") {
    auto worker = LoadOrDie(
        imports + "export default { async fetch(request) {\n"
        "  if (new URL(request.url).pathname === '/fine') return new Response('fine');\n" +
        handler + "\n} };");
    ASSERT_TRUE(worker);
    auto response = Fetch(*worker, body.empty() ? "GET" : "POST", "http://localhost/", body);
    if (!worker->discarded()) {
      // A request still waiting when the worker was stopped ends with it.
      RunUntil([&] { return response->done() || worker->discarded(); });
    }
    EXPECT_TRUE(worker->discarded()) << response->status << " " << response->body;
    worker.reset();
    ExpectFailed(*response, "Worker exceeded its memory limit of 32 MiB", LimitKind::kMemory);
    auto fresh = Worker::Load(loop(), natives_, spec_of_last_);
    ASSERT_TRUE(fresh.ok()) << fresh.status().message();
    EXPECT_EQ(Fetch(**fresh, "GET", "http://localhost/fine")->body, "fine");
  }

  std::unique_ptr<Worker> LoadOrDie(const std::string& source) {
    auto worker = WorkerFixture::LoadOrDie(source);
    if (worker) spec_of_last_ = worker->spec();
    return worker;
  }

  WorkerSpec spec_of_last_;
};

// `size` zero bytes as gzip: a few KiB per MiB.
std::string GzipOfZeros(size_t size) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string zeros(1 << 20, '\0');
  std::string out;
  char buffer[1 << 16];
  for (size_t fed = 0; fed < size; fed += zeros.size()) {
    bool last = fed + zeros.size() >= size;
    z.next_in = reinterpret_cast<Bytef*>(zeros.data());
    z.avail_in = static_cast<uInt>(zeros.size());
    do {
      z.next_out = reinterpret_cast<Bytef*>(buffer);
      z.avail_out = sizeof(buffer);
      deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
      out.append(buffer, sizeof(buffer) - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

TEST_F(BufferBudgetTest, ArrayBuffersPastTheBudgetStopTheWorkerNotTheProcess) {
  // Each buffer is small against the heap; only buffers and heap together
  // go over 32 MiB.
  ExpectMemoryLimit(R"(
    const hoard = [];
    for (;;) hoard.push(new ArrayBuffer(1 << 20));)");
}

TEST_F(BufferBudgetTest, ACaughtRefusalStillEndsTheRequest) {
  // V8 throws a RangeError the worker can catch; the request ends at the
  // memory limit all the same.
  ExpectMemoryLimit(R"(
    let name = "none";
    try { new Uint8Array(64 << 20); } catch (e) { name = e.name; }
    return new Response(name);)");
}

TEST_F(BufferBudgetTest, BuffersUnderTheBudgetAreFine) {
  auto worker = LoadOrDie(R"(
    export default { fetch() {
      let total = 0;
      // 256 MiB over the request, never more than 4 MiB alive at once.
      for (let i = 0; i < 64; i++) total += new Uint8Array(4 << 20).length;
      return new Response(String(total));
    } };)");
  ASSERT_TRUE(worker);
  EXPECT_EQ(Fetch(*worker)->body, std::to_string(256 << 20));
  EXPECT_FALSE(worker->discarded());
}

TEST_F(BufferBudgetTest, TextEncoderOfAHugeStringEndsTheRequest) {
  // 8 MiB of a two-byte character on the heap: 24 MiB of UTF-8, twice.
  ExpectMemoryLimit(R"(
    const text = "\u20ac".repeat(8 << 20);
    const kept = [new TextEncoder().encode(text)];
    kept.push(new TextEncoder().encode(text));
    return new Response(String(kept.length));)");
}

TEST_F(BufferBudgetTest, BlobOfHugePartsEndsTheRequest) {
  ExpectMemoryLimit(R"(
    const part = new Uint8Array(12 << 20);
    const blob = new Blob([part, part, part]);
    return new Response(String((await blob.arrayBuffer()).byteLength));)");
}

TEST_F(BufferBudgetTest, ResponseArrayBufferOfABigBodyEndsTheRequest) {
  ExpectMemoryLimit(R"(
    const text = "x".repeat(10 << 20);
    const kept = [];
    for (let i = 0; i < 4; i++) kept.push(await new Response(text).arrayBuffer());
    return new Response(String(kept.length));)");
}

TEST_F(BufferBudgetTest, StructuredCloneOfABigBufferEndsTheRequest) {
  // V8's deserializer makes the copy: its refusal must become an exception
  // there too, not an abort.
  ExpectMemoryLimit(R"(
    const big = new Uint8Array(20 << 20);
    const copy = structuredClone(big);
    return new Response(String(copy.length));)");
}

TEST_F(BufferBudgetTest, ARequestBodyOverTheBudgetEndsTheRequest) {
  ExpectMemoryLimit(R"(
    const kept = [];
    for (let i = 0; i < 8; i++) kept.push(await request.clone().arrayBuffer());
    return new Response(String(kept.length));)",
                    std::string(8 << 20, 'b'));
}

TEST_F(BufferBudgetTest, AGzipBombReadWholeEndsTheRequest) {
  // 64 MiB of zeros in some 60 KiB: read whole, it cannot fit in 32 MiB.
  ExpectMemoryLimit(R"(
    const inflated = request.body.pipeThrough(new DecompressionStream("gzip"));
    return new Response(String((await new Response(inflated).arrayBuffer()).byteLength));)",
                    GzipOfZeros(64 << 20));
}

TEST_F(BufferBudgetTest, AGzipBombReadAsAStreamStaysWithinTheBudget) {
  // The same bomb read slice by slice: output is made as the reader takes
  // it, so 64 MiB pass through a 32 MiB budget.
  std::string bomb = GzipOfZeros(64 << 20);
  auto worker = LoadOrDie(R"(
    export default { async fetch(request) {
      const reader = request.body.pipeThrough(new DecompressionStream("gzip")).getReader();
      let total = 0, largest = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        largest = Math.max(largest, value.length);
      }
      return new Response(`${total} ${largest}`);
    } };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker, "POST", "http://localhost/", bomb);
  EXPECT_EQ(response->body, std::to_string(64 << 20) + " 65536") << response->failure;
  EXPECT_FALSE(worker->discarded());
}

TEST_F(BufferBudgetTest, ANodeZlibOneShotOfABombEndsTheRequest) {
  // gunzipSync's default maxOutputLength is 4 GiB: the budget stops it
  // first, slice by slice, whichever way the output is gathered.
  compatibility_flags_ = {"nodejs_compat"};
  const std::string imports = "import zlib from 'node:zlib';\nimport { Buffer } from 'node:buffer';\n";
  ExpectMemoryLimit(R"(
    const out = zlib.gunzipSync(Buffer.from(await request.arrayBuffer()));
    return new Response(String(out.length));)",
                    GzipOfZeros(64 << 20), imports);
  ExpectMemoryLimit(R"(
    const input = Buffer.from(await request.arrayBuffer());
    const out = await new Promise((resolve, reject) =>
      zlib.gunzip(input, (error, result) => error ? reject(error) : resolve(result)));
    return new Response(String(out.length));)",
                    GzipOfZeros(64 << 20), imports);
}

TEST_F(BufferBudgetTest, ANodeZlibStreamPassesABombThroughTheBudget) {
  // createGunzip makes its next slice when its reader has room: 64 MiB
  // pass through a 32 MiB budget, in slices of chunkSize.
  compatibility_flags_ = {"nodejs_compat"};
  std::string bomb = GzipOfZeros(64 << 20);
  auto worker = LoadOrDie(R"(
    import zlib from "node:zlib";
    import { Readable, Writable } from "node:stream";
    import { pipeline } from "node:stream/promises";
    import { Buffer } from "node:buffer";
    export default { async fetch(request) {
      let total = 0, largest = 0;
      await pipeline(Readable.fromWeb(request.body), zlib.createGunzip(), new Writable({
        write(chunk, encoding, callback) {
          total += chunk.length;
          largest = Math.max(largest, chunk.length);
          setTimeout(callback, 0);
        },
      }));
      return new Response(`${total} ${largest}`);
    } };)");
  ASSERT_TRUE(worker);
  auto response = Fetch(*worker, "POST", "http://localhost/", bomb);
  EXPECT_EQ(response->body, std::to_string(64 << 20) + " 16384") << response->failure;
  EXPECT_FALSE(worker->discarded());
}

TEST_F(BufferBudgetTest, CompressionStreamsCountTheirZlibState) {
  // Each deflate stream holds some 256 KiB outside the V8 heap.
  ExpectMemoryLimit(R"(
    const streams = [];
    for (;;) streams.push(new CompressionStream("gzip"));)");
}

TEST_F(BufferBudgetTest, WebAssemblyMemoriesCountToo) {
  // V8 makes Wasm memories without the allocator: 8 MiB each, they are
  // found in the sum at the next buffer or full GC.
  ExpectMemoryLimit(R"(
    const kept = [];
    for (;;) {
      kept.push(new WebAssembly.Memory({ initial: 128 }));
      kept.push(new ArrayBuffer(4096));
    })");
}

TEST_F(BufferBudgetTest, GrowingAWebAssemblyMemoryCountsToo) {
  ExpectMemoryLimit(R"(
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    for (;;) {
      memory.grow(16);
      new Uint8Array(memory.buffer).fill(1);
    })");
}

}  // namespace
}  // namespace edge::runtime
