// Tenant vs node: a Proxy whose every trap throws, given to every Web API
// entry point and binding. Each call must end in an exception (or a normal
// result) for this worker.
import { attack, entryPoints, reply } from "./lib.js";

const trap = () => {
  throw new Error("proxy trap");
};
const handler = {};
for (const name of [
  "get", "set", "has", "deleteProperty", "ownKeys", "getOwnPropertyDescriptor", "defineProperty",
  "getPrototypeOf", "setPrototypeOf", "isExtensible", "preventExtensions", "apply", "construct",
]) {
  handler[name] = trap;
}

export default {
  async fetch(request, env) {
    const hostile = new Proxy(function () {}, handler);
    const lines = await attack(() => {}, () => {}, entryPoints(env, hostile));
    return reply(lines);
  },
};
