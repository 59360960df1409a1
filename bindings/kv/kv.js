// Workers KV: `env.<BINDING>` for each `[[kv_namespaces]]` entry, a
// KvNamespace as in Cloudflare Workers
// (https://developers.cloudflare.com/kv/api/). This file converts arguments,
// enforces Workers' limits with Workers' messages and shapes results; the
// storage is LMDB behind the kv* natives (bindings/kv/kv_natives.cc), which
// run on the thread pool, so every method returns a promise and an invalid
// argument rejects it rather than throwing.

const { finishInterface, illegalConstructor, isReadableStream, readableStreamFromBytes, streamReader, toUint8Array } =
  internals;

// Key and value limits and the keys sent to the natives use built-ins
// captured before tenant code runs (runtime/js/primordials.js); Error and
// TypeError are the originals. The natives and the store check the limits
// again (bindings/kv/kv_natives.cc, kv_store.cc).
const {
  ArrayIsArray, ArrayPrototypePush, DateNow, JSONStringify, MathFloor, MathTrunc, NumberIsNaN, MapPrototypeSet,
  PromisePrototypeThen, PromiseReject, StringPrototypeCharCodeAt, ErrorCtor: Error, TypeErrorCtor: TypeError,
} = internals.primordials;
// The Map get() of several keys resolves to is the tenant's own: a plain Map.
// (This file is evaluated when the env of a worker with a KV binding is
// made, before any of the worker's code runs: runtime/lazy_js.h.)
const SafeMap = Map;

// Workers' limits and the value types, as the natives define them
// (RegisterKvNatives in kv_natives.cc): one contract for both sides.
const kMaxKeyBytes = native.kvMaxKeyBytes;
const kMaxValueBytes = native.kvMaxValueBytes;
const kMaxMetadataBytes = native.kvMaxMetadataBytes;
const kMaxListLimit = native.kvMaxListLimit;
const kMaxBulkKeys = native.kvMaxBulkKeys;
const kMinTtl = native.kvMinTtlSeconds;
const kTypes = {
  __proto__: null,
  text: native.kvTypeText,
  json: native.kvTypeJson,
  arrayBuffer: native.kvTypeArrayBuffer,
  stream: native.kvTypeStream,
};

function natives() {
  const { kvGet, kvGetMany, kvPut, kvDelete, kvList } = native;
  if (typeof kvGet !== "function") throw new Error("KV is not available in this build of edge");
  return { kvGet, kvGetMany, kvPut, kvDelete, kvList };
}

// Bytes of `text` in UTF-8, a lone surrogate counting as U+FFFD (3 bytes).
function utf8Length(text) {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = StringPrototypeCharCodeAt(text, i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      length += 1;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = StringPrototypeCharCodeAt(text, i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 2; // two units, four bytes
        i++;
        continue;
      }
    }
    length += 2;
  }
  return length;
}

function toKey(method, key) {
  if (key === undefined) {
    throw new TypeError(`Failed to execute '${method}' on 'KvNamespace': parameter 1 is not of type 'string'.`);
  }
  return `${key}`;
}

function keyLengthError(method, length) {
  return new Error(
    `KV ${method} failed: 414 UTF-8 encoded length of ${length} exceeds key length limit of ${kMaxKeyBytes}.`,
  );
}

// Workers checks these before anything goes to the store.
function validateKey(method, key) {
  if (key === "") throw new TypeError("Key name cannot be empty.");
  if (key === ".") throw new TypeError('"." is not allowed as a key name.');
  if (key === "..") throw new TypeError('".." is not allowed as a key name.');
  if (key.length > kMaxKeyBytes / 3) {
    const length = utf8Length(key);
    if (length > kMaxKeyBytes) throw keyLengthError(method, length);
  }
}

// get(key, type) or get(key, { type, cacheTtl }).
function getOptions(method, options) {
  let type = "text";
  let cacheTtl;
  if (options !== undefined && options !== null) {
    if (typeof options === "object") {
      if (options.type !== undefined && options.type !== null) type = `${options.type}`;
      cacheTtl = options.cacheTtl;
    } else {
      type = `${options}`;
    }
  }
  const code = kTypes[type];
  if (code === undefined) {
    throw new TypeError(
      'Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".',
    );
  }
  if (cacheTtl !== undefined) {
    const ttl = MathTrunc(+cacheTtl);
    if (NumberIsNaN(ttl) || ttl < kMinTtl) {
      throw new Error(
        `KV ${method} failed: 400 Invalid cache_ttl of ${cacheTtl}. Cache TTL must be at least ${kMinTtl}.`,
      );
    }
  }
  return { type, code };
}

