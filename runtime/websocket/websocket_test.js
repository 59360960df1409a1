// WebSocketPair, WebSocket and CloseEvent inside one isolate (the network
// side is test/e2e/test_websockets.py): events wait for accept(), the close
// handshake between the two ends, argument checks, Response's webSocket
// member, binaryType, hostile values.

import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

// The next event of `type` on `ws`.
function next(ws, type) {
  return new Promise((resolve) => ws.addEventListener(type, resolve, { once: true }));
}

function pair() {
  const p = new WebSocketPair();
  return [p[0], p[1]];
}

export default {
  "the interfaces are globals; a pair is two open WebSockets"() {
    for (const name of ["WebSocket", "WebSocketPair", "CloseEvent"]) {
      const desc = Object.getOwnPropertyDescriptor(globalThis, name);
      assert(desc && !desc.enumerable && desc.writable && desc.configurable, name);
    }
    const p = new WebSocketPair();
    assertEquals(Object.keys(p), ["0", "1"]);
    const [a, b] = Object.values(p);
    assert(a instanceof WebSocket && a instanceof EventTarget && a !== b);
    assertEquals(a.readyState, WebSocket.OPEN);
    assertEquals([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
    assertEquals(WebSocket.READY_STATE_CLOSED, 3);
    assertEquals(a.binaryType, "arraybuffer");
    assertEquals(a.protocol, "");
    assertEquals(a.extensions, "");
    assertEquals(a.bufferedAmount, 0);
    const event = new CloseEvent("close", { code: 4000, reason: "r", wasClean: true });
    assertEquals([event.code, event.reason, event.wasClean], [4000, "r", true]);
    assertEquals(new CloseEvent("close").code, 0);
  },

  "send and close need accept() first"() {
    const [a] = pair();
    assertThrows(() => a.send("x"), TypeError);
    assertThrows(() => a.close(1000), TypeError);
    a.accept();
    a.accept(); // again: nothing
  },

  async "messages wait for accept() and arrive in order, text and bytes"() {
    const [a, b] = pair();
    a.accept();
    a.send("one");
    const bytes = new Uint8Array([1, 2, 3]);
    a.send(bytes);
    bytes[0] = 9; // sent as a copy
    a.send(new DataView(new Uint8Array([7, 8]).buffer, 1, 1));
    const got = [];
    b.addEventListener("message", (e) => got.push(e.data));
    const third = new Promise((resolve) => {
      let n = 0;
      b.addEventListener("message", () => ++n === 3 && resolve());
    });
    b.accept();
    await third;
    assertEquals(got[0], "one");
    assert(got[1] instanceof ArrayBuffer);
    assertEquals([...new Uint8Array(got[1])], [1, 2, 3]);
    assertEquals([...new Uint8Array(got[2])], [8]);
  },

  async "binaryType blob gives Blobs"() {
    const [a, b] = pair();
    a.accept();
    b.accept();
    b.binaryType = "blob";
    b.binaryType = "nonsense"; // ignored
    assertEquals(b.binaryType, "blob");
    a.send(new Uint8Array([65, 66]));
    const event = await next(b, "message");
    assert(event.data instanceof Blob);
    assertEquals(await event.data.text(), "AB");
  },

  async "the close handshake between the two ends"() {
    const [a, b] = pair();
    a.accept();
    b.accept();
    const aClosed = next(a, "close");
    const bClosed = next(b, "close");
    a.close(4001, "done");
    assertEquals(a.readyState, WebSocket.CLOSING);
    assertThrows(() => a.send("late"), TypeError);
    a.close(4001, "again"); // nothing
    const [ea, eb] = await Promise.all([aClosed, bClosed]);
    assertEquals([eb.code, eb.reason, eb.wasClean], [4001, "done", true]);
    assertEquals([ea.code, ea.reason, ea.wasClean], [4001, "done", true]);
    assertEquals([a.readyState, b.readyState], [3, 3]);
  },

  async "a close without a code is 1005; onclose and onmessage handlers"() {
    const [a, b] = pair();
    a.accept();
    b.accept();
    let message;
    b.onmessage = (e) => (message = e.data);
    const closed = new Promise((resolve) => (b.onclose = resolve));
    a.send("hi");
    a.close();
    const event = await closed;
    assertEquals(message, "hi");
    assertEquals(event.code, 1005);
    assertEquals(typeof b.onclose, "function");
  },

  "close() checks its code and reason"() {
    const [a] = pair();
    a.accept();
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 1000.5, NaN]) {
      assertThrows(() => a.close(code), DOMException, `code ${code}`);
    }
    assertThrows(() => a.close(1000, "é".repeat(62)), DOMException);
    a.close(1000, "é".repeat(61));
  },

  "Response takes a webSocket only with status 101"() {
    const [client] = pair();
    const response = new Response(null, { status: 101, webSocket: client });
    assertEquals(response.status, 101);
    assert(response.webSocket === client);
    assertThrows(() => response.clone(), TypeError);
    assertThrows(() => new Response(null, { status: 200, webSocket: client }), RangeError);
    assertThrows(() => new Response("body", { status: 101, webSocket: client }), TypeError);
    assertThrows(() => new Response(null, { status: 101 }), RangeError);
    assertThrows(() => new Response(null, { status: 101, webSocket: {} }), TypeError);
    assertEquals(new Response("x").webSocket, null);
  },

  "hostile values"() {
    const [a] = pair();
    a.accept();
    assertThrows(() => WebSocket.prototype.send.call({}, "x"), TypeError);
    assertThrows(() => WebSocket.prototype.send.call(new Proxy(a, {}), "x"), TypeError);
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    assertThrows(() => a.send(revoked.proxy), TypeError);
    assertThrows(() => a.send({ toString() { throw new RangeError("no"); } }), RangeError);
    assertThrows(() => a.close({ valueOf() { throw new SyntaxError("no"); } }), SyntaxError);
    assertThrows(() => new WebSocket(), TypeError);
    // The URL and the subprotocols are checked before any connection.
    const syntax = (fn) => {
      try {
        fn();
      } catch (error) {
        assert(error instanceof DOMException && error.name === "SyntaxError", String(error));
        return;
      }
      throw new Error("expected a SyntaxError");
    };
    syntax(() => new WebSocket("ftp://example.com/"));
    syntax(() => new WebSocket("not a url"));
    syntax(() => new WebSocket("ws://example.com/#fragment"));
    syntax(() => new WebSocket("ws://example.com/", ["chat", "chat"]));
    syntax(() => new WebSocket("ws://example.com/", "with space"));
    syntax(() => new WebSocket("ws://example.com/", { *[Symbol.iterator]() { for (;;) yield "p"; } }));
    assertThrows(() => new WebSocket({ toString() { throw new RangeError("no"); } }), RangeError);
    assertThrows(() => new WebSocket("ws://example.com/", revoked.proxy), TypeError);
    a.send(new Proxy({}, {})); // no buffer: sent as its string
  },
};
