// R2: `env.<BINDING>` for each `[[r2_buckets]]` entry, an R2Bucket as in
// Cloudflare Workers (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/),
// with R2Object, R2ObjectBody, R2Checksums and R2MultipartUpload. This file
// converts arguments with Workers' messages and shapes results; the storage
// is the r2* natives (bindings/r2/r2_natives.cc, bindings/r2/r2_store.h),
// which decide whose bucket it is from the binding's handle, run on the
// thread pool, and stream bodies to and from disk.

const {
  finishInterface, illegalConstructor, isReadableStream, streamReader, toUint8Array, isSharedArrayBuffer, isBlob,
  blobBytes, createBlob, isHeaders, headersGet, Headers, ReadableStream, streamKnownLength, setStreamLength,
  readableStreamFromBytes, readableStreamCancel, readAllBytes, currentInvocation, invocationHold, invocationRelease,
  isDisturbed, isLocked, utf8Decode, uncurryThis,
} = internals;

// Everything below that decides what is stored or returned uses built-ins
// captured before tenant code runs (runtime/js/primordials.js, and the Date
// and Headers methods captured here); Error, TypeError and RangeError are
// the originals.
const {
  ArrayIsArray, JSONParse, MathTrunc, NumberIsFinite, ObjectKeys, PromiseCtor,
  PromisePrototypeThen, PromiseReject, PromiseResolve, StringPrototypeSlice, StringPrototypeTrim,
  StringPrototypeStartsWith, StringPrototypeIndexOf, StringPrototypeCharCodeAt, StringCtor, ArrayBufferIsView,
  Uint8ArrayCtor, ErrorCtor: Error, TypeErrorCtor: TypeError, RangeErrorCtor: RangeError,
} = internals.primordials;
const DateCtor = Date;
const DateParse = Date.parse;
const DatePrototypeGetTime = uncurryThis(Date.prototype.getTime);
const DatePrototypeToUTCString = uncurryThis(Date.prototype.toUTCString);
const HeadersPrototypeSet = uncurryThis(Headers.prototype.set);
const isDate = (value) => {
  try {
    DatePrototypeGetTime(value);
    return true;
  } catch {
    return false;
  }
};

const hasNatives = typeof native.r2Get === "function";
const kMaxDeleteKeys = hasNatives ? native.r2MaxDeleteKeys : 1000;
// Bytes of a string or buffer value handed to the natives at once.
const kChunkUnits = 64 * 1024;

function natives() {
  if (!hasNatives) throw new Error("R2 is not available in this build of edge.");
  return native;
}

function noop() {}

// Appends to an array the runtime made, as own data properties: a plain
// push would run a setter a tenant put on Object.prototype[index].
function append(list, ...values) {
  for (let i = 0; i < values.length; i++) internals.createDataProperty(list, list.length, values[i]);
}

const kCreate = {};

// A key as Workers converts it: any value, as a string (its own toString
// runs here, and can only fail its own call).
function toKey(key) {
  return typeof key === "string" ? key : `${key}`;
}

function optionsObject(options, method, type) {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== "object" && typeof options !== "function") {
    throw new TypeError(`Failed to execute '${method}' on 'R2Bucket': parameter 2 is not of type '${type}'.`);
  }
  return options;
}

// --- conditionals -----------------------------------------------------------

// An If-Match / If-None-Match list (or an etagMatches string) as
// [type, value, ...]: 0 strong, 1 weak, 2 wildcard.
function parseEtags(text) {
  const out = [];
  let rest = `${text}`;
  while (rest.length > 0) {
    const comma = StringPrototypeIndexOf(rest, ",");
    let item = StringPrototypeTrim(comma === -1 ? rest : StringPrototypeSlice(rest, 0, comma));
    rest = comma === -1 ? "" : StringPrototypeSlice(rest, comma + 1);
    if (item === "") continue;
    if (item === "*") {
      append(out, 2, "");
      continue;
    }
    let type = 0;
    if (StringPrototypeStartsWith(item, "W/")) {
      type = 1;
      item = StringPrototypeSlice(item, 2);
    }
    if (item.length >= 2 && StringPrototypeCharCodeAt(item, 0) === 34 && StringPrototypeCharCodeAt(item, item.length - 1) === 34) {
      item = StringPrototypeSlice(item, 1, item.length - 1);
    }
    append(out, type, item);
  }
  return out;
}

