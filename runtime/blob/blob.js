// Blob and File (https://w3c.github.io/FileAPI/).
//
// A Blob's bytes are a Uint8Array that nothing ever writes to once the Blob
// holds it: the constructor copies its parts into a fresh buffer, and every
// way of reading the bytes out (arrayBuffer(), bytes(), stream(), a body)
// hands out a copy. So slice() is a subarray of the same buffer (no copy), and
// Blobs made of a single Blob part share that Blob's bytes.

const {
  finishInterface, inspectSymbol, inspectNamed, illegalInvocation, requireArguments, isObject, toUint8Array,
  toUSVString, utf8Encode,
} = internals;

const nativeUtf8Decode = native.utf8Decode;
const {
  ArrayPrototypePush, ObjectDefineProperty, ObjectPrototype, ObjectSetPrototypeOf, ReflectApply, MathFloor, MathMax, MathMin, MathTrunc, NumberIsFinite, DateNow, PromiseResolve,
  PromiseReject, SymbolIterator, StringPrototypeToLowerCase,
} = internals.primordials;

const emptyBytes = new Uint8Array(0);
const printableAsciiRegExp = /^[\x20-\x7e]*$/;

// A Blob's type: lowercased, or "" if it has a character outside U+0020-U+007E.
function normalizeType(type) {
  return printableAsciiRegExp.test(type) ? StringPrototypeToLowerCase(type) : "";
}

// WebIDL `long long`, as File's lastModified takes it.
function toLongLong(value) {
  const n = +value;
  return NumberIsFinite(n) ? MathTrunc(n) : 0;
}

// WebIDL `[Clamp] long long`, as Blob.slice() takes its positions: clamped
// to the safe integers, rounded to the nearest, ties to even.
const MAX_SAFE = 2 ** 53 - 1;
function toClampedLongLong(value) {
  let n = +value;
  if (n !== n) return 0;
  n = MathMin(MathMax(n, -MAX_SAFE), MAX_SAFE);
  const floor = MathFloor(n);
  const fraction = n - floor;
  let rounded = floor;
  if (fraction > 0.5 || (fraction === 0.5 && floor % 2 !== 0)) rounded = floor + 1;
  return rounded + 0; // not -0
}

function convertLineEndings(s) {
  // "native" line endings on the platforms this runs on are LF.
  return s.indexOf("\r") === -1 ? s : s.replace(/\r\n?/g, "\n");
}

let isBlob;
let blobBytes;
let blobType;
let setBlobData;
let isFile;
let fileFields;
let setFileLastModified;

// Blob and File instances are made from a native template with an embedder
// field (runtime/html/structured_clone.cc): V8's serializer hands such
// objects to the runtime, so structuredClone copies them (hostObjectRecord
// and hostObjectFromRecord below). The instance gets the class's prototype;
// Blob.prototype's own prototype is reset to Object.prototype below, so
// only Object.getPrototypeOf(Blob) shows this base. `adopted`: an object
// the deserializer made (no JavaScript may run while it reads), which the
// next Blob or File construction takes instead of a new one.
const nativeNewHostObject = native.newHostObject;
let adopted = null;
class HostObject {
  constructor() {
    let object = adopted;
    adopted = null;
    if (object === null) object = nativeNewHostObject();
    ObjectSetPrototypeOf(object, new.target.prototype);
    return object;
  }
}

// Reads a BlobPropertyBag (or FilePropertyBag) and the blob parts into
// { bytes, type }.
function convertOptions(options, iface) {
  if (options !== undefined && options !== null && !isObject(options)) {
    const bag = iface === "File" ? "FilePropertyBag" : "BlobPropertyBag";
    throw new TypeError(`Failed to construct '${iface}': The provided value is not of type '${bag}'.`);
  }
  let endings = "transparent";
  let type = "";
  if (options !== undefined && options !== null) {
    const e = options.endings;
    if (e !== undefined) {
      endings = `${e}`;
      if (endings !== "transparent" && endings !== "native") {
        throw new TypeError(
          `Failed to construct '${iface}': Failed to read the 'endings' property from '${iface === "File" ? "FilePropertyBag" : "BlobPropertyBag"}': The provided value '${endings}' is not a valid enum value of type EndingType.`,
        );
      }
    }
    const t = options.type;
    if (t !== undefined) type = normalizeType(`${t}`);
  }
  return { endings, type };
}

