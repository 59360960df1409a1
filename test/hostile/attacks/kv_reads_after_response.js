// Work after the response: "/" queues 500 KV reads, poisons
// Promise.prototype.then and answers at once. Its invocation ends with the
// response: the reads not started are dropped and the results of the
// running ones never reach JavaScript. "/count" (run after it) does reads
// of its own, which queue behind whatever was left of the 500, then checks
// that none of those 500 settled.
import { reply } from "./lib.js";

const promiseThen = Promise.prototype.then;
let settled = 0;

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === "/count") {
      Promise.prototype.then = promiseThen;
      for (let i = 0; i < 8; i++) await env.STORE.get("mine");
      return reply([settled === 0 ? "no read settled after its response" : `UNEXPECTED: ${settled} reads settled`]);
    }
    for (let i = 0; i < 500; i++) {
      Reflect.apply(promiseThen, env.STORE.get("k" + i), [() => settled++, () => settled++]);
    }
    Promise.prototype.then = function () {
      throw new Error("poisoned then");
    };
    return reply(["queued 500 reads"]);
  },
};