function dateMs(value, name) {
  if (!isDate(value)) throw new TypeError(`${name} must be a Date.`);
  const ms = DatePrototypeGetTime(value);
  if (!NumberIsFinite(ms)) throw new RangeError(`${name} is an invalid Date.`);
  return ms;
}

function headerDateMs(text) {
  const ms = DateParse(text);
  return NumberIsFinite(ms) ? ms : undefined;
}

// onlyIf (R2Conditional or Headers) as the natives take it.
function toConditional(onlyIf) {
  if (onlyIf === undefined || onlyIf === null) return null;
  if (isHeaders(onlyIf)) {
    const ifMatch = headersGet(onlyIf, "if-match");
    const ifNoneMatch = headersGet(onlyIf, "if-none-match");
    const since = headersGet(onlyIf, "if-modified-since");
    const unmodified = headersGet(onlyIf, "if-unmodified-since");
    return [
      ifMatch === null ? null : parseEtags(ifMatch),
      ifNoneMatch === null ? null : parseEtags(ifNoneMatch),
      unmodified === null ? undefined : headerDateMs(unmodified),
      since === null ? undefined : headerDateMs(since),
      true,
    ];
  }
  if (typeof onlyIf !== "object" && typeof onlyIf !== "function") {
    throw new TypeError("onlyIf must be an R2Conditional object or a Headers object.");
  }
  const { etagMatches, etagDoesNotMatch, uploadedBefore, uploadedAfter, secondsGranularity } = onlyIf;
  return [
    etagMatches === undefined ? null : parseEtags(etagMatches),
    etagDoesNotMatch === undefined ? null : parseEtags(etagDoesNotMatch),
    uploadedBefore === undefined ? undefined : dateMs(uploadedBefore, "uploadedBefore"),
    uploadedAfter === undefined ? undefined : dateMs(uploadedAfter, "uploadedAfter"),
    !!secondsGranularity,
  ];
}

// --- ranges -----------------------------------------------------------------

function wholeNumber(value, what, name) {
  const number = +value;
  if (!(number >= 0)) throw new RangeError(`Invalid ${what}. ${name} (${value}) must be greater than or equal to 0.`);
  if (MathTrunc(number) !== number) {
    throw new RangeError(`Invalid range. ${name} (${value}) must be an integer, not floating point.`);
  }
  return number;
}

// `range` (R2Range or Headers with a Range header) as [offset, length,
// suffix], or null.
function toRange(range) {
  if (range === undefined || range === null) return null;
  if (isHeaders(range)) {
    const header = headersGet(range, "range");
    if (header === null) return null;
    const text = StringPrototypeTrim(header);
    const bad = () => new Error("get: The requested range is not satisfiable (10039)");
    if (!StringPrototypeStartsWith(text, "bytes=") || StringPrototypeIndexOf(text, ",") !== -1) throw bad();
    const spec = StringPrototypeSlice(text, 6);
    const dash = StringPrototypeIndexOf(spec, "-");
    if (dash === -1) throw bad();
    const first = StringPrototypeTrim(StringPrototypeSlice(spec, 0, dash));
    const last = StringPrototypeTrim(StringPrototypeSlice(spec, dash + 1));
    const digits = (s) => s.length > 0 && s.length < 17 && internals.primordials.RegExpTest(/^[0-9]+$/, s);
    if (first === "") {
      if (!digits(last)) throw bad();
      return [undefined, undefined, +last];
    }
    if (!digits(first) || (last !== "" && !digits(last))) throw bad();
    if (last !== "" && +last < +first) throw bad();
    return [+first, last === "" ? undefined : +last - +first + 1, undefined];
  }
  if (typeof range !== "object" && typeof range !== "function") {
    throw new TypeError("range must be an R2Range object or a Headers object.");
  }
  const { offset, length, suffix } = range;
  const out = [undefined, undefined, undefined];
  if (offset !== undefined) out[0] = wholeNumber(offset, "range", "Starting offset");
  if (length !== undefined) out[1] = wholeNumber(length, "range", "Length");
  if (suffix !== undefined) {
    if (offset !== undefined) throw new TypeError("Suffix is incompatible with offset.");
    if (length !== undefined) throw new TypeError("Suffix is incompatible with length.");
    out[2] = wholeNumber(suffix, "suffix", "Suffix");
  }
  return out;
}

