// Tenant vs node, the crash: a throwing setter on Array.prototype[0],
// then fetch() to a real origin. The response head's header list was filled
// with Object::Set(...).Check() in C++, which aborted the process
// (`Fatal error in v8::FromJust`). Now it is built without running any
// setter; whatever the poisoned realm does to the runtime's JavaScript
// becomes an exception for this worker only.
import { attack, define, reply } from "./lib.js";

export default {
  async fetch(request, env) {
    let remove;
    const lines = await attack(
      () => {
        remove = define(Array.prototype, ["0", "1", "2", "3"], () => ({
          get: () => undefined,
          set() {
            throw new Error("poisoned Array.prototype setter");
          },
        }));
      },
      () => remove(),
      [
        ["fetch", () => fetch(env.ORIGIN)],
        ["fetch and read", () => fetch(env.ORIGIN).then((r) => r.text())],
        ["fetch with headers", () => fetch(env.ORIGIN, { headers: { "x-a": "1" } })],
      ],
    );
    // Unpoisoned again: the same isolate serves normally.
    const after = await fetch(env.ORIGIN).then((r) => r.text());
    lines.push(`after: ${after}`);
    return reply(lines);
  },
};
