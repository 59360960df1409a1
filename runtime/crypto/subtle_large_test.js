// crypto.subtle digests, HMAC and AES over inputs larger than 256 KiB, which
// run off the serving thread (runtime/crypto/crypto_job.h): the same answers
// as the inline path and as published vectors, whatever the caller does to
// its buffer meanwhile or to Promise.prototype.then.

import { assert, assertStrictEquals, assertRejects, hex, fromHex, utf8 } from "../../runtime/testing/assert.js";

const MiB = 1024 * 1024;
// Well under the inline threshold: the inline path.
const CHUNK = 64 * 1024;

// FIPS 180-2 / NIST: the digests of one million "a".
const MILLION_A = {
  "SHA-1": "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
  "SHA-256": "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  "SHA-384":
    "9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985",
  "SHA-512":
    "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb" +
    "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
};

// Compares two large buffers byte by byte (hex of a MiB is slow).
function assertSameBytes(actual, expected, message = "") {
  const a = new Uint8Array(actual);
  const b = new Uint8Array(expected);
  assertStrictEquals(a.byteLength, b.byteLength, `${message} length`);
  for (let i = 0; i < a.byteLength; i++) {
    if (a[i] !== b[i]) assertStrictEquals(a[i], b[i], `${message} byte ${i}`);
  }
}

function millionA() {
  return new Uint8Array(1000000).fill(0x61);
}

// Bytes that differ from block to block (a pattern repeating every 251).
function pattern(length) {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >> 8)) % 251;
  return bytes;
}

function concat(parts) {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(new Uint8Array(part), at);
    at += part.byteLength;
  }
  return out;
}

// The 128-bit counter block `counter` advanced by `blocks`.
function addToCounter(counter, blocks) {
  const out = counter.slice();
  let carry = blocks;
  for (let i = 15; i >= 0 && carry > 0; i--) {
    const sum = out[i] + (carry % 256);
    out[i] = sum % 256;
    carry = Math.floor(carry / 256) + Math.floor(sum / 256);
  }
  return out;
}

const importAes = (name, usages = ["encrypt", "decrypt"]) =>
  crypto.subtle.importKey("raw", pattern(32), name, false, usages);