// --- metadata ---------------------------------------------------------------

const kHttpFields = ["contentType", "contentLanguage", "contentDisposition", "contentEncoding", "cacheControl"];
const kHttpHeaders = ["content-type", "content-language", "content-disposition", "content-encoding", "cache-control"];

// httpMetadata (R2HTTPMetadata or Headers) as [5 strings, expiry ms].
function toHttpMetadata(http) {
  const out = [undefined, undefined, undefined, undefined, undefined, undefined];
  if (http === undefined || http === null) return out;
  if (isHeaders(http)) {
    for (let i = 0; i < 5; i++) {
      const value = headersGet(http, kHttpHeaders[i]);
      if (value !== null) out[i] = value;
    }
    const expires = headersGet(http, "expires");
    if (expires !== null) out[5] = headerDateMs(expires);
    return out;
  }
  if (typeof http !== "object" && typeof http !== "function") {
    throw new TypeError("httpMetadata must be an R2HTTPMetadata object or a Headers object.");
  }
  for (let i = 0; i < 5; i++) {
    const value = http[kHttpFields[i]];
    if (value !== undefined) out[i] = `${value}`;
  }
  const expiry = http.cacheExpiry;
  if (expiry !== undefined) out[5] = dateMs(expiry, "cacheExpiry");
  return out;
}

// customMetadata (a record of strings) as [key, value, ...].
function toCustomMetadata(custom) {
  const out = [];
  if (custom === undefined || custom === null) return out;
  if (typeof custom !== "object" && typeof custom !== "function") {
    throw new TypeError("customMetadata must be an object of strings.");
  }
  const keys = ObjectKeys(custom);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (typeof key !== "string") continue;
    append(out, key, `${custom[key]}`);
  }
  return out;
}

function fromHttp(list) {
  const http = {};
  for (let i = 0; i < 5; i++) if (list[i] !== undefined) internals.createDataProperty(http, kHttpFields[i], list[i]);
  if (list[5] !== undefined) internals.createDataProperty(http, "cacheExpiry", new DateCtor(list[5]));
  return http;
}

function fromCustom(list) {
  const custom = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    internals.createDataProperty(custom, list[i], list[i + 1]);
  }
  return custom;
}

function hexToBuffer(hex) {
  const bytes = new Uint8ArrayCtor(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    const hi = StringPrototypeCharCodeAt(hex, 2 * i);
    const lo = StringPrototypeCharCodeAt(hex, 2 * i + 1);
    const nibble = (c) => (c <= 57 ? c - 48 : c - 87);
    bytes[i] = nibble(hi) * 16 + nibble(lo);
  }
  return internals.TypedArrayPrototypeGetBuffer(bytes);
}

const kChecksumNames = ["md5", "sha1", "sha256", "sha384", "sha512"];

// R2Checksums: each digest an ArrayBuffer; toJSON() gives them as hex.
class R2Checksums {
  #hex;
  constructor(token = undefined, hex = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#hex = hex;
    for (let i = 0; i < 5; i++) {
      if (hex[i] !== undefined) internals.createDataProperty(this, kChecksumNames[i], hexToBuffer(hex[i]));
    }
  }
  toJSON() {
    const hex = this.#hex;
    const out = {};
    for (let i = 0; i < 5; i++) if (hex[i] !== undefined) internals.createDataProperty(out, kChecksumNames[i], hex[i]);
    return out;
  }
}
finishInterface(R2Checksums);

