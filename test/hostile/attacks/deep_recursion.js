// Tenant vs node: recursion to the edge of the stack, then natives are
// called (URL parsing, encoding, random bytes, KV, structuredClone of a
// deeply nested value). Each either works or throws a RangeError; none
// overflows the C++ stack.
import { attack, reply } from "./lib.js";

function atTheEdge(fn) {
  let depth = 0;
  let outcome = "never reached";
  function down() {
    depth++;
    try {
      down();
    } catch {
      try {
        fn();
        outcome = "ran";
      } catch (error) {
        outcome = error && error.name;
      }
    }
  }
  down();
  return `${outcome} at depth ${depth > 1000 ? "> 1000" : depth}`;
}

export default {
  async fetch(request, env) {
    let nested = {};
    for (let i = 0; i < 200000; i++) nested = { next: nested };
    let nestedArray = [];
    for (let i = 0; i < 200000; i++) nestedArray = [nestedArray];
    const lines = await attack(() => {}, () => {}, [
      ["URL", () => atTheEdge(() => new URL("https://example.com/a/../b?c#d"))],
      ["TextEncoder", () => atTheEdge(() => new TextEncoder().encode("x".repeat(100)))],
      ["getRandomValues", () => atTheEdge(() => crypto.getRandomValues(new Uint8Array(8)))],
      ["KV get", () => atTheEdge(() => env.STORE.get("k"))],
      ["structuredClone nested object", () => structuredClone(nested)],
      ["structuredClone nested array", () => structuredClone(nestedArray)],
      ["JSON metadata nested", () => env.STORE.put("k", "v", { metadata: nestedArray })],
      ["console.log nested", () => console.log(nested)],
      ["Response.json nested", () => Response.json(nestedArray)],
    ]);
    return reply(lines);
  },
};
