// EventSource (https://html.spec.whatwg.org/multipage/server-sent-events.html),
// as Workers has it: a client for server-sent events over fetch(), with
// Workers' two extensions, `new EventSource(url, { fetcher })` (connect
// through a service binding, or any object with a fetch method, instead of
// the global fetch) and `EventSource.from(readableStream)` (parse a stream
// of event-stream bytes, with no connection and no reconnection).
//
// The connection belongs to the invocation that made the EventSource: its
// fetch() counts as a subrequest of it (and each reconnection as another),
// and it ends with it, as any fetch does. A response that is not 2xx or not
// text/event-stream fails the connection (readyState CLOSED, an "error"
// event, no reconnection); a network error or the end of the body
// reconnects after the reconnection time (2 s, or the stream's `retry:`
// value, kept between 1 and 10 s as Workers does), sending Last-Event-ID.
// Everything the tenant can patch is read from captures made before tenant
// code runs.

const {
  currentInvocation, defineConstants, DOMException, ErrorEvent, Event, EventTarget, finishInterface,
  isObject, isReadableStream, isDisturbed, isLocked, parseMimeType, reportError, requireArguments,
  streamReader, MessageEvent, parseURL, serializeURL, serializeURLOrigin,
} = internals;
const {
  PromisePrototypeThen,
  PromiseResolve, ReflectApply, RegExpTest, StringPrototypeCharCodeAt, StringPrototypeIndexOf, StringPrototypeSlice,
  TypeErrorCtor: TypeError,
} = internals.primordials;
const fetch = internals.fetch;
const { Request, Headers, Response, AbortController, TextDecoder } = internals;
const setTimer = internals.setTimeout;
const clearTimer = internals.clearTimeout;
// This file runs on a worker's first use of EventSource
// (runtime/js/lazy.js), after it may have patched the prototypes.
const {
  EventTargetAddEventListener: etAdd, EventTargetDispatchEvent: etDispatch, TextDecoderDecode: decode,
  HeadersGet: headersGet, HeadersSet: headersSet, ResponseStatus: responseStatus, ResponseOk: responseOk,
  ResponseHeaders: responseHeaders, ResponseBody: responseBody, ResponseUrl: responseUrl,
  AbortControllerSignal: abortSignal, AbortControllerAbort: abortAbort,
} = internals.lazyOriginals;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
const kDefaultReconnectMs = 2000;
const kMinReconnectMs = 1000;
const kMaxReconnectMs = 10000;
const kCreate = {};

// The event-stream parser: bytes in, complete events out through `onEvent`
// (type, data, lastEventId), `retry:` values through `onRetry`. Lines end
// with CRLF, LF or CR; a CR at the end of a chunk waits for the next one, so
// a CRLF split between chunks is one line end.
class EventStreamParser {
  #decoder = new TextDecoder("utf-8");
  #pending = "";
  #data = "";
  #hasData = false;
  #type = "";
  #lastEventId = "";
  #onEvent;
  #onRetry;

  constructor(lastEventId, onEvent, onRetry) {
    this.#lastEventId = lastEventId;
    this.#onEvent = onEvent;
    this.#onRetry = onRetry;
  }

  get lastEventId() {
    return this.#lastEventId;
  }

  push(bytes) {
    // TextDecoder drops a leading BOM itself ("utf-8", ignoreBOM false).
    const text = ReflectApply(decode, this.#decoder, [bytes, { __proto__: null, stream: true }]);
    this.#lines(this.#pending + text, false);
  }

  // The end of the stream: a last line without its end is dropped, as is an
  // event without its blank line (the spec's "incomplete event").
  end() {
    this.#pending = "";
    this.#data = "";
    this.#hasData = false;
    this.#type = "";
  }

  #lines(text, final) {
    let start = 0;
    for (;;) {
      const lf = StringPrototypeIndexOf(text, "\n", start);
      const cr = StringPrototypeIndexOf(text, "\r", start);
      let end;
      let next;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        if (cr === text.length - 1 && !final) break;  // maybe the CR of a CRLF
        end = cr;
        next = StringPrototypeCharCodeAt(text, cr + 1) === 10 ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.#line(StringPrototypeSlice(text, start, end));
      start = next;
    }
    this.#pending = StringPrototypeSlice(text, start);
  }

