// Tenant vs node: the same 256 MiB gzip bomb, read as a stream and dropped
// slice by slice, and inflated then deflated again through a pipe chain.
// Output is made at the reader's pace in slices of at most 64 KiB, so twice
// the worker's 128 MiB pass through it. (fetch's own Content-Encoding
// decoding, off on nodes, is bounded the same way: 64 KiB per read.)
import { reply } from "./lib.js";

const BOMB_BYTES = 256 * 1024 * 1024;

async function drain(readable) {
  const reader = readable.getReader();
  let total = 0;
  let largest = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (value.length > largest) largest = value.length;
  }
  return { total, largest };
}

async function bomb(env) {
  return (await fetch(env.ORIGIN + "bomb")).body.pipeThrough(new DecompressionStream("gzip"));
}

export default {
  async fetch(request, env) {
    const lines = [];
    try {
      const { total, largest } = await drain(await bomb(env));
      const ok = total === BOMB_BYTES && largest <= 65536;
      lines.push(`${ok ? "" : "UNEXPECTED "}read as a stream: ${total} bytes in slices of at most ${largest}`);
    } catch (error) {
      lines.push(`UNEXPECTED read as a stream: threw ${error}`);
    }
    try {
      const { total, largest } = await drain((await bomb(env)).pipeThrough(new CompressionStream("gzip")));
      const ok = total > 0 && total < 4 << 20 && largest <= 65536;
      lines.push(`${ok ? "" : "UNEXPECTED "}deflated again: ${total} bytes in slices of at most ${largest}`);
    } catch (error) {
      lines.push(`UNEXPECTED deflated again: threw ${error}`);
    }
    return reply(lines);
  },
};
