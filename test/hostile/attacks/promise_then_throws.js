// Tenant vs node: Promise.prototype.then replaced by a function that throws,
// then fetch, KV, crypto, streams and bodies, which settle promises from C++
// and from the runtime's JavaScript. The runtime's own code captured `then`
// before tenant code ran; what still breaks breaks for this worker only.
import { attack, entryPoints, reply } from "./lib.js";

const then = Promise.prototype.then;

export default {
  async fetch(request, env) {
    const lines = await attack(
      () => {
        Promise.prototype.then = function () {
          throw new Error("poisoned then");
        };
      },
      () => {
        Promise.prototype.then = then;
      },
      [
        ...entryPoints(env, "https://example.com/"),
        ["body text", () => new Response("abc").text()],
        ["stream read", () => new ReadableStream({ pull: (c) => c.enqueue(1) }).getReader().read()],
      ],
    );
    return reply(lines);
  },
};
