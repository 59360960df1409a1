// Installs the Web API on the global object, as WebIDL does: non-enumerable,
// writable, configurable data properties. Runs after every other runtime file
// except dispatch.js.

const { requireArguments } = internals;

const ObjectDefineProperty = Object.defineProperty;
const ReflectApply = Reflect.apply;
const global = globalThis;

function define(name, value) {
  if (value === undefined) return;
  ObjectDefineProperty(global, name, {
    value,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

// The rarely used APIs are evaluated on first use (js/lazy.js,
// runtime/lazy_js.h): each lazy file with the names it puts on internals.
const { lazyFile, lazyProperty } = internals;
lazyFile("runtime/url/urlpattern.js", ["URLPattern"]);
lazyFile("runtime/crypto/subtle.js", ["SubtleCrypto", "CryptoKey", "cryptoKeyParts", "subtle"]);
lazyFile("runtime/crypto/digest_stream.js", ["DigestStream"]);
lazyFile("runtime/websocket/websocket.js", [
  "WebSocket",
  "WebSocketPair",
  "CloseEvent",
  "acceptWebSocketResponse",
  "isWebSocket",
  "newClientWebSocket",
  "newWebSocketPair",
  "openWebSocket",
  "webSocketEvent",
  "webSocketResponseProblem",
]);
lazyFile("bindings/fetch/event_source.js", ["EventSource"]);
lazyFile("bindings/sockets/sockets.js", ["socketsConnect"]);
lazyFile("bindings/cache/cache.js", ["Cache", "CacheStorage", "caches"]);
lazyFile("bindings/r2/r2.js", ["R2Bucket"]);
lazyFile("runtime/compression/compression.js", ["CompressionStream", "DecompressionStream", "zlibNatives"]);
lazyFile("runtime/encoding/encoding_streams.js", ["TextEncoderStream", "TextDecoderStream"]);
lazyFile("runtime/html/message_channel.js", ["MessageEvent", "MessagePort", "MessageChannel", "newMessagePortPair"]);
lazyFile("bindings/queues/queue.js", ["Queue"]);
lazyFile("runtime/streams/identity_transform_stream.js", ["IdentityTransformStream", "FixedLengthStream"]);
internals.registerLazyBindingKind("r2", "bindings/r2/r2.js");
internals.registerLazyBindingKind("queue", "bindings/queues/queue.js");
lazyFile("bindings/workflows/workflow.js", ["Workflow", "workflowDispatcher"]);
// Evaluated when a worker's env is made, before any of its code runs.
lazyFile("bindings/kv/kv.js", ["KvNamespace"]);
internals.registerLazyBindingKind("kv", "bindings/kv/kv.js");
lazyFile("bindings/ratelimit/ratelimit.js", ["RateLimit"]);
internals.registerLazyBindingKind("ratelimit", "bindings/ratelimit/ratelimit.js");
internals.registerLazyBindingKind("workflow", "bindings/workflows/workflow.js");

// The Web API's methods and accessors the lazy files use, as they are now,
// before any tenant code: a lazy file runs after the worker may have
// replaced them on their prototypes.
const { ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf } = internals.primordials;
const getterOf = (prototype, name) => ObjectGetOwnPropertyDescriptor(prototype, name).get;
const {
  EventTarget, TextEncoder, TextDecoder, Headers, Request, Response, AbortController, ReadableByteStreamController,
  ReadableStreamBYOBRequest, WritableStreamDefaultController,
} = internals;
const byteControllerPrototype = ReadableByteStreamController.prototype;
internals.lazyOriginals = {
  __proto__: null,
  EventTargetAddEventListener: EventTarget.prototype.addEventListener,
  EventTargetDispatchEvent: EventTarget.prototype.dispatchEvent,
  TextEncoderEncode: TextEncoder.prototype.encode,
  TextDecoderDecode: TextDecoder.prototype.decode,
  TextDecoderFatal: getterOf(TextDecoder.prototype, "fatal"),
  TextDecoderIgnoreBOM: getterOf(TextDecoder.prototype, "ignoreBOM"),
  HeadersGet: Headers.prototype.get,
  HeadersSet: Headers.prototype.set,
  RequestUrl: getterOf(Request.prototype, "url"),
  RequestMethod: getterOf(Request.prototype, "method"),
  RequestHeaders: getterOf(Request.prototype, "headers"),
  ResponseStatus: getterOf(Response.prototype, "status"),
  ResponseOk: getterOf(Response.prototype, "ok"),
  ResponseHeaders: getterOf(Response.prototype, "headers"),
  ResponseBody: getterOf(Response.prototype, "body"),
  ResponseUrl: getterOf(Response.prototype, "url"),
  ResponseType: getterOf(Response.prototype, "type"),
  AbortControllerSignal: getterOf(AbortController.prototype, "signal"),
  AbortControllerAbort: AbortController.prototype.abort,
  ByteControllerByobRequest: getterOf(byteControllerPrototype, "byobRequest"),
  ByteControllerEnqueue: byteControllerPrototype.enqueue,
  ByteControllerClose: byteControllerPrototype.close,
  ByteControllerError: byteControllerPrototype.error,
  BYOBRequestView: getterOf(ReadableStreamBYOBRequest.prototype, "view"),
  BYOBRequestRespond: ReadableStreamBYOBRequest.prototype.respond,
  WritableControllerError: WritableStreamDefaultController.prototype.error,
  TypedArraySet: ObjectGetPrototypeOf(Uint8Array.prototype).set,
};

// A global backed by a lazy file: a data property whose value is read from
// internals the first time a worker reads it.
function defineLazy(name, key = name) {
  lazyProperty(global, name, key);
}

// The hidden EventTarget behind globalThis.addEventListener & co. Events
// dispatched through it see globalThis as target and currentTarget.
const globalEventTarget = new internals.EventTarget();
internals.setEventTargetSelf(globalEventTarget, global);
internals.globalEventTarget = globalEventTarget;
// Whether the worker registered a service-worker "fetch" listener.
internals.hasFetchListener = () => internals.hasEventListeners(globalEventTarget, "fetch");

const { addEventListener: etAdd, removeEventListener: etRemove, dispatchEvent: etDispatch } =
  internals.EventTarget.prototype;

function addEventListener(type, listener, options = undefined) {
  requireArguments(arguments.length, 2, "Failed to execute 'addEventListener'");
  return ReflectApply(etAdd, globalEventTarget, [type, listener, options]);
}

function removeEventListener(type, listener, options = undefined) {
  requireArguments(arguments.length, 2, "Failed to execute 'removeEventListener'");
  return ReflectApply(etRemove, globalEventTarget, [type, listener, options]);
}

function dispatchEvent(event) {
  requireArguments(arguments.length, 1, "Failed to execute 'dispatchEvent'");
  return ReflectApply(etDispatch, globalEventTarget, [event]);
}

function reportError(e) {
  requireArguments(arguments.length, 1, "Failed to execute 'reportError'");
  internals.reportError(e);
}

// Interfaces.
define("DOMException", internals.DOMException);
define("QuotaExceededError", internals.QuotaExceededError);
define("AbortController", internals.AbortController);
define("AbortSignal", internals.AbortSignal);
define("Event", internals.Event);
define("EventTarget", internals.EventTarget);
define("CustomEvent", internals.CustomEvent);
define("ErrorEvent", internals.ErrorEvent);
define("PromiseRejectionEvent", internals.PromiseRejectionEvent);
define("TextEncoder", internals.TextEncoder);
define("TextDecoder", internals.TextDecoder);
defineLazy("TextEncoderStream");
defineLazy("TextDecoderStream");
defineLazy("CompressionStream");
defineLazy("DecompressionStream");
define("ReadableStream", internals.ReadableStream);
define("ReadableStreamDefaultReader", internals.ReadableStreamDefaultReader);
define("ReadableStreamDefaultController", internals.ReadableStreamDefaultController);
define("ReadableStreamBYOBReader", internals.ReadableStreamBYOBReader);
define("ReadableByteStreamController", internals.ReadableByteStreamController);
define("ReadableStreamBYOBRequest", internals.ReadableStreamBYOBRequest);
define("WritableStream", internals.WritableStream);
define("WritableStreamDefaultWriter", internals.WritableStreamDefaultWriter);
define("WritableStreamDefaultController", internals.WritableStreamDefaultController);
define("TransformStream", internals.TransformStream);
define("TransformStreamDefaultController", internals.TransformStreamDefaultController);
define("ByteLengthQueuingStrategy", internals.ByteLengthQueuingStrategy);
define("CountQueuingStrategy", internals.CountQueuingStrategy);
define("Blob", internals.Blob);
define("File", internals.File);
define("FormData", internals.FormData);
define("Headers", internals.Headers);
define("Request", internals.Request);
define("Response", internals.Response);
define("URL", internals.URL);
define("URLSearchParams", internals.URLSearchParams);
defineLazy("URLPattern");
define("Crypto", internals.Crypto);
defineLazy("CryptoKey");
defineLazy("SubtleCrypto");
define("Navigator", internals.Navigator);
define("Performance", internals.Performance);
// Workers' own interfaces.
defineLazy("IdentityTransformStream");
defineLazy("FixedLengthStream");
defineLazy("MessageChannel");
defineLazy("MessagePort");
defineLazy("MessageEvent");
defineLazy("WebSocket");
defineLazy("WebSocketPair");
defineLazy("CloseEvent");
defineLazy("EventSource");
defineLazy("Cache");
defineLazy("CacheStorage");

// Functions and objects.
define("setTimeout", internals.setTimeout);
define("setInterval", internals.setInterval);
define("clearTimeout", internals.clearTimeout);
define("clearInterval", internals.clearInterval);
define("queueMicrotask", internals.queueMicrotask);
define("structuredClone", internals.structuredClone);
define("atob", internals.atob);
define("btoa", internals.btoa);
define("reportError", reportError);
define("addEventListener", addEventListener);
define("removeEventListener", removeEventListener);
define("dispatchEvent", dispatchEvent);
define("console", internals.console);
define("crypto", internals.crypto);
// crypto.DigestStream, as Workers has it: a property of the crypto object.
lazyProperty(internals.crypto, "DigestStream", "DigestStream");
defineLazy("caches");
define("navigator", internals.navigator);
define("performance", internals.performance);
define("scheduler", internals.scheduler);
define("self", global);
