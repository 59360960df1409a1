// CompressionStream and DecompressionStream (https://compression.spec.whatwg.org/).

import { assert, assertEquals, assertThrows, assertRejects } from "../../runtime/testing/assert.js";
import { streamOf } from "../../runtime/testing/streams.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const formats = ["gzip", "deflate", "deflate-raw", "brotli"];

// Reads a stream of Uint8Arrays to one Uint8Array; also counts the chunks.
async function collect(readable) {
  const reader = readable.getReader();
  const parts = [];
  let length = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    assert(value instanceof Uint8Array, "chunk is not a Uint8Array");
    parts.push(value);
    length += value.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  out.chunks = parts.length;
  return out;
}

const compress = (format, chunks) => collect(streamOf(...chunks).pipeThrough(new CompressionStream(format)));
const decompress = (format, chunks) => collect(streamOf(...chunks).pipeThrough(new DecompressionStream(format)));

// From Python: gzip.compress(b"hello world", mtime=0), zlib.compress(b"hello world"),
// and zlib.compressobj(wbits=-15) for deflate-raw.
const known = {
  gzip: [31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 203, 72, 205, 201, 201, 87, 40, 207, 47, 202, 73, 1, 0, 133, 17, 74, 13, 11, 0, 0, 0],
  deflate: [120, 156, 203, 72, 205, 201, 201, 87, 40, 207, 47, 202, 73, 1, 0, 26, 11, 4, 93],
  "deflate-raw": [203, 72, 205, 201, 201, 87, 40, 207, 47, 202, 73, 1, 0],
  // Node.js's zlib.brotliCompressSync("hello world") (quality 11).
  brotli: [11, 5, 128, 104, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100, 3],
};
// gzip.compress(b"", mtime=0)
const gzipEmpty = [31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

export default {
  "constructors, formats and attributes"() {
    for (const format of formats) {
      const cs = new CompressionStream(format);
      assert(cs.readable instanceof ReadableStream);
      assert(cs.writable instanceof WritableStream);
      const ds = new DecompressionStream(format);
      assert(ds.readable instanceof ReadableStream);
      assert(ds.writable instanceof WritableStream);
    }
    for (const bad of ["GZIP", "br", "Brotli", "deflate64", "", undefined]) {
      assertThrows(() => new CompressionStream(bad), TypeError, String(bad));
      assertThrows(() => new DecompressionStream(bad), TypeError, String(bad));
    }
    assertThrows(() => new CompressionStream(), TypeError);
    assertThrows(() => CompressionStream("gzip"), TypeError);
    const getter = Object.getOwnPropertyDescriptor(CompressionStream.prototype, "readable").get;
    assertThrows(() => getter.call(new DecompressionStream("gzip")), TypeError);
    assertEquals(Object.prototype.toString.call(new CompressionStream("gzip")), "[object CompressionStream]");
    assertEquals(Object.prototype.toString.call(new DecompressionStream("gzip")), "[object DecompressionStream]");
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, "CompressionStream");
    assertEquals([descriptor.enumerable, descriptor.writable, descriptor.configurable], [false, true, true]);
  },

  "decompresses bytes made by Python's gzip and zlib, and Node.js's brotli": async () => {
    for (const format of formats) {
      const out = await decompress(format, [new Uint8Array(known[format])]);
      assertEquals(decoder.decode(out), "hello world", format);
    }
    // The same, one byte per chunk.
    for (const format of formats) {
      const out = await decompress(format, known[format].map((b) => new Uint8Array([b])));
      assertEquals(decoder.decode(out), "hello world", `${format} byte by byte`);
    }
    assertEquals((await decompress("gzip", [new Uint8Array(gzipEmpty)])).length, 0);
  },

  "compressed output has each format's framing": async () => {
    const gzip = await compress("gzip", [encoder.encode("hello world")]);
    assertEquals([gzip[0], gzip[1], gzip[2]], [0x1f, 0x8b, 8]);
    // The gzip trailer: CRC-32 and length of the input.
    assertEquals([...gzip.subarray(gzip.length - 8)], [133, 17, 74, 13, 11, 0, 0, 0]);
    const deflate = await compress("deflate", [encoder.encode("hello world")]);
    assertEquals(deflate[0], 0x78);
    assertEquals(((deflate[0] << 8) | deflate[1]) % 31, 0);
    assertEquals([...deflate.subarray(deflate.length - 4)], [26, 11, 4, 93]); // Adler-32
    const raw = await compress("deflate-raw", [encoder.encode("hello world")]);
    assertEquals([...raw], known["deflate-raw"]);
  },

  "round trips of each format": async () => {
    const text = "The quick brown fox jumps over the lazy dog. ".repeat(50) + "é€😀";
    for (const format of formats) {
      const compressed = await compress(format, [encoder.encode(text.slice(0, 100)), encoder.encode(text.slice(100))]);
      assert(compressed.length < text.length / 4, `${format} did not compress: ${compressed.length}`);
      const out = await decompress(format, [compressed]);
      assertEquals(decoder.decode(out), text, format);
    }
  },

  "chunk types: any BufferSource, nothing else": async () => {
    const data = encoder.encode("abc");
    const chunks = [data.buffer, new DataView(data.buffer), new Uint16Array(new Uint8Array([100, 101]).buffer)];
    const out = await decompress("deflate", [await compress("deflate", chunks)]);
    assertEquals(decoder.decode(out), "abcabcde");
    for (const bad of ["abc", 5, null, {}, [1, 2]]) {
      await assertRejects(compress("gzip", [bad]), TypeError, JSON.stringify(bad));
    }
    await assertRejects(decompress("gzip", ["abc"]), TypeError);
  },

  "empty input": async () => {
    for (const format of formats) {
      const compressed = await compress(format, []);
      assert(compressed.length > 0, format);
      assertEquals((await decompress(format, [compressed])).length, 0, format);
      // Empty chunks change nothing.
      const withEmpty = await compress(format, [new Uint8Array(0), encoder.encode("x"), new Uint8Array(0)]);
      assertEquals(decoder.decode(await decompress(format, [new Uint8Array(0), withEmpty, new Uint8Array(0)])), "x");
    }
    assertEquals([...(await compress("gzip", []))].slice(-8), [0, 0, 0, 0, 0, 0, 0, 0]);
  },

  "corrupt, truncated and trailing input is a TypeError": async () => {
    // Not gzip at all.
    await assertRejects(decompress("gzip", [encoder.encode("hello world, not gzip")]), TypeError);
    // A bad CRC in the trailer.
    const badCrc = known.gzip.slice();
    badCrc[badCrc.length - 8] ^= 0xff;
    await assertRejects(decompress("gzip", [new Uint8Array(badCrc)]), TypeError);
    // A bad Adler-32.
    const badAdler = known.deflate.slice();
    badAdler[badAdler.length - 1] ^= 0xff;
    await assertRejects(decompress("deflate", [new Uint8Array(badAdler)]), TypeError);
    // gzip given to the deflate decoder and the other way round.
    await assertRejects(decompress("deflate", [new Uint8Array(known.gzip)]), TypeError);
    await assertRejects(decompress("gzip", [new Uint8Array(known.deflate)]), TypeError);
    // Truncated: the error comes when the input ends.
    for (const format of formats) {
      const cut = known[format].slice(0, known[format].length - 3);
      await assertRejects(decompress(format, [new Uint8Array(cut)]), TypeError, `${format} truncated`);
    }
    await assertRejects(decompress("gzip", []), TypeError, "no input at all");
    // Data after the end of the compressed stream, in the same chunk or the next.
    for (const format of formats) {
      const extra = [...known[format], 1, 2, 3];
      await assertRejects(decompress(format, [new Uint8Array(extra)]), TypeError, `${format} trailing`);
      await assertRejects(
        decompress(format, [new Uint8Array(known[format]), new Uint8Array([0])]),
        TypeError,
        `${format} trailing chunk`,
      );
    }
  },

  "the writer sees the error": async () => {
    const ds = new DecompressionStream("deflate");
    const writer = ds.writable.getWriter();
    const reader = ds.readable.getReader();
    const read = reader.read();
    const write = writer.write(new Uint8Array([1, 2, 3, 4, 5]));
    await assertRejects(write, TypeError);
    await assertRejects(read, TypeError);
    await assertRejects(writer.close(), TypeError);
  },

  "pipeThrough chains": async () => {
    const text = "chain ".repeat(1000);
    const readable = streamOf(text)
      .pipeThrough(new TextEncoderStream())
      .pipeThrough(new CompressionStream("gzip"))
      .pipeThrough(new DecompressionStream("gzip"))
      .pipeThrough(new CompressionStream("deflate-raw"))
      .pipeThrough(new CompressionStream("deflate"))
      .pipeThrough(new DecompressionStream("deflate"))
      .pipeThrough(new DecompressionStream("deflate-raw"))
      .pipeThrough(new TextDecoderStream());
    let out = "";
    for await (const chunk of readable) out += chunk;
    assertEquals(out, text);
  },

  "large input in many chunks": async () => {
    // 2 MiB of data that compresses poorly (a xorshift sequence) in 4 KiB chunks.
    const total = 2 * 1024 * 1024;
    const data = new Uint8Array(total);
    let x = 2463534242;
    for (let i = 0; i < total; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      data[i] = x & 0xff;
    }
    const chunks = [];
    for (let i = 0; i < total; i += 4096) chunks.push(data.subarray(i, i + 4096));
    for (const format of formats) {
      const compressed = await compress(format, chunks);
      assert(compressed.length > total, `${format}: random data should not shrink`);
      const pieces = [];
      for (let i = 0; i < compressed.length; i += 1000) pieces.push(compressed.subarray(i, i + 1000));
      const out = await decompress(format, pieces);
      assertEquals(out.length, total, format);
      let same = true;
      for (let i = 0; i < total; i++) {
        if (out[i] !== data[i]) {
          same = false;
          break;
        }
      }
      assert(same, `${format}: round trip differs`);
    }
    // Highly compressible: 8 MiB of zeros inflate to output chunks of bounded size.
    const zeros = new Uint8Array(8 * 1024 * 1024);
    const small = await compress("gzip", [zeros]);
    assert(small.length < 20000, `zeros compressed to ${small.length}`);
    const inflated = await decompress("gzip", [small]);
    assertEquals(inflated.length, zeros.length);
    assert(inflated.chunks >= 8 * 16, `only ${inflated.chunks} output chunks`);
    assert(inflated.every((b) => b === 0));
  },

  "a brotli bomb is inflated as it is read": async () => {
    // 16 MiB of zeros compress to a few dozen bytes; each slice is at most
    // 64 KiB and the next one is made only when the reader asks.
    const small = await compress("brotli", [new Uint8Array(16 << 20)]);
    assert(small.length < 1024, `brotli made ${small.length} bytes`);
    const ds = new DecompressionStream("brotli");
    const writer = ds.writable.getWriter();
    let written = false;
    const write = writer.write(small).then(() => {
      written = true;
    });
    const reader = ds.readable.getReader();
    let total = 0;
    for (let i = 0; i < 4; i++) {
      const { value } = await reader.read();
      assert(value.length > 0 && value.length <= 65536, `slice of ${value.length}`);
      total += value.length;
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert(!written, "the whole output was made before it was read");
    writer.close();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      assert(value.length <= 65536 && value.every((b) => b === 0));
      total += value.length;
    }
    await write;
    assertEquals(total, 16 << 20);
    // Corrupt, truncated and trailing brotli input.
    await assertRejects(decompress("brotli", [encoder.encode("not brotli at all")]), TypeError);
    await assertRejects(decompress("brotli", [small.subarray(0, small.length - 1)]), TypeError);
    await assertRejects(decompress("brotli", [new Uint8Array([...known.brotli, 0])]), TypeError);
  },

  "output is made as the reader takes it": async () => {
    // 1 MiB of zeros from one small chunk: the write settles only once the
    // reader has taken every 64 KiB slice but the last, never before.
    const small = await compress("gzip", [new Uint8Array(1 << 20)]);
    // Data that does not compress (a xorshift sequence): deflate's output
    // comes while the input is written, not only at the end.
    const noise = new Uint8Array(1 << 20);
    let x = 2463534242;
    for (let i = 0; i < noise.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      noise[i] = x & 0xff;
    }
    for (const readable of ["DecompressionStream", "CompressionStream"]) {
      const input = readable === "DecompressionStream" ? small : noise;
      const stream = readable === "DecompressionStream" ? new DecompressionStream("gzip") : new CompressionStream("deflate-raw");
      const writer = stream.writable.getWriter();
      let written = false;
      const write = writer.write(input).then(() => {
        written = true;
      });
      const reader = stream.readable.getReader();
      const first = await reader.read();
      assert(first.value.length > 0 && first.value.length <= 65536, `${readable}: slice of ${first.value.length}`);
      await new Promise((resolve) => setTimeout(resolve, 0));
      assert(!written, `${readable}: the whole output was made before it was read`);
      const close = writer.close();
      let total = first.value.length;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        assert(value.length <= 65536, `${readable}: slice of ${value.length}`);
        total += value.length;
      }
      await write;
      await close;
      assert(written);
      if (readable === "DecompressionStream") assertEquals(total, 1 << 20);
    }
  },

  "a cancelled reader stops the output": async () => {
    const small = await compress("gzip", [new Uint8Array(4 << 20)]);
    const ds = new DecompressionStream("gzip");
    const writer = ds.writable.getWriter();
    const write = writer.write(small);
    const reader = ds.readable.getReader();
    await reader.read();
    await reader.cancel("enough");
    // The write in progress ends without making the other 4 MiB, and the
    // writable side is errored with the reason.
    await write.catch(() => {});
    assertEquals(await writer.closed.catch((reason) => reason), "enough");
  },

  "cancel frees the stream": async () => {
    const cs = new CompressionStream("gzip");
    const writer = cs.writable.getWriter();
    const write = writer.write(encoder.encode("abc"));
    await cs.readable.cancel("done");
    assertEquals(await writer.closed.catch((reason) => reason), "done");
    await write.catch(() => {});
  },
};
