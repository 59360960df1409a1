// Tenant vs node: detached ArrayBuffers and views over them, and
// SharedArrayBuffers, given to the natives that read or write bytes
// (encoding, crypto, KV, bodies, structuredClone). Each is refused or
// treated as empty; none touches freed memory.
import { attack, entryPoints, reply } from "./lib.js";

function detached() {
  const buffer = new ArrayBuffer(32);
  const view = new Uint8Array(buffer, 8, 16);
  structuredClone(buffer, { transfer: [buffer] });
  return { buffer, view };
}

export default {
  async fetch(request, env) {
    const { buffer, view } = detached();
    const shared = typeof SharedArrayBuffer === "function" ? new Uint8Array(new SharedArrayBuffer(8)) : view;
    const lines = await attack(() => {}, () => {}, [
      ...entryPoints(env, view),
      ["decode detached buffer", () => new TextDecoder().decode(buffer)],
      ["encodeInto detached", () => new TextEncoder().encodeInto("abc", view)],
      ["digest detached", () => crypto.subtle.digest("SHA-256", buffer)],
      ["KV put detached", () => env.STORE.put("k", buffer)],
      ["Response detached", () => new Response(view).arrayBuffer()],
      ["transfer detached", () => structuredClone(buffer, { transfer: [buffer] })],
      ["getRandomValues shared", () => crypto.getRandomValues(shared)],
      ["decode shared", () => new TextDecoder().decode(shared)],
      ["KV put shared", () => env.STORE.put("k", shared)],
    ]);
    return reply(lines);
  },
};
