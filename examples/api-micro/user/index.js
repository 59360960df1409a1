// GET /users/<id>.
export default {
  async fetch(request, env) {
    const [, , id, extra] = new URL(request.url).pathname.split("/");
    if (extra !== undefined) return Response.json({ error: "no such path" }, { status: 404 });
    if (request.method !== "GET") {
      return Response.json({ error: "method not allowed" }, { status: 405, headers: { Allow: "GET" } });
    }
    const { status, body } = await env.CORE.getUser(id);
    return Response.json(body, { status });
  },
};
