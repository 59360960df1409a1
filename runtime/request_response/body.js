// The Body mixin shared by Request and Response
// (https://fetch.spec.whatwg.org/#body-mixin).
//
// A body is null or an InnerBody holding either `bytes` (the fast path, no
// stream is created unless `body` is read) or `stream` (a ReadableStream).
// `bytes` is a Uint8Array owned by the body, or, for a body made from a
// string, the string itself: it is encoded to UTF-8 only when bytes are
// needed, so `new Response("text")` sent by the server or read back with
// text() is never encoded in JavaScript. Reading `body` on a bytes body turns
// it into a stream body.

const {
  utf8Encode, utf8Decode, toUint8Array, isReadableStream, isDisturbed, isLocked, readableStreamFromBytes,
  createUsedReadableStream, readAllBytes, readableStreamTee, readableStreamProxy,
} = internals;

const {
  JSONParse, ObjectDefineProperty, ObjectGetOwnPropertyDescriptor, ObjectKeys, PromisePrototypeThen, PromiseReject,
  PromiseResolve,
} = internals.primordials;

function isURLSearchParams(object) {
  if (typeof internals.isURLSearchParams === "function") return internals.isURLSearchParams(object);
  const SearchParams = internals.URLSearchParams;
  return typeof SearchParams === "function" && object instanceof SearchParams;
}

function isBlob(object) {
  return typeof internals.isBlob === "function" && internals.isBlob(object);
}

function isFormData(object) {
  return typeof internals.isFormData === "function" && internals.isFormData(object);
}

// The essence (lowercased) and parameters of a MIME type string, or null
// (https://mimesniff.spec.whatwg.org/#parse-a-mime-type, simplified: only
// what formData() needs).
function parseMimeType(value) {
  if (value === null) return null;
  const semi = value.indexOf(";");
  const essence = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+\/[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(essence)) return null;
  const params = new Map();
  let i = semi === -1 ? value.length : semi + 1;
  const len = value.length;
  while (i < len) {
    while (i < len && (value[i] === " " || value[i] === "\t" || value[i] === ";")) i++;
    let j = i;
    while (j < len && value[j] !== "=" && value[j] !== ";") j++;
    const name = value.slice(i, j).trim().toLowerCase();
    if (j >= len || value[j] === ";") {
      i = j;
      continue;
    }
    i = j + 1;
    let paramValue;
    if (value[i] === '"') {
      paramValue = "";
      i++;
      while (i < len && value[i] !== '"') {
        if (value[i] === "\\" && i + 1 < len) i++;
        paramValue += value[i++];
      }
      while (i < len && value[i] !== ";") i++;
    } else {
      let k = i;
      while (k < len && value[k] !== ";") k++;
      paramValue = value.slice(i, k).trim();
      i = k;
    }
    if (name !== "" && !params.has(name)) params.set(name, paramValue);
  }
  return { essence, params };
}

class InnerBody {
  bytes; // Uint8Array | string | null
  stream; // ReadableStream | null
  consumed = false; // bytes body only: true once read

  constructor(bytes, stream) {
    this.bytes = bytes;
    this.stream = stream;
  }
}

// The bytes of a bytes body, as a Uint8Array the caller owns.
function toBytes(bytes) {
  return typeof bytes === "string" ? utf8Encode(bytes) : bytes;
}

// What UTF-8 decoding the encoding of a string body yields, without the
// round trip: lone surrogates become U+FFFD and a leading BOM is dropped.
function decodedText(text) {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return /[\uD800-\uDFFF]/.test(text) ? utf8Decode(utf8Encode(text)) : text;
}

