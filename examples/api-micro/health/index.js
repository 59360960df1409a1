// GET /health.
export default {
  async fetch(request, env) {
    if (request.method !== "GET") {
      return Response.json({ error: "method not allowed" }, { status: 405, headers: { Allow: "GET" } });
    }
    const { status, body } = await env.CORE.health();
    return Response.json(body, { status });
  },
};
