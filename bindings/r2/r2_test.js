// R2 bucket bindings (env.BUCKET): put/get/head/delete/list, R2Object and
// R2ObjectBody, conditionals, ranges, checksums, and R2's errors, against
// Workers' documented behaviour
// (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/).

import { assert, assertEquals, assertRejects, assertThrows } from "../../runtime/testing/assert.js";
import { fixedStream, fresh } from "./r2_testing.js";

const enc = (text) => new TextEncoder().encode(text);

export default {
  async "the binding is an R2Bucket that cannot be forged"(env) {
    const Bucket = Object.getPrototypeOf(env.BUCKET).constructor;
    assertEquals(Bucket.name, "R2Bucket");
    assertThrows(() => new Bucket(), TypeError);
    for (const method of ["head", "get", "put", "delete", "list", "createMultipartUpload", "resumeMultipartUpload"]) {
      assertEquals(typeof env.BUCKET[method], "function", method);
    }
  },

  async "put then get returns the body and metadata"(env) {
    const key = fresh();
    const put = await env.BUCKET.put(key, "hello, world", {
      httpMetadata: { contentType: "text/plain", cacheControl: "max-age=60", cacheExpiry: new Date(1e12) },
      customMetadata: { owner: "me", n: 1 },
    });
    assertEquals(put.constructor.name, "R2Object");
    assertEquals(put.key, key);
    assertEquals(put.size, 12);
    // MD5 of "hello, world".
    assertEquals(put.etag, "e4d7f1b4ed2e42d15898f4b27b019da4");
    assertEquals(put.httpEtag, '"e4d7f1b4ed2e42d15898f4b27b019da4"');
    assert(put.uploaded instanceof Date);
    assert(Math.abs(put.uploaded.getTime() - Date.now()) < 60000);
    assertEquals(put.version.length, 32);
    assertEquals(put.storageClass, "Standard");
    assertEquals(put.customMetadata, { owner: "me", n: "1" });
    assertEquals(put.checksums.toJSON(), { md5: "e4d7f1b4ed2e42d15898f4b27b019da4" });
    assert(put.checksums.md5 instanceof ArrayBuffer);
    assertEquals(put.checksums.md5.byteLength, 16);

    const got = await env.BUCKET.get(key);
    assertEquals(got.constructor.name, "R2ObjectBody");
    assertEquals(got.bodyUsed, false);
    assert(got.body instanceof ReadableStream);
    assertEquals(await got.text(), "hello, world");
    assertEquals(got.bodyUsed, true);
    await assertRejects(got.text(), TypeError);
    assertEquals(got.httpMetadata.contentType, "text/plain");
    assertEquals(got.httpMetadata.cacheExpiry.getTime(), 1e12);
    assertEquals(got.range, undefined);

    const headers = new Headers();
    got.writeHttpMetadata(headers);
    assertEquals(headers.get("content-type"), "text/plain");
    assertEquals(headers.get("cache-control"), "max-age=60");
    assertEquals(headers.get("expires"), new Date(1e12).toUTCString());
    assertThrows(() => got.writeHttpMetadata({}), TypeError);

    const head = await env.BUCKET.head(key);
    assertEquals(head.constructor.name, "R2Object");
    assertEquals(head.body, undefined);
    assertEquals(head.etag, put.etag);
    assertEquals(head.version, put.version);
  },

  async "values: ArrayBuffer, views, Blob, known-length streams, null"(env) {
    const key = fresh();
    await env.BUCKET.put(key, enc("abc").buffer);
    assertEquals(await (await env.BUCKET.get(key)).text(), "abc");
    await env.BUCKET.put(key, new DataView(enc("xdefx").buffer, 1, 3));
    assertEquals(await (await env.BUCKET.get(key)).text(), "def");
    await env.BUCKET.put(key, new Blob(["bl", "ob"]));
    const blob = await (await env.BUCKET.get(key)).blob();
    assertEquals(await blob.text(), "blob");
    await env.BUCKET.put(key, fixedStream(6, enc("str"), enc("eam")));
    assertEquals(await (await env.BUCKET.get(key)).text(), "stream");
    // A Response's body of known length.
    await env.BUCKET.put(key, new Response("from a response").body);
    assertEquals(await (await env.BUCKET.get(key)).text(), "from a response");
    await env.BUCKET.put(key, null);
    const empty = await env.BUCKET.get(key);
    assertEquals(empty.size, 0);
    assertEquals(await empty.text(), "");
    // JSON, and bytes.
    await env.BUCKET.put(key, JSON.stringify({ a: [1, 2] }));
    assertEquals(await (await env.BUCKET.get(key)).json(), { a: [1, 2] });
    const buffer = await (await env.BUCKET.get(key)).arrayBuffer();
    assert(buffer instanceof ArrayBuffer);
    assertEquals(buffer.byteLength, 11);
    // A multi-byte string is stored as UTF-8.
    const put = await env.BUCKET.put(key, "é😀");
    assertEquals(put.size, 6);
  },

  async "a stream without a known length is refused, as on Workers"(env) {
    const stream = new ReadableStream({ pull(c) { c.enqueue(enc("x")); c.close(); } });
    const error = await assertRejects(env.BUCKET.put(fresh(), stream), TypeError);
    assert(error.message.startsWith("Provided readable stream must have a known length"), error.message);
    await assertRejects(env.BUCKET.put(fresh(), 42), TypeError);
    await assertRejects(env.BUCKET.put(fresh(), {}), TypeError);
    await assertRejects(env.BUCKET.put(fresh()), TypeError);
  },

  async "a missing object is null; delete takes a key or up to 1000 keys"(env) {
    assertEquals(await env.BUCKET.get(fresh("missing")), null);
    assertEquals(await env.BUCKET.head(fresh("missing")), null);
    const a = fresh(), b = fresh(), c = fresh();
    await Promise.all([env.BUCKET.put(a, "a"), env.BUCKET.put(b, "b"), env.BUCKET.put(c, "c")]);
    assertEquals(await env.BUCKET.delete(a), undefined);
    assertEquals(await env.BUCKET.head(a), null);
    await env.BUCKET.delete([b, c, fresh("never")]);
    assertEquals(await env.BUCKET.head(b), null);
    assertEquals(await env.BUCKET.head(c), null);
    const many = Array.from({ length: 1001 }, (_, i) => `k${i}`);
    const error = await assertRejects(env.BUCKET.delete(many), Error);
    assert(error.message.startsWith("delete: "), error.message);
  },

  async "buckets are apart"(env) {
    const key = fresh();
    await env.BUCKET.put(key, "in BUCKET");
    assertEquals(await env.OTHER.get(key), null);
  },

  async "keys: converted to strings, at most 1024 bytes"(env) {
    await env.BUCKET.put(12345, "numeric");
    assertEquals(await (await env.BUCKET.get("12345")).text(), "numeric");
    const long = "k".repeat(1025);
    const error = await assertRejects(env.BUCKET.put(long, "x"), Error);
    assertEquals(error.message, "put: The specified object name is not valid. (10020)");
    await assertRejects(env.BUCKET.get(long), Error);
    assertEquals((await env.BUCKET.put("é".repeat(512), "x")).key, "é".repeat(512));
    await assertRejects(env.BUCKET.put("é".repeat(513), "x"), Error);
  },

  async "metadata is limited to 8192 bytes"(env) {
    const error = await assertRejects(env.BUCKET.put(fresh(), "x", { customMetadata: { k: "v".repeat(8192) } }), Error);
    assertEquals(error.message, "put: Your metadata headers exceed the maximum allowed metadata size. (10012)");
  },

  async "httpMetadata from Headers"(env) {
    const key = fresh();
    await env.BUCKET.put(key, "x", {
      httpMetadata: new Headers({ "content-type": "image/png", "content-language": "fr", expires: "Wed, 21 Oct 2015 07:28:00 GMT" }),
    });
    const head = await env.BUCKET.head(key);
    assertEquals(head.httpMetadata.contentType, "image/png");
    assertEquals(head.httpMetadata.contentLanguage, "fr");
    assertEquals(head.httpMetadata.cacheExpiry.toUTCString(), "Wed, 21 Oct 2015 07:28:00 GMT");
  },

  async "checksums are verified"(env) {
    const key = fresh();
    const md5 = "e4d7f1b4ed2e42d15898f4b27b019da4";
    assertEquals((await env.BUCKET.put(key, "hello, world", { md5 })).etag, md5);
    const bad = await assertRejects(env.BUCKET.put(fresh(), "other", { md5 }), Error);
    assert(bad.message.startsWith("put: The MD5 checksum you specified did not match what we received."), bad.message);
    // SHA-256 of "hello, world".
    const sha256 = "09ca7e4eaa6e8ae9c7d261167129184883644d07dfba7cbfbc4c8a2e08360d5b";
    const put = await env.BUCKET.put(key, "hello, world", { sha256 });
    assertEquals(put.checksums.toJSON(), { md5, sha256 });
    await assertRejects(env.BUCKET.put(key, "x", { md5, sha1: "0".repeat(40) }), TypeError);
    const short = await assertRejects(env.BUCKET.put(key, "x", { sha1: "00" }), TypeError);
    assertEquals(short.message, "SHA-1 is 40 hex characters, not 2");
    await assertRejects(env.BUCKET.put(key, "x", { md5: new Uint8Array(3) }), TypeError);
    await assertRejects(env.BUCKET.put(key, "x", { md5: "z".repeat(32) }), TypeError);
  },

  async "storageClass: Standard or InfrequentAccess"(env) {
    const key = fresh();
    assertEquals((await env.BUCKET.put(key, "x", { storageClass: "InfrequentAccess" })).storageClass, "InfrequentAccess");
    await assertRejects(env.BUCKET.put(key, "x", { storageClass: "Glacier" }), Error);
  },

  async "ranges answer as R2 does"(env) {
    const key = fresh();
    await env.BUCKET.put(key, "0123456789");
    const part = await env.BUCKET.get(key, { range: { offset: 2, length: 3 } });
    assertEquals(await part.text(), "234");
    assertEquals(part.range, { offset: 2, length: 3 });
    assertEquals(part.size, 10);
    assertEquals(await (await env.BUCKET.get(key, { range: { offset: 8 } })).text(), "89");
    assertEquals(await (await env.BUCKET.get(key, { range: { length: 2 } })).text(), "01");
    assertEquals(await (await env.BUCKET.get(key, { range: { suffix: 3 } })).text(), "789");
    assertEquals((await env.BUCKET.get(key, { range: { suffix: 3 } })).range, { offset: 7, length: 3 });
    assertEquals(await (await env.BUCKET.get(key, { range: { offset: 5, length: 100 } })).text(), "56789");
    assertEquals(await (await env.BUCKET.get(key, { range: new Headers({ range: "bytes=1-3" }) })).text(), "123");
    assertEquals(await (await env.BUCKET.get(key, { range: new Headers({ range: "bytes=-2" }) })).text(), "89");
    assertEquals(await (await env.BUCKET.get(key, { range: new Headers({ range: "bytes=6-" }) })).text(), "6789");
    const past = await assertRejects(env.BUCKET.get(key, { range: { offset: 10 } }), Error);
    assertEquals(past.message, "get: The requested range is not satisfiable (10039)");
    const negative = await assertRejects(env.BUCKET.get(key, { range: { offset: -1 } }), RangeError);
    assertEquals(negative.message, "Invalid range. Starting offset (-1) must be greater than or equal to 0.");
    await assertRejects(env.BUCKET.get(key, { range: { offset: 1.5 } }), RangeError);
    const both = await assertRejects(env.BUCKET.get(key, { range: { offset: 1, suffix: 2 } }), TypeError);
    assertEquals(both.message, "Suffix is incompatible with offset.");
  },

  async "onlyIf on get: the metadata without a body when it does not hold"(env) {
    const key = fresh();
    const put = await env.BUCKET.put(key, "v1");
    const hit = await env.BUCKET.get(key, { onlyIf: { etagMatches: put.etag } });
    assertEquals(await hit.text(), "v1");
    const miss = await env.BUCKET.get(key, { onlyIf: { etagMatches: "nope" } });
    assertEquals(miss.constructor.name, "R2Object");
    assertEquals(miss.body, undefined);
    assertEquals(miss.etag, put.etag);
    const none = await env.BUCKET.get(key, { onlyIf: { etagDoesNotMatch: put.etag } });
    assertEquals(none.body, undefined);
    assertEquals(await (await env.BUCKET.get(key, { onlyIf: { etagDoesNotMatch: "other" } })).text(), "v1");
    const later = new Date(put.uploaded.getTime() + 60000);
    const earlier = new Date(put.uploaded.getTime() - 60000);
    assertEquals(await (await env.BUCKET.get(key, { onlyIf: { uploadedBefore: later } })).text(), "v1");
    assertEquals((await env.BUCKET.get(key, { onlyIf: { uploadedBefore: earlier } })).body, undefined);
    assertEquals(await (await env.BUCKET.get(key, { onlyIf: { uploadedAfter: earlier } })).text(), "v1");
    assertEquals((await env.BUCKET.get(key, { onlyIf: { uploadedAfter: later } })).body, undefined);
    // Headers: If-None-Match with a quoted etag, If-Match with *.
    const h304 = await env.BUCKET.get(key, { onlyIf: new Headers({ "if-none-match": put.httpEtag }) });
    assertEquals(h304.body, undefined);
    const star = await env.BUCKET.get(key, { onlyIf: new Headers({ "if-match": "*" }) });
    assertEquals(await star.text(), "v1");
    await assertRejects(env.BUCKET.get(key, { onlyIf: { uploadedBefore: "yesterday" } }), TypeError);
    // A missing object is null whatever the condition.
    assertEquals(await env.BUCKET.get(fresh("missing"), { onlyIf: { etagMatches: "x" } }), null);
  },

  async "onlyIf on put: null and nothing stored when it does not hold"(env) {
    const key = fresh();
    const put = await env.BUCKET.put(key, "v1");
    assertEquals(await env.BUCKET.put(key, "v2", { onlyIf: { etagMatches: "nope" } }), null);
    assertEquals(await (await env.BUCKET.get(key)).text(), "v1");
    const replaced = await env.BUCKET.put(key, "v2", { onlyIf: { etagMatches: put.etag } });
    assertEquals(replaced.size, 2);
    // Create only if absent.
    assertEquals(await env.BUCKET.put(key, "v3", { onlyIf: new Headers({ "if-none-match": "*" }) }), null);
    const created = await env.BUCKET.put(fresh(), "new", { onlyIf: new Headers({ "if-none-match": "*" }) });
    assertEquals(created.size, 3);
  },

  async "list: prefix, delimiter, cursor, startAfter, include"(env) {
    const root = fresh("list");
    const keys = ["a", "b/1", "b/2", "c/x/1", "c/y", "d"].map((k) => `${root}/${k}`);
    for (const key of keys) {
      await env.BUCKET.put(key, key, { httpMetadata: { contentType: "text/plain" }, customMetadata: { k: key } });
    }
    const all = await env.BUCKET.list({ prefix: `${root}/` });
    assertEquals(all.objects.map((o) => o.key), keys);
    assertEquals(all.truncated, false);
    assertEquals(all.cursor, undefined);
    assertEquals(all.delimitedPrefixes, []);
    assertEquals(all.objects[0].httpMetadata, undefined);
    assertEquals(all.objects[0].customMetadata, undefined);
    const withMeta = await env.BUCKET.list({ prefix: `${root}/`, include: ["httpMetadata", "customMetadata"] });
    assertEquals(withMeta.objects[1].httpMetadata, { contentType: "text/plain" });
    assertEquals(withMeta.objects[1].customMetadata, { k: keys[1] });

    const top = await env.BUCKET.list({ prefix: `${root}/`, delimiter: "/" });
    assertEquals(top.objects.map((o) => o.key), [keys[0], keys[5]]);
    assertEquals(top.delimitedPrefixes, [`${root}/b/`, `${root}/c/`]);

    const seen = [];
    let cursor;
    for (;;) {
      const page = await env.BUCKET.list({ prefix: `${root}/`, limit: 2, cursor });
      seen.push(...page.objects.map((o) => o.key));
      if (!page.truncated) break;
      assertEquals(typeof page.cursor, "string");
      cursor = page.cursor;
    }
    assertEquals(seen, keys);
    const after = await env.BUCKET.list({ prefix: `${root}/`, startAfter: keys[2] });
    assertEquals(after.objects.map((o) => o.key), keys.slice(3));

    const bad = await assertRejects(env.BUCKET.list({ limit: 1001 }), Error);
    assertEquals(bad.message, "list: MaxKeys params must be positive integer <= 1000. (10022)");
    await assertRejects(env.BUCKET.list({ limit: 0 }), Error);
    const include = await assertRejects(env.BUCKET.list({ include: ["body"] }), RangeError);
    assertEquals(include.message, "Unsupported include value body");
    await assertRejects(env.BUCKET.list({ cursor: "not a cursor" }), Error);
  },

  async "large bodies stream back in chunks"(env) {
    const key = fresh();
    const size = 3 * 1024 * 1024 + 17;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = i % 251;
    await env.BUCKET.put(key, bytes);
    const got = await env.BUCKET.get(key);
    const reader = got.body.getReader();
    let total = 0;
    let chunks = 0;
    let ok = true;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (let i = 0; i < value.length; i += 4096) ok &&= value[i] === (total + i) % 251;
      total += value.length;
      chunks++;
    }
    assert(ok, "bytes read back as written");
    assertEquals(total, size);
    assert(chunks > 1, "more than one chunk");
    // A range of it.
    const tail = await env.BUCKET.get(key, { range: { suffix: 5 } });
    assertEquals([...new Uint8Array(await tail.arrayBuffer())], [...bytes.slice(size - 5)]);
  },
};