// The expiration to store, in seconds since the epoch (0 = none).
function putExpiration(options) {
  const now = MathFloor(DateNow() / 1000);
  const { expiration, expirationTtl } = options;
  if (expirationTtl !== undefined && expirationTtl !== null) {
    const ttl = MathTrunc(+expirationTtl);
    if (NumberIsNaN(ttl) || ttl <= 0) {
      throw new Error(
        `KV PUT failed: 400 Invalid expiration_ttl of ${expirationTtl}. Please specify integer greater than 0.`,
      );
    }
    if (ttl < kMinTtl) {
      throw new Error(
        `KV PUT failed: 400 Invalid expiration_ttl of ${expirationTtl}. Expiration TTL must be at least ${kMinTtl}.`,
      );
    }
    return now + ttl;
  }
  if (expiration !== undefined && expiration !== null) {
    const at = MathTrunc(+expiration);
    if (NumberIsNaN(at) || at <= now) {
      throw new Error(
        `KV PUT failed: 400 Invalid expiration of ${expiration}. Please specify integer greater than the current number of seconds since the UNIX epoch.`,
      );
    }
    if (at < now + kMinTtl) {
      throw new Error(
        `KV PUT failed: 400 Invalid expiration of ${expiration}. Expiration times must be at least ${kMinTtl} seconds in the future.`,
      );
    }
    return at;
  }
  return 0;
}

function putMetadata(options) {
  const { metadata } = options;
  if (metadata === undefined || metadata === null) return undefined;
  const json = JSONStringify(metadata);
  if (json === undefined) return undefined; // a function or a symbol: nothing to store
  const length = utf8Length(json);
  if (length > kMaxMetadataBytes) {
    throw new Error(`KV PUT failed: 413 Metadata length of ${length} exceeds limit of ${kMaxMetadataBytes}.`);
  }
  return json;
}

const valueTypeMessage =
  "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.";

// A ReadableStream's chunks, read to the end and never more than the value
// limit. A stream that is locked or disturbed cannot be read.
async function readStreamValue(stream) {
  const reader = streamReader(stream);
  const chunks = [];
  let total = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const bytes = toUint8Array(value);
      if (bytes === undefined) {
        await reader.cancel();
        throw new TypeError(`${valueTypeMessage} The ReadableStream gave a chunk that is not bytes.`);
      }
      total += bytes.byteLength;
      if (total > kMaxValueBytes) {
        await reader.cancel();
        throw new Error(`KV PUT failed: 413 Value length of ${total} exceeds limit of ${kMaxValueBytes}.`);
      }
      ArrayPrototypePush(chunks, bytes);
    }
  } finally {
    reader.release();
  }
  return chunks;
}

// The value as the kvPut native takes it: a string or a BufferSource, which
// the native copies at once (so later changes to a buffer do not leak into
// the put), or undefined for a ReadableStream, read first.
function putValue(value) {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object") {
    if (isReadableStream(value)) return undefined;
    const bytes = toUint8Array(value);
    if (bytes !== undefined) return bytes;
    throw new TypeError(valueTypeMessage);
  }
  if (typeof value === "function" || typeof value === "symbol") throw new TypeError(valueTypeMessage);
  return `${value}`;
}

function bulkKeys(keys) {
  // Counted before any key is converted: a Proxy may claim any length.
  const count = keys.length;
  if (count > kMaxBulkKeys) {
    throw new Error(
      `KV GET_BULK failed: 400 Too many keys: ${count} were requested, at most ${kMaxBulkKeys} can be read at once.`,
    );
  }
  const list = [];
  for (let i = 0; i < count; i++) {
    const key = `${keys[i]}`;
    validateKey("GET_BULK", key);
    ArrayPrototypePush(list, key);
  }
  return list;
}

async function getBulk(handle, keys, options, withMetadata) {
  const { type, code } = getOptions("GET_BULK", options);
  if (type !== "text" && type !== "json") {
    throw new Error(
      `KV GET_BULK failed: 400 "${type}" is not a valid type for several keys. Use "json" or "text".`,
    );
  }
  const list = bulkKeys(keys);
  const results = list.length === 0 ? [] : await natives().kvGetMany(handle, list, code, withMetadata);
  const map = new SafeMap();
  for (let i = 0; i < list.length; i++) {
    const result = results[i];
    let item;
    if (withMetadata) {
      item = result === null ? { value: null, metadata: null } : { value: result[0], metadata: result[1] };
    } else {
      item = result;
    }
    MapPrototypeSet(map, list[i], item);
  }
  return map;
}

