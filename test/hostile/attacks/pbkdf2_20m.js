// Tenant vs tenant: PBKDF2 with 20,000,000 iterations held a serving thread
// for seconds (the CPU limit cannot interrupt OpenSSL). It is refused at
// once with Workers' NotSupportedError; 100,000 iterations still work.
import { attack, reply } from "./lib.js";

export default {
  async fetch(request, env) {
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("pw"), "PBKDF2", false, ["deriveBits"]);
    const derive = (iterations) =>
      crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(16), iterations }, key, 256);
    const started = Date.now();
    const lines = await attack(() => {}, () => {}, [
      ["20,000,000 iterations", () => derive(20000000), "NotSupportedError"],
      ["100,001 iterations", () => derive(100001), "NotSupportedError"],
      ["4,294,967,295 iterations", () => derive(4294967295), "NotSupportedError"],
    ]);
    lines.push(`refused in ${Date.now() - started < 200 ? "under 200 ms" : `${Date.now() - started} ms`}`);
    return reply(lines);
  },
};
