// EventSource: the event-stream format (fields, line ends split across
// chunks, BOM, comments, ids, retry), the connection through a fetcher
// (headers sent, a bad status or type fails it, the end of the body
// reconnects with Last-Event-ID), EventSource.from, close(), and what a
// hostile tenant can do to it (poisoned prototypes, a fetcher that lies).

import { assert, assertEquals, assertThrows, sleep } from "../../runtime/testing/assert.js";

const encoder = new TextEncoder();

// A stream that yields `chunks` (strings, encoded) and then ends, or stays
// open when `keepOpen`.
function streamOf(chunks, keepOpen = false) {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      if (!keepOpen) controller.close();
    },
  });
}

// Collects what an EventSource fires until `until()` holds.
async function collect(source, until, ms = 3000) {
  const seen = [];
  source.addEventListener("open", () => seen.push({ type: "open" }));
  source.addEventListener("error", () => seen.push({ type: "error", readyState: source.readyState }));
  for (const type of ["message", "update", "ping"]) {
    source.addEventListener(type, (event) => seen.push({ type, data: event.data, id: event.lastEventId, origin: event.origin }));
  }
  const deadline = Date.now() + ms;
  while (!until(seen) && Date.now() < deadline) await sleep(5);
  return seen;
}

function eventStreamResponse(text, init = {}) {
  return new Response(typeof text === "string" ? streamOf([text]) : text, {
    headers: { "content-type": "text/event-stream; charset=utf-8" },
    ...init,
  });
}