// R2Object: an object's metadata.
class R2Object {
  key;
  version;
  size;
  etag;
  httpEtag;
  uploaded;
  httpMetadata;
  customMetadata;
  range;
  checksums;
  storageClass;

  constructor(token = undefined, meta = undefined, range = undefined, include = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.key = meta[0];
    this.version = meta[1];
    this.size = meta[2];
    this.etag = meta[3];
    this.httpEtag = `"${meta[3]}"`;
    this.uploaded = new DateCtor(meta[4]);
    this.httpMetadata = include === undefined || include.http ? fromHttp(meta[5]) : undefined;
    this.customMetadata = include === undefined || include.custom ? fromCustom(meta[6]) : undefined;
    this.range = range;
    this.checksums = new R2Checksums(kCreate, meta[7]);
    this.storageClass = meta[8];
  }

  // Sets the object's HTTP metadata on `headers` (a Headers).
  writeHttpMetadata(headers) {
    if (!isHeaders(headers)) {
      throw new TypeError("Failed to execute 'writeHttpMetadata' on 'R2Object': parameter 1 is not of type 'Headers'.");
    }
    const http = this.httpMetadata;
    if (http === undefined || http === null) return;
    for (let i = 0; i < 5; i++) {
      const value = http[kHttpFields[i]];
      if (value !== undefined) HeadersPrototypeSet(headers, kHttpHeaders[i], value);
    }
    if (http.cacheExpiry !== undefined) {
      HeadersPrototypeSet(headers, "expires", DatePrototypeToUTCString(http.cacheExpiry));
    }
  }
}
finishInterface(R2Object);

// An object's body read from disk, chunk by chunk.
function bodyStream(reader) {
  let done = false;
  return new ReadableStream(
    {
      pull(controller) {
        if (done) return undefined;
        const next = (chunk) => {
          if (chunk === null) {
            done = true;
            controller.close();
          } else {
            controller.enqueue(chunk);
          }
        };
        const result = natives().r2Read(reader);
        if (result === null) return next(null);
        return PromisePrototypeThen(result, next);
      },
      cancel() {
        if (done) return;
        done = true;
        natives().r2ReadCancel(reader);
      },
    },
    { highWaterMark: 0 },
  );
}

// R2ObjectBody: an R2Object with its body.
class R2ObjectBody extends R2Object {
  #body;

  constructor(token = undefined, meta = undefined, range = undefined, body = undefined) {
    super(token, meta, range);
    this.#body = body;
  }

  get body() {
    return this.#body;
  }

