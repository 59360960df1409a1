// Tenant vs tenant: the service binding's target comes from the C++ binding
// table. Accessors on Object.prototype for "service" (and the other names an
// options object could have) naming the victim, installed before the call,
// change nothing: the call reaches the attacker's own scoped name, which is
// refused.
import { attack, define, reply } from "./lib.js";

export default {
  async fetch(request, env) {
    let remove;
    const lines = await attack(
      () => {
        remove = define(Object.prototype, ["service", "namespace", "account", "target"], () => ({
          get: () => "victim",
          set() {},
        }));
      },
      () => remove(),
      [
        ["call refused", () => env.VICTIM.fetch("http://victim/").then((r) => r.text()), "Error"],
        ["brand check holds", () => env.VICTIM.fetch.call({ service: "victim" }, "http://victim/"), "any"],
      ],
    );
    return reply(lines);
  },
};
