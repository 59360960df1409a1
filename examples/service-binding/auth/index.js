// Reachable only through service bindings: maps a bearer token to a user.
export default {
  fetch(request, env) {
    const token = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
    const user = env.TOKENS[token];
    if (user === undefined) return Response.json({ error: "unknown token" }, { status: 401 });
    return Response.json({ user });
  },
};
