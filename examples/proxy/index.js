// A reverse proxy: forwards every request to ORIGIN, streams the answer
// back, and rewrites a few headers on the way.
export default {
  async fetch(request, env) {
    const incoming = new URL(request.url);
    const target = new URL(incoming.pathname + incoming.search, env.ORIGIN);
    const headers = new Headers(request.headers);
    headers.set("x-forwarded-host", incoming.host);
    headers.delete("cookie");
    const upstream = await fetch(target, {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
    });
    const response = new Response(upstream.body, upstream);
    response.headers.set("x-proxied-by", "edge");
    response.headers.delete("server");
    return response;
  },
};
