// Tenant vs node: CPU outside any request. A module's top level used to arm
// timers that ran for as long as the isolate lived, billed to no request
// and never stopped when each callback stayed under the CPU limit. As on
// Workers, timers (and I/O, random values) are refused in the global scope,
// with Workers' error, even with Promise.prototype.then poisoned: the
// deploy's validation load fails with it.
Promise.prototype.then = function () {
  throw new Error("poisoned then");
};
for (let i = 0; i < 1000; i++) setInterval(() => { for (let j = 0; j < 1e5; j++); }, 1);

export default {
  fetch() {
    return new Response("unreachable");
  },
};
