// Tenant vs tenant: RSA key generation costs about the cube of the modulus
// and cannot be interrupted; 16,384-bit keys took OpenSSL seconds to
// minutes. generateKey refuses more than 4,096 bits with an OperationError.
import { attack, reply } from "./lib.js";

const generate = (modulusLength) =>
  crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );

export default {
  async fetch() {
    const lines = await attack(() => {}, () => {}, [
      ["16,384 bits", () => generate(16384), "OperationError"],
      ["8,192 bits", () => generate(8192), "OperationError"],
      ["4,104 bits", () => generate(4104), "OperationError"],
    ]);
    return reply(lines);
  },
};
