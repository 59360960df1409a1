// cloudflare:sockets: `connect(address, options)` and its Socket, as
// Cloudflare Workers has them
// (https://developers.cloudflare.com/workers/runtime-apis/tcp-sockets/).
// A Socket has a byte ReadableStream (read from the connection only as it
// is pulled), a WritableStream (each write resolves once its bytes are on
// the socket), `opened`, `closed`, `close()`, and `startTls()` for a socket
// opened with secureTransport "starttls".
//
// The connection is the socket* natives' (bindings/sockets/socket_natives.cc):
// the address policy, the subrequest count, the bound of 6 open sockets per
// invocation and the closing of sockets with their invocation are decided in
// C++, never here.

const {
  ReadableStream, WritableStream, finishInterface, illegalConstructor, toUint8Array, isSharedArrayBuffer,
  currentInvocation, invocationHold, invocationRelease,
} = internals;

// The socket's state and its conversions use built-ins captured before
// tenant code runs (runtime/js/primordials.js); TypeError and Promise are
// the originals.
const {
  ErrorCtor, NumberCtor, PromiseCtor, RegExpTest, StringPrototypeCharCodeAt, StringPrototypeIndexOf,
  StringPrototypeSlice, TypeErrorCtor: TypeError,
} = internals.primordials;

const hasNatives = typeof native.socketConnect === "function";
const kCreate = {};

// Waits for `promise` and ignores its outcome: a rejection the worker never
// looks at is not reported as unhandled (as Workers marks `opened` and
// `closed`). `await` looks up neither `then` nor Symbol.species.
async function markHandled(promise) {
  try {
    await promise;
  } catch {
    // Handled.
  }
}

// One phase of a socket: the one connect() returns, and the one startTls()
// returns over the same connection. Class fields, so no setter a tenant put
// on Object.prototype sees it.
class SocketState {
  id = 0;
  address = "";
  hostname = "";
  secureTransport = "off";
  allowHalfOpen = false;
  invocation = undefined;
  opened = undefined;
  resolveOpened = undefined;
  rejectOpened = undefined;
  openSettled = false;
  closed = undefined;
  resolveClosed = undefined;
  rejectClosed = undefined;
  finished = false; // `closed` settled, the connection released (or handed on)
  handedOff = false; // startTls() gave the connection to the next phase
  startedTls = false;
  upgraded = false;
  closing = false;
  readable = undefined;
  writable = undefined;
  readController = undefined;
  writeController = undefined;
  readEnded = false;
  writeClosed = false;
  lastWrite = undefined; // the native write in flight, if any
  ready = undefined; // startTls(): settles once the handshake was asked for
}

function settleOpened(state, error) {
  if (state.openSettled) return;
  state.openSettled = true;
  if (error === undefined) {
    state.resolveOpened({ remoteAddress: state.address, localAddress: undefined });
  } else {
    state.rejectOpened(error);
  }
}

// The phase is over: `closed` settles, and the connection is closed unless
// startTls() handed it on.
function finish(state, error) {
  if (state.finished) return;
  state.finished = true;
  if (state.invocation !== undefined) invocationRelease(state.invocation, state);
  if (!state.handedOff && hasNatives) native.socketClose(state.id);
  if (error === undefined) {
    settleOpened(state, new ErrorCtor("The socket was closed before its connection was opened."));
    state.resolveClosed(undefined);
  } else {
    settleOpened(state, error);
    state.rejectClosed(error);
  }
}

// The connection failed: `opened` (if still pending) and `closed` reject,
// and both streams error.
function fail(state, error) {
  if (state.finished) return;
  errorStreams(state, error);
  finish(state, error);
}

function errorStreams(state, error) {
  if (!state.readEnded) {
    state.readEnded = true;
    try {
      state.readController.error(error);
    } catch {
      // Already closed or errored.
    }
  }
  if (!state.writeClosed) {
    state.writeClosed = true;
    try {
      state.writeController.error(error);
    } catch {
      // Already closed or errored.
    }
  }
}

async function waitForWrite(state) {
  if (state.lastWrite !== undefined) await markHandled(state.lastWrite);
}

// The peer's data ended. Without allowHalfOpen the write side closes too
// (after the write in flight), and the socket with it.
async function readEnded(state) {
  state.readEnded = true;
  if (state.allowHalfOpen) {
    if (state.writeClosed) finish(state, undefined);
    return;
  }
  await waitForWrite(state);
  if (state.finished) return;
  if (!state.writeClosed) {
    state.writeClosed = true;
    try {
      state.writeController.error(new TypeError("The socket's readable side ended and allowHalfOpen is false: the socket is closed."));
    } catch {
      // Already closed or errored.
    }
    try {
      await native.socketShutdown(state.id);
    } catch {
      // The connection is going anyway.
    }
  }
  finish(state, undefined);
}