const kCreate = {};

class KvNamespace {
  #handle; // into the isolate's C++ binding table

  constructor(token = undefined, handle = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#handle = handle;
  }

  // get(key, type | { type, cacheTtl }) -> value or null;
  // get([keys], type | { type, cacheTtl }) -> Map of key -> value or null.
  async get(key, options = undefined) {
    const handle = this.#handle;
    if (ArrayIsArray(key)) return getBulk(handle, key, options, false);
    key = toKey("get", key);
    validateKey("GET", key);
    const { code } = getOptions("GET", options);
    const value = await natives().kvGet(handle, key, code, false);
    if (value !== null && code === kTypes.stream) return readableStreamFromBytes(value);
    return value;
  }

  // -> { value, metadata, cacheStatus }; with [keys], a Map of key ->
  // { value, metadata }.
  async getWithMetadata(key, options = undefined) {
    const handle = this.#handle;
    if (ArrayIsArray(key)) return getBulk(handle, key, options, true);
    key = toKey("getWithMetadata", key);
    validateKey("GET", key);
    const { code } = getOptions("GET", options);
    const result = await natives().kvGet(handle, key, code, true);
    if (result === null) return { value: null, metadata: null, cacheStatus: null };
    let value = result[0];
    if (code === kTypes.stream) value = readableStreamFromBytes(value);
    return { value, metadata: result[1], cacheStatus: null };
  }

  // put(key, string | ArrayBuffer | ArrayBufferView | ReadableStream,
  //     { expiration, expirationTtl, metadata }); resolves once stored.
  // Not async: the value is copied before put() returns.
  put(key, value, options = undefined) {
    try {
      const handle = this.#handle;
      key = toKey("put", key);
      validateKey("PUT", key);
      if (arguments.length < 2) {
        throw new TypeError("Failed to execute 'put' on 'KvNamespace': 2 arguments required.");
      }
      if (options === undefined || options === null) options = {};
      else if (typeof options !== "object") {
        throw new TypeError("Failed to execute 'put' on 'KvNamespace': parameter 3 is not of type 'KvPutOptions'.");
      }
      const expiration = putExpiration(options);
      const metadata = putMetadata(options);
      const body = putValue(value);
      const { kvPut } = natives();
      if (body !== undefined) return kvPut(handle, key, body, metadata, expiration);
      return PromisePrototypeThen(readStreamValue(value), (chunks) => kvPut(handle, key, chunks, metadata, expiration));
    } catch (error) {
      return PromiseReject(error);
    }
  }

  async delete(key) {
    const handle = this.#handle;
    key = toKey("delete", key);
    validateKey("DELETE", key);
    await natives().kvDelete(handle, key);
  }

  // list({ prefix, limit, cursor }) -> { keys: [{ name, expiration?,
  // metadata? }], list_complete, cursor?, cacheStatus }, in key order.
  async list(options = undefined) {
    const handle = this.#handle;
    let prefix = "";
    let limit = kMaxListLimit;
    let cursor = "";
    if (options !== undefined && options !== null) {
      if (typeof options !== "object") {
        throw new TypeError("Failed to execute 'list' on 'KvNamespace': parameter 1 is not of type 'KvListOptions'.");
      }
      if (options.prefix !== undefined && options.prefix !== null) prefix = `${options.prefix}`;
      if (options.limit !== undefined && options.limit !== null) {
        const requested = MathTrunc(+options.limit);
        if (requested > kMaxListLimit) {
          throw new Error(
            `KV GET failed: 400 Invalid key_count_limit of ${options.limit}. Please specify an integer less than or equal to ${kMaxListLimit}.`,
          );
        }
        // As on Workers, a limit that is not a positive number is no limit.
        if (requested > 0) limit = requested;
      }
      if (options.cursor !== undefined && options.cursor !== null) cursor = `${options.cursor}`;
    }
    if (prefix.length > kMaxKeyBytes / 3) {
      const length = utf8Length(prefix);
      if (length > kMaxKeyBytes) throw keyLengthError("GET", length);
    }
    return natives().kvList(handle, prefix, limit, cursor);
  }
}

finishInterface(KvNamespace);

internals.KvNamespace = KvNamespace;
// The namespace a binding reaches is resolved by the natives from `handle`
// (the isolate's C++ binding table), never from a string held here.
internals.registerBindingKind("kv", (name, handle) => new KvNamespace(kCreate, handle));
