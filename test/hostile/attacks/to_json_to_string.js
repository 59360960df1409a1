// Tenant vs node: values whose toJSON, toString, valueOf or
// Symbol.toPrimitive throw, return objects, or return absurd values, passed
// where the runtime converts them (JSON metadata, URLs, header values,
// timer delays, lengths, expirations).
import { attack, reply } from "./lib.js";

const throwing = {
  toJSON() {
    throw new Error("toJSON");
  },
  toString() {
    throw new Error("toString");
  },
  valueOf() {
    throw new Error("valueOf");
  },
};
const objectReturning = {
  toString: () => ({}),
  valueOf: () => ({}),
  toJSON: () => objectReturning,
};
const absurd = {
  [Symbol.toPrimitive]: (hint) => (hint === "number" ? 2 ** 64 : "x".repeat(1 << 16)),
  toJSON: () => "y".repeat(2048),
};

export default {
  async fetch(request, env) {
    const steps = [];
    for (const [label, value] of [["throwing", throwing], ["objectReturning", objectReturning], ["absurd", absurd]]) {
      steps.push(
        [`${label} Response.json`, () => Response.json(value)],
        [`${label} KV metadata`, () => env.STORE.put("k", "v", { metadata: value })],
        [`${label} KV expirationTtl`, () => env.STORE.put("k", "v", { expirationTtl: value })],
        [`${label} KV key`, () => env.STORE.get(value)],
        [`${label} KV list limit`, () => env.STORE.list({ limit: value, prefix: value })],
        [`${label} URL`, () => new URL(value)],
        [`${label} header value`, () => new Headers({ a: value })],
        [`${label} status`, () => new Response("x", { status: value })],
        [`${label} setTimeout delay`, () => clearTimeout(setTimeout(() => {}, value))],
        [`${label} deriveBits length`, async () => {
          const key = await crypto.subtle.importKey("raw", new Uint8Array(4), "HKDF", false, ["deriveBits"]);
          return crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(1), info: new Uint8Array(1) }, key, value);
        }],
        [`${label} fetch url`, () => fetch(value)],
        [`${label} console`, () => console.log(value)],
        [`${label} structuredClone`, () => structuredClone(value)],
      );
    }
    return reply(await attack(() => {}, () => {}, steps));
  },
};
