// Tenant vs node: top-level code that never ends. The validation load runs
// under the startup CPU limit, so the deploy is refused with an error and
// the control thread goes on.
for (;;) {}

export default {
  fetch() {
    return new Response("unreachable");
  },
};
