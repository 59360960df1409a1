// Tenant vs node: Array.prototype[Symbol.iterator] (and the iterator's
// `next`) replaced by throwing or endless-but-finite versions, while the
// entry points that take sequences and iterate are called.
import { attack, entryPoints, reply } from "./lib.js";

const arrayIterator = Array.prototype[Symbol.iterator];
const ArrayIteratorPrototype = Object.getPrototypeOf([][Symbol.iterator]());
const next = ArrayIteratorPrototype.next;

export default {
  async fetch(request, env) {
    const lines = await attack(
      () => {
        Array.prototype[Symbol.iterator] = function () {
          throw new Error("poisoned iterator");
        };
        ArrayIteratorPrototype.next = function () {
          return { done: false, value: ["x", "y"] };
        };
      },
      () => {
        Array.prototype[Symbol.iterator] = arrayIterator;
        ArrayIteratorPrototype.next = next;
      },
      [
        ...entryPoints(env, [["a", "b"]]),
        ["Headers from pairs", () => new Headers([["a", "b"]])],
        ["Blob from parts", () => new Blob(["a", "b"]).text()],
        ["generateKey usages", () => crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"])],
        ["KV get many", () => env.STORE.get(["a", "b"])],
      ],
    );
    return reply(lines);
  },
};
