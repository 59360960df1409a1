// The public worker: asks the "auth" worker, through a service binding, who
// is calling, then answers. No network hop between the two.
export default {
  async fetch(request, env) {
    const verdict = await env.AUTH.fetch(request);
    if (!verdict.ok) return new Response("Forbidden\n", { status: 403 });
    const { user } = await verdict.json();
    return new Response(`Hello, ${user}!\n`);
  },
};
