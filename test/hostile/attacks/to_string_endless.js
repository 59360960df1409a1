// Tenant vs node: a toString that never returns, given to a conversion the
// runtime makes (new URL). The CPU limit stops the isolate; the request gets
// the CPU-limit page.
export default {
  fetch() {
    return new Response(new URL({ toString() { for (;;) {} } }).href);
  },
};
