// Work after the response: 10,000 setInterval(fn, 1) left armed after the
// response kept a core at ~100% forever, and the node stopped serving other
// tenants. Now a request's timers are cleared once its response has ended
// (and its waitUntil work settled), as on Workers: "/" arms them and
// returns; "/count" (run after it) checks that none of them still ticks.
import { reply } from "./lib.js";

globalThis.ticks = 0;

export default {
  async fetch(request) {
    if (new URL(request.url).pathname === "/count") {
      const before = globalThis.ticks;
      await new Promise((resolve) => setTimeout(resolve, 100));
      const ticked = globalThis.ticks - before;
      return reply([ticked === 0 ? "no interval ticked after its response" : `UNEXPECTED: ${ticked} ticks`]);
    }
    const started = Date.now();
    for (let i = 0; i < 10000; i++) setInterval(() => { globalThis.ticks++; }, 1);
    return reply([`armed 10,000 intervals in ${Date.now() - started} ms`]);
  },
};