// Extracts a body from a BodyInit (not null): { body: InnerBody, contentType }.
function extractBody(object) {
  if (typeof object === "string") {
    return { body: new InnerBody(object, null), contentType: "text/plain;charset=UTF-8" };
  }
  if (object !== null && typeof object === "object") {
    if (isReadableStream(object)) {
      if (isDisturbed(object) || isLocked(object)) {
        throw new TypeError("The body's ReadableStream is disturbed or locked.");
      }
      return { body: new InnerBody(null, object), contentType: null };
    }
    const view = toUint8Array(object);
    if (view !== undefined) {
      // The body gets a copy of the bytes.
      return { body: new InnerBody(view.slice(), null), contentType: null };
    }
    if (isBlob(object)) {
      // The blob's bytes are shared and immutable: the body gets a copy.
      const type = object.type;
      const bytes = internals.blobBytes(object).slice();
      return { body: new InnerBody(bytes, null), contentType: type !== "" ? type : null };
    }
    if (isFormData(object)) {
      const { body, contentType } = internals.serializeMultipart(object);
      return { body: new InnerBody(body, null), contentType };
    }
    if (isURLSearchParams(object)) {
      const serialize = internals.serializeURLSearchParams;
      const text = typeof serialize === "function" ? serialize(object) : `${object}`;
      return {
        body: new InnerBody(text, null),
        contentType: "application/x-www-form-urlencoded;charset=UTF-8",
      };
    }
  }
  // Any other value is converted to a string (the USVString member of BodyInit).
  return { body: new InnerBody(`${object}`, null), contentType: "text/plain;charset=UTF-8" };
}

function bodyStream(body) {
  if (body.stream === null) {
    if (body.consumed) {
      body.stream = createUsedReadableStream();
    } else {
      body.stream = readableStreamFromBytes(toBytes(body.bytes));
    }
    body.bytes = null;
  }
  return body.stream;
}

function bodyUsed(body) {
  if (body === null) return false;
  return body.stream !== null ? isDisturbed(body.stream) : body.consumed;
}

// Disturbed or locked: cannot be read, cloned or sent.
function bodyUnusable(body) {
  if (body === null) return false;
  if (body.stream !== null) return isDisturbed(body.stream) || isLocked(body.stream);
  return body.consumed;
}

function cloneBody(body) {
  if (body === null) return null;
  if (body.stream !== null) {
    const branches = readableStreamTee(body.stream);
    body.stream = branches[0];
    return new InnerBody(null, branches[1]);
  }
  const bytes = body.bytes;
  return new InnerBody(typeof bytes === "string" ? bytes : bytes.slice(), null);
}

// Moves `body` into a new InnerBody and leaves `body` used (Request's
// constructor taking another Request's body).
function transferBody(body) {
  if (body.stream !== null) return new InnerBody(null, readableStreamProxy(body.stream));
  const moved = new InnerBody(body.bytes, null);
  body.bytes = null;
  body.consumed = true;
  return moved;
}

// Hands the body to the embedder: null, a string or a Uint8Array (the body
// becomes used; a string is sent as UTF-8) or a ReadableStream (which the
// embedder reads, so it becomes locked).
function takeBody(body) {
  if (body === null) return null;
  if (body.stream !== null) return body.stream;
  const bytes = body.bytes;
  body.bytes = null;
  body.consumed = true;
  return bytes;
}

// A Uint8Array the caller owns, spanning its whole buffer.
function exactBytes(bytes) {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  return bytes.slice();
}

// Bytes (a Uint8Array the caller owns, or a string body's string) ->
// FormData, by the body's Content-Type.
function formDataFromBytes(bytes, contentType) {
  const mime = parseMimeType(contentType);
  if (mime !== null && mime.essence === "multipart/form-data") {
    const boundary = mime.params.get("boundary");
    if (boundary === undefined || boundary === "") {
      throw new TypeError("Failed to parse the body as multipart/form-data: no boundary in the Content-Type.");
    }
    return internals.parseMultipart(toBytes(bytes), boundary);
  }
  if (mime !== null && mime.essence === "application/x-www-form-urlencoded") {
    const text = typeof bytes === "string" ? decodedText(bytes) : utf8Decode(bytes);
    const list = internals.parseUrlencoded(text);
    const formData = new internals.FormData();
    for (let i = 0; i < list.length; i++) formData.append(list[i][0], list[i][1]);
    return formData;
  }
  throw new TypeError(
    `Failed to parse the body as FormData: the Content-Type is ${contentType === null ? "missing" : `'${contentType}'`}, not multipart/form-data or application/x-www-form-urlencoded.`,
  );
}

