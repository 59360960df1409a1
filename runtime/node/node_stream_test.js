// node:stream, node:stream/promises and node:stream/web against Node.js's
// behaviour (expected values, event orders and errors printed by Node 20).

import Stream, {
  Readable, Writable, Duplex, Transform, PassThrough, pipeline, finished, addAbortSignal, duplexPair,
} from "node:stream";
import { pipeline as pipelinePromise, finished as finishedPromise } from "node:stream/promises";
import * as web from "node:stream/web";
import consumers, { text, json, buffer, arrayBuffer, blob } from "node:stream/consumers";
import { Buffer } from "node:buffer";
import { assert, assertEquals, assertThrows, assertRejects, sleep } from "../../runtime/testing/assert.js";

// A Writable that keeps what it is written, as strings.
function collector(options = {}) {
  const chunks = [];
  const writable = new Writable({
    ...options,
    write(chunk, encoding, callback) {
      chunks.push(typeof chunk === "string" ? chunk : options.objectMode ? chunk : chunk.toString());
      callback();
    },
  });
  writable.chunks = chunks;
  return writable;
}

function errorSummary(error) {
  return [error.name, error.code, error.message];
}

export default {
  "the module: the legacy Stream and its classes"() {
    assert(typeof Stream === "function" && Stream.Stream === Stream);
    assert(Stream.Readable === Readable && Stream.PassThrough === PassThrough);
    assert(new Readable() instanceof Stream && new Writable() instanceof Stream);
    const duplex = new Duplex();
    assert(duplex instanceof Readable && duplex instanceof Writable && duplex instanceof Duplex);
    assert(!(new Readable() instanceof Writable));
    assert(new PassThrough() instanceof Transform);
    assertEquals(Stream.getDefaultHighWaterMark(false), 16384);
    assertEquals(Stream.getDefaultHighWaterMark(true), 16);
    assertEquals([new Readable().readableHighWaterMark, new Writable({ objectMode: true }).writableHighWaterMark],
      [16384, 16]);
    assert(web.ReadableStream === ReadableStream && web.CompressionStream === CompressionStream);
    assert(typeof Readable.from === "function" && typeof Readable.fromWeb === "function");
  },

  async "flowing mode: data, end and close in order"() {
    const log = [];
    const r = new Readable({ read() {} });
    r.on("data", (d) => log.push(`data ${d}`));
    r.on("end", () => log.push("end"));
    r.on("close", () => log.push("close"));
    r.push("a");
    r.push("b");
    r.push(null);
    log.push("pushed");
    await sleep(5);
    assertEquals(log, ["pushed", "data a", "data b", "end", "close"]);
  },

  async "paused mode: readable events and read(n)"() {
    const log = [];
    const r = new Readable({ read() {} });
    r.on("readable", () => {
      let chunk;
      while ((chunk = r.read(3)) !== null) log.push(`read ${chunk}`);
      log.push("readable done");
    });
    r.on("end", () => log.push("end"));
    r.push("abcdefg");
    await sleep(2);
    r.push(null);
    await sleep(5);
    assertEquals(log, ["read abc", "read def", "readable done", "read g", "readable done", "end"]);
    assertEquals(r.read(), null);
  },

  "push answers with backpressure; highWaterMark counts bytes or objects"() {
    const r = new Readable({ read() {}, highWaterMark: 4 });
    assertEquals([r.push("ab"), r.push("cd"), r.push("e")], [true, false, false]);
    assertEquals(r.readableLength, 5);
    const o = new Readable({ read() {}, objectMode: true, highWaterMark: 2 });
    assertEquals([o.push({}), o.push(1), o.push("x")], [true, false, false]);
    assertEquals(o.readableLength, 3);
    assertEquals(o.read(), {});
    assertEquals(o.readableObjectMode, true);
  },

  async "unshift puts a chunk back in front"() {
    const r = new Readable({ read() {} });
    r.push("world");
    r.unshift("hello ");
    r.push(null);
    const parts = [];
    for await (const chunk of r) parts.push(chunk.toString());
    assertEquals(parts.join(""), "hello world");
  },

  async "setEncoding keeps a character split across chunks whole"() {
    const r = new Readable({ read() {} });
    r.setEncoding("utf8");
    const euro = Buffer.from("€");
    r.push(euro.subarray(0, 1));
    r.push(euro.subarray(1));
    r.push(Buffer.from("!"));
    r.push(null);
    const parts = [];
    for await (const chunk of r) parts.push(chunk);
    assertEquals(parts.join(""), "€!");
    assertEquals(r.readableEncoding, "utf8");
  },

  async "pipe with backpressure: the source pauses until drain"() {
    const log = [];
    let reads = 0;
    const r = new Readable({
      highWaterMark: 2,
      objectMode: true,
      read() {
        reads++;
        this.push(reads <= 6 ? `c${reads}` : null);
      },
    });
    const w = new Writable({
      objectMode: true,
      highWaterMark: 2,
      write(chunk, encoding, callback) {
        log.push(chunk);
        setTimeout(callback, 1);
      },
    });
    let drains = 0;
    w.on("drain", () => drains++);
    r.on("pause", () => log.push("pause"));
    r.pipe(w);
    await new Promise((resolve) => w.on("finish", resolve));
    assertEquals(log.filter((x) => x !== "pause"), ["c1", "c2", "c3", "c4", "c5", "c6"]);
    assert(log.includes("pause") && drains > 0);
  },

  async "unpipe stops the flow and emits unpipe"() {
    const r = new PassThrough();
    const w = collector();
    const events = [];
    w.on("pipe", () => events.push("pipe"));
    w.on("unpipe", () => events.push("unpipe"));
    r.pipe(w);
    r.write("a");
    await sleep(2);
    r.unpipe(w);
    r.write("b");
    await sleep(2);
    assertEquals(events, ["pipe", "unpipe"]);
    assertEquals(w.chunks, ["a"]);
    assertEquals(r.readableFlowing, false);
  },

  async "async iteration: values, break destroys, errors reject"() {
    const values = [];
    for await (const v of Readable.from([1, 2, 3])) values.push(v);
    assertEquals(values, [1, 2, 3]);
    const r = Readable.from(["a", "b", "c"]);
    for await (const v of r) {
      if (v === "a") break;
    }
    assertEquals(r.destroyed, true);
    const failing = new Readable({
      read() {
        this.destroy(new Error("boom"));
      },
    });
    const error = await assertRejects(async () => {
      for await (const v of failing) void v;
    });
    assertEquals(error.message, "boom");
  },

  async "Readable.from: async generators, strings, and its errors"() {
    async function* gen() {
      yield "x";
      await sleep(1);
      yield "y";
    }
    assertEquals(await collect(Readable.from(gen())), ["x", "y"]);
    assertEquals(await collect(Readable.from("whole")), ["whole"]);
    assertEquals((await collect(Readable.from(Buffer.from("buf"), { objectMode: false }))).map(String), ["buf"]);
    const bad = assertThrows(() => Readable.from(42));
    assertEquals(errorSummary(bad), ["TypeError", "ERR_INVALID_ARG_TYPE",
      'The "iterable" argument must be an instance of Iterable. Received type number (42)']);
    const nulls = Readable.from([null]);
    const error = await new Promise((resolve) => nulls.on("error", resolve).resume());
    assertEquals(errorSummary(error), ["TypeError", "ERR_STREAM_NULL_VALUES", "May not write null values to stream"]);
  },

  async "destroy with an error: error then close, once"() {
    const log = [];
    const r = new Readable({ read() {} });
    r.on("error", (e) => log.push(`error ${e.message}`));
    r.on("close", () => log.push("close"));
    r.destroy(new Error("bad"));
    r.destroy(new Error("again"));
    assertEquals([r.destroyed, r.errored?.message], [true, "bad"]);
    await sleep(2);
    assertEquals(log, ["error bad", "close"]);
    assertEquals(r.push("late"), false);
  },

  async "push errors: a wrong chunk, and push after EOF"() {
    const errors = [];
    const r = new Readable({ read() {} });
    r.on("error", (e) => errors.push(errorSummary(e)));
    r.push(42);
    const r2 = new Readable({ read() {} });
    r2.on("error", (e) => errors.push(errorSummary(e)));
    r2.push(null);
    r2.push("x");
    await sleep(2);
    assertEquals(errors, [
      ["TypeError", "ERR_INVALID_ARG_TYPE",
        'The "chunk" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type number (42)'],
      ["Error", "ERR_STREAM_PUSH_AFTER_EOF", "stream.push() after EOF"],
    ]);
  },

  async "Writable: callbacks, the backpressure answer, drain, finish, close"() {
    const log = [];
    const w = new Writable({
      highWaterMark: 3,
      write(chunk, encoding, callback) {
        log.push(`write ${chunk}`);
        setTimeout(callback, 1);
      },
    });
    w.on("drain", () => log.push("drain"));
    w.on("finish", () => log.push("finish"));
    w.on("close", () => log.push("close"));
    log.push(`ret ${w.write("ab", (e) => log.push(`cb1 ${e}`))}`);
    log.push(`ret ${w.write("cd", (e) => log.push(`cb2 ${e}`))}`);
    assertEquals([w.writableLength, w.writableNeedDrain], [4, true]);
    w.end(() => log.push("end cb"));
    await new Promise((resolve) => w.on("close", resolve));
    assertEquals(log, ["write ab", "ret true", "ret false", "write cd", "cb1 null", "cb2 null", "end cb", "finish",
      "close"]);
    assertEquals([w.writableFinished, w.writableEnded, w.destroyed], [true, true, true]);
  },

  async "Writable errors: write after end, end twice, null, a wrong chunk"() {
    const errors = [];
    const w = new Writable({ write(c, e, cb) { cb(); } });
    w.on("error", (e) => errors.push(`event ${e.code}`));
    w.end();
    w.write("x", (e) => errors.push(`cb ${e.code}`));
    await sleep(2);
    assertEquals(errors, ["cb ERR_STREAM_WRITE_AFTER_END", "event ERR_STREAM_WRITE_AFTER_END"]);
    const done = new Writable({ write(c, e, cb) { cb(); } });
    done.end();
    await sleep(2);
    const second = await new Promise((resolve) => done.end(resolve));
    assertEquals(errorSummary(second), ["Error", "ERR_STREAM_ALREADY_FINISHED",
      "Cannot call end after a stream was finished"]);
    assertEquals(errorSummary(assertThrows(() => new Writable().write(null))),
      ["TypeError", "ERR_STREAM_NULL_VALUES", "May not write null values to stream"]);
    assertEquals(assertThrows(() => new Writable().write(42)).code, "ERR_INVALID_ARG_TYPE");
    assertEquals(errorSummary(assertThrows(() => new Writable().write("x"))),
      ["Error", "ERR_METHOD_NOT_IMPLEMENTED", "The _write() method is not implemented"]);
    const destroyed = new PassThrough();
    destroyed.destroy();
    const error = await new Promise((resolve) => destroyed.write("x", resolve));
    assertEquals(errorSummary(error), ["Error", "ERR_STREAM_DESTROYED", "Cannot call write after a stream was destroyed"]);
    const twice = new Writable({ write(c, e, cb) { cb(); cb(); } });
    const multiple = await new Promise((resolve) => twice.on("error", resolve).write("a"));
    assertEquals(errorSummary(multiple), ["Error", "ERR_MULTIPLE_CALLBACK", "Callback called multiple times"]);
  },

  async "cork and uncork hand the writes to _writev at once"() {
    const batches = [];
    const w = new Writable({
      writev(chunks, callback) {
        batches.push(chunks.map((c) => c.chunk.toString()));
        callback();
      },
    });
    w.cork();
    w.write("a");
    w.write("b");
    w.write("c");
    assertEquals(w.writableCorked, 1);
    w.uncork();
    w.end("d");
    await new Promise((resolve) => w.on("finish", resolve));
    assertEquals(batches, [["a", "b", "c"], ["d"]]);
  },

  async "_final runs before finish; _construct before the first write"() {
    const log = [];
    const w = new Writable({
      construct(callback) {
        log.push("construct");
        setTimeout(callback, 1);
      },
      write(chunk, encoding, callback) {
        log.push(`write ${chunk}`);
        callback();
      },
      final(callback) {
        log.push("final");
        callback();
      },
    });
    w.write("a");
    w.end();
    w.on("finish", () => log.push("finish"));
    await new Promise((resolve) => w.on("close", resolve));
    assertEquals(log, ["construct", "write a", "final", "finish"]);
  },

  async "Duplex: two sides; allowHalfOpen false ends the writable side"() {
    const written = [];
    const d = new Duplex({
      allowHalfOpen: false,
      read() {},
      write(chunk, encoding, callback) {
        written.push(chunk.toString());
        callback();
      },
    });
    const log = [];
    d.on("data", (chunk) => log.push(`data ${chunk}`));
    d.on("finish", () => log.push("finish"));
    d.on("end", () => log.push("end"));
    d.on("close", () => log.push("close"));
    d.write("in");
    d.push("out");
    d.push(null);
    await new Promise((resolve) => d.on("close", resolve));
    assertEquals(written, ["in"]);
    assertEquals(log, ["data out", "end", "finish", "close"]);
  },

  async "Transform and its flush; PassThrough; object mode"() {
    const upper = new Transform({
      transform(chunk, encoding, callback) {
        callback(null, chunk.toString().toUpperCase());
      },
      flush(callback) {
        this.push("!");
        callback();
      },
    });
    upper.end("abc");
    assertEquals((await collect(upper)).map(String), ["ABC!"]);
    const pass = new PassThrough({ objectMode: true });
    pass.write({ a: 1 });
    pass.end(2);
    assertEquals(await collect(pass), [{ a: 1 }, 2]);
    const failing = new Transform({
      transform(chunk, encoding, callback) {
        callback(new Error("no"));
      },
    });
    const error = await new Promise((resolve) => failing.on("error", resolve).write("x"));
    assertEquals(error.message, "no");
    assertEquals(errorSummary(assertThrows(() => new Transform().write("x"))),
      ["Error", "ERR_METHOD_NOT_IMPLEMENTED", "The _transform() method is not implemented"]);
  },

  async "pipeline: stages in order, the callback once, errors destroy every stage"() {
    const sink = collector();
    const upper = new Transform({ transform(c, e, cb) { cb(null, c.toString().toUpperCase()); } });
    const error = await new Promise((resolve) => pipeline(Readable.from(["a", "b"]), upper, sink, resolve));
    assertEquals([error, sink.chunks], [undefined, ["A", "B"]]);

    const source = new Readable({ read() {} });
    const middle = new PassThrough();
    const end = collector();
    const failure = new Promise((resolve) => pipeline(source, middle, end, resolve));
    source.push("x");
    middle.destroy(new Error("middle failed"));
    assertEquals((await failure).message, "middle failed");
    assertEquals([source.destroyed, middle.destroyed, end.destroyed], [true, true, true]);

    assertEquals(errorSummary(assertThrows(() => pipeline())), ["TypeError", "ERR_INVALID_ARG_TYPE",
      'The "streams[stream.length - 1]" property must be of type function. Received undefined']);
    assertEquals(errorSummary(assertThrows(() => pipeline(new PassThrough(), () => {}))),
      ["TypeError", "ERR_MISSING_ARGS", 'The "streams" argument must be specified']);
  },

  async "stream/promises: pipeline with async generators, finished, a signal"() {
    const out = [];
    await pipelinePromise(
      Readable.from([1, 2, 3]),
      async function* double(source) {
        for await (const n of source) yield n * 2;
      },
      async function gather(source) {
        for await (const n of source) out.push(n);
      });
    assertEquals(out, [2, 4, 6]);
    const controller = new AbortController();
    const never = new Readable({ read() {} });
    const aborted = pipelinePromise(never, collector(), { signal: controller.signal });
    controller.abort();
    const error = await assertRejects(aborted);
    assertEquals([error.name, error.code], ["AbortError", "ABORT_ERR"]);
    const r = Readable.from(["x"]);
    r.resume();
    await finishedPromise(r);
    assertEquals(r.readableEnded, true);
  },

  async "finished: premature close, and the cleanup it returns"() {
    const w = new PassThrough();
    const error = await new Promise((resolve) => {
      finished(w, resolve);
      w.destroy();
    });
    assertEquals(errorSummary(error), ["Error", "ERR_STREAM_PREMATURE_CLOSE", "Premature close"]);
    let called = false;
    const r = Readable.from(["a"]);
    const cleanup = finished(r, () => {
      called = true;
    });
    cleanup();
    r.resume();
    await sleep(5);
    assertEquals(called, false);
  },

  async "addAbortSignal destroys the stream with an AbortError"() {
    const controller = new AbortController();
    const r = addAbortSignal(controller.signal, new Readable({ read() {} }));
    const error = new Promise((resolve) => r.on("error", resolve));
    controller.abort();
    assertEquals([(await error).name, r.destroyed], ["AbortError", true]);
    assertEquals(assertThrows(() => addAbortSignal({}, new Readable())).code, "ERR_INVALID_ARG_TYPE");
  },

  async "Readable.fromWeb and toWeb, Writable.fromWeb and toWeb"() {
    const fromWeb = Readable.fromWeb(new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("web "));
        controller.enqueue(new TextEncoder().encode("bytes"));
        controller.close();
      },
    }));
    assertEquals(Buffer.concat(await collect(fromWeb)).toString(), "web bytes");
    const toWeb = Readable.toWeb(Readable.from([Buffer.from("node "), Buffer.from("bytes")], { objectMode: false }));
    assertEquals(await new Response(toWeb).text(), "node bytes");
    const received = [];
    const writable = Writable.fromWeb(new WritableStream({
      write(chunk) {
        received.push(new TextDecoder().decode(chunk));
      },
    }));
    writable.write("one ");
    writable.end("two");
    await new Promise((resolve) => writable.on("finish", resolve));
    assertEquals(received.join(""), "one two");
    const sink = collector();
    const writer = Writable.toWeb(sink).getWriter();
    await writer.write(new TextEncoder().encode("to web"));
    await writer.close();
    assertEquals(sink.chunks, ["to web"]);
    assertEquals(assertThrows(() => Readable.fromWeb({})).code, "ERR_INVALID_ARG_TYPE");
  },

  async "Duplex.from and duplexPair"() {
    const doubled = Duplex.from(async function* (source) {
      for await (const chunk of source) yield String(chunk) + String(chunk);
    });
    doubled.end("ab");
    assertEquals((await collect(doubled)).map(String), ["abab"]);
    const [left, right] = duplexPair();
    left.write("ping");
    const got = await new Promise((resolve) => right.once("data", resolve));
    assertEquals(got.toString(), "ping");
  },

  async "hostile: a _read that never pushes waits, and destroy ends the wait"() {
    const r = new Readable({ read() {} });
    const iterating = (async () => {
      for await (const chunk of r) void chunk;
    })();
    await sleep(5);
    r.destroy(new Error("gave up"));
    assertEquals((await assertRejects(iterating)).message, "gave up");
  },

  async "hostile: a billion-byte highWaterMark allocates nothing, read(n) past 1 GiB is refused"() {
    const r = new Readable({ read() {}, highWaterMark: 1e9 });
    assertEquals([r.readableHighWaterMark, r.push("x")], [1e9, true]);
    assertEquals(errorSummary(assertThrows(() => new Readable({ read() {} }).read(2 ** 31))), ["RangeError",
      "ERR_OUT_OF_RANGE", 'The value of "size" is out of range. It must be <= 1GiB. Received 2147483648']);
    const t = new PassThrough({ highWaterMark: 2 ** 40 });
    t.end("big");
    assertEquals((await collect(t)).map(String), ["big"]);
    for (const hwm of [-1, 1.5, "x", Infinity]) {
      assertEquals(assertThrows(() => new Readable({ highWaterMark: hwm })).code, "ERR_INVALID_ARG_VALUE");
    }
    assertEquals(assertThrows(() => new Readable({ highWaterMark: -1 })).message,
      "The property 'options.highWaterMark' is invalid. Received -1");
  },

  async "hostile: Proxies and revoked Proxies as chunks and options"() {
    const chunk = new Proxy({ v: 1 }, {});
    const o = new PassThrough({ objectMode: true });
    o.end(chunk);
    assert((await collect(o))[0] === chunk);
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    assertThrows(() => new Writable({ write() {} }).write(proxy), TypeError);
    assertThrows(() => new Readable(proxy), TypeError);
    const throwing = new Proxy({}, {
      get() {
        throw new Error("options trap");
      },
    });
    assertEquals(assertThrows(() => new Writable(throwing)).message, "options trap");
  },

  // Node 20 itself reaches the patched Array.prototype.push here (its pipe
  // does); edge's streams and emitters use the built-ins captured at load.
  async "hostile: patched Array, Promise and Symbol built-ins do not reach the streams"() {
    const saved = {
      push: Array.prototype.push, shift: Array.prototype.shift, splice: Array.prototype.splice,
      iterator: Array.prototype[Symbol.iterator], then: Promise.prototype.then,
    };
    const trap = () => {
      throw new Error("patched built-in reached");
    };
    let out;
    try {
      Array.prototype.push = trap;
      Array.prototype.shift = trap;
      Array.prototype.splice = trap;
      Array.prototype[Symbol.iterator] = trap;
      Promise.prototype.then = trap;
      const source = new Readable({ read() {}, objectMode: true });
      const upper = new Transform({ objectMode: true, transform(c, e, cb) { cb(null, c.toUpperCase()); } });
      const seen = [];
      const sink = new Writable({ objectMode: true, write(c, e, cb) { seen[seen.length] = c; cb(); } });
      source.pipe(upper).pipe(sink);
      source.push("a");
      source.push("b");
      source.push(null);
      await new Promise((resolve) => sink.on("finish", resolve));
      out = seen;
    } finally {
      Array.prototype.push = saved.push;
      Array.prototype.shift = saved.shift;
      Array.prototype.splice = saved.splice;
      Array.prototype[Symbol.iterator] = saved.iterator;
      Promise.prototype.then = saved.then;
    }
    assertEquals(out, ["A", "B"]);
  },

  async "hostile: Object.prototype keys are not stream state"() {
    Object.prototype.needDrain = true;
    Object.prototype.ended = true;
    Object.prototype.flowing = false;
    try {
      const pass = new PassThrough();
      pass.end("still flows");
      assertEquals((await collect(pass)).map(String), ["still flows"]);
    } finally {
      delete Object.prototype.needDrain;
      delete Object.prototype.ended;
      delete Object.prototype.flowing;
    }
  },

  async "stream/consumers: a whole Readable, Web stream or async iterable as one value"() {
    assertEquals(Object.keys(consumers).sort().join(","), "arrayBuffer,blob,buffer,json,text");
    assertEquals(await text(Readable.from(["a", Buffer.from("é")])), "aé");
    // A character split between chunks.
    const euro = Buffer.from("€");
    const split = new web.ReadableStream({
      start(c) { c.enqueue(euro.subarray(0, 1)); c.enqueue(euro.subarray(1)); c.close(); },
    });
    assertEquals(await text(split), "€");
    assertEquals(JSON.stringify(await json(Readable.from(['{"a":', "1}"]))), '{"a":1}');
    const bytes = await buffer(Readable.from([Buffer.from("hi"), Buffer.from("!")]));
    assert(Buffer.isBuffer(bytes));
    assertEquals(bytes.toString(), "hi!");
    const ab = await arrayBuffer(Readable.from([Buffer.from("xyz")]));
    assert(ab instanceof ArrayBuffer);
    assertEquals(ab.byteLength, 3);
    const b = await blob(Readable.from([Buffer.from("abcd")]));
    assertEquals([b.size, await b.text()], [4, "abcd"]);
    assertEquals(await text((async function* () { yield "x"; yield new Uint8Array([121]); })()), "xy");
    assertEquals(await text(Readable.from([])), "");
  },

  async "stream/consumers: errors reject, as in Node"() {
    const boom = await assertRejects(
      () => text(new Readable({ read() { this.destroy(new Error("boom")); } })), Error);
    assertEquals(boom.message, "boom");
    await assertRejects(() => json(Readable.from(["{bad"])), "SyntaxError");
    await assertRejects(() => text(42), TypeError);
  },

  async "hostile: stream/consumers with patched built-ins and a never-ending stream"() {
    const saved = { push: Array.prototype.push, parse: JSON.parse };
    Array.prototype.push = () => { throw new Error("patched push"); };
    JSON.parse = () => "patched parse";
    Object.prototype.stream = false;
    const euro = Buffer.from("€");
    const results = [];
    try {
      results[0] = await text(Readable.from([euro.subarray(0, 2), euro.subarray(2)]));
      results[1] = (await json(Readable.from(["[1]"])))[0];
      results[2] = (await blob(Readable.from(["ab"]))).size;
    } finally {
      Array.prototype.push = saved.push;
      JSON.parse = saved.parse;
      delete Object.prototype.stream;
    }
    assertEquals(results, ["€", 1, 2]);
    // A stream that never ends leaves the promise pending, holding nothing
    // the invocation does not own; the test only checks it does not settle.
    let settled = false;
    text(new Readable({ read() {} })).then(() => { settled = true; }, () => { settled = true; });
    await sleep(20);
    assert(!settled);
  },
};

async function collect(readable) {
  const out = [];
  for await (const chunk of readable) out.push(chunk);
  return out;
}