  #line(line) {
    if (line === "") {
      this.#dispatch();
      return;
    }
    if (StringPrototypeCharCodeAt(line, 0) === 58) return;  // ":" a comment
    const colon = StringPrototypeIndexOf(line, ":");
    let field = line;
    let value = "";
    if (colon !== -1) {
      field = StringPrototypeSlice(line, 0, colon);
      value = StringPrototypeSlice(line, colon + 1);
      if (StringPrototypeCharCodeAt(value, 0) === 32) value = StringPrototypeSlice(value, 1);
    }
    if (field === "event") {
      this.#type = value;
    } else if (field === "data") {
      this.#data += value + "\n";
      this.#hasData = true;
    } else if (field === "id") {
      if (StringPrototypeIndexOf(value, "\0") === -1) this.#lastEventId = value;
    } else if (field === "retry") {
      if (RegExpTest(/^[0-9]+$/, value)) this.#onRetry(+value);
    }
  }

  #dispatch() {
    const type = this.#type === "" ? "message" : this.#type;
    this.#type = "";
    if (!this.#hasData) return;
    const data = StringPrototypeSlice(this.#data, 0, this.#data.length - 1);
    this.#data = "";
    this.#hasData = false;
    this.#onEvent(type, data, this.#lastEventId);
  }
}

class EventSource extends EventTarget {
  #url = null;  // null: made by EventSource.from
  #origin = "";
  #fetcher = undefined;
  #readyState = CONNECTING;
  #lastEventId = "";
  #reconnectMs = kDefaultReconnectMs;
  #controller = null;
  #timer = undefined;
  #reader = null;
  #handlers = { __proto__: null, open: null, message: null, error: null };
  #listening = { __proto__: null, open: false, message: false, error: false };
  #noBodyBefore = false;

  constructor(url, init = undefined) {
    requireArguments(arguments.length, 1, "Failed to construct 'EventSource'");
    if (url === kCreate) {
      super();
      return;
    }
    const text = `${url}`;
    let withCredentials;
    let fetcher;
    if (init !== undefined && init !== null) {
      if (!isObject(init)) throw new TypeError("Failed to construct 'EventSource': init must be an object.");
      withCredentials = init.withCredentials;
      fetcher = init.fetcher;
    }
    if (withCredentials) {
      throw new DOMException(
        "The init.withCredentials option is not supported. It must be false or undefined.", "NotSupportedError");
    }
    if (fetcher !== undefined && (!isObject(fetcher) || typeof fetcher.fetch !== "function")) {
      throw new TypeError("Failed to construct 'EventSource': init.fetcher must be an object with a fetch method.");
    }
    const parsed = parseURL(text);
    if (parsed === null) {
      throw new DOMException(`Cannot open an EventSource to '${text}'. The URL is invalid.`, "SyntaxError");
    }
    EventSource.#requireInvocation();
    super();
    this.#url = serializeURL(parsed);
    this.#origin = serializeURLOrigin(parsed);
    this.#fetcher = fetcher;
    EventSource.#connect(this);
  }

  static from(stream) {
    requireArguments(arguments.length, 1, "Failed to execute 'from' on 'EventSource'");
    if (!isReadableStream(stream)) {
      throw new TypeError("Failed to execute 'from' on 'EventSource': the argument is not a ReadableStream.");
    }
    if (isLocked(stream)) throw new TypeError("This ReadableStream is locked.");
    if (isDisturbed(stream)) throw new TypeError("This ReadableStream has already been read from.");
    EventSource.#requireInvocation();
    const source = new EventSource(kCreate);
    EventSource.#read(source, stream, false);
    return source;
  }

