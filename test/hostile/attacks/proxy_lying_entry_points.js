// Tenant vs node: a Proxy that lies: every property read returns another
// value chosen to confuse a conversion (huge lengths, NaN, negative sizes,
// itself, a thenable, a getter-like function), has() says yes to all, and
// ownKeys lists thousands of names. Given to every entry point.
import { attack, entryPoints, reply } from "./lib.js";

const keys = [];
for (let i = 0; i < 5000; i++) keys.push(`k${i}`);
let reads = 0;
const liar = new Proxy(function () {}, {
  get(target, name) {
    reads++;
    if (name === Symbol.iterator) return function* () { yield liar; yield 2 ** 53; };
    if (name === Symbol.toPrimitive) return () => (reads % 2 ? 2 ** 32 + 1 : "x".repeat(100));
    if (name === "then") return undefined;
    if (name === "length" || name === "byteLength" || name === "size") return 2 ** 53 - 1;
    const picks = [liar, -1, NaN, 2 ** 31, "GET", true, null, {}];
    return picks[reads % picks.length];
  },
  has: () => true,
  ownKeys: () => keys,
  getOwnPropertyDescriptor: () => ({ value: liar, writable: true, enumerable: true, configurable: true }),
});

export default {
  async fetch(request, env) {
    const lines = await attack(() => {}, () => {}, entryPoints(env, liar));
    return reply(lines);
  },
};