const converters = {
  blob: (bytes, contentType) =>
    internals.createBlob(
      typeof bytes === "string" ? utf8Encode(bytes) : bytes,
      contentType === null ? "" : contentType,
    ),
  formData: formDataFromBytes,
  arrayBuffer: (bytes) => (typeof bytes === "string" ? utf8Encode(bytes) : exactBytes(bytes)).buffer,
  bytes: (bytes) => (typeof bytes === "string" ? utf8Encode(bytes) : exactBytes(bytes)),
  text: (bytes) => (typeof bytes === "string" ? decodedText(bytes) : utf8Decode(bytes)),
  json: (bytes) => JSONParse(typeof bytes === "string" ? decodedText(bytes) : utf8Decode(bytes)),
};

const emptyBytes = () => new Uint8Array(0);

// getContentType() returns the body's Content-Type header or null; blob()
// and formData() call it once the bytes are read, as the spec does.
function consumeBody(body, className, method, getContentType) {
  const method2 = converters[method];
  const convert = (bytes) => method2(bytes, method2.length > 1 ? getContentType() : null);
  if (body === null) {
    try {
      return PromiseResolve(convert(emptyBytes()));
    } catch (e) {
      return PromiseReject(e);
    }
  }
  if (bodyUnusable(body)) {
    return PromiseReject(
      new TypeError(`Failed to execute '${method}' on '${className}': body stream already read`),
    );
  }
  if (body.stream === null) {
    const bytes = body.bytes;
    body.bytes = null;
    body.consumed = true;
    try {
      return PromiseResolve(convert(bytes));
    } catch (e) {
      return PromiseReject(e);
    }
  }
  // readAllBytes always resolves with { bytes }, a fresh Uint8Array.
  return PromisePrototypeThen(readAllBytes(body.stream), (read) => convert(read.bytes));
}

// Installs body, bodyUsed, arrayBuffer(), blob(), bytes(), formData(), text()
// and json() on C's prototype. getBody(obj) returns obj's InnerBody or null,
// and throws a TypeError if obj is not a C; getContentType(obj) returns the
// value of obj's Content-Type header or null.
function installBodyMixin(C, getBody, getContentType) {
  const className = C.name;
  const consume = (self, method) => {
    let body;
    try {
      body = getBody(self);
    } catch (e) {
      return PromiseReject(e);
    }
    return consumeBody(body, className, method, () => getContentType(self));
  };
  const members = {
    get body() {
      const body = getBody(this);
      return body === null ? null : bodyStream(body);
    },
    get bodyUsed() {
      return bodyUsed(getBody(this));
    },
    arrayBuffer() {
      return consume(this, "arrayBuffer");
    },
    blob() {
      return consume(this, "blob");
    },
    bytes() {
      return consume(this, "bytes");
    },
    formData() {
      return consume(this, "formData");
    },
    json() {
      return consume(this, "json");
    },
    text() {
      return consume(this, "text");
    },
  };
  const names = ObjectKeys(members);
  for (let i = 0; i < names.length; i++) {
    const desc = ObjectGetOwnPropertyDescriptor(members, names[i]);
    desc.enumerable = true;
    desc.configurable = true;
    ObjectDefineProperty(C.prototype, names[i], desc);
  }
}

// What `body` looks like in console output, without turning a bytes body into
// a stream.
function inspectBody(body) {
  if (body === null) return null;
  if (body.stream !== null) return body.stream;
  return internals.inspectNamed("ReadableStream", {
    locked: body.consumed,
    state: body.consumed ? "closed" : "readable",
  });
}

internals.InnerBody = InnerBody;
internals.inspectBody = inspectBody;
internals.extractBody = extractBody;
internals.bodyStream = bodyStream;
internals.bodyUsed = bodyUsed;
internals.bodyUnusable = bodyUnusable;
internals.cloneBody = cloneBody;
internals.transferBody = transferBody;
internals.takeBody = takeBody;
internals.installBodyMixin = installBodyMixin;
internals.parseMimeType = parseMimeType;