function makeReadable(state) {
  return new ReadableStream(
    {
      __proto__: null,
      type: "bytes",
      start(controller) {
        state.readController = controller;
      },
      async pull(controller) {
        if (state.ready !== undefined) await state.ready;
        if (state.finished || state.readEnded) return;
        let chunk;
        try {
          chunk = await native.socketRead(state.id);
        } catch (error) {
          fail(state, error);
          return;
        }
        if (state.finished || state.readEnded) return;
        if (chunk === null) {
          try {
            controller.close();
          } catch {
            // Already closed.
          }
          await readEnded(state);
        } else {
          controller.enqueue(chunk);
        }
      },
      cancel() {
        // Nothing more is read; the connection stays for the write side.
        state.readEnded = true;
        if (state.writeClosed) finish(state, undefined);
      },
    },
    { __proto__: null, highWaterMark: 0 },
  );
}

function makeWritable(state) {
  return new WritableStream(
    {
      __proto__: null,
      start(controller) {
        state.writeController = controller;
      },
      async write(chunk) {
        const bytes = isSharedArrayBuffer(chunk) ? undefined : toUint8Array(chunk);
        if (bytes === undefined) {
          throw new TypeError("A socket's writable side takes ArrayBuffer or ArrayBufferView chunks.");
        }
        if (state.ready !== undefined) await state.ready;
        if (state.finished) throw new TypeError("The socket is closed.");
        if (bytes.byteLength === 0) return;
        const written = native.socketWrite(state.id, bytes);
        state.lastWrite = written;
        try {
          await written;
        } catch (error) {
          fail(state, error);
          throw error;
        }
      },
      async close() {
        if (state.ready !== undefined) await state.ready;
        if (state.finished) return;
        try {
          await native.socketShutdown(state.id);
        } catch (error) {
          fail(state, error);
          throw error;
        }
        state.writeClosed = true;
        if (state.readEnded) finish(state, undefined);
      },
      abort() {
        state.writeClosed = true;
        if (state.finished) return;
        markHandled(native.socketShutdown(state.id));
        if (state.readEnded) finish(state, undefined);
      },
    },
    { __proto__: null, highWaterMark: 1 },
  );
}

// Fills in a phase's promises and streams (before its connection exists:
// making a stream runs the streams' own code, which a worker that patched
// its built-ins can make throw).
function prepareSocket(state) {
  state.opened = new PromiseCtor((resolve, reject) => {
    state.resolveOpened = resolve;
    state.rejectOpened = reject;
  });
  state.closed = new PromiseCtor((resolve, reject) => {
    state.resolveClosed = resolve;
    state.rejectClosed = reject;
  });
  markHandled(state.opened);
  markHandled(state.closed);
  state.readable = makeReadable(state);
  state.writable = makeWritable(state);
}

// The phase's connection exists (state.id): it is tied to its invocation,
// and waited for.
function makeSocket(state) {
  state.invocation = currentInvocation();
  if (state.invocation !== undefined) {
    invocationHold(state.invocation, state, (ended) => {
      fail(ended, new TypeError("The invocation that opened this socket has ended: its sockets are closed."));
    });
  }
  waitForOpen(state);
  return new Socket(kCreate, state);
}

async function waitForOpen(state) {
  try {
    if (state.ready !== undefined) await state.ready;
    await native.socketOpened(state.id);
  } catch (error) {
    fail(state, error);
    return;
  }
  settleOpened(state, undefined);
}

// A TCP socket (https://developers.cloudflare.com/workers/runtime-apis/tcp-sockets/#socket).
class Socket {
  #state;

  constructor(token = undefined, state = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#state = state;
  }

  get readable() {
    return this.#state.readable;
  }

  get writable() {
    return this.#state.writable;
  }

  get opened() {
    return this.#state.opened;
  }

  get closed() {
    return this.#state.closed;
  }

  get upgraded() {
    return this.#state.upgraded;
  }

  get secureTransport() {
    return this.#state.secureTransport;
  }

  // Closes both directions now (after the write in flight); resolves with
  // `closed`.
  close() {
    const state = this.#state;
    if (!state.closing && !state.finished) {
      state.closing = true;
      (async () => {
        await waitForWrite(state);
        if (state.finished) return;
        if (!state.readEnded) {
          state.readEnded = true;
          try {
            state.readController.close();
          } catch {
            // Already closed or errored, or a BYOB read is half-filled.
          }
        }
        if (!state.writeClosed) {
          state.writeClosed = true;
          try {
            state.writeController.error(new TypeError("The socket is closed."));
          } catch {
            // Already closed or errored.
          }
        }
        finish(state, undefined);
      })();
    }
    return state.closed;
  }