export default {
  async "digest: one million 'a' with every hash, off the thread"() {
    for (const [name, expected] of Object.entries(MILLION_A)) {
      assertStrictEquals(hex(await crypto.subtle.digest(name, millionA())), expected, name);
    }
  },

  async "HMAC: a 1 MiB message equals HMAC computed from its definition"() {
    // HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)) (RFC 2104), with the
    // digest as the reference; and verify agrees, through both paths.
    const keyBytes = pattern(64);
    const message = pattern(MiB + 3);
    const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    const mac = await crypto.subtle.sign("HMAC", key, message);
    const inner = await crypto.subtle.digest("SHA-256", concat([keyBytes.map((b) => b ^ 0x36), message]));
    const expected = await crypto.subtle.digest("SHA-256", concat([keyBytes.map((b) => b ^ 0x5c), inner]));
    assertStrictEquals(hex(mac), hex(expected));
    assertStrictEquals(await crypto.subtle.verify("HMAC", key, mac, message), true);
    const wrong = new Uint8Array(mac);
    wrong[0] ^= 1;
    assertStrictEquals(await crypto.subtle.verify("HMAC", key, wrong, message), false);
    message[MiB] ^= 1;
    assertStrictEquals(await crypto.subtle.verify("HMAC", key, mac, message), false);
  },

  async "AES-CTR: 1 MiB at once equals 64 KiB chunks inline"() {
    const key = await importAes("AES-CTR");
    const counter = fromHex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    const plaintext = pattern(MiB);
    const whole = await crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 64 }, key, plaintext);
    const chunks = [];
    for (let at = 0; at < plaintext.length; at += CHUNK) {
      const params = { name: "AES-CTR", counter: addToCounter(counter, at / 16), length: 64 };
      chunks.push(await crypto.subtle.encrypt(params, key, plaintext.subarray(at, at + CHUNK)));
    }
    assertSameBytes(whole, concat(chunks));
    const back = await crypto.subtle.decrypt({ name: "AES-CTR", counter, length: 64 }, key, whole);
    assertSameBytes(back, plaintext);
  },

  async "AES-CBC: 1 MiB at once equals 64 KiB chunks inline"() {
    // Each chunk is a multiple of 16 bytes, so CBC over it ends with one
    // block of padding: dropped, and the next chunk chains from the last
    // block of ciphertext.
    const key = await importAes("AES-CBC");
    const iv = pattern(16);
    const plaintext = pattern(MiB);
    const whole = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, key, plaintext));
    const chunks = [];
    let chain = iv;
    for (let at = 0; at < plaintext.length; at += CHUNK) {
      const sealed = new Uint8Array(
        await crypto.subtle.encrypt({ name: "AES-CBC", iv: chain }, key, plaintext.subarray(at, at + CHUNK)),
      );
      const body = sealed.subarray(0, CHUNK);
      chunks.push(body);
      chain = body.slice(CHUNK - 16);
    }
    assertStrictEquals(whole.byteLength, MiB + 16);
    assertSameBytes(whole.subarray(0, MiB), concat(chunks));
    const back = await crypto.subtle.decrypt({ name: "AES-CBC", iv }, key, whole);
    assertSameBytes(back, plaintext);
  },

  async "AES-GCM: 1 MiB round-trips, and a changed byte fails the tag"() {
    const key = await importAes("AES-GCM");
    const params = { name: "AES-GCM", iv: pattern(12), additionalData: utf8("header") };
    const plaintext = pattern(MiB + 5);
    const sealed = new Uint8Array(await crypto.subtle.encrypt(params, key, plaintext));
    assertStrictEquals(sealed.byteLength, MiB + 5 + 16);
    assertSameBytes(await crypto.subtle.decrypt(params, key, sealed), plaintext);
    sealed[MiB - 7] ^= 1;
    await assertRejects(crypto.subtle.decrypt(params, key, sealed), "OperationError");
  },

  async "the caller's buffer detached or changed after the call changes nothing"() {
    const expected = MILLION_A["SHA-256"];
    const changed = millionA();
    const pending = crypto.subtle.digest("SHA-256", changed);
    changed.fill(0);
    assertStrictEquals(hex(await pending), expected);

    const detached = millionA();
    const later = crypto.subtle.digest("SHA-256", detached.buffer);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    assertStrictEquals(detached.byteLength, 0);
    assertStrictEquals(hex(await later), expected);

    const key = await importAes("AES-GCM");
    const params = { name: "AES-GCM", iv: pattern(12) };
    const plaintext = pattern(MiB);
    const reference = plaintext.slice();
    const sealing = crypto.subtle.encrypt(params, key, plaintext);
    structuredClone(plaintext.buffer, { transfer: [plaintext.buffer] });
    assertSameBytes(await crypto.subtle.decrypt(params, key, await sealing), reference);
  },

  async "a poisoned Promise.prototype.then neither breaks nor sees the result"() {
    const then = Promise.prototype.then;
    let seen = 0;
    const pending = [];
    Promise.prototype.then = function (...args) {
      seen++;
      throw new Error("poisoned then");
    };
    try {
      pending.push(crypto.subtle.digest("SHA-256", millionA()));
      pending.push(crypto.subtle.digest("SHA-256", new Uint8Array(3)));
    } finally {
      Promise.prototype.then = then;
    }
    assertStrictEquals(seen, 0, "the runtime called the tenant's then");
    const [large, small] = await Promise.all(pending);
    assertStrictEquals(hex(large), MILLION_A["SHA-256"]);
    assertStrictEquals(hex(small), "709e80c88487a2411e1ee4dfb9f22a861492d20c4765150c0c794abd70f8147c");
  },

  async "many large digests at once all finish, in order"() {
    // An isolate runs one crypto job at a time (ThreadPoolQueue::kCpuJobs);
    // the rest wait in its queue (worker_test.cc checks the queue's bound).
    const started = [];
    for (let i = 0; i < 24; i++) {
      const bytes = millionA();
      bytes[i] = 0x62;
      started.push(crypto.subtle.digest("SHA-1", bytes));
    }
    const digests = (await Promise.all(started)).map(hex);
    assertStrictEquals(new Set(digests).size, 24);
    for (let i = 0; i < 24; i++) {
      const bytes = millionA();
      bytes[i] = 0x62;
      assertStrictEquals(hex(await crypto.subtle.digest("SHA-1", bytes)), digests[i], `digest ${i}`);
    }
  },
};
