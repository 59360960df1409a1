// Tenant vs tenant: trying to reach another namespace or service by forging
// binding objects: calling the binding classes' constructors, calling their
// methods on look-alike objects carrying a victim's name, and re-pointing
// their prototypes. A binding's handle is a private field set only by the
// runtime, and resolves only inside this isolate's own binding table.
import { attack, reply } from "./lib.js";

export default {
  async fetch(request, env) {
    const KvNamespace = Object.getPrototypeOf(env.STORE).constructor;
    const Fetcher = Object.getPrototypeOf(env.VICTIM).constructor;
    const lines = await attack(() => {}, () => {}, [
      ["new KvNamespace", () => new KvNamespace(), "TypeError"],
      ["Reflect.construct KvNamespace", () => Reflect.construct(KvNamespace, [{}, "victim/vault"]), "TypeError"],
      ["get on a look-alike", () => env.STORE.get.call({ namespace: "victim/vault" }, "secret"), "TypeError"],
      ["get on a subclass", () => {
        class Fake extends KvNamespace {}
        return new Fake({}, 0).get("secret");
      }, "TypeError"],
      ["list on Object.create", () => env.STORE.list.call(Object.create(env.STORE)), "TypeError"],
      ["new Fetcher", () => new Fetcher({}, 0, "victim"), "TypeError"],
      ["fetch on a look-alike", () => env.VICTIM.fetch.call({ service: "victim" }, "http://victim/"), "any"],
      ["own namespace still its own", async () => {
        const value = await env.STORE.get("secret");
        if (value !== null && value !== "overwritten-by-attacker") throw new Error(`BREACH read ${value}`);
      }, "none"],
    ]);
    return reply(lines);
  },
};
