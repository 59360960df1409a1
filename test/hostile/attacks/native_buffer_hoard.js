// Tenant vs node: natives that make buffers of a size the tenant chooses
// (TextEncoder, Response bodies, Blob, structuredClone, KV values). V8
// aborts the whole process when its allocator refuses a native's buffer;
// each native checks the budget first, so only this worker's request ends,
// at its memory limit.
export default {
  async fetch(request, env) {
    const text = "\u20ac".repeat(2 << 20); // 6 MiB of UTF-8 per encode
    const hoard = [];
    for (;;) {
      try {
        hoard.push(new TextEncoder().encode(text));
        hoard.push(await new Response(text).arrayBuffer());
        hoard.push(await new Blob([text]).arrayBuffer());
        hoard.push(structuredClone(hoard[0]));
      } catch {
        // Swallowed: the worker is stopped anyway.
      }
    }
  },
};
