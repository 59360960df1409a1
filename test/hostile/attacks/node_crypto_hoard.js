// Tenant vs node, through node:crypto (nodejs_compat): every Hash, Hmac and
// Cipheriv holds an OpenSSL context outside the V8 heap. Each counts against
// the worker's memory budget (runtime/crypto/crypto_handle.h), so a worker
// hoarding them is stopped at its memory limit like one hoarding buffers,
// and the process does not grow past it.
import crypto from "node:crypto";

export default {
  async fetch() {
    const key = new Uint8Array(32);
    const iv = new Uint8Array(12);
    const hoard = [];
    for (;;) {
      try {
        hoard.push(crypto.createHash("sha512").update("x"));
        hoard.push(crypto.createHmac("sha256", key).update("x"));
        hoard.push(crypto.createCipheriv("aes-256-gcm", key, iv));
      } catch {
        // Swallowed: the worker is stopped anyway.
      }
    }
  },
};
