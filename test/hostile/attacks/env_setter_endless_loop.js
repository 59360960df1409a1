// Tenant vs node: setters that never return, on Object.prototype, for the
// names env and the binding options are made of. Before env was built ahead
// of tenant code, such a setter hung the deploy on the control thread with
// no CPU limit. Now env never runs a setter: the worker loads, and env is
// intact.
for (const name of ["STORE", "VICTIM", "ORIGIN", "namespace", "service", "id"]) {
  Object.defineProperty(Object.prototype, name, {
    configurable: true,
    get() {
      return undefined;
    },
    set() {
      for (;;) {}
    },
  });
}

export default {
  async fetch(request, env) {
    const stored = await env.STORE.get("nothing-here");
    return new Response(`done\nenv intact: ${typeof env.STORE.get} ${typeof env.VICTIM.fetch} ${stored}\n`);
  },
};
