// Internal records of the runtime's JavaScript never reach a setter a
// tenant put on Object.prototype (issue 10, part 1). Every property name the
// runtime assigns somewhere (test/hostile/test_hostile.py checks that this
// list covers runtime/ and bindings/) gets an accessor on Object.prototype
// while a test runs; the accessor notes every assignment made by the
// runtime's own code (a frame in edge:internal/...) that reached it, then
// behaves like an ordinary assignment. Each test exercises Web APIs and
// expects no such assignment.

import { assert, assertEquals, readChunks } from "../../runtime/testing/assert.js";

export const RECORD_NAMES = [
  "address", "allowHalfOpen", "closed", "closing", "handedOff", "lastWrite", "openSettled", "opened",
  "readController", "readEnded", "ready", "rejectClosed", "rejectOpened", "resolveClosed", "resolveOpened",
  "secureTransport", "socketsConnect", "startedTls", "upgraded", "writeClosed", "writeController",
  "CloseEvent", "WebSocket", "WebSocketPair", "acceptWebSocketResponse", "holdLifetime", "isWebSocket",
  "newClientWebSocket", "newWebSocketPair", "openWebSocket", "sockets", "waitExpired", "webSocketEvent", "webSocketResponseProblem",
  "lifetime",
  "AbortController", "AbortSignal", "ArrayBufferPrototypeGetByteLength", "Blob", "Cache", "CacheStorage",
  "captureLateBuiltins",
  "TypedArrayPrototypeSet", "caches", "lazyFile", "lazyOriginals", "lazyProperty", "loadLazyFile", "registerLazyBindingKind", "subtle",
  "R2Bucket", "RateLimit", "checksums", "customMetadata", "declaredLength", "etag", "httpEtag", "httpMetadata", "range",
  "storageClass", "uploadId", "uploaded", "version",
  "asyncContextStores", "currentAsyncContext", "enterAsyncContextStores", "runInAsyncContext",
  "runWithAsyncContextStores", "stores",
  "ByteLengthQueuingStrategy", "CompressionStream", "CountQueuingStrategy", "Crypto", "CryptoKey",
  "CustomEvent", "DOMException", "DataViewPrototypeGetBuffer", "DataViewPrototypeGetByteLength", "ErrorEvent",
  "DataViewPrototypeGetByteOffset", "DecompressionStream", "Event", "EventSource", "WorkerEntrypoint", "EventTarget", "Fetcher",
  "File", "FormData", "Headers", "InnerBody", "KvNamespace", "Queue", "all", "prepareQueueHandler", "NonRetryableError", "Workflow", "WorkflowEntrypoint", "backoff", "count", "counted", "delay", "em", "en", "fresh", "idleTimer", "k", "makeExecutionContext", "n", "nr", "output", "pending", "prepareWorkflowHandler", "workflowDispatcher", "runBackground", "runOutcome", "timeout", "Navigator", "Performance", "PromiseRejectionEvent", "QuotaExceededError",
  "ReadableByteStreamController", "ReadableStream", "ReadableStreamBYOBReader",
  "ReadableStreamBYOBRequest", "ReadableStreamDefaultController", "ReadableStreamDefaultReader",
  "Request", "Response", "SubtleCrypto", "TextDecoder", "TextDecoderStream", "TextEncoder",
  "TextEncoderStream", "TransformStream", "TransformStreamDefaultController",
  "TypedArrayPrototypeGetBuffer", "TypedArrayPrototypeGetByteLength",
  "TypedArrayPrototypeGetByteOffset", "TypedArrayPrototypeGetLength", "TypedArrayPrototypeGetTag",
  "URL", "URLPattern", "URLSearchParams", "WritableStream", "WritableStreamDefaultController",
  "WritableStreamDefaultWriter", "abortAlgorithm", "abortController", "abortReason",
  "abortRequested", "addAbortAlgorithm", "alg", "atob", "autoAllocateChunkSize", "backpressure",
  "backpressureChangePromise", "baseURL", "beginInvocation", "blobBytes", "bodyStream",
  "bodyUnusable", "bodyUsed", "brandCheck", "btoa", "buffer", "bufferByteLength", "byobRequest",
  "byteLength", "byteOffset", "bytes", "bytesFilled", "cancel", "cancelAlgorithm", "circular",
  "clearInterval", "clearTimeout", "cloneBody", "cloneHeaders", "closeAlgorithm", "closeRequest",
  "closeRequested", "closedPromise", "configurable", "console", "consumed", "controller",
  "countSubrequest", "createBinding", "createBlob", "createDataProperty", "createFile",
  "createUsedReadableStream", "crypto", "cryptoKeyParts", "currentDepth", "currentInvocation", "d", "decrypt",
  "deadline", "defineConstants", "depth", "dispatchCollectingErrors", "deriveBits", "disturbed", "elementSize", "encrypt", "endCalled", "endInvocation",
  "ended", "enumerable", "error", "ext", "extractBody", "fetch", "fields", "finishInterface",
  "finishPromise", "finished", "flush", "flushAlgorithm", "formDataList", "format",
  "formatWithOptions", "fragment", "getEncoding", "getHeadersGuard", "getWritableStreamState",
  "globalEventTarget", "hasEventListeners", "hasFetchListener", "hash", "head", "headersAppend",
  "headersFromInit", "headersFromList", "headersGet", "headersHas", "headersList", "headersSet",
  "host", "hostObjectFromRecord", "hostObjectRecord", "hostname", "id", "illegalConstructor", "illegalInvocation", "inFlightCloseRequest",
  "inFlightWriteRequest", "indentationLvl", "inspect", "inspectBody", "inspectNamed",
  "inspectSymbol", "installBodyMixin", "invocation", "invocationHold", "invocationRelease",
  "invocationResponseId", "invocationSubrequests", "isAbortSignal", "isArrayBuffer", "isBlob",
  "isByte", "isDOMException", "isDisturbed", "isEvent", "isFile", "isFinished", "isFormData",
  "isHeaders", "isLocked", "isObject", "isReadableStream", "isRequest", "isResponse",
  "isSharedArrayBuffer", "isURL", "isURLSearchParams", "isUint8Array", "isWritableStream",
  "isWritableStreamLocked", "items", "key", "key_ops", "lastIndex", "leaveInvocation", "length", "limit",
  "makeRequest", "makeResponse", "maxArrayLength", "maxStringLength", "minimumFill", "name",
  "navigator", "noRetry", "nodeCryptoNatives", "normalizeBlobType", "onAbort", "ongoingPromise", "open", "pairIterator",
  "parseMimeType", "parseMultipart", "parseURL", "parseUrlencoded", "password", "path", "pathname",
  "pendingAbortRequest", "pendingPullIntos", "percentEncodeComponent", "performance", "port",
  "prepareFetchHandler", "prepareScheduledHandler", "protocol", "pull", "pullAgain", "pullAlgorithm", "pulling", "query",
  "queue", "queueMicrotask", "queueTotalSize", "readAllBytes", "readIntoRequests", "readRequests",
  "readable", "readableByteStreamFromBytes", "readableByteStreamTee", "readableStreamCancel",
  "readableStreamFromBytes", "readableStreamPipeTo", "readableStreamProxy", "readableStreamTee",
  "readableType", "reader", "readerType", "readyPromise", "registerBindingKind", "reject", "rejected", "rejection",
  "rejectHead", "removeAbortAlgorithm", "removed", "reportError", "reportUnhandledRejection", "requestForWire",
  "requireArguments", "resolve", "responded", "responseForWire", "responseId", "responseStatus",
  "runInInvocation", "scheme", "search", "serializeMultipart", "serializeURL",
  "serializeURLOrigin", "serializeURLSearchParams", "serializeUrlencoded", "serviceEvent",
  "setDefaultSubrequestLimit", "setEventTargetSelf", "setEventTrusted", "setHeadersGuard",
  "setInterval", "setStreamLength", "setTimeout", "setWaitUntilLimit",
  "setUpReadableByteStreamControllerFromUnderlyingSource", "sign", "signal", "signalAbort", "size",
  "start", "started", "state", "storedError", "strategyHWM", "strategySizeAlgorithm", "stream",
  "streamKnownLength", "streamReader", "streams", "structuredClone", "subrequests", "tail",
  "takeBody", "threw", "toEnforceRangeUnsignedLongLong", "toUSVString", "toUint8Array", "tooFewArguments",
  "transferBody", "transform", "transformAlgorithm", "type", "uncurryGetter", "uncurryThis",
  "unwrapKey", "uploadEvent", "uploadReader", "urlRecordOf", "username", "utf8Decode",
  "utf8Encode", "verify", "view", "viewConstructor", "waiting", "whenIdle", "wrapKey", "wrapper", "waitUntil", "writable",
  "writableType", "write", "writeAlgorithm", "writeRequests", "writer", "x", "xn", "y", "zlibNatives",
  "DigestStream", "FixedLengthStream", "IdentityTransformStream", "MessageChannel", "MessageEvent", "MessagePort",
  "Scheduler", "done", "es", "newMessagePortPair", "offset", "scheduler", "sync",
];

