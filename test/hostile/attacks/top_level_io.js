// Tenant vs node: I/O started by a module's top level would finish outside
// any request. A top-level await of fetch() is refused with Workers' error
// (the deploy's validation load fails with it), as on Workers.
await fetch("http://127.0.0.1:9/");

export default {
  fetch() {
    return new Response("unreachable");
  },
};
