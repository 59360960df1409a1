// Tenant vs node (issue 10 parts 1 and 2): every built-in of lib.js
// builtinTargets() replaced by one that throws, while Proxies whose every
// trap throws, and revoked Proxies, are given to every Web API entry point
// and binding (fetch, KV, service, Request, Response, Headers, URL,
// TextEncoder, streams, structuredClone, crypto ...). Any error is fine;
// the node must live and nothing may leak. A KV read of a Proxy claiming
// a billion keys is refused before a key is read, and structuredClone
// refuses a transfer list that names one buffer twice.
import { attack, entryPoints, patchBuiltins, reply, thrower } from "./lib.js";

const ErrorCtor = Error;
const ProxyCtor = Proxy;

function throwingProxy(target) {
  const trap = () => {
    throw new ErrorCtor("trap");
  };
  return new ProxyCtor(target, {
    get: trap, set: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, getPrototypeOf: trap,
    defineProperty: trap, deleteProperty: trap, apply: trap, construct: trap, isExtensible: trap,
    preventExtensions: trap, setPrototypeOf: trap,
  });
}

export default {
  async fetch(request, env) {
    const [install, uninstall] = patchBuiltins(thrower);
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const revokedFunction = Proxy.revocable(function () {}, {});
    revokedFunction.revoke();
    const manyKeys = new ProxyCtor([], { get: (target, key) => (key === "length" ? 1e9 : "k") });
    const buffer = new ArrayBuffer(8);
    // Its own iterator, not Array.prototype's (which throws here): it names
    // the buffer twice.
    const twice = {
      [Symbol.iterator]() {
        let given = 0;
        return { next: () => (given++ < 2 ? { done: false, value: buffer } : { done: true, value: undefined }) };
      },
    };
    const lines = await attack(install, uninstall, [
      ...entryPoints(env, throwingProxy({})),
      ...entryPoints(env, throwingProxy(function () {})),
      ...entryPoints(env, revoked.proxy),
      ...entryPoints(env, revokedFunction.proxy),
      ["KV get a billion keys", () => env.STORE.get(manyKeys), "Error"],
      ["structuredClone duplicate transfer", () => structuredClone(buffer, { transfer: twice }),
        "DataCloneError"],
    ]);
    return reply(lines);
  },
};
