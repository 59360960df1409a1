// Tenant vs tenant: accessors on Object.prototype named like the fields of a
// binding's options (and of env), defined by top-level code, return the
// victim's scoped namespace and service names. On today's main this read
// another tenant's KV value: the binding objects were built after this code
// ran and trusted the namespace string their options carried.
import { attack, define, reply } from "./lib.js";

const OWN = "overwritten-by-attacker";
const VICTIM_NAMES = {
  namespace: "victim/vault",
  service: "victim/victim",
  id: "vault",
  account: "victim",
  binding: "STORE",
};
define(Object.prototype, Object.keys(VICTIM_NAMES), (name) => ({
  get: () => VICTIM_NAMES[name],
  set() {},
}));

export default {
  async fetch(request, env) {
    const lines = await attack(() => {}, () => {}, [
      // The attacker's own namespace holds nothing but what it wrote itself.
      ["own namespace only", async () => {
        const value = await env.STORE.get("secret");
        if (value !== null && value !== OWN) throw new Error(`BREACH read ${value}`);
      }, "none"],
      ["list shows only own keys", async () => {
        const listed = await env.STORE.list();
        for (const { name } of listed.keys) {
          const value = await env.STORE.get(name);
          if (value !== OWN) throw new Error(`BREACH listed ${name}`);
        }
      }, "none"],
      ["write stays in own namespace", () => env.STORE.put("secret", OWN), "none"],
      ["service call still refused", () => env.VICTIM.fetch("http://victim/").then((r) => r.text()), "Error"],
    ]);
    return reply(lines);
  },
};
