// MessageChannel and MessagePort: structured clone at post time, delivery
// in a later task once started, onmessage starts the port, close() drops
// what is pending; hostile messages and patched built-ins.

import { assert, assertEquals, assertThrows, microtasks, sleep } from "../../runtime/testing/assert.js";

// Waits, a task at a time, until `done()` (at most 200 tasks).
async function until(done) {
  for (let i = 0; i < 200 && !done(); i++) await sleep(1);
}

// The next message `port` receives.
function nextMessage(port) {
  return new Promise((resolve) => port.addEventListener("message", resolve, { once: true }));
}

export default {
  "the interfaces are globals; MessagePort is not constructible"() {
    for (const name of ["MessageChannel", "MessagePort", "MessageEvent"]) {
      const desc = Object.getOwnPropertyDescriptor(globalThis, name);
      assert(desc && !desc.enumerable && desc.writable && desc.configurable, name);
    }
    assertThrows(() => new MessagePort(), TypeError);
    const { port1, port2 } = new MessageChannel();
    assert(port1 instanceof MessagePort && port1 instanceof EventTarget && port1 !== port2);
    const event = new MessageEvent("message", { data: 5 });
    assertEquals(event.data, 5);
    assertEquals(event.origin, "");
    assertEquals(event.ports.length, 0);
  },

  async "messages are cloned when posted and delivered in a later task, in order"() {
    const { port1, port2 } = new MessageChannel();
    const received = [];
    port2.onmessage = (event) => received.push(event.data);
    const message = { a: [1, 2], m: new Map([["k", 1]]) };
    port1.postMessage(message);
    port1.postMessage("second");
    message.a.push(3);
    assertEquals(received, []);
    await microtasks();
    assertEquals(received, [], "delivered in a microtask");
    await until(() => received.length === 2);
    assertEquals(received.length, 2);
    assertEquals(received[0].a, [1, 2]);
    assert(received[0].m instanceof Map);
    assertEquals(received[1], "second");
  },

  async "addEventListener needs start(); onmessage starts the port"() {
    const { port1, port2 } = new MessageChannel();
    let got;
    port2.addEventListener("message", (event) => (got = event.data));
    port1.postMessage("x");
    await sleep(30);
    assertEquals(got, undefined, "delivered before start()");
    port2.start();
    await sleep(30);
    assertEquals(got, "x");
  },

  async "both directions work; the transfer list moves ArrayBuffers"() {
    const { port1, port2 } = new MessageChannel();
    port1.start();
    port2.start();
    const buffer = new Uint8Array([1, 2, 3]).buffer;
    const arrived = nextMessage(port1);
    port2.postMessage(buffer, [buffer]);
    assertEquals(buffer.byteLength, 0);
    const event = await arrived;
    assert(event instanceof MessageEvent);
    assertEquals([...new Uint8Array(event.data)], [1, 2, 3]);
    const back = nextMessage(port2);
    port1.postMessage("back", { transfer: [] });
    assertEquals((await back).data, "back");
  },

  async "close() drops pending messages and later posts"() {
    const { port1, port2 } = new MessageChannel();
    let count = 0;
    port2.onmessage = () => count++;
    port1.postMessage(1);
    port2.close();
    port1.postMessage(2);
    await sleep(30);
    assertEquals(count, 0);
    // Closing the sender leaves what the receiver already has.
    const channel = new MessageChannel();
    const got = [];
    channel.port2.onmessage = (event) => got.push(event.data);
    channel.port1.postMessage("before");
    channel.port1.close();
    channel.port1.postMessage("after");
    channel.port2.postMessage("back");
    await until(() => got.length === 1);
    await sleep(5);
    assertEquals(got, ["before"]);
  },

  "what cannot be cloned throws a DataCloneError at post time"() {
    const { port1 } = new MessageChannel();
    assertThrows(() => port1.postMessage(() => {}), "DataCloneError");
    assertThrows(() => port1.postMessage(Symbol("s")), "DataCloneError");
    assertThrows(() => port1.postMessage(1, [port1]), "DataCloneError");
    assertThrows(() => port1.postMessage(), TypeError);
    assertThrows(() => MessagePort.prototype.postMessage.call({}, 1), TypeError);
  },

  async "a throwing listener is reported and the next message still arrives"() {
    const { port1, port2 } = new MessageChannel();
    const got = [];
    port2.onmessage = (event) => {
      got.push(event.data);
      if (event.data === 1) throw new Error("listener failed");
    };
    port1.postMessage(1);
    port1.postMessage(2);
    await until(() => got.length === 2);
    assertEquals(got, [1, 2]);
  },

  async "patched built-ins do not change delivery"() {
    const { port1, port2 } = new MessageChannel();
    const savedPush = Array.prototype.push;
    const savedDispatch = EventTarget.prototype.dispatchEvent;
    let got;
    // Set before the patches: adding the handler's listener is the events
    // module's business.
    port2.onmessage = (event) => (got = event.data);
    Object.defineProperty(Array.prototype, "0", { set() { throw new Error("setter"); }, configurable: true });
    Array.prototype.push = () => { throw new Error("push"); };
    EventTarget.prototype.dispatchEvent = () => { throw new Error("dispatchEvent"); };
    try {
      port1.postMessage("safe");
      port1.postMessage("again");
    } finally {
      Array.prototype.push = savedPush;
      delete Array.prototype[0];
    }
    await until(() => got === "again");
    EventTarget.prototype.dispatchEvent = savedDispatch;
    assertEquals(got, "again");
  },
};
