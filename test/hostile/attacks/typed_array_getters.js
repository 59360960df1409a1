// Tenant vs node: the getters of TypedArray.prototype (length, byteLength,
// byteOffset, buffer), ArrayBuffer.prototype.byteLength and DataView's
// replaced with ones that lie (huge or negative sizes, another buffer).
// Natives read views through V8's API, so no lie reaches a memcpy.
import { attack, entryPoints, reply } from "./lib.js";

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const patched = [
  [TypedArrayPrototype, "length"], [TypedArrayPrototype, "byteLength"], [TypedArrayPrototype, "byteOffset"],
  [TypedArrayPrototype, "buffer"], [ArrayBuffer.prototype, "byteLength"], [DataView.prototype, "byteLength"],
  [DataView.prototype, "byteOffset"],
];
const saved = patched.map(([target, name]) => Object.getOwnPropertyDescriptor(target, name));
const other = new ArrayBuffer(8);
const lies = { length: 2 ** 31, byteLength: 2 ** 40, byteOffset: -4096, buffer: other };

export default {
  async fetch(request, env) {
    const view = new Uint8Array(16).fill(1);
    const lines = await attack(
      () => {
        for (const [target, name] of patched) {
          Object.defineProperty(target, name, { configurable: true, get: () => lies[name] });
        }
      },
      () => patched.forEach(([target, name], i) => Object.defineProperty(target, name, saved[i])),
      [
        ...entryPoints(env, view),
        ["KV put view", () => env.STORE.put("k", view.subarray(4))],
        ["digest DataView", () => crypto.subtle.digest("SHA-256", new DataView(view.buffer, 2, 4))],
        ["decode DataView", () => new TextDecoder().decode(new DataView(view.buffer, 2, 4))],
        ["Response view", () => new Response(view.subarray(2)).arrayBuffer()],
        ["encodeInto", () => new TextEncoder().encodeInto("abc", view.subarray(14))],
      ],
    );
    return reply(lines);
  },
};