// Names property descriptors are read by: an accessor for them on
// Object.prototype makes every descriptor literal invalid, the tenant's own
// included (the runtime then fails that tenant's requests, nobody else's).
const DESCRIPTOR_NAMES = ["value", "writable", "get", "set", "enumerable", "configurable"];

const ObjectPrototype = Object.prototype;
const defineProperty = Object.defineProperty;
const hasOwn = Object.prototype.hasOwnProperty;

// Runs `body` with the accessors installed; returns the assignments the
// runtime made through them ("name: frame").
async function trapped(body) {
  const hits = [];
  const installed = [];
  for (const name of RECORD_NAMES) {
    if (hasOwn.call(ObjectPrototype, name) || DESCRIPTOR_NAMES.includes(name)) continue;
    defineProperty(ObjectPrototype, name, {
      __proto__: null,
      configurable: true,
      enumerable: false,
      get() {
        return undefined;
      },
      set(value) {
        const frames = `${new Error().stack}`.split("\n");
        // frames[0] is the message, [1] this setter, [2] who assigned.
        const caller = frames[2] === undefined ? "" : frames[2].trim();
        const hit = `${name}: ${caller}`;
        if (caller.includes("edge:internal/") && !hits.includes(hit)) hits.push(hit);
        defineProperty(this, name, {
          __proto__: null,
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      },
    });
    installed.push(name);
  }
  try {
    await body();
  } finally {
    for (const name of installed) delete ObjectPrototype[name];
  }
  return hits;
}

async function expectNoHits(body) {
  const hits = await trapped(body);
  assertEquals(hits, [], "runtime records reached Object.prototype setters:");
}

export default {
  async "streams: readable, byte, tee, pipes, writable, transform"() {
    await expectNoHits(async () => {
      const readable = new ReadableStream({
        start(c) {
          c.enqueue("a");
          c.enqueue("b");
          c.close();
        },
      });
      const [left, right] = readable.tee();
      assertEquals(await readChunks(left), ["a", "b"]);
      assertEquals(await readChunks(right), ["a", "b"]);

      const bytes = new ReadableStream({
        type: "bytes",
        pull(c) {
          if (c.byobRequest) {
            c.byobRequest.view[0] = 7;
            c.byobRequest.respond(1);
          } else {
            c.enqueue(new Uint8Array([7]));
          }
          c.close();
        },
      });
      const byob = bytes.getReader({ mode: "byob" });
      const read = await byob.read(new Uint8Array(4));
      assertEquals(read.value[0], 7);
      byob.releaseLock();

      const written = [];
      const writable = new WritableStream({
        write(chunk) {
          written.push(chunk);
        },
      });
      const upper = new TransformStream({
        transform(chunk, c) {
          c.enqueue(chunk.toUpperCase());
        },
      });
      await new ReadableStream({
        start(c) {
          c.enqueue("x");
          c.close();
        },
      })
        .pipeThrough(upper)
        .pipeTo(writable);
      assertEquals(written, ["X"]);

      const writer = new WritableStream().getWriter();
      await writer.write(1);
      await writer.abort(new Error("stop"));

      const aborted = new AbortController();
      const piping = new ReadableStream({ pull() {} }).pipeTo(new WritableStream(), {
        signal: aborted.signal,
      });
      aborted.abort();
      await piping.catch(() => {});

      const encoded = await readChunks(
        new ReadableStream({
          start(c) {
            c.enqueue("hé");
            c.close();
          },
        })
          .pipeThrough(new TextEncoderStream())
          .pipeThrough(new CompressionStream("gzip"))
          .pipeThrough(new DecompressionStream("gzip"))
          .pipeThrough(new TextDecoderStream()),
      );
      assertEquals(encoded.join(""), "hé");
    });
  },

  async "request, response, headers, bodies, form data, blobs"() {
    await expectNoHits(async () => {
      const request = new Request("https://example.com/a?b=c", {
        method: "POST",
        headers: { "x-one": "1" },
        body: "hello",
      });
      const copy = request.clone();
      assertEquals(await request.text(), "hello");
      assertEquals(await copy.arrayBuffer().then((b) => b.byteLength), 5);
      const response = new Response(JSON.stringify({ a: 1 }), { status: 201, headers: [["x", "y"]] });
      assertEquals(await response.clone().json(), { a: 1 });
      assertEquals([...response.headers].length, 2);
      const streamed = new Response(new Blob(["ab", "cd"]).stream());
      assertEquals(await streamed.text(), "abcd");
      const form = new FormData();
      form.append("a", "1");
      form.append("f", new File(["x"], "x.txt", { type: "text/plain" }));
      const multipart = new Response(form);
      const parsed = await multipart.formData();
      assertEquals(parsed.get("a"), "1");
      const urlencoded = await new Response(new URLSearchParams("a=1&b=2")).formData();
      assertEquals(urlencoded.get("b"), "2");
      const blob = new Blob([new Uint8Array([1, 2, 3])], { type: "application/x-test" });
      assertEquals((await blob.slice(1).arrayBuffer()).byteLength, 2);
      assertEquals(await Response.redirect("https://example.com/", 302).status, 302);
    });
  },

  async "fetch, abort signals, events"() {
    await expectNoHits(async () => {
      const refused = await fetch("http://127.0.0.1:1/").then(
        () => "resolved",
        (error) => error.name,
      );
      assert(refused !== "resolved", "a fetch to port 1 failed");
      const controller = new AbortController();
      const pending = fetch("http://127.0.0.1:1/", { signal: controller.signal }).catch((e) => e.name);
      controller.abort();
      await pending;
      const target = new EventTarget();
      let seen = 0;
      target.addEventListener("ping", () => seen++, { once: true });
      target.dispatchEvent(new Event("ping"));
      target.dispatchEvent(new CustomEvent("ping", { detail: 1 }));
      assertEquals(seen, 1);
      await AbortSignal.timeout(1).reason;
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
  },

  async "url, urlpattern, encoding, base64, structuredClone, console"() {
    await expectNoHits(async () => {
      const url = new URL("https://user:pw@例え.jp:8080/p/a/t/h?query=1#frag");
      url.searchParams.append("x", "y z");
      url.pathname = "/other";
      url.hash = "";
      assert(url.href.startsWith("https://user:pw@xn--r8jz45g.jp:8080/other?"), url.href);
      const pattern = new URLPattern({ pathname: "/books/:id" });
      assertEquals(pattern.exec("https://example.com/books/7").pathname.groups.id, "7");
      const encoder = new TextEncoder();
      const into = new Uint8Array(8);
      encoder.encodeInto("hé", into);
      assertEquals(new TextDecoder("utf-8").decode(encoder.encode("hé")), "hé");
      assertEquals(new TextDecoder("windows-1252").decode(new Uint8Array([0x80])), "€");
      assertEquals(atob(btoa("hi")), "hi");
      const cloned = structuredClone({ a: [1, { b: new Map([[1, 2]]) }], d: new Date(0) });
      assertEquals(cloned.a[0], 1);
      console.log("records", { nested: { deep: [1, 2, 3] } }, new Map([[1, 2]]), new Error("x"));
    });
  },

  async "more paths: byte tee, async iteration, streamed bodies, secret keys, transfers"() {
    await expectNoHits(async () => {
      const [a, b] = new ReadableStream({
        type: "bytes",
        start(c) {
          c.enqueue(new Uint8Array([1, 2]));
          c.close();
        },
      }).tee();
      assertEquals((await readChunks(a)).length, 1);
      assertEquals((await readChunks(b)).length, 1);
      const seen = [];
      for await (const chunk of new Blob(["xyz"]).stream()) seen.push(chunk.length);
      assertEquals(seen, [3]);
      const upload = new Request("https://example.com/", {
        method: "PUT",
        body: new Blob(["streamed"]).stream(),
        duplex: "half",
      });
      assertEquals(await upload.text(), "streamed");
      assertEquals(await Response.json({ ok: true }).json(), { ok: true });
      const headers = new Headers([["set-cookie", "a=1"], ["set-cookie", "b=2"]]);
      assertEquals(headers.getSetCookie(), ["a=1", "b=2"]);
      const params = new URLSearchParams("b=2&a=1");
      params.sort();
      assertEquals(params.toString(), "a=1&b=2");
      const decoder = new TextDecoder();
      assertEquals(decoder.decode(new Uint8Array([0xc3]), { stream: true }) + decoder.decode(new Uint8Array([0xa9])), "é");
      const buffer = new ArrayBuffer(4);
      const moved = structuredClone(buffer, { transfer: [buffer] });
      assertEquals(moved.byteLength, 4);
      const sized = new WritableStream({}, { highWaterMark: 8, size: (chunk) => chunk.length });
      const writer = sized.getWriter();
      await writer.write("abc");
      await writer.close();
      const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
      await crypto.subtle.exportKey("jwk", hmac);
      const kek = await crypto.subtle.generateKey({ name: "AES-KW", length: 128 }, true, ["wrapKey", "unwrapKey"]);
      const wrapped = await crypto.subtle.wrapKey("raw", hmac, kek, "AES-KW");
      await crypto.subtle.unwrapKey("raw", wrapped, kek, "AES-KW", { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
      performance.now();
      await new Promise((resolve) => queueMicrotask(resolve));
    });
  },

  async "caches: put (bytes and a stream), match, a range, a 304, delete"() {
    await expectNoHits(async () => {
      const url = "https://records.test/cached";
      const headers = { "cache-control": "max-age=60", etag: '"r"' };
      await caches.default.put(url, new Response("cached", { headers }));
      const hit = await caches.default.match(url);
      assertEquals(await hit.text(), "cached");
      const part = await caches.default.match(new Request(url, { headers: { range: "bytes=1-2" } }));
      assertEquals(await part.text(), "ac");
      const named = await caches.open("records");
      await named.put(url, new Response(new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array([1, 2, 3]));
          c.close();
        },
      }), { headers }));
      const notModified = await named.match(new Request(url, { headers: { "if-none-match": '"r"' } }));
      assertEquals(notModified.status, 304);
      assertEquals(await caches.default.delete(url), true);
    });
  },

  async "crypto.subtle: digests, keys, jwk, kdfs, ciphers"() {
    await expectNoHits(async () => {
      const data = new TextEncoder().encode("data");
      await crypto.subtle.digest("SHA-256", data);
      const ec = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
      const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, ec.privateKey, data);
      assert(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, ec.publicKey, signature, data));
      const jwk = await crypto.subtle.exportKey("jwk", ec.privateKey);
      await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
      const rsa = await crypto.subtle.generateKey(
        { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
        true,
        ["sign", "verify"],
      );
      const rsaJwk = await crypto.subtle.exportKey("jwk", rsa.privateKey);
      await crypto.subtle.importKey("jwk", rsaJwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
      const aes = await crypto.subtle.generateKey({ name: "AES-GCM", length: 128 }, true, ["encrypt", "decrypt"]);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, aes, data);
      await crypto.subtle.decrypt({ name: "AES-GCM", iv }, aes, sealed);
      await crypto.subtle.exportKey("jwk", aes);
      const password = await crypto.subtle.importKey("raw", data, "PBKDF2", false, ["deriveBits"]);
      await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: data, iterations: 10 }, password, 256);
      const hkdf = await crypto.subtle.importKey("raw", data, "HKDF", false, ["deriveKey"]);
      await crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: data, info: data },
        hkdf,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        true,
        ["sign"],
      );
      crypto.randomUUID();
    });
  },
};
