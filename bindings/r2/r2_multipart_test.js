// R2 multipart uploads (createMultipartUpload, resumeMultipartUpload,
// uploadPart, complete, abort) with R2's part rules: every part but the
// last at least 5 MiB and all the same size, part numbers 1 to 10,000.

import { assert, assertEquals, assertRejects, assertThrows } from "../../runtime/testing/assert.js";
import { fixedStream, fresh } from "./r2_testing.js";

const MiB = 1024 * 1024;

function filled(size, byte) {
  return new Uint8Array(size).fill(byte);
}

export default {
  async "a multipart upload completes into one object"(env) {
    const key = fresh("mp");
    const upload = await env.BUCKET.createMultipartUpload(key, {
      httpMetadata: { contentType: "application/octet-stream" },
      customMetadata: { parts: "3" },
    });
    assertEquals(upload.constructor.name, "R2MultipartUpload");
    assertEquals(upload.key, key);
    assertEquals(typeof upload.uploadId, "string");
    const p1 = await upload.uploadPart(1, filled(5 * MiB, 1));
    assertEquals(p1.partNumber, 1);
    assertEquals(p1.etag.length, 32);
    // Parts may come in any order, from another invocation's resume.
    const resumed = env.BUCKET.resumeMultipartUpload(key, upload.uploadId);
    const p3 = await resumed.uploadPart(3, "tail");
    const p2 = await resumed.uploadPart(2, fixedStream(5 * MiB, filled(MiB, 2), filled(4 * MiB, 2)));
    const object = await upload.complete([p1, p2, p3]);
    assertEquals(object.constructor.name, "R2Object");
    assertEquals(object.size, 10 * MiB + 4);
    assert(object.etag.endsWith("-3"), object.etag);
    assertEquals(object.customMetadata, { parts: "3" });
    const got = await env.BUCKET.get(key, { range: { offset: 10 * MiB - 2, length: 6 } });
    assertEquals([...new Uint8Array(await got.arrayBuffer())], [2, 2, 116, 97, 105, 108]);
    assertEquals((await env.BUCKET.head(key)).httpMetadata.contentType, "application/octet-stream");
    // Completed: the upload is gone.
    const again = await assertRejects(upload.complete([p1, p2, p3]), Error);
    assertEquals(again.message, "completeMultipartUpload: The specified multipart upload does not exist. (10024)");
    await assertRejects(upload.uploadPart(4, "x"), Error);
  },

  async "R2's part rules"(env) {
    const key = fresh("mp");
    const upload = await env.BUCKET.createMultipartUpload(key);
    const small1 = await upload.uploadPart(1, "abc");
    const small2 = await upload.uploadPart(2, "def");
    const tooSmall = await assertRejects(upload.complete([small1, small2]), Error);
    assertEquals(tooSmall.message, "completeMultipartUpload: Your proposed upload is smaller than the minimum allowed object size. (10011)");
    const order = await assertRejects(upload.complete([small2, small1]), Error);
    assert(order.message.startsWith("completeMultipartUpload: "), order.message);
    const wrong = await assertRejects(upload.complete([{ partNumber: 1, etag: "0".repeat(32) }]), Error);
    assertEquals(wrong.message, "completeMultipartUpload: One or more of the specified parts could not be found. (10025)");
    const number = await assertRejects(upload.uploadPart(0, "x"), RangeError);
    assertEquals(number.message, "Part number must be between 1 and 10000 (inclusive).");
    await assertRejects(upload.uploadPart(10001, "x"), RangeError);
    await assertRejects(upload.uploadPart(1), TypeError);
    // One small part alone is a whole object.
    const single = await upload.complete([small1]);
    assertEquals(single.size, 3);
    assertEquals(await (await env.BUCKET.get(key)).text(), "abc");
  },

  async "abort drops the parts; an unknown upload id is refused"(env) {
    const key = fresh("mp");
    const upload = await env.BUCKET.createMultipartUpload(key);
    await upload.uploadPart(1, "x");
    assertEquals(await upload.abort(), undefined);
    await upload.abort();
    const gone = await assertRejects(upload.uploadPart(2, "y"), Error);
    assertEquals(gone.message, "uploadPart: The specified multipart upload does not exist. (10024)");
    const forged = env.BUCKET.resumeMultipartUpload(key, "not-an-upload");
    await assertRejects(forged.uploadPart(1, "x"), Error);
    // Another key does not reach the upload.
    const other = await env.BUCKET.createMultipartUpload(key);
    const elsewhere = env.BUCKET.resumeMultipartUpload(fresh("mp"), other.uploadId);
    await assertRejects(elsewhere.uploadPart(1, "x"), Error);
    // Nor does another bucket.
    await assertRejects(env.OTHER.resumeMultipartUpload(key, other.uploadId).uploadPart(1, "x"), Error);
    assertThrows(() => env.BUCKET.resumeMultipartUpload(key), TypeError);
    await other.abort();
    assertEquals(await env.BUCKET.head(key), null);
  },
};