  // Upgrades a socket opened with secureTransport "starttls" to TLS: this
  // socket's streams end (it is `upgraded` and `closed`), and the returned
  // socket speaks TLS over the same connection.
  startTls(options = undefined) {
    const state = this.#state;
    if (state.secureTransport === "on") throw new TypeError("Cannot startTls on a TLS socket.");
    if (state.startedTls) throw new TypeError("startTls can only be called once.");
    if (state.secureTransport !== "starttls") {
      throw new TypeError("The `secureTransport` socket option must be set to 'starttls' for startTls to be used.");
    }
    let expected = state.hostname;
    if (options !== undefined && options !== null) {
      const name = options.expectedServerHostname;
      if (name !== undefined) expected = `${name}`;
    }
    if (state.finished) throw new TypeError("The socket is closed.");
    const next = new SocketState();
    next.id = state.id;
    next.address = state.address;
    next.hostname = expected;
    next.secureTransport = "on";
    next.allowHalfOpen = state.allowHalfOpen;
    prepareSocket(next);
    state.startedTls = true;
    next.ready = (async () => {
      // What was written goes out in the clear first.
      await waitForWrite(state);
      if (state.finished) throw new TypeError("The socket was closed before startTls() began.");
      state.handedOff = true;
      state.upgraded = true;
      errorStreams(state, new TypeError("The socket was upgraded to TLS: use the socket startTls() returned."));
      finish(state, undefined);
      native.socketStartTls(next.id, expected);
    })();
    markHandled(next.ready);
    return makeSocket(next);
  }
}
finishInterface(Socket);

const portRegExp = /^[0-9]{1,5}$/;

// "host:port" or "[v6]:port" -> [hostname, port].
function parseAddress(text) {
  let hostname;
  let portText;
  if (text.length > 0 && StringPrototypeCharCodeAt(text, 0) === 0x5b /* [ */) {
    const end = StringPrototypeIndexOf(text, "]");
    if (end < 0) throw new TypeError("Specified address could not be parsed.");
    hostname = StringPrototypeSlice(text, 0, end + 1);
    const rest = StringPrototypeSlice(text, end + 1);
    if (rest === "" || rest === ":") throw new TypeError("Specified address is missing port.");
    if (StringPrototypeCharCodeAt(rest, 0) !== 0x3a /* : */) {
      throw new TypeError("Specified address could not be parsed.");
    }
    portText = StringPrototypeSlice(rest, 1);
  } else {
    const colon = StringPrototypeIndexOf(text, ":");
    if (colon < 0) throw new TypeError("Specified address is missing port.");
    hostname = StringPrototypeSlice(text, 0, colon);
    portText = StringPrototypeSlice(text, colon + 1);
    if (StringPrototypeIndexOf(portText, ":") >= 0) {
      throw new TypeError("Specified address could not be parsed.");
    }
  }
  if (hostname === "" || hostname === "[]") throw new TypeError("Specified address is missing hostname.");
  if (portText === "") throw new TypeError("Specified address is missing port.");
  if (!RegExpTest(portRegExp, portText)) throw new TypeError("Specified address could not be parsed.");
  return [hostname, NumberCtor(portText)];
}

function toPort(value) {
  const port = NumberCtor(value);
  if (!(port >= 1 && port <= 65535) || port !== (port | 0)) {
    throw new TypeError("Specified address has an invalid port.");
  }
  return port;
}

// connect(address, options): a new Socket. Bad arguments throw; a
// connection that fails (DNS, refused, the address policy, port 25, TLS)
// rejects `opened` and `closed`.
function connect(address, options = undefined) {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'connect': 1 argument required");
  let hostname;
  let port;
  let text;
  if (address !== null && typeof address === "object") {
    // A SocketAddress dictionary: its members in order, each read once.
    const rawHostname = address.hostname;
    const rawPort = address.port;
    if (rawHostname === undefined) throw new TypeError("Specified address is missing hostname.");
    if (rawPort === undefined) throw new TypeError("Specified address is missing port.");
    hostname = `${rawHostname}`;
    port = toPort(rawPort);
    text = `${hostname}:${port}`;
  } else {
    text = `${address}`;
    const parsed = parseAddress(text);
    hostname = parsed[0];
    port = toPort(parsed[1]);
  }
  let allowHalfOpen = false;
  let secureTransport = "off";
  if (options !== undefined && options !== null) {
    if (typeof options !== "object" && typeof options !== "function") {
      throw new TypeError("Failed to execute 'connect': the options are not an object.");
    }
    allowHalfOpen = !!options.allowHalfOpen;
    const transport = options.secureTransport;
    if (transport !== undefined) {
      secureTransport = `${transport}`;
      if (secureTransport !== "off" && secureTransport !== "on" && secureTransport !== "starttls") {
        throw new TypeError(`Unsupported value in secureTransport socket option: ${secureTransport}`);
      }
    }
  }
  if (!hasNatives) throw new TypeError("connect() is not available in this runtime.");
  const state = new SocketState();
  prepareSocket(state);
  state.id = native.socketConnect(hostname, port, secureTransport === "on");
  state.address = text;
  state.hostname = hostname;
  state.secureTransport = secureTransport;
  state.allowHalfOpen = allowHalfOpen;
  return makeSocket(state);
}

internals.socketsConnect = connect;
