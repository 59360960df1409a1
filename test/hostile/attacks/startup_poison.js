// Tenant vs node: the realm is poisoned by top-level code and Web APIs are
// called at startup, during the deploy's validation load on the control
// thread (which on today's main aborted the node). The deploy must either
// load or be refused with an error; the node must live either way.
const thrower = () => {
  throw new Error("poisoned setter");
};
for (let i = 0; i < 8; i++) {
  Object.defineProperty(Array.prototype, i, { configurable: true, get: () => undefined, set: thrower });
}
for (const name of ["state", "stream", "controller", "reader", "queue", "bytes", "scheme", "host", "path"]) {
  Object.defineProperty(Object.prototype, name, { configurable: true, get: () => undefined, set: thrower });
}
let ran = 0;
let threw = 0;
for (const step of [
  () => new URL("https://example.com/a/b?c#d"),
  () => new Response("x", { headers: { a: "b" } }),
  () => new Headers([["a", "b"]]),
  () => structuredClone({ a: [1, 2, 3] }),
  () => new ReadableStream({ start: (c) => c.enqueue(1) }),
  () => new TextEncoder().encode("x"),
  () => crypto.subtle.digest("SHA-256", new Uint8Array(1)),
]) {
  try {
    step();
    ran++;
  } catch (error) {
    threw++;
  }
}

export default {
  fetch() {
    return new Response(`done\nstartup steps: ${ran} returned, ${threw} threw\n`);
  },
};
