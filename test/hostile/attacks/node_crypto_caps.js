// Tenant vs tenant, through node:crypto (nodejs_compat): its synchronous
// forms run on the serving thread, where OpenSSL cannot be interrupted, so
// each costly one is capped tighter than its callback form (docs/security.md):
// pbkdf2Sync's iterations times output blocks, scrypt's memory and work,
// generateKeyPairSync's RSA size. Each is refused at once; an encrypted
// private key is refused without running its own key derivation.
import crypto from "node:crypto";
import { attack, reply } from "./lib.js";

const encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAi0zyFkh0t4kgICCAAw\n" +
  "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEFshzl3H9ld9xOMoaVZ6NiQEgZBp\nvH9daiTkCh3auA/384nZ2o51ITZe6HQX7ubMlmXFhDp+9D19PX3YecbPEgTYy0wN\n" +
  "sM53BxitpsA6vQrJaNzas9vQJqon4AZFB/gcz8EHRyBHSxhPqt684nv//EiTo4Qr\nnqkDO+xc2DPFcppBs8Aoehg6WZH/MmTjFBN71125UMhMXA1gLpTWzzVWwmW9tg4=\n" +
  "-----END ENCRYPTED PRIVATE KEY-----\n";

export default {
  async fetch() {
    const lines = await attack(() => {}, () => {}, [
      ["pbkdf2Sync 20,000,000 iterations", () => crypto.pbkdf2Sync("p", "s", 20000000, 64, "sha512"), "NotSupportedError"],
      ["pbkdf2Sync 100,000 x 52 blocks", () => crypto.pbkdf2Sync("p", "s", 100000, 1024, "sha1"), "RangeError"],
      ["pbkdf2 20,000,000 iterations", () => crypto.pbkdf2("p", "s", 20000000, 64, "sha512", () => {}), "NotSupportedError"],
      ["scryptSync 1 GiB", () => crypto.scryptSync("p", "s", 64, { N: 2 ** 20, r: 8, maxmem: 2 ** 31 }), "RangeError"],
      ["scryptSync N * r * p = 2^24", () => crypto.scryptSync("p", "s", 64, { N: 2 ** 14, r: 8, p: 128 }), "RangeError"],
      ["scrypt N * r * p = 2^30", () => crypto.scrypt("p", "s", 64, { N: 2 ** 14, r: 8, p: 8192 }, () => {}), "RangeError"],
      ["generateKeyPairSync RSA 4,096", () => crypto.generateKeyPairSync("rsa", { modulusLength: 4096 }), "RangeError"],
      ["generateKeyPairSync RSA 16,384", () => crypto.generateKeyPairSync("rsa", { modulusLength: 16384 }), "OperationError"],
      ["generateKeyPair RSA 16,384", () => crypto.generateKeyPair("rsa", { modulusLength: 16384 }, () => {}), "OperationError"],
      ["hkdfSync 2^31 bytes", () => crypto.hkdfSync("sha512", "k", "s", "i", 2 ** 31), "RangeError"],
      ["randomBytes 2^31", () => crypto.randomBytes(2 ** 31), "RangeError"],
      ["encrypted private key", () => crypto.createPrivateKey({ key: encrypted }), "any"],
    ]);
    return reply(lines);
  },
};
