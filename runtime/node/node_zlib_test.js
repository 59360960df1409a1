// node:zlib against Node.js's behaviour (expected bytes, errors and codes
// printed by Node 20). The memory budget and CPU limit over a bomb and a
// long one-shot: runtime/buffer_allocator_test.cc, runtime/worker_test.cc.

import zlib from "node:zlib";
import { gzipSync, gunzipSync, constants } from "zlib";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Buffer } from "node:buffer";
import { assert, assertEquals, assertThrows, sleep } from "../../runtime/testing/assert.js";

function errorSummary(error) {
  return [error.name, error.code, error.errno, error.message];
}

// zlib's one-shot with a callback, as a promise.
function oneShot(name, input, options) {
  return new Promise((resolve, reject) =>
    zlib[name](input, options ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
}

export default {
  "the module's shape"() {
    for (const name of ["createGzip", "createGunzip", "createDeflate", "createInflate", "createDeflateRaw",
      "createInflateRaw", "createUnzip", "createBrotliCompress", "createBrotliDecompress", "gzipSync", "gunzip",
      "inflateSync", "brotliCompressSync", "crc32"]) {
      assertEquals(typeof zlib[name], "function", name);
    }
    assert(gzipSync === zlib.gzipSync && constants === zlib.constants);
    assertEquals([constants.Z_SYNC_FLUSH, constants.BROTLI_PARAM_QUALITY, constants.Z_DEFAULT_CHUNK,
      constants.BROTLI_DECODER_ERROR_FORMAT_PADDING_1, zlib.Z_BEST_COMPRESSION], [2, 1, 16384, -14, 9]);
    assertEquals(zlib.codes.Z_DATA_ERROR, -3);
    assertEquals(zlib.codes["-3"], "Z_DATA_ERROR");
    assert(Object.isFrozen(zlib.codes));
    assert(zlib.createGzip() instanceof zlib.Gzip && zlib.Gzip() instanceof Readable);
  },

  "one-shots give Node's bytes"() {
    assertEquals(gzipSync("hello").toString("hex"), "1f8b0800000000000003cb48cdc9c9070086a6103605000000");
    assertEquals(zlib.deflateSync("hello").toString("hex"), "789ccb48cdc9c90700062c0215");
    assertEquals(zlib.deflateRawSync("hello").toString("hex"), "cb48cdc9c90700");
    assertEquals(zlib.brotliCompressSync("hello").toString("hex"), "0b028068656c6c6f03");
    assertEquals(zlib.deflateSync("hello hello hello", { level: 9, memLevel: 9, windowBits: 9, strategy: 1 })
      .toString("hex"), "18d3cb48cdc9c957c84090003a2e067d");
    assertEquals(zlib.brotliCompressSync("hello hello", { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } })
      .toString("hex"), "0b058068656c6c6f2068656c6c6f03");
    assertEquals(gunzipSync(gzipSync("round trip")).toString(), "round trip");
    assertEquals(zlib.inflateRawSync(zlib.deflateRawSync(new Uint8Array([1, 2, 3]))).toString("hex"), "010203");
    assertEquals(zlib.brotliDecompressSync(zlib.brotliCompressSync("hello world")).toString(), "hello world");
    assertEquals(zlib.unzipSync(zlib.deflateSync("x1")).toString() + zlib.unzipSync(gzipSync("x2")).toString(),
      "x1x2");
    const bigger = Buffer.alloc(300000, "abcdefghij");
    assertEquals(gunzipSync(gzipSync(bigger)).equals(bigger), true);
  },

  "gzip members, trailing data and truncation as Node"() {
    const first = gzipSync("hello");
    assertEquals(gunzipSync(Buffer.concat([first, gzipSync(" world")])).toString(), "hello world");
    assertEquals(gunzipSync(Buffer.concat([first, Buffer.from([0, 0, 0])])).toString(), "hello");
    assertEquals(zlib.inflateSync(Buffer.concat([zlib.deflateSync("hello"), Buffer.from("garbage")])).toString(),
      "hello");
    assertEquals(errorSummary(assertThrows(() => gunzipSync(Buffer.concat([first, Buffer.from("garbage")])))),
      ["Error", "Z_DATA_ERROR", -3, "incorrect header check"]);
    assertEquals(errorSummary(assertThrows(() => gunzipSync(first.subarray(0, 10)))),
      ["Error", "Z_BUF_ERROR", -5, "unexpected end of file"]);
    assertEquals(gunzipSync(first.subarray(0, 15), { finishFlush: constants.Z_SYNC_FLUSH }).toString(), "hell");
  },

  "corrupt data: zlib's and brotli's errors with Node's codes"() {
    assertEquals(errorSummary(assertThrows(() => zlib.inflateSync(Buffer.from("garbage")))),
      ["Error", "Z_DATA_ERROR", -3, "incorrect header check"]);
    assertEquals(errorSummary(assertThrows(() => zlib.inflateRawSync(Buffer.from([0xff, 0xff])))),
      ["Error", "Z_DATA_ERROR", -3, "invalid block type"]);
    assertEquals(errorSummary(assertThrows(() => zlib.brotliDecompressSync(Buffer.from("garbage")))),
      ["Error", "ERR__ERROR_FORMAT_PADDING_1", -14, "Decompression failed"]);
    assertEquals(errorSummary(assertThrows(() =>
      zlib.brotliDecompressSync(zlib.brotliCompressSync("hello").subarray(0, 3)))),
    ["Error", "Z_BUF_ERROR", -5, "unexpected end of file"]);
    const error = assertThrows(() => zlib.inflateSync(Buffer.from("garbage")));
    assertEquals(Object.keys(error), ["errno", "code"]);
  },

  "dictionaries"() {
    const dictionary = Buffer.from("hello world dictionary");
    const deflated = zlib.deflateSync("hello world", { dictionary });
    assertEquals(deflated.toString("hex"), "78bb622008b3cb408802001a0b045d");
    assertEquals(zlib.inflateSync(deflated, { dictionary }).toString(), "hello world");
    assertEquals(errorSummary(assertThrows(() => zlib.inflateSync(deflated))),
      ["Error", "Z_NEED_DICT", 2, "Missing dictionary"]);
  },

  "options are checked as Node checks them"() {
    const cases = [
      [() => zlib.createGzip({ level: 42 }), ["RangeError", "ERR_OUT_OF_RANGE", undefined,
        'The value of "options.level" is out of range. It must be >= -1 and <= 9. Received 42']],
      [() => zlib.createGzip({ windowBits: 3 }), ["RangeError", "ERR_OUT_OF_RANGE", undefined,
        'The value of "options.windowBits" is out of range. It must be >= 9 and <= 15. Received 3']],
      [() => zlib.createGzip({ chunkSize: 3 }), ["RangeError", "ERR_OUT_OF_RANGE", undefined,
        'The value of "options.chunkSize" is out of range. It must be >= 64. Received 3']],
      [() => zlib.createGzip({ level: "x" }), ["TypeError", "ERR_INVALID_ARG_TYPE", undefined,
        "The \"options.level\" property must be of type number. Received type string ('x')"]],
      [() => zlib.gzipSync(42), ["TypeError", "ERR_INVALID_ARG_TYPE", undefined,
        'The "buffer" argument must be of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer. Received type number (42)']],
      [() => zlib.createBrotliCompress({ params: { 99: 1 } }), ["RangeError", "ERR_BROTLI_INVALID_PARAM", undefined,
        "99 is not a valid Brotli parameter"]],
      [() => zlib.createDeflate({ memLevel: Infinity }), ["RangeError", "ERR_OUT_OF_RANGE", undefined,
        'The value of "options.memLevel" is out of range. It must be a finite number. Received Infinity']],
    ];
    for (const [fn, expected] of cases) assertEquals(errorSummary(assertThrows(fn)), expected);
    assertEquals(errorSummary(assertThrows(() => zlib.gzip("x"))), ["TypeError", "ERR_INVALID_ARG_TYPE", undefined,
      'The "callback" argument must be of type function. Received undefined']);
  },

  "maxOutputLength stops a one-shot with ERR_BUFFER_TOO_LARGE"() {
    const error = assertThrows(() => gunzipSync(gzipSync(Buffer.alloc(1000)), { maxOutputLength: 10 }));
    assertEquals(errorSummary(error), ["RangeError", "ERR_BUFFER_TOO_LARGE", undefined,
      "Cannot create a Buffer larger than 10 bytes"]);
  },

  async "callback one-shots"() {
    assertEquals((await oneShot("gzip", "abc")).length, 23);
    assertEquals((await oneShot("gunzip", gzipSync("abc"))).toString(), "abc");
    const error = await oneShot("gunzip", Buffer.from("nope")).catch((e) => e);
    assertEquals(errorSummary(error), ["Error", "Z_DATA_ERROR", -3, "incorrect header check"]);
    const tooLarge = await oneShot("inflate", zlib.deflateSync(Buffer.alloc(100000)), { maxOutputLength: 100 })
      .catch((e) => e);
    assertEquals(tooLarge.code, "ERR_BUFFER_TOO_LARGE");
  },

  async "streams: pipeline through gzip and gunzip, chunkSize slices, events"() {
    const input = Buffer.alloc(100000, "stream data ");
    const sizes = [];
    const parts = [];
    await pipeline(Readable.from([input.subarray(0, 50000), input.subarray(50000)], { objectMode: false }),
      zlib.createGzip(), zlib.createGunzip({ chunkSize: 4096 }), new Writable({
        write(chunk, encoding, callback) {
          sizes.push(chunk.length);
          parts.push(chunk);
          callback();
        },
      }));
    assertEquals(Buffer.concat(parts).equals(input), true);
    assertEquals(Math.max(...sizes), 4096);
    const log = [];
    const gzip = zlib.createGzip();
    gzip.on("data", () => log.push("data"));
    gzip.on("end", () => log.push("end"));
    gzip.on("finish", () => log.push("finish"));
    gzip.on("close", () => log.push("close"));
    gzip.end("x");
    await new Promise((resolve) => gzip.on("close", resolve));
    // The header on the write; the rest after 'finish', as Node makes it.
    assertEquals(log, ["data", "finish", "data", "end", "close"]);
    assertEquals(gzip.bytesWritten, 1);
  },

  async "streams: corrupt input is an error event with Node's code"() {
    const gunzip = zlib.createGunzip();
    const error = await new Promise((resolve) => {
      gunzip.on("error", resolve);
      gunzip.end(Buffer.from("nope"));
    });
    assertEquals(errorSummary(error), ["Error", "Z_DATA_ERROR", -3, "incorrect header check"]);
  },

  async "flush() makes what was written decompressible at once"() {
    const deflate = zlib.createDeflate();
    const inflate = zlib.createInflate();
    deflate.pipe(inflate);
    const got = new Promise((resolve) => inflate.once("data", resolve));
    deflate.write("partial");
    deflate.flush();
    assertEquals((await got).toString(), "partial");
    deflate.end();
  },

  async "a decompression bomb through a stream is made as it is read"() {
    // 16 MiB of zeros in 16 KiB: gzip members of 1 MiB each.
    const member = gzipSync(Buffer.alloc(1 << 20));
    const bomb = Buffer.concat(Array.from({ length: 16 }, () => member));
    assert(bomb.length < 20000);
    const gunzip = zlib.createGunzip();
    gunzip.end(bomb);
    await sleep(5);
    // Nothing read yet: the stream holds about one highWaterMark of output.
    assert(gunzip.readableLength <= 32768, `held ${gunzip.readableLength}`);
    let total = 0;
    for await (const chunk of gunzip) total += chunk.length;
    assertEquals(total, 16 << 20);
    const error = assertThrows(() => gunzipSync(bomb, { maxOutputLength: 1 << 20 }));
    assertEquals(error.code, "ERR_BUFFER_TOO_LARGE");
  },

  "crc32"() {
    assertEquals(zlib.crc32("hello"), 907060870);
    assertEquals(zlib.crc32(Buffer.from("world"), 5), 4070022707);
    assertEquals(zlib.crc32(new Uint8Array(0)), 0);
    assertEquals(zlib.crc32(Buffer.alloc(5 << 20, 7)), zlib.crc32(Buffer.alloc(5 << 20, 7).subarray(4 << 20),
      zlib.crc32(Buffer.alloc(4 << 20, 7))));
    assertEquals(assertThrows(() => zlib.crc32(42)).code, "ERR_INVALID_ARG_TYPE");
    assertEquals(assertThrows(() => zlib.crc32("x", -1)).code, "ERR_OUT_OF_RANGE");
  },

  "hostile: Proxies, throwing options, poisoned prototypes"() {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    assertThrows(() => zlib.createGzip(revocable.proxy), TypeError);
    assertThrows(() => zlib.gzipSync(revocable.proxy), TypeError);
    const throwing = new Proxy({}, {
      get() {
        throw new Error("trap");
      },
    });
    assertEquals(assertThrows(() => zlib.gzipSync("x", throwing)).message, "trap");
    const level = { valueOf() { throw new Error("valueOf"); } };
    assertEquals(assertThrows(() => zlib.gzipSync("x", { level })).code, "ERR_INVALID_ARG_TYPE");
    const saved = Array.prototype.push;
    Object.prototype.chunkSize = 1;
    Array.prototype.push = () => {
      throw new Error("patched push reached");
    };
    try {
      assertEquals(gunzipSync(gzipSync("still fine")).toString(), "still fine");
    } finally {
      Array.prototype.push = saved;
      delete Object.prototype.chunkSize;
    }
  },
};
