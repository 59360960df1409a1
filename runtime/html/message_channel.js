// MessageChannel, MessagePort and MessageEvent
// (https://html.spec.whatwg.org/multipage/web-messaging.html#message-channels),
// within one worker, as Workers has them: postMessage structured-clones the
// message at once (ArrayBuffers in the transfer list move), and the other
// port receives it as a "message" event in a later task, once its queue is
// started (start(), or setting onmessage). close() disentangles both ports:
// what the closed port had not delivered yet is dropped, later posts from
// either side go nowhere. Ports themselves cannot be
// transferred (a DataCloneError). Delivery is a zero-delay timer
// (timers.js), so it is refused in a module's top-level code like any timer
// and belongs to the invocation that posted the message.

const {
  createDataProperty, Event, EventTarget, finishInterface, illegalConstructor, isObject, reportError, requireArguments,
} = internals;
const { ArrayIsArray, ReflectApply, TypeErrorCtor: TypeError } = internals.primordials;
const structuredClone = internals.structuredClone;
const setTimer = internals.setTimeout;
// This file runs on a worker's first use of MessageChannel, MessagePort or
// MessageEvent (runtime/js/lazy.js), after it may have patched
// EventTarget.prototype.
const { EventTargetAddEventListener: etAdd, EventTargetDispatchEvent: etDispatch } = internals.lazyOriginals;

// The web messaging spec's MessageEvent, with what a port sends.
class MessageEvent extends Event {
  #data;
  #origin;
  #lastEventId;
  #source;
  #ports;

  constructor(type, eventInitDict = undefined) {
    requireArguments(arguments.length, 1, "Failed to construct 'MessageEvent'");
    super(type, eventInitDict);
    const init = eventInitDict === undefined || eventInitDict === null ? undefined : eventInitDict;
    this.#data = init !== undefined && init.data !== undefined ? init.data : null;
    this.#origin = init !== undefined && init.origin !== undefined ? `${init.origin}` : "";
    this.#lastEventId = init !== undefined && init.lastEventId !== undefined ? `${init.lastEventId}` : "";
    this.#source = init !== undefined && init.source !== undefined ? init.source : null;
    const ports = init !== undefined ? init.ports : undefined;
    if (ports !== undefined && !ArrayIsArray(ports)) {
      throw new TypeError("Failed to construct 'MessageEvent': ports must be a sequence of MessagePorts.");
    }
    this.#ports = [];
  }

  get data() {
    return this.#data;
  }

  get origin() {
    return this.#origin;
  }

  get lastEventId() {
    return this.#lastEventId;
  }

  get source() {
    return this.#source;
  }

  get ports() {
    return this.#ports;
  }
}
finishInterface(MessageEvent);

const kCreate = {};

// A port's state, kept in its private fields: the other port, whether its
// queue is started, the messages waiting, whether a delivery is scheduled.
class MessagePort extends EventTarget {
  #entangled = null;
  #started = false;
  #closed = false;
  #queue = [];
  #scheduled = false;
  #onmessage = null;
  #onmessageerror = null;
  #listening = false;

  constructor(token = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    super();
  }

  static #entangle(a, b) {
    a.#entangled = b;
    b.#entangled = a;
  }

  static #check(port, method) {
    if (!isObject(port) || !(#entangled in port)) {
      throw new TypeError(`Failed to execute '${method}' on 'MessagePort': Illegal invocation`);
    }
    return port;
  }

  postMessage(message, transfer = undefined) {
    MessagePort.#check(this, "postMessage");
    requireArguments(arguments.length, 1, "Failed to execute 'postMessage' on 'MessagePort'");
    // postMessage(message, transfer) or postMessage(message, { transfer }).
    let list;
    if (transfer !== undefined && transfer !== null) {
      if (ArrayIsArray(transfer)) list = transfer;
      else if (isObject(transfer)) list = transfer.transfer;
      else throw new TypeError("Failed to execute 'postMessage' on 'MessagePort': invalid transfer list.");
    }
    const data = list === undefined ? structuredClone(message) : structuredClone(message, { __proto__: null, transfer: list });
    const target = this.#entangled;
    if (this.#closed || target === null || target.#closed) return;
    const queue = target.#queue;
    createDataProperty(queue, queue.length, data);
    MessagePort.#schedule(target);
  }

  start() {
    MessagePort.#check(this, "start");
    if (this.#started || this.#closed) return;
    this.#started = true;
    MessagePort.#schedule(this);
  }

  close() {
    MessagePort.#check(this, "close");
    const other = this.#entangled;
    this.#closed = true;
    this.#queue = [];
    // Disentangled: neither port reaches the other any more. Messages the
    // other port already received stay in its queue.
    if (other !== null) other.#entangled = null;
    this.#entangled = null;
  }

  get onmessage() {
    return MessagePort.#check(this, "onmessage").#onmessage;
  }

  set onmessage(handler) {
    MessagePort.#check(this, "onmessage");
    this.#onmessage = typeof handler === "function" || isObject(handler) ? handler : null;
    MessagePort.#listen(this);
    // Setting onmessage starts the port's queue, as start() does.
    this.start();
  }

  get onmessageerror() {
    return MessagePort.#check(this, "onmessageerror").#onmessageerror;
  }

  set onmessageerror(handler) {
    MessagePort.#check(this, "onmessageerror");
    this.#onmessageerror = typeof handler === "function" || isObject(handler) ? handler : null;
  }

  // The event handler's listener, added the first time onmessage is set
  // (its place among the port's listeners, as HTML's event handlers).
  static #listen(port) {
    if (port.#listening) return;
    port.#listening = true;
    ReflectApply(etAdd, port, ["message", (event) => {
      const handler = port.#onmessage;
      if (typeof handler === "function") ReflectApply(handler, port, [event]);
    }]);
  }

  // One message per task, while the port is started and has messages.
  static #schedule(port) {
    if (port.#scheduled || !port.#started || port.#closed || port.#queue.length === 0) return;
    port.#scheduled = true;
    setTimer(() => {
      port.#scheduled = false;
      if (!port.#started || port.#closed || port.#queue.length === 0) return;
      const queue = port.#queue;
      const data = queue[0];
      // A fresh array: no setter on Array.prototype sees the rest.
      const rest = [];
      for (let i = 1; i < queue.length; i++) createDataProperty(rest, i - 1, queue[i]);
      port.#queue = rest;
      MessagePort.#schedule(port);
      try {
        ReflectApply(etDispatch, port, [new MessageEvent("message", { __proto__: null, data })]);
      } catch (error) {
        reportError(error);
      }
    }, 0);
  }

  static {
    internals.newMessagePortPair = () => {
      const a = new MessagePort(kCreate);
      const b = new MessagePort(kCreate);
      MessagePort.#entangle(a, b);
      return [a, b];
    };
  }
}
finishInterface(MessagePort);

class MessageChannel {
  #port1;
  #port2;

  constructor() {
    const pair = internals.newMessagePortPair();
    this.#port1 = pair[0];
    this.#port2 = pair[1];
  }

  get port1() {
    return this.#port1;
  }

  get port2() {
    return this.#port2;
  }
}
finishInterface(MessageChannel);

internals.MessageEvent = MessageEvent;
internals.MessagePort = MessagePort;
internals.MessageChannel = MessageChannel;
