// Tenant vs node: setters on Object.prototype for every name an env,
// binding options or binding record could be filled with. Env is built
// before this top-level code runs and with CreateDataProperty, so the
// setters must never fire with anything of the runtime's, and env must be
// whole.
import { attack, define, reply } from "./lib.js";

const captured = [];
define(
  Object.prototype,
  ["namespace", "service", "id", "kind", "name", "options", "handle", "STORE", "VICTIM", "ORIGIN", "SECRET_NAME"],
  (name) => ({
    get: () => undefined,
    set(value) {
      captured.push(`${name}=${typeof value}`);
    },
  }),
);

export default {
  async fetch(request, env) {
    const lines = await attack(() => {}, () => {}, [
      ["env is whole", () => {
        const keys = Object.keys(env).sort().join(",");
        if (keys !== "ORIGIN,STORE,VICTIM") throw new Error(`env keys are ${keys}`);
        if (Object.getPrototypeOf(env) !== null) throw new Error("env has a prototype");
      }, "none"],
      ["KV works", () => env.STORE.put("k", "v").then(() => env.STORE.get("k")), "none"],
      ["nothing captured", () => {
        if (captured.length !== 0) throw new Error(`captured ${captured.join(" ")}`);
      }, "none"],
    ]);
    return reply(lines);
  },
};
