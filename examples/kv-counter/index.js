// Counts visits per path in KV. The count survives restarts of edge dev
// (the store is .edge/state under this folder).
export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/counts") {
      const { keys } = await env.COUNTS.list({ prefix: "visits:" });
      const counts = {};
      for (const { name, metadata } of keys) counts[name.slice(7)] = metadata?.count ?? 0;
      return Response.json(counts);
    }
    const key = `visits:${pathname}`;
    const count = Number((await env.COUNTS.get(key)) ?? 0) + 1;
    await env.COUNTS.put(key, String(count), { metadata: { count } });
    return new Response(`${pathname} has been visited ${count} time${count === 1 ? "" : "s"}\n`);
  },
};
