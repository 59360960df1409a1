// WebSocket, WebSocketPair and CloseEvent as Cloudflare Workers has them
// (https://developers.cloudflare.com/workers/runtime-apis/websockets/;
// the interface is WHATWG's, https://websockets.spec.whatwg.org/).
//
// `new WebSocketPair()` makes two ends joined to each other, both open;
// what one sends the other receives, once it has called accept() (events
// wait until then). A worker answers a WebSocket handshake with
// `new Response(null, { status: 101, webSocket: client })`: the client end
// is then the connection (internals.acceptWebSocketResponse, called by
// dispatch.js), and the server end talks to the peer through the natives
// (runtime/websocket/websocket_natives.cc): its sends become frames, and
// internals.webSocketEvent brings the peer's messages and close back, each
// in an entry into the isolate of its own.
//
// A worker opens WebSockets of its own too: `new WebSocket(url, protocols)`
// (CONNECTING, then "open", its events dispatched as they come, as in a
// browser) and fetch() with `Upgrade: websocket`, whose 101 Response holds
// a WebSocket that waits for accept() like a pair's server end
// (internals.newClientWebSocket; bindings/websocket/ is the connection).
// A service binding's 101 gives the caller the same kind of socket. Such a
// socket returned in a 101 of the worker's own is spliced to the
// connection it answers (native.webSocketJoin): the peers then talk
// without entering the isolate. Each keeps its invocation while open.
//
// The close handshake: close(code, reason) sends a close frame; the peer's
// close is answered by the runtime with the same code (Workers' default,
// allowHalfOpen is not offered) and the "close" event fires with the
// peer's code (1005 when it sent none) and wasClean true. A connection
// that ended without a close handshake fires "error" then "close" with
// 1006 (or the code the runtime closed it with for a protocol error:
// 1002, 1007, 1009), wasClean false.

const {
  DOMException, Event, EventTarget, ErrorEvent, MessageEvent, createDataProperty, defineConstants, finishInterface,
  illegalConstructor, isArrayBuffer, isObject, reportError, requireArguments,
} = internals;
const {
  ArrayBufferIsView, ArrayIsArray, ReflectApply, SafeMap, MapPrototypeDelete, MapPrototypeGet, MapPrototypeSet,
  StringCtor, StringPrototypeSlice, TypeErrorCtor: TypeError, RangeErrorCtor: RangeError, PromiseResolve,
  PromisePrototypeThen, RegExpTest, SymbolIterator,
} = internals.primordials;
// RFC 9110 token: what a subprotocol is.
const tokenRegExp = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const { EventTargetAddEventListener: etAdd, EventTargetDispatchEvent: etDispatch } = internals.lazyOriginals;
// This file runs on a worker's first use of WebSocket (runtime/js/lazy.js):
// its top level uses only primordials and what earlier files put on
// internals.
const {
  TypedArrayPrototypeGetBuffer, TypedArrayPrototypeGetByteOffset, TypedArrayPrototypeGetByteLength,
  TypedArrayPrototypeSet, DataViewPrototypeGetBuffer, DataViewPrototypeGetByteOffset, DataViewPrototypeGetByteLength,
  ArrayBufferPrototypeGetByteLength,
} = internals;
const { Uint8ArrayCtor } = internals.primordials;
const TextEncoderEncode = (() => {
  const encoder = new internals.TextEncoder();
  const encode = internals.lazyOriginals.TextEncoderEncode;
  return (text) => ReflectApply(encode, encoder, [text]);
})();

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

// Runs `fn` in a later microtask (pair deliveries are asynchronous, as on
// Workers), whatever the tenant did to Promise.prototype.then.
function later(fn) {
  PromisePrototypeThen(PromiseResolve(undefined), fn);
}

// https://websockets.spec.whatwg.org/#the-closeevent-interface
class CloseEvent extends Event {
  #wasClean;
  #code;
  #reason;

  constructor(type, eventInitDict = undefined) {
    requireArguments(arguments.length, 1, "Failed to construct 'CloseEvent'");
    super(type, eventInitDict);
    const init = eventInitDict == null ? { __proto__: null } : eventInitDict;
    // Dictionary members in WebIDL's order (lexicographic).
    const code = init.code;
    this.#code = code === undefined ? 0 : (code & 0xffff);
    const reason = init.reason;
    this.#reason = reason === undefined ? "" : `${reason}`;
    this.#wasClean = !!init.wasClean;
  }

