// The API tenant: api.localhost/api/*. /api/orders needs the bearer token
// held in the secret env.API_TOKEN; /api/slow?ms=N waits N ms.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    console.log(`${request.method} ${url.pathname}`);
    if (url.pathname === "/api/status") {
      return Response.json({ ok: true, version: env.API_VERSION });
    }
    if (url.pathname === "/api/orders") {
      if (!env.API_TOKEN) {
        console.warn("API_TOKEN is not set: refusing every order request");
        return new Response("Not configured\n", { status: 503 });
      }
      if (request.headers.get("Authorization") !== `Bearer ${env.API_TOKEN}`) {
        return new Response("Unauthorized\n", { status: 401 });
      }
      return Response.json({ orders: [{ id: 1, item: "mug" }], version: env.API_VERSION });
    }
    if (url.pathname === "/api/slow") {
      const ms = Number(url.searchParams.get("ms") ?? "100");
      await new Promise((resolve) => setTimeout(resolve, ms));
      return new Response(`waited ${ms} ms\n`);
    }
    return new Response("Not found\n", { status: 404 });
  },
};