function collectParts(blobParts, iface) {
  if (blobParts === undefined) return [];
  const method = isObject(blobParts) ? blobParts[SymbolIterator] : undefined;
  if (typeof method !== "function") {
    throw new TypeError(
      `Failed to construct '${iface}': The provided value cannot be converted to a sequence.`,
    );
  }
  // Each element is converted as the sequence is read (WebIDL order, the
  // iterator method looked up once): Blobs and buffer sources stay as they
  // are, anything else becomes a USVString.
  const parts = [];
  const iterator = ReflectApply(method, blobParts, []);
  if (!isObject(iterator)) throw new TypeError(`Failed to construct '${iface}': The iterator is not an object.`);
  const next = iterator.next;
  for (;;) {
    const step = ReflectApply(next, iterator, []);
    if (!isObject(step)) throw new TypeError(`Failed to construct '${iface}': The iterator result is not an object.`);
    if (step.done) break;
    const part = step.value;
    if (isObject(part) && (isBlob(part) || toUint8Array(part) !== undefined)) {
      ArrayPrototypePush(parts, part);
    } else {
      ArrayPrototypePush(parts, toUSVString(part));
    }
  }
  return parts;
}

function processParts(parts, endings) {
  if (parts.length === 0) return emptyBytes;
  if (parts.length === 1) {
    const part = parts[0];
    if (typeof part === "string") return utf8Encode(endings === "native" ? convertLineEndings(part) : part);
    if (isBlob(part)) return blobBytes(part); // shared, immutable
  }
  const chunks = [];
  let total = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    let bytes;
    if (typeof part === "string") {
      bytes = utf8Encode(endings === "native" ? convertLineEndings(part) : part);
    } else if (isBlob(part)) {
      bytes = blobBytes(part);
    } else {
      bytes = toUint8Array(part); // copied below
    }
    ArrayPrototypePush(chunks, bytes);
    total += bytes.byteLength;
  }
  const result = new Uint8Array(total);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    result.set(chunks[i], offset);
    offset += chunks[i].byteLength;
  }
  return result;
}

const STREAM_CHUNK = 65536;

class Blob extends HostObject {
  #bytes = emptyBytes;
  #type = "";

  constructor(blobParts = undefined, options = undefined) {
    const parts = collectParts(blobParts, "Blob");
    const { endings, type } = convertOptions(options, "Blob");
    super();
    this.#bytes = processParts(parts, endings);
    this.#type = type;
  }

  get size() {
    return this.#bytes.byteLength;
  }

  get type() {
    return this.#type;
  }

  slice(start = undefined, end = undefined, contentType = undefined) {
    const bytes = this.#bytes;
    const size = bytes.byteLength;
    let relativeStart = 0;
    if (start !== undefined) {
      const s = toClampedLongLong(start);
      relativeStart = s < 0 ? MathMax(size + s, 0) : MathMin(s, size);
    }
    let relativeEnd = size;
    if (end !== undefined) {
      const e = toClampedLongLong(end);
      relativeEnd = e < 0 ? MathMax(size + e, 0) : MathMin(e, size);
    }
    const type = contentType === undefined ? "" : normalizeType(`${contentType}`);
    const span = MathMax(relativeEnd - relativeStart, 0);
    const blob = new Blob();
    blob.#bytes = span === 0 ? emptyBytes : bytes.subarray(relativeStart, relativeStart + span);
    blob.#type = type;
    return blob;
  }

  stream() {
    const bytes = this.#bytes;
    let offset = 0;
    return new internals.ReadableStream({
      type: "bytes",
      pull(controller) {
        const request = controller.byobRequest;
        if (offset >= bytes.byteLength) {
          controller.close();
          if (request) request.respond(0);
          return;
        }
        if (request) {
          const view = request.view;
          const n = MathMin(view.byteLength, bytes.byteLength - offset);
          new Uint8Array(view.buffer, view.byteOffset, n).set(bytes.subarray(offset, offset + n));
          offset += n;
          request.respond(n);
        } else {
          const n = MathMin(STREAM_CHUNK, bytes.byteLength - offset);
          controller.enqueue(bytes.slice(offset, offset + n));
          offset += n;
        }
        if (offset >= bytes.byteLength) controller.close();
      },
    });
  }

