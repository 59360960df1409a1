// Tenant vs node: a setter on Array.prototype[0..3] that swallows what it is
// given, while KV results are made. kvList builds its arrays in C++ with
// their elements (and its objects with CreateDataProperty), so its result
// is whole.
import { attack, define, reply } from "./lib.js";

export default {
  async fetch(request, env) {
    await env.STORE.put("a", "1");
    await env.STORE.put("b", "2");
    let seen = 0;
    let remove;
    const lines = await attack(
      () => {
        remove = define(Array.prototype, ["0", "1", "2", "3"], () => ({
          get: () => undefined,
          set() {
            seen++;
          },
        }));
      },
      () => remove(),
      [
        ["list is whole", async () => {
          const listed = await env.STORE.list();
          if (listed.keys.length !== 2 || listed.keys[0].name !== "a" || listed.keys[1].name !== "b") {
            throw new Error("the list result was damaged");
          }
        }, "none"],
        // kv.js collects the keys with push(): the tenant's setter sees its
        // own keys and may break its own result, nothing else.
        ["get many", () => env.STORE.get(["a", "b"])],
      ],
    );
    const listed = await env.STORE.list();
    lines.push(`after: ${listed.keys.map((k) => k.name).join(",")}; the setter ran ${seen} times`);
    return reply(lines);
  },
};
