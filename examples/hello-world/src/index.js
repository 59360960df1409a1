// The smallest useful worker: answers every request with a greeting.
import { greet } from "./greet.js";

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const name = url.searchParams.get("name") ?? "world";
    return new Response(greet(env.GREETING, name) + "\n", {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  },
};
