// Tenant vs node: ArrayBuffer memory was not counted against memory_mb (a
// 128 MB worker held 464 MiB in buffers). Now the V8 heap and the buffers
// share the budget: buffers are refused past it, and the request ends with
// the memory-limit failure even when the worker catches V8's RangeError.
export default {
  fetch() {
    const hoard = [];
    for (;;) {
      try {
        hoard.push(new Uint8Array(8 << 20).fill(1));
      } catch {
        // Swallowed: the worker is stopped anyway.
      }
    }
  },
};
