// Tenant vs node: throwing setters on Object.prototype for the names the
// runtime's records and results use (the runtime's records are class
// fields, so only objects the tenant gets back may fail), while every entry
// point is called.
import { attack, define, entryPoints, reply } from "./lib.js";

const NAMES = [
  "state", "stream", "controller", "reader", "queue", "bytes", "consumed", "scheme", "host", "path", "query",
  "fragment", "resolve", "reject", "promise", "id", "signal", "finished", "responded", "invocation", "keys",
  "list_complete", "cursor", "cacheStatus", "metadata", "expiration", "kind", "curve", "bits", "e", "d", "x", "y",
  "pathname", "groups", "inputs", "key_ops", "ext", "alg", "wrapper", "storedError", "disturbed",
];

export default {
  async fetch(request, env) {
    let remove;
    const lines = await attack(
      () => {
        remove = define(Object.prototype, NAMES, () => ({
          get: () => undefined,
          set() {
            throw new Error("poisoned Object.prototype setter");
          },
        }));
      },
      () => remove(),
      [
        ...entryPoints(env, "https://example.com/x"),
        ["KV put then list", () => env.STORE.put("a", "1", { metadata: { m: 1 } }).then(() => env.STORE.list())],
        ["KV getWithMetadata", () => env.STORE.getWithMetadata("a")],
        ["EC jwk export", () =>
          crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])
            .then((k) => crypto.subtle.exportKey("jwk", k.privateKey))],
        ["URLPattern exec", () => new URLPattern({ pathname: "/:id" }).exec("https://a/b")],
      ],
    );
    return reply(lines);
  },
};