export default {
  "the interface"() {
    assertEquals([EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED], [0, 1, 2]);
    assertEquals(EventSource.prototype.CLOSED, 2);
    assertEquals(typeof EventSource.from, "function");
    assertThrows(() => new EventSource(), TypeError);
    assertThrows(() => new EventSource("not a url"), "SyntaxError");
    assertThrows(() => new EventSource("https://example.com/", { withCredentials: true }), "NotSupportedError");
    assertThrows(() => new EventSource("https://example.com/", { fetcher: {} }), TypeError);
    assertThrows(() => EventSource.prototype.close.call({}), TypeError);
    assertThrows(() => Object.getOwnPropertyDescriptor(EventSource.prototype, "readyState").get.call({}), TypeError);
  },

  async "from(): fields, events, comments, multi-line data, ids"() {
    const source = EventSource.from(streamOf([
      "\ufeffdata: one\n\n",
      ": a comment\n",
      "event: update\ndata: two\ndata: lines\nid: 7\n\n",
      "data:no space\n\n",
      "data:  two spaces\n\n",
      "id: 8\n\n",  // an id alone dispatches nothing but is kept
      "event: ping\n\n",  // no data: nothing
      "data\n\n",  // a field with no colon: empty data, still an event
      "unknown: ignored\ndata: last\n\n",
    ]));
    assertEquals(source.readyState, EventSource.OPEN);
    assertEquals(source.url, "");
    const seen = await collect(source, () => source.readyState === EventSource.CLOSED);
    assertEquals(seen, [
      { type: "message", data: "one", id: "", origin: "" },
      { type: "update", data: "two\nlines", id: "7", origin: "" },
      { type: "message", data: "no space", id: "7", origin: "" },
      { type: "message", data: " two spaces", id: "7", origin: "" },
      { type: "message", data: "", id: "8", origin: "" },
      { type: "message", data: "last", id: "8", origin: "" },
    ]);
    assertEquals(source.readyState, EventSource.CLOSED);
  },

  async "line ends: CRLF, CR and LF, split across chunks and inside UTF-8"() {
    const euro = encoder.encode("data: €\r\n\r\n");
    const source = EventSource.from(streamOf([
      "data: a\r", "\ndata: b\r\r",
      "data: c\n", "\n",
      euro.subarray(0, 7), euro.subarray(7),
      "data: unterminated",  // the incomplete last event is dropped
    ]));
    const seen = await collect(source, () => source.readyState === EventSource.CLOSED);
    assertEquals(seen.map((e) => e.data), ["a\nb", "c", "€"]);
  },

  async "the constructor fetches with the event-stream headers and reconnects with Last-Event-ID"() {
    const requests = [];
    const fetcher = {
      async fetch(request) {
        requests.push({
          url: request.url, method: request.method, accept: request.headers.get("accept"),
          last: request.headers.get("last-event-id"),
        });
        // The first connection sets a short retry, sends an event and ends.
        if (requests.length === 1) return eventStreamResponse("retry: 50\nid: abc\ndata: first\n\n");
        return eventStreamResponse(streamOf(["data: second\n\n"], true));
      },
    };
    const source = new EventSource("https://events.example/stream", { fetcher });
    assertEquals(source.readyState, EventSource.CONNECTING);
    assertEquals(source.url, "https://events.example/stream");
    assertEquals(source.withCredentials, false);
    const seen = await collect(source, (s) => s.filter((e) => e.type === "message").length === 2);
    source.close();
    assertEquals(source.readyState, EventSource.CLOSED);
    assertEquals(seen.map((e) => e.type), ["open", "message", "error", "open", "message"]);
    assertEquals(seen[1].origin, "https://events.example");
    assertEquals(seen[4], { type: "message", data: "second", id: "abc", origin: "https://events.example" });
    assertEquals(requests[0], {
      url: "https://events.example/stream", method: "GET", accept: "text/event-stream", last: null,
    });
    assertEquals(requests[1].last, "abc");
  },

  async "a bad status or content type fails the connection for good"() {
    for (const response of [
      () => new Response("nope", { status: 500, headers: { "content-type": "text/event-stream" } }),
      () => new Response("data: x\n\n", { headers: { "content-type": "text/plain" } }),
      () => new Response("data: x\n\n"),
    ]) {
      let calls = 0;
      const source = new EventSource("https://events.example/", { fetcher: { fetch: async () => (++calls, response()) } });
      let errored = null;
      source.onerror = (event) => { errored = event; };
      const seen = await collect(source, () => errored !== null);
      assertEquals(source.readyState, EventSource.CLOSED);
      assertEquals(seen.map((e) => e.type), ["error"]);
      assert(errored instanceof ErrorEvent);
      await sleep(30);
      assertEquals(calls, 1);
    }
  },

  async "a network error reconnects; close() in the error listener stops it"() {
    let calls = 0;
    const source = new EventSource("https://events.example/", {
      fetcher: { fetch: async () => { ++calls; throw new TypeError("Network connection lost."); } },
    });
    source.onerror = () => {
      assertEquals(source.readyState, EventSource.CONNECTING);
      source.close();
    };
    await sleep(50);
    assertEquals(source.readyState, EventSource.CLOSED);
    assertEquals(calls, 1);
  },

  async "close() cancels the body being read and no event follows"() {
    let cancelled = false;
    const body = new ReadableStream({
      start(controller) { controller.enqueue(encoder.encode("data: before\n\n")); },
      cancel() { cancelled = true; },
    });
    const source = new EventSource("https://events.example/", { fetcher: { fetch: async () => eventStreamResponse(body) } });
    const seen = await collect(source, (s) => s.some((e) => e.type === "message"));
    source.close();
    await sleep(10);
    assert(cancelled, "the body was not cancelled");
    assertEquals(seen.map((e) => e.type), ["open", "message"]);
  },

  async "onmessage and friends are event handler attributes"() {
    const source = EventSource.from(streamOf(["data: x\n\n"]));
    const got = [];
    source.onmessage = (event) => got.push(event.data);
    source.onmessage = "not a function";
    assertEquals(source.onmessage, null);
    source.onmessage = (event) => got.push(`second ${event.data}`);
    await sleep(20);
    assertEquals(got, ["second x"]);
  },

  async "from() refuses a locked or disturbed stream and a non-stream"() {
    const locked = streamOf(["data: x\n\n"]);
    locked.getReader();
    assertThrows(() => EventSource.from(locked), TypeError);
    const disturbed = streamOf(["data: x\n\n"]);
    await disturbed.getReader().read();
    assertThrows(() => EventSource.from(disturbed), TypeError);
    assertThrows(() => EventSource.from({}), TypeError);
    // A stream of strings, not bytes: the EventSource fails, nothing throws.
    const source = EventSource.from(new ReadableStream({ start(c) { c.enqueue("data: x\n\n"); c.close(); } }));
    const seen = await collect(source, () => source.readyState === EventSource.CLOSED);
    assertEquals(seen.map((e) => e.type), ["error"]);
  },

  async "hostile: poisoned prototypes and a lying fetcher change nothing of the runtime's own"() {
    const saved = {
      get: Headers.prototype.get, set: Headers.prototype.set, decode: TextDecoder.prototype.decode,
      then: Promise.prototype.then,
    };
    const touched = [];
    for (const name of ["data", "origin", "lastEventId", "message", "error", "fetcher", "withCredentials", "signal"]) {
      Object.defineProperty(Object.prototype, name, {
        configurable: true, get() { touched.push(name); return undefined; }, set() { touched.push(`set ${name}`); },
      });
    }
    Headers.prototype.get = () => "text/event-stream";
    Headers.prototype.set = () => { throw new Error("patched set"); };
    TextDecoder.prototype.decode = () => "data: forged\n\n";
    try {
      const sent = [];
      const source = new EventSource("https://events.example/", {
        fetcher: { fetch: async (request) => { sent.push(request.headers.has("accept")); return eventStreamResponse("data: real\n\n"); } },
      });
      const seen = await collect(source, (s) => s.some((e) => e.type === "message"));
      source.close();
      assertEquals(seen.find((e) => e.type === "message").data, "real");
      assertEquals(sent, [true]);
      // A fetcher answering with something that is not a Response.
      const lied = new EventSource("https://events.example/", { fetcher: { fetch: async () => ({ status: 200, ok: true }) } });
      const errors = await collect(lied, (s) => s.length > 0);
      assertEquals(errors.map((e) => e.type), ["error"]);
      assertEquals(lied.readyState, EventSource.CLOSED);
    } finally {
      for (const name of ["data", "origin", "lastEventId", "message", "error", "fetcher", "withCredentials", "signal"]) {
        delete Object.prototype[name];
      }
      Headers.prototype.get = saved.get;
      Headers.prototype.set = saved.set;
      TextDecoder.prototype.decode = saved.decode;
    }
    // The init dictionary was read as the tenant gave it (own properties),
    // nothing else reached the prototype's accessors.
    assertEquals(touched.filter((name) => name !== "fetcher" && name !== "withCredentials"), []);
  },

  async "a fetcher that never answers holds nothing but its own EventSource"() {
    const source = new EventSource("https://events.example/", { fetcher: { fetch: () => new Promise(() => {}) } });
    await sleep(20);
    assertEquals(source.readyState, EventSource.CONNECTING);
    source.close();
    assertEquals(source.readyState, EventSource.CLOSED);
  },
};
