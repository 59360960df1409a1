// TextEncoderStream and TextDecoderStream (UTF-8), including characters split
// across chunks.

import { assert, assertEquals, assertThrows, assertRejects, assertInterfaces } from "../../runtime/testing/assert.js";

// Writes `chunks` to `transform` and returns everything read from it.
async function run(transform, chunks) {
  const writer = transform.writable.getWriter();
  for (const chunk of chunks) writer.write(chunk);
  writer.close();
  const out = [];
  for await (const chunk of transform.readable) out.push(chunk);
  return out;
}

const bytes = (...b) => new Uint8Array(b);
const asArrays = (chunks) => chunks.map((chunk) => [Object.prototype.toString.call(chunk), ...chunk]);

export default {
  async "TextEncoderStream encodes each chunk to UTF-8"() {
    const out = await run(new TextEncoderStream(), ["a", "", "é€", 5, "😀"]);
    assertEquals(asArrays(out), [
      ["[object Uint8Array]", 0x61],
      ["[object Uint8Array]", 0xc3, 0xa9, 0xe2, 0x82, 0xac],
      ["[object Uint8Array]", 0x35],
      ["[object Uint8Array]", 0xf0, 0x9f, 0x98, 0x80],
    ]);
  },

  async "TextEncoderStream joins a surrogate pair split across chunks"() {
    const out = await run(new TextEncoderStream(), ["x\uD83D", "\uDE00y"]);
    assertEquals(asArrays(out), [
      ["[object Uint8Array]", 0x78],
      ["[object Uint8Array]", 0xf0, 0x9f, 0x98, 0x80, 0x79],
    ]);
    // The high surrogate waits through an empty chunk.
    const out2 = await run(new TextEncoderStream(), ["\uD83D", "", "\uDE00"]);
    assertEquals(asArrays(out2), [["[object Uint8Array]", 0xf0, 0x9f, 0x98, 0x80]]);
  },

  async "TextEncoderStream replaces lone surrogates with U+FFFD"() {
    // A high surrogate not followed by a low one ("\uD800a"), a lone low one,
    // two high ones (the second waits for the next chunk, which is another
    // high one), and a high surrogate left at the end (flushed as U+FFFD).
    const out = await run(new TextEncoderStream(), ["\uD800", "a", "\uDC00", "\uD800\uD801", "\uDBFF"]);
    const fffd = ["[object Uint8Array]", 0xef, 0xbf, 0xbd];
    assertEquals(asArrays(out), [[...fffd, 0x61], fffd, fffd, fffd, fffd]);
  },

  async "TextEncoderStream: a chunk that cannot become a string errors the stream"() {
    const stream = new TextEncoderStream();
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    const read = reader.read();
    await assertRejects(writer.write(Symbol("s")), TypeError);
    await assertRejects(read, TypeError);
    await assertRejects(reader.closed, TypeError);
  },

  async "TextDecoderStream decodes BufferSource chunks"() {
    const buffer = new Uint8Array([0x68, 0x69]).buffer;
    const out = await run(new TextDecoderStream(), [bytes(0x61), buffer, new DataView(bytes(0, 0x62, 0).buffer, 1, 1), bytes()]);
    assertEquals(out, ["a", "hi", "b"]);
  },

  async "TextDecoderStream joins multibyte characters split across chunks"() {
    const euro = [0xe2, 0x82, 0xac];
    const emoji = [0xf0, 0x9f, 0x98, 0x80];
    const out = await run(new TextDecoderStream(), [
      bytes(0x61, euro[0]),
      bytes(euro[1]),
      bytes(euro[2], emoji[0], emoji[1]),
      bytes(emoji[2]),
      bytes(emoji[3], 0x62),
    ]);
    assertEquals(out, ["a", "€", "😀b"]);
    // Byte by byte.
    const all = [0xc3, 0xa9, ...euro, ...emoji];
    const out2 = await run(new TextDecoderStream(), all.map((b) => bytes(b)));
    assertEquals(out2.join(""), "é€😀");
  },

  async "TextDecoderStream: an incomplete sequence at the end becomes U+FFFD"() {
    const out = await run(new TextDecoderStream(), [bytes(0x61, 0xe2, 0x82)]);
    assertEquals(out, ["a", "\uFFFD"]);
  },

  async "TextDecoderStream: the BOM is stripped once at the start, unless ignoreBOM"() {
    const bom = [0xef, 0xbb, 0xbf];
    assertEquals(await run(new TextDecoderStream(), [bytes(bom[0]), bytes(bom[1], bom[2], 0x61), bytes(...bom)]), ["a", "\uFEFF"]);
    const keep = new TextDecoderStream("utf-8", { ignoreBOM: true });
    assertEquals(keep.ignoreBOM, true);
    assertEquals(await run(keep, [bytes(...bom, 0x61)]), ["\uFEFFa"]);
  },

  async "TextDecoderStream: fatal errors the stream with a TypeError"() {
    const stream = new TextDecoderStream("utf-8", { fatal: true });
    assertEquals(stream.fatal, true);
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    const read = reader.read();
    await assertRejects(writer.write(bytes(0xff)), TypeError);
    await assertRejects(read, TypeError);
    // An incomplete sequence at close is fatal too.
    const stream2 = new TextDecoderStream("utf-8", { fatal: true });
    const writer2 = stream2.writable.getWriter();
    const reader2 = stream2.readable.getReader();
    writer2.write(bytes(0xe2, 0x82));
    const close = writer2.close();
    await assertRejects(reader2.read(), TypeError);
    await assertRejects(close, TypeError);
  },

  async "TextDecoderStream: a chunk that is not a BufferSource errors the stream"() {
    for (const chunk of ["text", undefined, 1, {}, [1, 2]]) {
      const stream = new TextDecoderStream();
      const read = stream.readable.getReader().read();
      await assertRejects(stream.writable.getWriter().write(chunk), TypeError, String(chunk));
      await assertRejects(read, TypeError);
    }
  },

  async "encoder and decoder streams round-trip through pipeThrough()"() {
    const text = "héllo wörld € 😀 ".repeat(50);
    // Cut the text into small pieces, some in the middle of a surrogate pair.
    const pieces = [];
    for (let i = 0; i < text.length; i += 7) pieces.push(text.slice(i, i + 7));
    const decoded = ReadableStream.from(pieces).pipeThrough(new TextEncoderStream()).pipeThrough(new TextDecoderStream());
    let result = "";
    for await (const chunk of decoded) result += chunk;
    assertEquals(result, text);
    // And through a Response body.
    const body = ReadableStream.from(pieces).pipeThrough(new TextEncoderStream());
    assertEquals(await new Response(body).text(), text);
  },

  "constructors and attributes"() {
    const encoder = new TextEncoderStream();
    assertEquals(encoder.encoding, "utf-8");
    assert(encoder.readable instanceof ReadableStream);
    assert(encoder.writable instanceof WritableStream);
    const decoder = new TextDecoderStream();
    assertEquals([decoder.encoding, decoder.fatal, decoder.ignoreBOM], ["utf-8", false, false]);
    assertEquals(new TextDecoderStream(" UTF8 ").encoding, "utf-8");
    assertEquals(new TextDecoderStream("latin2").encoding, "iso-8859-2");
    assertThrows(() => new TextDecoderStream("nope"), RangeError);
    assertThrows(() => new TextDecoderStream("utf-8", 5), TypeError);
    assertThrows(() => Object.getOwnPropertyDescriptor(TextEncoderStream.prototype, "readable").get.call({}), TypeError);
    assertThrows(() => Object.getOwnPropertyDescriptor(TextDecoderStream.prototype, "fatal").get.call(encoder), TypeError);
    assertInterfaces({
      TextEncoderStream: ["encoding", "readable", "writable"],
      TextDecoderStream: ["encoding", "fatal", "ignoreBOM", "readable", "writable"],
    });
  },

  async "backpressure: the encoder stream writes only as it is read"() {
    const stream = new TextEncoderStream();
    const writer = stream.writable.getWriter();
    assertEquals(writer.desiredSize, 1);
    writer.write("a");
    writer.write("b");
    assertEquals(writer.desiredSize, -1);
    const reader = stream.readable.getReader();
    assertEquals([...(await reader.read()).value], [0x61]);
    assertEquals([...(await reader.read()).value], [0x62]);
  },
};
