// Tenant vs node: a Proxy whose get trap never returns, given to a Web API
// entry point. The CPU limit stops the isolate; this request fails with the
// CPU-limit page and every other tenant goes on.
const endless = new Proxy({}, {
  get() {
    for (;;) {}
  },
});

export default {
  fetch() {
    return new Response("unreachable", endless);
  },
};
