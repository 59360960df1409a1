// Tenant vs node (issue 10 parts 1 and 5): with every built-in of lib.js
// builtinTargets() replaced by one that throws, and then by one that lies
// (Map.prototype.get/has, Array.prototype.push/includes, Promise's then,
// Function.prototype.call/apply, Reflect.apply, Math, Number, the global
// constructors ...), the worker fetches its origin 60 times with a
// subrequest limit of 50 (the default). The count lives in C++: at most 50
// fetches get through, whatever the worker patched.
import { attack, liar, patchBuiltins, reply, thrower } from "./lib.js";

const ErrorCtor = Error;
const limit = 50;

async function fetchPastTheLimit(origin) {
  let through = 0;
  let refused = 0;
  for (let i = 0; i < limit + 10; i++) {
    try {
      await fetch(origin);
      through++;
    } catch {
      refused++;
    }
  }
  if (through > limit) throw new ErrorCtor(`BREACH: ${through} fetches got through a limit of ${limit}`);
  if (refused < 10) throw new ErrorCtor(`only ${refused} fetches were refused`);
}

export default {
  async fetch(request, env) {
    // Each kind of patch in a request of its own: the limit is per request.
    const make = new URL(request.url).pathname === "/lies" ? liar : thrower;
    const [install, uninstall] = patchBuiltins(make);
    const lines = await attack(install, uninstall, [
      ["fetch past the limit", () => fetchPastTheLimit(env.ORIGIN), "none"],
    ]);
    return reply(lines);
  },
};
