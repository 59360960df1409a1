// crypto.DigestStream: the hash of everything written, chunk by chunk, as
// crypto.subtle.digest gives it; strings as UTF-8; errors reject `digest`.

import { assert, assertEquals, assertRejects, assertStrictEquals, assertThrows, hex, utf8 } from "../../runtime/testing/assert.js";

async function digestOf(algorithm, chunks) {
  const stream = new crypto.DigestStream(algorithm);
  const writer = stream.getWriter();
  for (const chunk of chunks) await writer.write(chunk);
  await writer.close();
  return [hex(await stream.digest), stream.bytesWritten];
}

export default {
  "DigestStream is a WritableStream on the crypto object"() {
    assertEquals(typeof crypto.DigestStream, "function");
    assert(!Object.getOwnPropertyDescriptor(crypto, "DigestStream").enumerable);
    const stream = new crypto.DigestStream("SHA-256");
    assert(stream instanceof WritableStream);
    assert(stream.digest instanceof Promise);
    assertStrictEquals(stream.bytesWritten, 0n);
  },

  async "every algorithm matches subtle.digest (and MD5 its known value)"() {
    const data = utf8("hello there");
    for (const name of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) {
      const [digest, written] = await digestOf(name, [data.subarray(0, 5), data.subarray(5)]);
      assertEquals(digest, hex(await crypto.subtle.digest(name, data)), name);
      assertStrictEquals(written, 11n);
    }
    const [md5] = await digestOf("md5", ["hello", "there"]);
    assertEquals(md5, "c6f7c372641dd25e0fddf0215375561f");
    const [sha] = await digestOf({ name: "sha-256" }, []);
    assertEquals(sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  },

  async "a chunk larger than a slice hashes as one"() {
    const big = new Uint8Array(3 * (1 << 20) + 5).map((_, i) => i & 0xff);
    const view = new DataView(big.buffer, 7, big.length - 9);
    const [digest, written] = await digestOf("SHA-256", [view]);
    assertEquals(digest, hex(await crypto.subtle.digest("SHA-256", big.subarray(7, big.length - 2))));
    assertStrictEquals(written, BigInt(big.length - 9));
  },

  async "a stream body piped into it"() {
    const stream = new crypto.DigestStream("SHA-256");
    await new Response("abc").body.pipeTo(stream);
    assertEquals(hex(await stream.digest), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  },

  async "bad algorithms and chunks"() {
    assertThrows(() => new crypto.DigestStream("SHA-3"), "NotSupportedError");
    assertThrows(() => new crypto.DigestStream(5), TypeError);
    assertThrows(() => new crypto.DigestStream(), TypeError);
    const stream = new crypto.DigestStream("SHA-1");
    const writer = stream.getWriter();
    await assertRejects(writer.write(42), TypeError);
    await assertRejects(stream.digest, TypeError);
  },

  async "an abort rejects the digest with the reason"() {
    const stream = new crypto.DigestStream("SHA-256");
    await stream.getWriter().abort(new RangeError("stop"));
    await assertRejects(stream.digest, RangeError);
  },

  async "an abandoned stream and a patched prototype change nothing"() {
    for (let i = 0; i < 1000; i++) new crypto.DigestStream("SHA-512").getWriter().write(new Uint8Array(64));
    const saved = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "buffer");
    Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), "buffer", { get() { return "poison"; }, configurable: true });
    let digest;
    try {
      const stream = new crypto.DigestStream("SHA-256");
      const writer = stream.getWriter();
      await writer.write(utf8("abc"));
      await writer.close();
      digest = await stream.digest;
    } finally {
      Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), "buffer", saved);
    }
    assert(digest instanceof ArrayBuffer);
    assertEquals(hex(digest), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  },
};
