// What the R2 binding's JavaScript tests share. Import with a relative path:
//   import { fresh, fixedStream } from "./r2_testing.js";
// (It is also the `main` of this folder's edge.toml, which declares the
// buckets the tests run with.)

let serial = 0;
// A key no other test of the run uses.
export function fresh(name = "k") {
  serial++;
  return `${name}/${Date.now()}-${serial}`;
}

// A ReadableStream of `chunks` whose length the runtime knows (the readable
// side of a FixedLengthStream), as R2's put() requires.
export function fixedStream(length, ...chunks) {
  const { readable, writable } = new FixedLengthStream(length);
  const writer = writable.getWriter();
  (async () => {
    for (const chunk of chunks) await writer.write(chunk);
    await writer.close();
  })().catch(() => {});
  return readable;
}

export default {
  fetch() {
    return new Response("r2 tests");
  },
};
