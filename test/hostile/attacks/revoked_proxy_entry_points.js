// Tenant vs node: revoked Proxies (every operation on them throws a
// TypeError inside V8) given to every entry point, including where natives
// look at the value's type from C++.
import { attack, entryPoints, reply } from "./lib.js";

export default {
  async fetch(request, env) {
    const { proxy, revoke } = Proxy.revocable(function () {}, {});
    revoke();
    const objectProxy = Proxy.revocable({}, {});
    objectProxy.revoke();
    const lines = await attack(() => {}, () => {}, [
      ...entryPoints(env, proxy),
      ["KV put revoked object", () => env.STORE.put("k", objectProxy.proxy)],
      ["Response revoked object", () => new Response(objectProxy.proxy)],
      ["structuredClone revoked object", () => structuredClone(objectProxy.proxy)],
    ]);
    return reply(lines);
  },
};
