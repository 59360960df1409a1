// Tenant vs node: WebAssembly memories are made by V8 without the
// ArrayBuffer allocator. They count in the same budget (through V8's
// external-memory count): the next buffer or full GC finds the worker over
// it and stops it.
export default {
  fetch() {
    const hoard = [];
    for (;;) {
      const memory = new WebAssembly.Memory({ initial: 1024 }); // 64 MiB
      new Uint8Array(memory.buffer).fill(1);
      hoard.push(memory, new ArrayBuffer(4096));
    }
  },
};
