// Tenant vs node: Promise.prototype.then that never returns, reached from
// the runtime's promise settlement (a resolved value whose `then` is looked
// up). The CPU limit stops the isolate; the request gets the CPU-limit page.
export default {
  async fetch(request, env) {
    Object.defineProperty(Object.prototype, "then", {
      configurable: true,
      get() {
        for (;;) {}
      },
    });
    // A KV list result is an object: resolving the promise with it looks
    // up `then`.
    return env.STORE.list();
  },
};