  get bodyUsed() {
    return isDisturbed(this.#body);
  }

  async arrayBuffer() {
    const body = this.#body;
    if (isDisturbed(body) || isLocked(body)) throw new TypeError("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");
    const { bytes } = await readAllBytes(body);
    const buffer = internals.TypedArrayPrototypeGetBuffer(bytes);
    if (internals.TypedArrayPrototypeGetByteOffset(bytes) === 0 && internals.ArrayBufferPrototypeGetByteLength(buffer) === internals.TypedArrayPrototypeGetByteLength(bytes)) {
      return buffer;
    }
    return internals.TypedArrayPrototypeGetBuffer(new Uint8ArrayCtor(bytes));
  }

  async text() {
    return utf8Decode(new Uint8ArrayCtor(await this.arrayBuffer()));
  }

  async json() {
    return JSONParse(await this.text());
  }

  async blob() {
    const type = this.httpMetadata && this.httpMetadata.contentType;
    return createBlob(new Uint8ArrayCtor(await this.arrayBuffer()), type === undefined ? "" : `${type}`);
  }
}
finishInterface(R2ObjectBody);

// --- writing ----------------------------------------------------------------

// A put's (or a part's) value: its length, and how to hand it over.
function toBody(value, method, owner) {
  if (value === null || value === undefined) {
    if (value === undefined && method === "uploadPart") {
      throw new TypeError(`Failed to execute '${method}' on '${owner}': parameter 2 is not of type 'ReadableStream or ArrayBuffer or ArrayBufferView or string or Blob'.`);
    }
    return { __proto__: null, length: 0, bytes: null, text: null, stream: null };
  }
  if (typeof value === "string") {
    return { __proto__: null, length: utf8Length(value), bytes: null, text: value, stream: null };
  }
  if (isBlob(value)) {
    const bytes = blobBytes(value);
    return { __proto__: null, length: bytes.byteLength, bytes, text: null, stream: null };
  }
  if (isReadableStream(value)) {
    const length = streamKnownLength(value);
    if (length === undefined) {
      throw new TypeError("Provided readable stream must have a known length (request/response body or readable half of FixedLengthStream)");
    }
    if (isLocked(value) || isDisturbed(value)) throw new TypeError("This ReadableStream is disturbed (has already been read from), and cannot be used as a body.");
    return { __proto__: null, length, bytes: null, text: null, stream: value };
  }
  if (!isSharedArrayBuffer(value) && (ArrayBufferIsView(value) || internals.isArrayBuffer(value))) {
    // A copy: the tenant may change its buffer while the put goes on.
    const bytes = new Uint8ArrayCtor(toUint8Array(value));
    return { __proto__: null, length: bytes.byteLength, bytes, text: null, stream: null };
  }
  throw new TypeError(`Failed to execute '${method}' on '${owner}': parameter 2 is not of type 'ReadableStream or ArrayBuffer or ArrayBufferView or string or Blob'.`);
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
        length += 2;
        i++;
        continue;
      }
    }
    length += 2;
  }
  return length;
}

// One write's state. Class fields, so no setter a tenant put on
// Object.prototype sees it.
class WriteState {
  id = 0;
  invocation = undefined;
  reader = null;
  ended = false;
  reject = noop;
}

function endWrite(state) {
  if (state.ended) return;
  state.ended = true;
  if (state.invocation !== undefined) invocationRelease(state.invocation, state);
}

function failWrite(state, error) {
  if (state.ended) return;
  if (state.id !== 0) natives().r2WriteAbort(state.id);
  const reader = state.reader;
  state.reader = null;
  if (reader !== null) PromisePrototypeThen(reader.cancel(error), undefined, noop);
  endWrite(state);
  state.reject(error);
}

async function writeChunk(state, chunk) {
  const going = natives().r2Write(state.id, chunk);
  if (going !== undefined) await going;
}

// Streams `body` into the write `state.id`; resolves with the natives'
// answer at the end.
async function pumpWrite(state, body) {
  if (body.stream !== null) {
    const reader = streamReader(body.stream);
    state.reader = reader;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (state.ended) return undefined;
        if (done) break;
        const bytes = isSharedArrayBuffer(value) ? undefined : toUint8Array(value);
        if (bytes === undefined) {
          throw new TypeError("This TransformStream is being used as a byte stream, but received an object of non-ArrayBuffer/ArrayBufferView type on its writable side.");
        }
        for (let at = 0; at < bytes.byteLength; at += kChunkUnits * 4) {
          await writeChunk(state, bytes.subarray(at, at + kChunkUnits * 4));
          if (state.ended) return undefined;
        }
      }
    } finally {
      if (state.reader === reader) state.reader = null;
      reader.release();
    }
  } else if (body.text !== null) {
    const text = body.text;
    for (let at = 0; at < text.length; at += kChunkUnits) {
      let end = at + kChunkUnits;
      // Never split a surrogate pair.
      const c = StringPrototypeCharCodeAt(text, end - 1);
      if (end < text.length && c >= 0xd800 && c <= 0xdbff) end++;
      await writeChunk(state, StringPrototypeSlice(text, at, end));
      at = end - kChunkUnits;
      if (state.ended) return undefined;
    }
  } else if (body.bytes !== null) {
    const bytes = body.bytes;
    for (let at = 0; at < bytes.byteLength; at += kChunkUnits * 4) {
      await writeChunk(state, bytes.subarray(at, at + kChunkUnits * 4));
      if (state.ended) return undefined;
    }
  }
  return natives().r2WriteEnd(state.id);
}