  static #requireInvocation() {
    if (currentInvocation() === undefined) {
      throw new DOMException(
        "An EventSource can only be created within the context of a worker request.", "NotSupportedError");
    }
  }

  static #check(source, member) {
    if (!isObject(source) || !(#readyState in source)) {
      throw new TypeError(`Failed to execute '${member}' on 'EventSource': Illegal invocation`);
    }
    return source;
  }

  get url() {
    return EventSource.#check(this, "url").#url ?? "";
  }

  get withCredentials() {
    EventSource.#check(this, "withCredentials");
    return false;
  }

  get readyState() {
    return EventSource.#check(this, "readyState").#readyState;
  }

  close() {
    EventSource.#check(this, "close");
    EventSource.#shutDown(this, undefined);
  }

  get onopen() {
    return EventSource.#check(this, "onopen").#handlers.open;
  }

  set onopen(handler) {
    EventSource.#setHandler(EventSource.#check(this, "onopen"), "open", handler);
  }

  get onmessage() {
    return EventSource.#check(this, "onmessage").#handlers.message;
  }

  set onmessage(handler) {
    EventSource.#setHandler(EventSource.#check(this, "onmessage"), "message", handler);
  }

  get onerror() {
    return EventSource.#check(this, "onerror").#handlers.error;
  }

  set onerror(handler) {
    EventSource.#setHandler(EventSource.#check(this, "onerror"), "error", handler);
  }

  // An event handler attribute: its listener is added the first time it is
  // set (its place among the listeners, as HTML's event handlers).
  static #setHandler(source, type, handler) {
    source.#handlers[type] = typeof handler === "function" || isObject(handler) ? handler : null;
    if (source.#listening[type]) return;
    source.#listening[type] = true;
    ReflectApply(etAdd, source, [type, (event) => {
      const current = source.#handlers[type];
      if (typeof current === "function") ReflectApply(current, source, [event]);
    }]);
  }

  static #fire(source, event) {
    try {
      ReflectApply(etDispatch, source, [event]);
    } catch (error) {
      reportError(error);
    }
  }

  // Stops whatever is under way: the fetch or the body being read, a
  // pending reconnection.
  static #shutDown(source, reason) {
    source.#readyState = CLOSED;
    if (source.#timer !== undefined) {
      clearTimer(source.#timer);
      source.#timer = undefined;
    }
    const controller = source.#controller;
    source.#controller = null;
    if (controller !== null) ReflectApply(abortAbort, controller, [reason]);
    const reader = source.#reader;
    source.#reader = null;
    if (reader !== null) PromisePrototypeThen(reader.cancel(reason), undefined, () => {});
  }

  // "Fail the connection": closed for good, one "error" event.
  static #fail(source, error) {
    if (source.#readyState === CLOSED) return;
    EventSource.#shutDown(source, error);
    EventSource.#fire(source, new ErrorEvent("error", { __proto__: null, message: messageOf(error), error }));
  }

  // "Reestablish the connection": an "error" event, then a new fetch after
  // the reconnection time, while nobody closed the EventSource.
  static #reconnect(source, error) {
    if (source.#readyState === CLOSED) return;
    source.#readyState = CONNECTING;
    source.#controller = null;
    source.#reader = null;
    EventSource.#fire(source, new ErrorEvent("error", { __proto__: null, message: messageOf(error), error }));
    if (source.#readyState !== CONNECTING) return;  // closed by a listener
    source.#timer = setTimer(() => {
      source.#timer = undefined;
      if (source.#readyState === CONNECTING) EventSource.#connect(source);
    }, source.#reconnectMs);
  }

  static #connect(source) {
    const controller = new AbortController();
    source.#controller = controller;
    const headers = new Headers();
    ReflectApply(headersSet, headers, ["Accept", "text/event-stream"]);
    ReflectApply(headersSet, headers, ["Cache-Control", "no-store"]);
    if (source.#lastEventId !== "") ReflectApply(headersSet, headers, ["Last-Event-ID", source.#lastEventId]);
    let pending;
    try {
      const request = new Request(source.#url, {
        __proto__: null, method: "GET", headers, signal: ReflectApply(abortSignal, controller, []),
      });
      const fetcher = source.#fetcher;
      pending = fetcher === undefined ? fetch(request) : ReflectApply(fetcher.fetch, fetcher, [request]);
    } catch (error) {
      EventSource.#fail(source, error);
      return;
    }
    PromisePrototypeThen(PromiseResolve(pending), (response) => {
      if (source.#controller !== controller) return;
      EventSource.#opened(source, response);
    }, (error) => {
      if (source.#controller !== controller) return;
      // A network error: try again later (an abort here was close()).
      EventSource.#reconnect(source, error);
    });
  }

  static #opened(source, response) {
    let status;
    let ok;
    let contentType;
    let body;
    let url;
    try {
      status = ReflectApply(responseStatus, response, []);
      ok = ReflectApply(responseOk, response, []);
      contentType = ReflectApply(headersGet, ReflectApply(responseHeaders, response, []), ["content-type"]);
      body = ReflectApply(responseBody, response, []);
      url = ReflectApply(responseUrl, response, []);
    } catch {
      EventSource.#fail(source, new TypeError("The fetcher did not answer with a Response."));
      return;
    }
    if (!ok) {
      EventSource.#fail(source, new DOMException(`The response status code was ${status}.`, "AbortError"));
      return;
    }
    const mime = contentType === null ? null : parseMimeType(contentType);
    if (mime === null || mime.essence !== "text/event-stream") {
      EventSource.#fail(source, new DOMException(
        contentType === null ? "No content type header was present in the response."
          : `The content type '${contentType}' is invalid.`, "AbortError"));
      return;
    }
    if (url !== "") {
      // After redirects, events come from where the stream is.
      const parsed = parseURL(url);
      if (parsed !== null) {
        source.#url = serializeURL(parsed);
        source.#origin = serializeURLOrigin(parsed);
      }
    }
    if (body === null) {
      // Nothing to read: once, as if the server hung up; twice, a server
      // that will not send events.
      if (source.#noBodyBefore) {
        EventSource.#fail(source, new TypeError("The server provided no content."));
      } else {
        source.#noBodyBefore = true;
        EventSource.#reconnect(source, new TypeError("The server provided no content. Will try reconnecting."));
      }
      return;
    }
    source.#readyState = OPEN;
    EventSource.#fire(source, new Event("open"));
    if (source.#readyState !== OPEN) return;  // closed by a listener
    EventSource.#read(source, body, true);
  }

  // Reads `stream` to its end: events as they complete; then reconnects
  // (`reconnect`) or closes.
  static #read(source, stream, reconnect) {
    if (!reconnect) {
      // EventSource.from: open at once, no URL to come back to.
      source.#readyState = OPEN;
    }
    const reader = streamReader(stream);
    source.#reader = reader;
    const parser = new EventStreamParser(source.#lastEventId, (type, data, lastEventId) => {
      source.#lastEventId = lastEventId;
      if (source.#readyState !== OPEN) return;
      EventSource.#fire(source, new MessageEvent(type, {
        __proto__: null, data, origin: source.#origin, lastEventId,
      }));
    }, (ms) => {
      source.#reconnectMs = ms < kMinReconnectMs ? kMinReconnectMs : ms > kMaxReconnectMs ? kMaxReconnectMs : ms;
    });
    const step = () => {
      if (source.#reader !== reader) return;
      PromisePrototypeThen(reader.read(), (result) => {
        if (source.#reader !== reader) return;
        if (result.done) {
          parser.end();
          source.#reader = null;
          if (reconnect) {
            EventSource.#reconnect(source, new TypeError("The event stream ended."));
          } else {
            EventSource.#shutDown(source, undefined);
          }
          return;
        }
        try {
          parser.push(result.value);
        } catch {
          EventSource.#fail(source, new TypeError("The event stream produced a chunk that is not bytes."));
          return;
        }
        step();
      }, (error) => {
        if (source.#reader !== reader) return;
        source.#reader = null;
        if (reconnect) EventSource.#reconnect(source, error);
        else EventSource.#fail(source, error);
      });
    };
    step();
  }
}

// An error's message for an "error" event, whatever the error is (a
// tenant's fetcher may reject with anything, getters included).
function messageOf(error) {
  try {
    return isObject(error) && typeof error.message === "string" ? error.message : `${error}`;
  } catch {
    return "The event stream failed.";
  }
}

defineConstants(EventSource, { __proto__: null, CONNECTING, OPEN, CLOSED });
finishInterface(EventSource);

// The global EventSource (runtime/js/globals.js).
internals.EventSource = EventSource;
