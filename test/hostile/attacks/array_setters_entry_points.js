// Tenant vs node: throwing setters on Array.prototype[0..7] while every Web
// API entry point and binding is called. Natives build their arrays without
// running setters; the runtime's own JavaScript may fail, for this worker.
import { attack, define, entryPoints, reply } from "./lib.js";

export default {
  async fetch(request, env) {
    let remove;
    const lines = await attack(
      () => {
        remove = define(Array.prototype, ["0", "1", "2", "3", "4", "5", "6", "7"], () => ({
          get: () => undefined,
          set() {
            throw new Error("poisoned Array.prototype setter");
          },
        }));
      },
      () => remove(),
      entryPoints(env, "https://example.com/x"),
    );
    return reply(lines);
  },
};