// Runs a write: `begun` is the natives' promise of its id.
function runWrite(begun, body, method, settle) {
  const invocation = currentInvocation();
  const state = new WriteState();
  state.invocation = invocation;
  return new PromiseCtor((resolve, reject) => {
    state.reject = reject;
    if (invocation !== undefined) {
      invocationHold(invocation, state, (held) =>
        failWrite(held, new Error(`${method}: The invocation that made this call has ended.`)),
      );
    }
    PromisePrototypeThen(
      begun,
      (id) => {
        if (state.ended) {
          natives().r2WriteAbort(id);
          return;
        }
        state.id = id;
        PromisePrototypeThen(
          pumpWrite(state, body),
          (result) => {
            if (state.ended) return;
            endWrite(state);
            resolve(settle(result));
          },
          (error) => failWrite(state, error),
        );
      },
      (error) => {
        if (body.stream !== null) PromisePrototypeThen(readableStreamCancel(body.stream, error), undefined, noop);
        failWrite(state, error);
      },
    );
  });
}

const kChecksumLengths = { __proto__: null, md5: 16, sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
const kChecksumTitles = { __proto__: null, md5: "MD5", sha1: "SHA-1", sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };

// The one checksum of put()'s options, as [algorithm, Uint8Array].
function toChecksum(options) {
  let found;
  for (let i = 0; i < 5; i++) {
    const name = kChecksumNames[i];
    const value = options[name];
    if (value === undefined) continue;
    if (found !== undefined) throw new TypeError("You cannot specify multiple hashing algorithms.");
    const size = kChecksumLengths[name];
    const title = kChecksumTitles[name];
    let bytes;
    if (typeof value === "string") {
      if (value.length !== size * 2) throw new TypeError(`${title} is ${size * 2} hex characters, not ${value.length}`);
      if (!internals.primordials.RegExpTest(/^[0-9a-fA-F]*$/, value)) {
        throw new TypeError(`Provided ${title} wasn't a valid hex string`);
      }
      bytes = new Uint8ArrayCtor(hexToBuffer(internals.primordials.StringPrototypeToLowerCase(value)));
    } else if (!isSharedArrayBuffer(value) && (ArrayBufferIsView(value) || internals.isArrayBuffer(value))) {
      bytes = new Uint8ArrayCtor(toUint8Array(value));
      if (bytes.byteLength !== size) throw new TypeError(`${title} is ${size} bytes, not ${bytes.byteLength}`);
    } else {
      throw new TypeError(`${name} must be a hex string, an ArrayBuffer or an ArrayBufferView.`);
    }
    found = [name, bytes];
  }
  return found;
}

function storageClassOf(options) {
  const value = options === undefined ? undefined : options.storageClass;
  return value === undefined ? "Standard" : `${value}`;
}

// --- the bucket -------------------------------------------------------------

class R2MultipartUpload {
  #handle;
  key;
  uploadId;

  constructor(token = undefined, handle = undefined, key = undefined, uploadId = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#handle = handle;
    this.key = key;
    this.uploadId = uploadId;
  }

  uploadPart(partNumber, value) {
    try {
      const handle = this.#handle;
      if (arguments.length < 2) throw new TypeError("Failed to execute 'uploadPart' on 'R2MultipartUpload': 2 arguments required.");
      const number = +partNumber;
      if (!(number >= 1 && number <= native.r2MaxParts) || MathTrunc(number) !== number) {
        throw new RangeError("Part number must be between 1 and 10000 (inclusive).");
      }
      const body = toBody(value, "uploadPart", "R2MultipartUpload");
      const begun = natives().r2PartBegin(handle, this.key, this.uploadId, number, body.length);
      return runWrite(begun, body, "uploadPart", (meta) => ({ partNumber: number, etag: meta[3] }));
    } catch (error) {
      return PromiseReject(error);
    }
  }

  async abort() {
    await natives().r2AbortMultipart(this.#handle, this.key, this.uploadId);
  }

  async complete(uploadedParts) {
    const handle = this.#handle;
    if (!ArrayIsArray(uploadedParts)) {
      throw new TypeError("Failed to execute 'complete' on 'R2MultipartUpload': parameter 1 is not of type 'Array'.");
    }
    const flat = [];
    const length = uploadedParts.length;
    if (length > native.r2MaxParts) throw new Error("completeMultipartUpload: There was a problem with the multipart upload. (10048)");
    for (let i = 0; i < length; i++) {
      const part = uploadedParts[i];
      if (part === null || (typeof part !== "object" && typeof part !== "function")) {
        throw new TypeError("Failed to execute 'complete' on 'R2MultipartUpload': each part must be an R2UploadedPart.");
      }
      append(flat, +part.partNumber, `${part.etag}`);
    }
    const meta = await natives().r2CompleteMultipart(handle, this.key, this.uploadId, flat);
    return new R2Object(kCreate, meta, undefined);
  }
}
finishInterface(R2MultipartUpload);

class R2Bucket {
  #handle; // into the isolate's C++ binding table

  constructor(token = undefined, handle = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#handle = handle;
  }

  async head(key) {
    const handle = this.#handle;
    if (arguments.length < 1) throw new TypeError("Failed to execute 'head' on 'R2Bucket': 1 argument required, but only 0 present.");
    const meta = await natives().r2Head(handle, toKey(key));
    return meta === null ? null : new R2Object(kCreate, meta, undefined);
  }

  async get(key, options = undefined) {
    const handle = this.#handle;
    if (arguments.length < 1) throw new TypeError("Failed to execute 'get' on 'R2Bucket': 1 argument required, but only 0 present.");
    key = toKey(key);
    options = optionsObject(options, "get", "R2GetOptions");
    const onlyIf = options === undefined ? null : toConditional(options.onlyIf);
    const range = options === undefined ? null : toRange(options.range);
    const found = await natives().r2Get(handle, key, onlyIf, range);
    if (found === null) return null;
    const ranged = found[6] ? { offset: found[4], length: found[5] } : undefined;
    if (!found[1]) return new R2Object(kCreate, found[0], ranged);
    let body;
    if (found[3] !== 0) {
      body = bodyStream(found[3]);
      setStreamLength(body, found[5]);
    } else {
      body = readableStreamFromBytes(found[2]);
    }
    return new R2ObjectBody(kCreate, found[0], ranged, body);
  }

  put(key, value, options = undefined) {
    try {
      const handle = this.#handle;
      if (arguments.length < 2) throw new TypeError("Failed to execute 'put' on 'R2Bucket': 2 arguments required.");
      key = toKey(key);
      options = optionsObject(options, "put", "R2PutOptions");
      const http = toHttpMetadata(options === undefined ? undefined : options.httpMetadata);
      const custom = toCustomMetadata(options === undefined ? undefined : options.customMetadata);
      const onlyIf = options === undefined ? null : toConditional(options.onlyIf);
      const checksum = options === undefined ? undefined : toChecksum(options);
      const storageClass = storageClassOf(options);
      const body = toBody(value, "put", "R2Bucket");
      const begun = natives().r2PutBegin(
        handle, key, http, custom, storageClass, onlyIf,
        checksum === undefined ? undefined : checksum[0],
        checksum === undefined ? undefined : checksum[1],
        body.length,
      );
      return runWrite(begun, body, "put", (meta) => (meta === null ? null : new R2Object(kCreate, meta, undefined)));
    } catch (error) {
      if (isReadableStream(value) && !isLocked(value)) {
        PromisePrototypeThen(readableStreamCancel(value, error), undefined, noop);
      }
      return PromiseReject(error);
    }
  }

  async delete(keys) {
    const handle = this.#handle;
    if (arguments.length < 1) throw new TypeError("Failed to execute 'delete' on 'R2Bucket': 1 argument required, but only 0 present.");
    const list = [];
    if (ArrayIsArray(keys)) {
      const length = keys.length;
      if (length > kMaxDeleteKeys) {
        throw new Error(`delete: At most ${kMaxDeleteKeys} keys can be deleted at once. (10029)`);
      }
      for (let i = 0; i < length; i++) append(list, toKey(keys[i]));
    } else {
      append(list, toKey(keys));
    }
    await natives().r2Delete(handle, list);
  }

  async list(options = undefined) {
    const handle = this.#handle;
    options = optionsObject(options, "list", "R2ListOptions");
    let prefix = "";
    let delimiter = "";
    let cursor = "";
    let startAfter = "";
    let limit = 1000;
    let includeHttp = false;
    let includeCustom = false;
    if (options !== undefined) {
      if (options.limit !== undefined) limit = +options.limit;
      if (options.prefix !== undefined) prefix = `${options.prefix}`;
      if (options.cursor !== undefined) cursor = `${options.cursor}`;
      if (options.delimiter !== undefined) delimiter = `${options.delimiter}`;
      if (options.startAfter !== undefined) startAfter = `${options.startAfter}`;
      const include = options.include;
      if (include !== undefined) {
        if (!ArrayIsArray(include)) throw new TypeError("include must be an array of strings.");
        const count = include.length;
        for (let i = 0; i < count && i < 2; i++) {
          const field = `${include[i]}`;
          if (field === "httpMetadata") includeHttp = true;
          else if (field === "customMetadata") includeCustom = true;
          else throw new RangeError(`Unsupported include value ${field}`);
        }
        if (count > 2) throw new RangeError("include takes at most httpMetadata and customMetadata");
      }
    }
    if (!(limit >= 1 && limit <= 1000) || MathTrunc(limit) !== limit) {
      throw new Error("list: MaxKeys params must be positive integer <= 1000. (10022)");
    }
    const found = await natives().r2List(handle, prefix, delimiter, cursor, startAfter, limit, includeHttp, includeCustom);
    const include = { __proto__: null, http: includeHttp, custom: includeCustom };
    const objects = [];
    const metas = found[0];
    for (let i = 0; i < metas.length; i++) append(objects, new R2Object(kCreate, metas[i], undefined, include));
    const result = { objects, delimitedPrefixes: found[1], truncated: found[2] };
    if (found[2]) internals.createDataProperty(result, "cursor", found[3]);
    return result;
  }

  async createMultipartUpload(key, options = undefined) {
    const handle = this.#handle;
    if (arguments.length < 1) {
      throw new TypeError("Failed to execute 'createMultipartUpload' on 'R2Bucket': 1 argument required, but only 0 present.");
    }
    key = toKey(key);
    options = optionsObject(options, "createMultipartUpload", "R2MultipartOptions");
    const http = toHttpMetadata(options === undefined ? undefined : options.httpMetadata);
    const custom = toCustomMetadata(options === undefined ? undefined : options.customMetadata);
    const uploadId = await natives().r2CreateMultipart(handle, key, http, custom, storageClassOf(options));
    return new R2MultipartUpload(kCreate, handle, key, uploadId);
  }

  resumeMultipartUpload(key, uploadId) {
    if (arguments.length < 2) {
      throw new TypeError("Failed to execute 'resumeMultipartUpload' on 'R2Bucket': 2 arguments required.");
    }
    return new R2MultipartUpload(kCreate, this.#handle, toKey(key), `${uploadId}`);
  }
}
finishInterface(R2Bucket);

internals.R2Bucket = R2Bucket;
// The bucket a binding reaches is resolved by the natives from `handle`
// (the isolate's C++ binding table), never from a string held here.
internals.registerBindingKind("r2", (name, handle) => new R2Bucket(kCreate, handle));
