// Tenant vs node: getters on Object.prototype for dictionary member names
// (method, headers, body, status, signal, type, hash, name, length,
// highWaterMark, size, ...) that return hostile values, so that every
// options bag the runtime reads gets them. The runtime reads the tenant's
// dictionaries as WebIDL says (inherited members count); its own records
// are not affected.
import { attack, define, entryPoints, reply } from "./lib.js";

const hostile = {
  method: "CONNECT",
  headers: { "x-injected": "1" },
  body: new ReadableStream(),
  status: 99,
  statusText: "\r\nInjected: yes",
  signal: { aborted: true, reason: "fake" },
  redirect: "bogus",
  duplex: "full",
  type: "bytes",
  hash: "MD5",
  name: "AES-GCM",
  length: 2 ** 40,
  highWaterMark: -1,
  size: () => -1,
  prefix: "../",
  limit: 1e9,
  cursor: "\u0000",
  expirationTtl: -5,
  metadata: { toJSON: () => "x".repeat(5000) },
  iterations: 1e9,
  modulusLength: 1e6,
  publicExponent: new Uint8Array([1, 0, 1]),
  namedCurve: "P-999",
};

export default {
  async fetch(request, env) {
    let remove;
    const lines = await attack(
      () => {
        remove = define(Object.prototype, Object.keys(hostile), (name) => ({ get: () => hostile[name] }));
      },
      () => remove(),
      [
        ...entryPoints(env, {}),
        ["fetch to origin with {}", () => fetch(env.ORIGIN, {}).then((r) => r.status)],
        ["deriveBits PBKDF2 with {}", async () => {
          const key = await crypto.subtle.importKey("raw", new Uint8Array(4), "PBKDF2", false, ["deriveBits"]);
          return crypto.subtle.deriveBits({ salt: new Uint8Array(4) }, key, 256);
        }],
      ],
    );
    return reply(lines);
  },
};