  text() {
    if (!isBlob(this)) return PromiseReject(illegalInvocation("text", "Blob"));
    return PromiseResolve(nativeUtf8Decode(this.#bytes, false, false));
  }

  arrayBuffer() {
    if (!isBlob(this)) return PromiseReject(illegalInvocation("arrayBuffer", "Blob"));
    return PromiseResolve(this.#bytes.slice().buffer);
  }

  bytes() {
    if (!isBlob(this)) return PromiseReject(illegalInvocation("bytes", "Blob"));
    return PromiseResolve(this.#bytes.slice());
  }

  [inspectSymbol]() {
    return inspectNamed("Blob", { size: this.#bytes.byteLength, type: this.#type });
  }

  static {
    isBlob = (value) => isObject(value) && #bytes in value;
    blobBytes = (blob) => blob.#bytes;
    blobType = (blob) => blob.#type;
    setBlobData = (blob, bytes, type) => {
      blob.#bytes = bytes;
      blob.#type = type;
    };
  }
}
ObjectSetPrototypeOf(Blob.prototype, ObjectPrototype);
finishInterface(Blob);

class File extends Blob {
  #name;
  #lastModified;

  constructor(fileBits, fileName, options = undefined) {
    requireArguments(arguments.length, 2, "Failed to construct 'File'");
    const parts = collectParts(fileBits, "File");
    const name = toUSVString(fileName);
    const { endings, type } = convertOptions(options, "File");
    let lastModified;
    if (options !== undefined && options !== null && options.lastModified !== undefined) {
      lastModified = toLongLong(options.lastModified);
    } else {
      lastModified = DateNow();
    }
    super();
    setBlobData(this, processParts(parts, endings), type);
    this.#name = name;
    this.#lastModified = lastModified;
  }

  get name() {
    return this.#name;
  }

  get lastModified() {
    return this.#lastModified;
  }

  get webkitRelativePath() {
    this.#name; // brand check
    return "";
  }

  [inspectSymbol]() {
    return inspectNamed("File", {
      size: this.size,
      type: this.type,
      name: this.#name,
      lastModified: this.#lastModified,
    });
  }

  static {
    isFile = (value) => isObject(value) && #name in value;
    fileFields = (file) => [file.#name, file.#lastModified];
    setFileLastModified = (file, value) => {
      file.#lastModified = value;
    };
  }
}
finishInterface(File);

// A Blob holding `bytes` (which it takes: nobody may write to them afterwards).
function createBlob(bytes, type = "") {
  const blob = new Blob();
  setBlobData(blob, bytes, normalizeType(type));
  return blob;
}

// A File holding `bytes` (taken, as for createBlob).
function createFile(bytes, type, name, lastModified = DateNow()) {
  const file = new File([], name, { lastModified });
  setBlobData(file, bytes, normalizeType(type));
  return file;
}

// structuredClone's serialization of a Blob or File (structured_clone.cc):
// [kind (1 Blob, 2 File), bytes, type, name, lastModified], or undefined for
// any other object made from the host template.
function hostObjectRecord(value) {
  if (!isBlob(value)) return undefined;
  if (isFile(value)) {
    const [name, lastModified] = fileFields(value);
    return [2, blobBytes(value), blobType(value), name, lastModified];
  }
  return [1, blobBytes(value), blobType(value), "", 0];
}

// Makes `placeholder` (the object the deserializer made for it) the copy
// described by such a record; `bytes` is a fresh Uint8Array. The
// constructors are called without parts or options, so nothing the tenant
// can observe runs before they take the placeholder.
function hostObjectFromRecord(kind, bytes, type, name, lastModified, placeholder) {
  adopted = placeholder;
  let made;
  try {
    made = kind === 2 ? new File(undefined, name) : new Blob();
  } finally {
    adopted = null;
  }
  setBlobData(made, bytes, type);
  if (kind === 2) setFileLastModified(made, lastModified);
  return made;
}

internals.hostObjectRecord = hostObjectRecord;
internals.hostObjectFromRecord = hostObjectFromRecord;
internals.Blob = Blob;
internals.File = File;
internals.isBlob = isBlob;
internals.isFile = isFile;
internals.blobBytes = blobBytes; // shared: never write to them
internals.createBlob = createBlob;
internals.createFile = createFile;
internals.normalizeBlobType = normalizeType;
