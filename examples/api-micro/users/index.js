// GET /users (the list), POST /users (a new user from a JSON body).
export default {
  async fetch(request, env) {
    let result;
    if (request.method === "GET") {
      result = await env.CORE.listUsers();
    } else if (request.method === "POST") {
      result = await env.CORE.createUser(await request.json().catch(() => null));
    } else {
      return Response.json({ error: "method not allowed" }, { status: 405, headers: { Allow: "GET, POST" } });
    }
    return Response.json(result.body, { status: result.status });
  },
};
