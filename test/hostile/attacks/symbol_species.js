// Tenant vs node: Symbol.species of Array, Promise, ArrayBuffer and the
// typed arrays pointing at hostile constructors (one that returns a tiny
// buffer, one that throws), so any slice() or then() the runtime makes
// through them is subverted. Natives read bytes through V8's API, never
// through these, so no read or write goes out of bounds.
import { attack, entryPoints, reply } from "./lib.js";

const targets = [Array, Promise, ArrayBuffer, Uint8Array, Object.getPrototypeOf(Uint8Array)];
const saved = targets.map((t) => Object.getOwnPropertyDescriptor(t, Symbol.species));
const savedConstructor = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "constructor");

class Tiny {
  constructor() {
    return new ArrayBuffer(1);
  }
}
Tiny[Symbol.species] = Tiny;

export default {
  async fetch(request, env) {
    const bytes = new Uint8Array(64).fill(7);
    const lines = await attack(
      () => {
        for (const t of targets) {
          Object.defineProperty(t, Symbol.species, { configurable: true, get: () => Tiny });
        }
        Object.defineProperty(ArrayBuffer.prototype, "constructor", { configurable: true, value: Tiny });
      },
      () => {
        targets.forEach((t, i) => {
          if (saved[i] === undefined) delete t[Symbol.species];
          else Object.defineProperty(t, Symbol.species, saved[i]);
        });
        Object.defineProperty(ArrayBuffer.prototype, "constructor", savedConstructor);
      },
      [
        ...entryPoints(env, bytes),
        ["Blob slice", () => new Blob([bytes]).slice(1, 60).arrayBuffer()],
        ["body arrayBuffer", () => new Response(bytes).arrayBuffer()],
        ["digest", () => crypto.subtle.digest("SHA-256", bytes.subarray(2))],
        ["KV put view", () => env.STORE.put("k", bytes.subarray(8))],
        ["TextDecoder view", () => new TextDecoder().decode(bytes.subarray(4, 40))],
        ["encodeInto", () => new TextEncoder().encodeInto("hello", bytes.subarray(60))],
        ["byte stream", () =>
          new ReadableStream({ type: "bytes", start: (c) => { c.enqueue(bytes.slice(0, 8)); c.close(); } })
            .getReader({ mode: "byob" }).read(new Uint8Array(16))],
      ],
    );
    return reply(lines);
  },
};
