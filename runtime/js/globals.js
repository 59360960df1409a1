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
define("TextEncoderStream", internals.TextEncoderStream);
define("TextDecoderStream", internals.TextDecoderStream);
define("CompressionStream", internals.CompressionStream);
define("DecompressionStream", internals.DecompressionStream);
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
define("URLPattern", internals.URLPattern);
define("Crypto", internals.Crypto);
define("CryptoKey", internals.CryptoKey);
define("SubtleCrypto", internals.SubtleCrypto);
define("Navigator", internals.Navigator);
define("Performance", internals.Performance);
// Workers' own interfaces.
define("IdentityTransformStream", internals.IdentityTransformStream);
define("FixedLengthStream", internals.FixedLengthStream);
define("MessageChannel", internals.MessageChannel);
define("MessagePort", internals.MessagePort);
define("MessageEvent", internals.MessageEvent);
define("WebSocket", internals.WebSocket);
define("WebSocketPair", internals.WebSocketPair);
define("CloseEvent", internals.CloseEvent);

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
define("navigator", internals.navigator);
define("performance", internals.performance);
define("scheduler", internals.scheduler);
define("self", global);