  get wasClean() {
    return this.#wasClean;
  }

  get code() {
    return this.#code;
  }

  get reason() {
    return this.#reason;
  }
}
finishInterface(CloseEvent);

// A copy of the bytes of an ArrayBuffer or ArrayBufferView (read with the
// built-in getters, so a Proxy or a patched prototype changes nothing), or
// undefined when `data` is neither.
function copyBytes(data) {
  let buffer, offset, length;
  if (isArrayBuffer(data)) {
    buffer = data;
    offset = 0;
    length = ArrayBufferPrototypeGetByteLength(data);
  } else if (ArrayBufferIsView(data)) {
    try {
      buffer = TypedArrayPrototypeGetBuffer(data);
      offset = TypedArrayPrototypeGetByteOffset(data);
      length = TypedArrayPrototypeGetByteLength(data);
    } catch {
      buffer = DataViewPrototypeGetBuffer(data);
      offset = DataViewPrototypeGetByteOffset(data);
      length = DataViewPrototypeGetByteLength(data);
    }
  } else {
    return undefined;
  }
  const copy = new Uint8ArrayCtor(length);
  TypedArrayPrototypeSet(copy, new Uint8ArrayCtor(buffer, offset, length));
  return copy;
}

// Whether a close code may be sent (RFC 6455 section 7.4).
function isSendableCode(code) {
  return (code >= 3000 && code <= 4999) || (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

const kCreate = {};
// Open sockets bound to a connection, by the natives' id.
const sockets = new SafeMap();

// The most subprotocols a WebSocket offers (the natives check it again).
const kMaxProtocols = 64;

// The `protocols` argument: a string or a sequence of strings, each a
// token, none twice.
function protocolList(protocols) {
  const list = [];
  if (protocols === undefined) return list;
  const add = (value) => {
    const text = `${value}`;
    if (list.length === kMaxProtocols) {
      throw new DOMException(`Failed to construct 'WebSocket': at most ${kMaxProtocols} subprotocols may be offered.`, "SyntaxError");
    }
    if (!RegExpTest(tokenRegExp, text)) {
      throw new DOMException(`Failed to construct 'WebSocket': The subprotocol '${text}' is invalid.`, "SyntaxError");
    }
    for (let i = 0; i < list.length; i++) {
      if (list[i] === text) {
        throw new DOMException(`Failed to construct 'WebSocket': The subprotocol '${text}' is duplicated.`, "SyntaxError");
      }
    }
    createDataProperty(list, list.length, text);
  };
  if (!isObject(protocols)) {
    add(protocols);
  } else if (ArrayIsArray(protocols)) {
    for (let i = 0; i < protocols.length; i++) add(protocols[i]);
  } else {
    // WebIDL's sequence<DOMString>: the object's own iterator.
    const method = protocols[SymbolIterator];
    if (typeof method !== "function") {
      throw new TypeError("Failed to construct 'WebSocket': The provided value cannot be converted to a sequence.");
    }
    const iterator = ReflectApply(method, protocols, []);
    const next = iterator.next;
    for (;;) {
      const step = ReflectApply(next, iterator, []);
      if (!isObject(step)) throw new TypeError("Failed to construct 'WebSocket': the iterator's result is not an object.");
      if (step.done) break;
      add(step.value);
    }
  }
  return list;
}

// Opens a connection to the URL `record` (ws:, wss:, http: or https:):
// a promise of [id, status, statusText, headers, body, protocol]
// (bindings/websocket/websocket_client_natives.cc). Throws when it cannot
// start (the invocation's subrequests, the account's open WebSockets).
function connectWebSocket(record, headers, protocols) {
  const tls = record.scheme === "wss" || record.scheme === "https";
  const port = record.port !== null ? record.port : tls ? 443 : 80;
  const hostHeader = record.port !== null ? `${record.host}:${record.port}` : record.host;
  const bare = { __proto__: null };
  createDataProperty(bare, "scheme", "http");
  createDataProperty(bare, "username", "");
  createDataProperty(bare, "password", "");
  createDataProperty(bare, "host", record.host);
  createDataProperty(bare, "port", null);
  createDataProperty(bare, "path", record.path);
  createDataProperty(bare, "query", record.query);
  createDataProperty(bare, "fragment", null);
  const origin = internals.serializeURLOrigin(bare);
  const path = StringPrototypeSlice(internals.serializeURL(bare, true), origin.length);
  if (typeof native.webSocketConnect !== "function") {
    throw new DOMException("WebSockets to other servers are not available in this runtime.", "NotSupportedError");
  }
  return native.webSocketConnect(tls, record.host, port, hostHeader, path, headers, protocols);
}

class WebSocket extends EventTarget {
  #readyState = OPEN;
  #accepted = false;
  #peer = null; // the other end of a pair, while both are in this isolate
  #id = 0; // the connection's id in the natives, once bound to one
  #given = false; // returned in a Response: the client's now
  #queue = null; // events that arrived before accept()
  #closeSent = false;
  #binaryType = "arraybuffer";
  #url = null;
  #invocation = undefined; // the request's, for a socket bound to its connection
  #release = null; // lets that invocation end, once the socket closes
  #protocol = "";
  #joined = false; // spliced to a connection: its peers talk in C++
  #pendingClose = null; // close() of a socket still connecting
  #handlers = { __proto__: null, open: null, message: null, close: null, error: null };
  #listening = { __proto__: null };

  constructor(url = undefined, protocols = undefined) {
    if (url === kCreate) {
      super();
      return;
    }
    requireArguments(arguments.length, 1, "Failed to construct 'WebSocket'");
    super();
    // https://websockets.spec.whatwg.org/#dom-websocket-websocket
    const record = internals.parseURL(`${url}`);
    if (record === null) {
      throw new DOMException(`Failed to construct 'WebSocket': The URL '${url}' is invalid.`, "SyntaxError");
    }
    if (record.scheme === "http") record.scheme = "ws";
    else if (record.scheme === "https") record.scheme = "wss";
    if (record.scheme !== "ws" && record.scheme !== "wss") {
      throw new DOMException(
        `Failed to construct 'WebSocket': The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. '${record.scheme}:' is not allowed.`,
        "SyntaxError",
      );
    }
    if (record.fragment !== null) {
      throw new DOMException(
        "Failed to construct 'WebSocket': The URL contains a fragment identifier. Fragment identifiers are not allowed in WebSocket URLs.",
        "SyntaxError",
      );
    }
    const offered = protocolList(protocols);
    this.#url = internals.serializeURL(record);
    this.#readyState = CONNECTING;
    this.#accepted = true;
    const invocation = internals.currentInvocation();
    const answer = connectWebSocket(record, [], offered);
    this.#invocation = invocation;
    this.#release = internals.holdLifetime(invocation);
    PromisePrototypeThen(answer, (result) => WebSocket.#opened(this, result), () => WebSocket.#failed(this));
  }

  // new WebSocket(url): the handshake's outcome.
  static #opened(ws, result) {
    const id = result[0];
    if (id === 0) {
      WebSocket.#failed(ws);
      return;
    }
    ws.#id = id;
    ws.#protocol = result[5];
    MapPrototypeSet(sockets, id, ws);
    native.webSocketRelease(id);
    if (ws.#closeSent) {
      // close() while connecting: the connection closes as soon as it opens.
      native.webSocketClose(id, ws.#pendingClose.code, ws.#pendingClose.reason);
      return;
    }
    ws.#readyState = OPEN;
    WebSocket.#fire(ws, new Event("open"));
  }

  static #failed(ws) {
    if (ws.#readyState === CLOSED) return;
    WebSocket.#dispatch(ws, { __proto__: null, kind: "close", code: 1006, reason: "", clean: false });
  }

  static #check(ws, method) {
    if (!isObject(ws) || !(#accepted in ws)) {
      throw new TypeError(`Failed to execute '${method}' on 'WebSocket': Illegal invocation`);
    }
    return ws;
  }

  static #checkUsable(ws, method) {
    WebSocket.#check(ws, method);
    if (ws.#given) {
      throw new TypeError(
        `Failed to execute '${method}' on 'WebSocket': this WebSocket was returned in a Response; its peer is the client now.`,
      );
    }
    return ws;
  }

  accept() {
    WebSocket.#checkUsable(this, "accept");
    if (this.#accepted) return;
    this.#accepted = true;
    // A socket of the worker's own: the natives held its events until now.
    if (this.#id !== 0) native.webSocketRelease(this.#id);
    const queue = this.#queue;
    this.#queue = null;
    if (queue === null) return;
    later(() => {
      for (let i = 0; i < queue.length; i++) WebSocket.#dispatch(this, queue[i]);
    });
  }

  send(message) {
    WebSocket.#checkUsable(this, "send");
    requireArguments(arguments.length, 1, "Failed to execute 'send' on 'WebSocket'");
    if (!this.#accepted) {
      throw new TypeError("You must call accept() on this WebSocket before sending messages.");
    }
    if (this.#readyState === CONNECTING) {
      throw new DOMException("Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.", "InvalidStateError");
    }
    let data = typeof message === "string" ? message : copyBytes(message);
    if (data === undefined) data = `${message}`;
    if (this.#closeSent || this.#readyState === CLOSED) {
      throw new TypeError("Can't call WebSocket send() after close().");
    }
    WebSocket.#transmit(this, { __proto__: null, kind: "message", data });
  }

  close(code = undefined, reason = undefined) {
    WebSocket.#checkUsable(this, "close");
    if (code !== undefined) {
      code = +code;
      if (!(code === (code | 0)) || !isSendableCode(code)) {
        throw new DOMException(
          `Failed to execute 'close' on 'WebSocket': The close code must be 1000 or between 3000 and 4999 (or another code a peer may send); ${StringCtor(code)} is neither.`,
          "InvalidAccessError",
        );
      }
    }
    let text = "";
    if (reason !== undefined) {
      text = `${reason}`;
      if (TextEncoderEncode(text).length > 123) {
        throw new DOMException("Failed to execute 'close' on 'WebSocket': The close reason must not be longer than 123 UTF-8 bytes.", "SyntaxError");
      }
    }
    if (!this.#accepted) {
      throw new TypeError("You must call accept() on this WebSocket before closing it.");
    }
    if (this.#closeSent || this.#readyState === CLOSED) return;
    this.#closeSent = true;
    if (this.#readyState === CONNECTING) {
      this.#pendingClose = { __proto__: null, code: code === undefined ? 0 : code, reason: text };
      this.#readyState = CLOSING;
      return;
    }
    this.#readyState = CLOSING;
    WebSocket.#transmit(this, { __proto__: null, kind: "close", code: code === undefined ? 0 : code, reason: text });
  }

  get readyState() {
    return WebSocket.#check(this, "readyState").#readyState;
  }

  get url() {
    return WebSocket.#check(this, "url").#url;
  }

  get protocol() {
    return WebSocket.#check(this, "protocol").#protocol;
  }

  get extensions() {
    WebSocket.#check(this, "extensions");
    return "";
  }

  get bufferedAmount() {
    WebSocket.#check(this, "bufferedAmount");
    return this.#id !== 0 ? native.webSocketBuffered(this.#id) : 0;
  }

  get binaryType() {
    return WebSocket.#check(this, "binaryType").#binaryType;
  }

  set binaryType(value) {
    WebSocket.#check(this, "binaryType");
    const type = `${value}`;
    if (type === "arraybuffer" || type === "blob") this.#binaryType = type;
  }

  get onopen() {
    return WebSocket.#check(this, "onopen").#handlers.open;
  }
  set onopen(handler) {
    WebSocket.#setHandler(this, "open", handler);
  }
  get onmessage() {
    return WebSocket.#check(this, "onmessage").#handlers.message;
  }
  set onmessage(handler) {
    WebSocket.#setHandler(this, "message", handler);
  }
  get onclose() {
    return WebSocket.#check(this, "onclose").#handlers.close;
  }
  set onclose(handler) {
    WebSocket.#setHandler(this, "close", handler);
  }
  get onerror() {
    return WebSocket.#check(this, "onerror").#handlers.error;
  }
  set onerror(handler) {
    WebSocket.#setHandler(this, "error", handler);
  }

  // An event handler attribute: its listener is added the first time it is
  // set (its place among the listeners, as HTML's event handlers).
  static #setHandler(ws, type, handler) {
    WebSocket.#check(ws, `on${type}`);
    ws.#handlers[type] = typeof handler === "function" || isObject(handler) ? handler : null;
    if (ws.#listening[type]) return;
    ws.#listening[type] = true;
    ReflectApply(etAdd, ws, [type, (event) => {
      const current = ws.#handlers[type];
      if (typeof current === "function") ReflectApply(current, ws, [event]);
    }]);
  }

  // What this end sends: to the connection, or to the other end of its pair.
  static #transmit(ws, event) {
    if (ws.#id !== 0) {
      if (event.kind === "message") native.webSocketSend(ws.#id, event.data);
      else native.webSocketClose(ws.#id, event.code, event.reason);
      return;
    }
    const peer = ws.#peer;
    if (peer === null) return;
    if (peer.#given) {
      // The client end waits to be returned; what it receives meanwhile
      // goes out once it is.
      WebSocket.#enqueue(peer, event);
      return;
    }
    WebSocket.#receive(peer, event);
  }

  static #enqueue(ws, event) {
    if (ws.#queue === null) ws.#queue = [];
    createDataProperty(ws.#queue, ws.#queue.length, event);
  }

  // An event for this end: dispatched in a later microtask once accepted,
  // kept until then.
  static #receive(ws, event) {
    if (!ws.#accepted) {
      WebSocket.#enqueue(ws, event);
      return;
    }
    later(() => WebSocket.#dispatch(ws, event));
  }

  static #fire(ws, event) {
    try {
      ReflectApply(etDispatch, ws, [event]);
    } catch (error) {
      reportError(error);
    }
  }

  static #dispatch(ws, event) {
    if (ws.#readyState === CLOSED) return;
    if (event.kind === "message") {
      let data = event.data;
      if (typeof data !== "string") {
        // Bytes from a pair are a Uint8Array copy; from the natives, an
        // ArrayBuffer.
        if (!isArrayBuffer(data)) data = TypedArrayPrototypeGetBuffer(data);
        if (ws.#binaryType === "blob") data = new internals.Blob([data]);
      }
      WebSocket.#fire(ws, new MessageEvent("message", { __proto__: null, data }));
      return;
    }
    // The peer closed, or the connection ended.
    const wasClean = event.clean !== false;
    const code = event.code === 0 ? 1005 : event.code;
    if (!ws.#closeSent && ws.#id === 0 && ws.#peer !== null) {
      // Answered as the runtime answers a connection's close.
      ws.#closeSent = true;
      WebSocket.#receive(ws.#peer, { __proto__: null, kind: "close", code: event.code, reason: event.reason, clean: true });
    }
    ws.#closeSent = true;
    ws.#readyState = CLOSED;
    if (ws.#id !== 0) {
      MapPrototypeDelete(sockets, ws.#id);
      ws.#id = 0;
    }
    const release = ws.#release;
    ws.#release = null;
    if (release !== null) later(release);
    if (!wasClean) {
      WebSocket.#fire(ws, new ErrorEvent("error", { __proto__: null, message: "The WebSocket connection ended without a close handshake" }));
    }
    WebSocket.#fire(ws, new CloseEvent("close", { __proto__: null, code, reason: event.reason, wasClean }));
  }

  // `ws` (bound to connection ws.#id, never accepted) was returned in a 101
  // answering the connection `id`: what ws received meanwhile goes there
  // first, then the two are spliced in C++.
  static #splice(ws, id) {
    ws.#given = true;
    ws.#joined = true;
    MapPrototypeSet(sockets, id, ws);
    const queue = ws.#queue;
    ws.#queue = null;
    if (queue !== null) {
      for (let i = 0; i < queue.length; i++) {
        const event = queue[i];
        if (event.kind === "message") {
          native.webSocketSend(id, event.data);
          continue;
        }
        // It closed before it was returned: so does the connection.
        const code = event.code;
        native.webSocketClose(id, code === 1005 || code === 0 ? 0 : isSendableCode(code) ? code : 1001, event.reason);
        return;
      }
    }
    native.webSocketJoin(ws.#id, id);
  }

  static {
    internals.newWebSocketPair = () => {
      const client = new WebSocket(kCreate);
      const server = new WebSocket(kCreate);
      client.#peer = server;
      server.#peer = client;
      return [client, server];
    };
    internals.isWebSocket = (value) => isObject(value) && #accepted in value;
    // Why a WebSocket cannot go in a Response (undefined: it can).
    internals.webSocketResponseProblem = (ws) => {
      if (ws.#given) return "This WebSocket was already returned in a Response.";
      if (ws.#accepted) return "A WebSocket can go in a Response only before accept() is called on it.";
      if (ws.#peer === null && ws.#id === 0) return "This WebSocket is not one end of a WebSocketPair.";
      if (ws.#readyState !== OPEN) return "This WebSocket is closed.";
      return undefined;
    };
    // dispatch.js: the worker returned `ws` in a 101 to the request
    // `responseId`; the connection becomes its peer.
    internals.acceptWebSocketResponse = (responseId, ws, headers) => {
      const problem = internals.webSocketResponseProblem(ws);
      if (problem !== undefined) throw new TypeError(problem);
      const id = native.webSocketAccept(responseId, headers);
      if (ws.#id !== 0) {
        WebSocket.#splice(ws, id);
        return;
      }
      const server = ws.#peer;
      // The request's invocation lasts while the socket is open: the
      // events run in it (its subrequest limit, its timers and fetches).
      const invocation = internals.currentInvocation();
      server.#invocation = invocation;
      server.#release = internals.holdLifetime(invocation);
      ws.#given = true;
      ws.#peer = null;
      server.#peer = null;
      server.#id = id;
      MapPrototypeSet(sockets, id, server);
      // What the server end sent before the Response went out.
      const queue = ws.#queue;
      ws.#queue = null;
      if (queue !== null) {
        for (let i = 0; i < queue.length; i++) WebSocket.#transmit(server, queue[i]);
      }
    };
    // A socket the worker opened (fetch() with Upgrade: websocket) or got
    // from a service binding: open, waiting for accept().
    internals.newClientWebSocket = (id, url, protocol) => {
      const ws = new WebSocket(kCreate);
      ws.#id = id;
      ws.#url = url;
      ws.#protocol = protocol;
      const invocation = internals.currentInvocation();
      ws.#invocation = invocation;
      ws.#release = internals.holdLifetime(invocation);
      MapPrototypeSet(sockets, id, ws);
      return ws;
    };
    internals.openWebSocket = connectWebSocket;
    // From the natives: a message or the close of a bound socket.
    internals.webSocketEvent = (id, kind, value, reason, clean) => {
      const ws = MapPrototypeGet(sockets, id);
      if (ws === undefined) return;
      internals.runInInvocation(ws.#invocation, socketEvent, undefined, [ws, id, kind, value, reason, clean]);
    };
    function socketEvent(ws, id, kind, value, reason, clean) {
      if (ws.#joined) {
        // Spliced: only closes come here; the first lets the invocation go.
        MapPrototypeDelete(sockets, id);
        const release = ws.#release;
        ws.#release = null;
        if (release !== null) release();
        ws.#readyState = CLOSED;
        return;
      }
      if (kind === "message") {
        if (!ws.#accepted) {
          WebSocket.#enqueue(ws, { __proto__: null, kind, data: value });
          return;
        }
        WebSocket.#dispatch(ws, { __proto__: null, kind, data: value });
        return;
      }
      const event = { __proto__: null, kind: "close", code: value, reason, clean };
      MapPrototypeDelete(sockets, id);
      if (!ws.#accepted) {
        WebSocket.#enqueue(ws, event);
        return;
      }
      WebSocket.#dispatch(ws, event);
    }
  }
}
defineConstants(WebSocket, {
  CONNECTING, OPEN, CLOSING, CLOSED,
  READY_STATE_CONNECTING: CONNECTING, READY_STATE_OPEN: OPEN, READY_STATE_CLOSING: CLOSING, READY_STATE_CLOSED: CLOSED,
});
finishInterface(WebSocket);

// `new WebSocketPair()`: { 0: client, 1: server }.
class WebSocketPair {
  constructor() {
    const pair = internals.newWebSocketPair();
    createDataProperty(this, 0, pair[0]);
    createDataProperty(this, 1, pair[1]);
  }
}
finishInterface(WebSocketPair);

internals.WebSocket = WebSocket;
internals.WebSocketPair = WebSocketPair;
internals.CloseEvent = CloseEvent;
