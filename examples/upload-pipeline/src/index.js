// An upload pipeline: PUT /files/<key> stores the body in an R2 bucket; the
// bucket's event notification puts R2's event message on a queue; this
// worker's queue handler reads the object back, computes its SHA-256 and
// records it in KV; GET /files/<key>/sha256 shows the record.

const PREFIX = "/files/";

function keyOf(pathname) {
  if (!pathname.startsWith(PREFIX)) return null;
  const key = decodeURIComponent(pathname.slice(PREFIX.length));
  return key.length > 0 ? key : null;
}

function json(value, status = 200) {
  return new Response(JSON.stringify(value, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}

async function sha256Hex(stream) {
  // crypto.DigestStream hashes the body as it streams out of the bucket:
  // a large object is never held in memory.
  const digest = new crypto.DigestStream("SHA-256");
  await stream.pipeTo(digest);
  const bytes = new Uint8Array(await digest.digest);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname.endsWith("/sha256")) {
      const key = keyOf(url.pathname.slice(0, -"/sha256".length));
      if (key === null) return json({ error: "no key" }, 400);
      const record = await env.HASHES.get(key, "json");
      if (record === null) return json({ key, status: "pending" }, 404);
      return json(record);
    }
    const key = keyOf(url.pathname);
    if (key === null) {
      return new Response("PUT /files/<key> to upload, GET /files/<key>/sha256 for its hash\n");
    }
    if (request.method === "PUT") {
      if (request.body === null) return json({ error: "empty body" }, 400);
      const object = await env.UPLOADS.put(key, request.body, {
        httpMetadata: { contentType: request.headers.get("content-type") ?? "application/octet-stream" },
      });
      return json({ key, size: object.size, etag: object.etag }, 201);
    }
    if (request.method === "GET") {
      const object = await env.UPLOADS.get(key);
      if (object === null) return json({ error: "not found" }, 404);
      const headers = new Headers();
      object.writeHttpMetadata(headers);
      headers.set("etag", object.httpEtag);
      return new Response(object.body, { headers });
    }
    if (request.method === "DELETE") {
      await env.UPLOADS.delete(key);
      return json({ key, deleted: true });
    }
    return new Response("method not allowed\n", { status: 405 });
  },

  // R2 event messages: { account, action, bucket, object: { key, size, eTag }, eventTime }.
  async queue(batch, env) {
    for (const message of batch.messages) {
      const event = message.body;
      const key = event.object.key;
      if (event.action === "DeleteObject") {
        await env.HASHES.delete(key);
        message.ack();
        continue;
      }
      const object = await env.UPLOADS.get(key);
      // Gone or replaced since: that change has its own event.
      if (object === null || object.etag !== event.object.eTag) {
        message.ack();
        continue;
      }
      const sha256 = await sha256Hex(object.body);
      await env.HASHES.put(key, JSON.stringify({
        key,
        sha256,
        size: object.size,
        etag: object.etag,
        action: event.action,
        eventTime: event.eventTime,
        attempts: message.attempts,
      }));
      console.log(`${event.action} ${key}: sha256 ${sha256}`);
      message.ack();
    }
  },
};
