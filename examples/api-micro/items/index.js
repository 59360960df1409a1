// GET /items[?owner=<user id>], POST /items (a new item from a JSON body).
export default {
  async fetch(request, env) {
    let result;
    if (request.method === "GET") {
      result = await env.CORE.listItems(new URL(request.url).searchParams.get("owner"));
    } else if (request.method === "POST") {
      result = await env.CORE.createItem(await request.json().catch(() => null));
    } else {
      return Response.json({ error: "method not allowed" }, { status: 405, headers: { Allow: "GET, POST" } });
    }
    return Response.json(result.body, { status: result.status });
  },
};
