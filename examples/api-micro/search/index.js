// GET /search?q=<text>: users whose name and items whose title hold it.
export default {
  async fetch(request, env) {
    if (request.method !== "GET") {
      return Response.json({ error: "method not allowed" }, { status: 405, headers: { Allow: "GET" } });
    }
    const { status, body } = await env.CORE.search(new URL(request.url).searchParams.get("q"));
    return Response.json(body, { status });
  },
};
