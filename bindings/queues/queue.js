// Workers Queues, producer side: `env.<BINDING>` for each
// `[[queues.producers]]` entry, a Queue as in Cloudflare Workers
// (https://developers.cloudflare.com/queues/configuration/javascript-apis/).
// This file checks arguments and turns each message into what the
// queueSend native takes: [body, contentType, delaySeconds], the body a
// string ("text", and "json" already stringified), an ArrayBufferView
// ("bytes") or the value itself ("v8", serialized by the native). The
// native checks Workers' limits (message, batch, delay) and stores the
// batch in one transaction; the promise resolves once it is committed.

const { createDataProperty, illegalConstructor, finishInterface } = internals;
// Everything a message passes through uses built-ins captured before
// tenant code runs (runtime/js/primordials.js).
const {
  ArrayBufferIsView, ArrayIsArray, JSONStringify, MathTrunc, NumberCtor, NumberIsNaN,
  PromiseReject, StringCtor, StringPrototypeToLowerCase, SymbolIterator, ReflectApply,
  TypeErrorCtor: TypeError, RangeErrorCtor: RangeError,
} = internals.primordials;

const kMaxBatchMessages = native.queueMaxBatchMessages;
const kMaxDelaySeconds = native.queueMaxDelaySeconds;
const kContentTypes = ["json", "text", "bytes", "v8"];

function queueSend() {
  const { queueSend: send } = native;
  if (typeof send !== "function") throw new TypeError("Queues are not available in this build of edge");
  return send;
}

function contentTypeOf(value) {
  if (value === undefined) return "json";
  const type = StringPrototypeToLowerCase(StringCtor(value));
  for (let i = 0; i < kContentTypes.length; i++) {
    if (kContentTypes[i] === type) return type;
  }
  throw new TypeError(`Unsupported queue message content type: ${StringCtor(value)}`);
}

function delayOf(value, fallback) {
  if (value === undefined) return fallback;
  const seconds = MathTrunc(NumberCtor(value));
  if (NumberIsNaN(seconds) || seconds < 0 || seconds > kMaxDelaySeconds) {
    throw new RangeError(`delaySeconds must be a number from 0 to ${kMaxDelaySeconds} (got ${StringCtor(value)})`);
  }
  return seconds;
}

function typeName(value) {
  return value === null ? "null" : typeof value;
}

// One message as the native takes it.
function message(body, contentType, delaySeconds) {
  if (body === undefined) throw new TypeError("Message body cannot be undefined");
  const type = contentTypeOf(contentType);
  const delay = delayOf(delaySeconds, 0);
  if (type === "text") {
    if (typeof body !== "string") {
      throw new TypeError(`Content Type "text" requires a value of type string, but received: ${typeName(body)}`);
    }
    return [body, type, delay];
  }
  if (type === "bytes") {
    if (!ArrayBufferIsView(body)) {
      throw new TypeError(
        `Content Type "bytes" requires a value of type ArrayBufferView, but received: ${typeName(body)}`,
      );
    }
    return [body, type, delay];
  }
  if (type === "json") {
    const json = JSONStringify(body);
    if (json === undefined) {
      throw new TypeError(`Content Type "json" requires a value that JSON.stringify can serialize`);
    }
    return [json, type, delay];
  }
  return [body, type, delay];
}

function optionsObject(method, options) {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== "object") {
    throw new TypeError(`Failed to execute '${method}' on 'Queue': parameter 2 is not an object.`);
  }
  return options;
}

// The messages of sendBatch: an array (its length read once) or any other
// iterable, never more than the limit plus one read.
function batchItems(messages) {
  if (messages === null || (typeof messages !== "object" && typeof messages !== "function")) {
    throw new TypeError("Failed to execute 'sendBatch' on 'Queue': parameter 1 is not iterable.");
  }
  const items = [];
  if (ArrayIsArray(messages)) {
    const length = messages.length;
    if (length > kMaxBatchMessages) return tooMany(length);
    for (let i = 0; i < length; i++) createDataProperty(items, i, messages[i]);
    return items;
  }
  const iteratorOf = messages[SymbolIterator];
  if (typeof iteratorOf !== "function") {
    throw new TypeError("Failed to execute 'sendBatch' on 'Queue': parameter 1 is not iterable.");
  }
  const iterator = ReflectApply(iteratorOf, messages, []);
  const next = iterator.next;
  for (;;) {
    const step = ReflectApply(next, iterator, []);
    if (step === null || typeof step !== "object") throw new TypeError("The iterator's result is not an object");
    if (step.done) break;
    createDataProperty(items, items.length, step.value);
    if (items.length > kMaxBatchMessages) return tooMany(`more than ${kMaxBatchMessages}`);
  }
  return items;
}

function tooMany(count) {
  throw new RangeError(
    `Queue sendBatch failed: batch of ${count} messages exceeds the limit of ${kMaxBatchMessages} messages`,
  );
}

const kCreate = {};

class Queue {
  #handle; // into the isolate's C++ binding table

  constructor(token = undefined, handle = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#handle = handle;
  }

  // send(body, { contentType, delaySeconds }) -> Promise<void>, resolved
  // once the message is stored durably.
  send(body, options = undefined) {
    try {
      const handle = this.#handle;
      if (arguments.length === 0) {
        throw new TypeError("Failed to execute 'send' on 'Queue': 1 argument required, but only 0 present.");
      }
      options = optionsObject("send", options);
      const item = options === undefined ? message(body) : message(body, options.contentType, options.delaySeconds);
      return queueSend()(handle, [item], "send");
    } catch (error) {
      return PromiseReject(error);
    }
  }

  // sendBatch(messages, { delaySeconds }) -> Promise<void>; each message
  // { body, contentType, delaySeconds }. All are stored or none.
  sendBatch(messages, options = undefined) {
    try {
      const handle = this.#handle;
      options = optionsObject("sendBatch", options);
      const fallback = options === undefined ? 0 : delayOf(options.delaySeconds, 0);
      const items = batchItems(messages);
      if (items.length === 0) throw new TypeError("sendBatch() requires at least one message");
      const list = [];
      for (let i = 0; i < items.length; i++) {
        const entry = items[i];
        if (entry === null || typeof entry !== "object") {
          throw new TypeError(`Failed to execute 'sendBatch' on 'Queue': message ${i} is not an object.`);
        }
        const delay = entry.delaySeconds;
        createDataProperty(list, i, message(entry.body, entry.contentType, delay === undefined ? fallback : delay));
      }
      return queueSend()(handle, list, "sendBatch");
    } catch (error) {
      return PromiseReject(error);
    }
  }
}

finishInterface(Queue);

internals.Queue = Queue;
// The queue a binding reaches is resolved by the natives from `handle`
// (the isolate's C++ binding table), never from a string held here.
internals.registerBindingKind("queue", (name, handle) => new Queue(kCreate, handle));
