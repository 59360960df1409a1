// Reached only by requests the policies in edge.toml let through: the key
// was valid (its name is in x-api-key-name), the method, content type and
// size are allowed, and the key is within its rate limit.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const who = request.headers.get("x-api-key-name") ?? "anonymous";
    if (url.pathname === "/v1/items" && request.method === "POST") {
      const { success } = await env.UPLOADS.limit({ key: who });
      if (!success) return new Response("upload quota used up", { status: 429 });
      const item = await request.json();
      return Response.json({ stored: item, by: who }, { status: 201 });
    }
    return Response.json({ hello: who, path: url.pathname });
  },
};
