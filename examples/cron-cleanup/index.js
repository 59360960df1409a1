// Sessions live in KV with their expiry time; a cron trigger sweeps out the
// expired ones (the every-five-minutes trigger), and the weekday 03:00
// trigger also writes a small report.
//
//   POST /sessions?ttl=SECONDS   creates a session, answers its id
//   GET  /sessions               lists the live ones
//   GET  /report                 the last sweep's report

async function sweep(env, now) {
  let removed = 0;
  let kept = 0;
  let cursor;
  do {
    const page = await env.SESSIONS.list({ prefix: "session:", cursor });
    for (const key of page.keys) {
      const expires = Number(key.metadata?.expires ?? 0);
      if (expires <= now) {
        await env.SESSIONS.delete(key.name);
        removed++;
      } else {
        kept++;
      }
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return { removed, kept };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/sessions" && request.method === "POST") {
      const ttl = Number(url.searchParams.get("ttl") ?? "60");
      const id = crypto.randomUUID();
      const expires = Date.now() + ttl * 1000;
      await env.SESSIONS.put(`session:${id}`, "{}", { metadata: { expires } });
      return Response.json({ id, expires });
    }
    if (url.pathname === "/sessions") {
      const page = await env.SESSIONS.list({ prefix: "session:" });
      return Response.json(page.keys.map((key) => key.name.slice("session:".length)));
    }
    if (url.pathname === "/report") {
      return new Response((await env.SESSIONS.get("report")) ?? "no sweep yet\n");
    }
    return new Response("POST /sessions?ttl=SECONDS, GET /sessions, GET /report\n", { status: 404 });
  },

  async scheduled(controller, env, ctx) {
    const result = await sweep(env, controller.scheduledTime);
    console.log(`${controller.cron}: removed ${result.removed}, kept ${result.kept}`);
    const report = `${new Date(controller.scheduledTime).toISOString()} "${controller.cron}": ` +
      `removed ${result.removed}, kept ${result.kept}\n`;
    ctx.waitUntil(env.SESSIONS.put("report", report));
  },
};
