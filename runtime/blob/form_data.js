// FormData (https://xhr.spec.whatwg.org/#interface-formdata) and the
// multipart/form-data encoding (RFC 7578, as browsers send it; HTML's
// "multipart/form-data encoding algorithm") and parsing used by bodies.

const {
  finishInterface, inspectSymbol, inspectNamed, tooFewArguments, pairIterator, isBlob, isFile, blobBytes,
  createFile, toUSVString, utf8Encode,
} = internals;

const nativeUtf8Decode = native.utf8Decode;
const nativeRandomFill = native.randomFill;
const { ObjectDefineProperty, ReflectApply, SymbolIterator } = internals.primordials;

function checkArgs(count, required, method) {
  if (count < required) throw tooFewArguments(count, required, `Failed to execute '${method}' on 'FormData'`);
}

// https://xhr.spec.whatwg.org/#create-an-entry: [name, string | File].
function createEntry(name, value, filename, method, argCount) {
  name = toUSVString(name);
  if (isBlob(value)) {
    if (!isFile(value)) {
      const name2 = filename !== undefined ? toUSVString(filename) : "blob";
      value = createFile(blobBytes(value), value.type, name2);
    } else if (filename !== undefined) {
      value = createFile(blobBytes(value), value.type, toUSVString(filename), value.lastModified);
    }
    return [name, value];
  }
  if (argCount > 2) {
    throw new TypeError(`Failed to execute '${method}' on 'FormData': parameter 2 is not of type 'Blob'.`);
  }
  return [name, toUSVString(value)];
}

let formDataList;
let isFormData;

class FormData {
  #list = [];

  constructor(form = undefined, submitter = undefined) {
    if (form !== undefined) {
      throw new TypeError("Failed to construct 'FormData': parameter 1 is not of type 'HTMLFormElement'.");
    }
  }

  append(name, value, filename = undefined) {
    this.#list; // brand check
    checkArgs(arguments.length, 2, "append");
    this.#list.push(createEntry(name, value, filename, "append", arguments.length));
  }

  delete(name) {
    this.#list;
    checkArgs(arguments.length, 1, "delete");
    name = toUSVString(name);
    const list = this.#list;
    let j = 0;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] !== name) list[j++] = list[i];
    }
    list.length = j;
  }

  get(name) {
    this.#list;
    checkArgs(arguments.length, 1, "get");
    name = toUSVString(name);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === name) return list[i][1];
    }
    return null;
  }

  getAll(name) {
    this.#list;
    checkArgs(arguments.length, 1, "getAll");
    name = toUSVString(name);
    const list = this.#list;
    const out = [];
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === name) out.push(list[i][1]);
    }
    return out;
  }

  has(name) {
    this.#list;
    checkArgs(arguments.length, 1, "has");
    name = toUSVString(name);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === name) return true;
    }
    return false;
  }

  set(name, value, filename = undefined) {
    this.#list;
    checkArgs(arguments.length, 2, "set");
    const entry = createEntry(name, value, filename, "set", arguments.length);
    name = entry[0];
    const list = this.#list;
    let found = false;
    let j = 0;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === name) {
        if (found) continue;
        found = true;
        list[j++] = entry;
      } else {
        list[j++] = list[i];
      }
    }
    list.length = j;
    if (!found) list.push(entry);
  }

  forEach(callback, thisArg = undefined) {
    this.#list;
    checkArgs(arguments.length, 1, "forEach");
    if (typeof callback !== "function") {
      throw new TypeError(
        "Failed to execute 'forEach' on 'FormData': The callback provided as parameter 1 is not a function.",
      );
    }
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i];
      ReflectApply(callback, thisArg, [entry[1], entry[0], this]);
    }
  }

  keys() {
    this.#list;
    return newFormDataIterator(this, "key");
  }

  values() {
    this.#list;
    return newFormDataIterator(this, "value");
  }

  entries() {
    this.#list;
    return newFormDataIterator(this, "key+value");
  }

  [inspectSymbol]() {
    const entries = [];
    const list = this.#list;
    for (let i = 0; i < list.length; i++) entries.push([list[i][0], list[i][1]]);
    return inspectNamed("FormData", { entries });
  }

  static {
    formDataList = (fd) => fd.#list;
    isFormData = (value) => value !== null && typeof value === "object" && #list in value;
  }
}
ObjectDefineProperty(FormData.prototype, SymbolIterator, {
  value: FormData.prototype.entries,
  writable: true,
  enumerable: false,
  configurable: true,
});
finishInterface(FormData);

const newFormDataIterator = pairIterator("FormData", (formData) => formDataList(formData));

// ---------------------------------------------------------------------------
// multipart/form-data serialization

const boundaryChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function randomBoundary() {
  const random = new Uint8Array(24);
  nativeRandomFill(random);
  let s = "----EdgeFormBoundary";
  for (let i = 0; i < random.length; i++) s += boundaryChars[random[i] % 62];
  return s;
}

// Lone CR or LF -> CRLF.
function normalizeNewlines(s) {
  return /[\r\n]/.test(s) ? s.replace(/\r\n|\r|\n/g, "\r\n") : s;
}

function escapeQuoted(s) {
  return s.replace(/[\n\r"]/g, (c) => (c === "\n" ? "%0A" : c === "\r" ? "%0D" : "%22"));
}

// -> { body: Uint8Array, contentType }
function serializeMultipart(formData) {
  const list = formDataList(formData);
  const boundary = randomBoundary();
  const chunks = [];
  let total = 0;
  let text = "";
  const flush = () => {
    if (text.length === 0) return;
    const bytes = utf8Encode(text);
    chunks.push(bytes);
    total += bytes.byteLength;
    text = "";
  };
  for (let i = 0; i < list.length; i++) {
    const name = list[i][0];
    const value = list[i][1];
    text += `--${boundary}\r\nContent-Disposition: form-data; name="${escapeQuoted(normalizeNewlines(name))}"`;
    if (typeof value === "string") {
      text += `\r\n\r\n${normalizeNewlines(value)}\r\n`;
    } else {
      const type = value.type;
      const partType = type !== "" ? type : "application/octet-stream";
      text += `; filename="${escapeQuoted(value.name)}"\r\nContent-Type: ${partType}\r\n\r\n`;
      flush();
      const bytes = blobBytes(value);
      chunks.push(bytes);
      total += bytes.byteLength;
      text += "\r\n";
    }
  }
  text += `--${boundary}--\r\n`;
  flush();
  const body = new Uint8Array(total);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    body.set(chunks[i], offset);
    offset += chunks[i].byteLength;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

// ---------------------------------------------------------------------------
// multipart/form-data parsing

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;

function malformed(why) {
  return new TypeError(`Failed to parse the body as multipart/form-data: ${why}.`);
}

function indexOfBytes(haystack, needle, from) {
  const n = needle.length;
  const first = needle[0];
  const last = haystack.length - n;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < n && haystack[i + j] === needle[j]) j++;
    if (j === n) return i;
  }
  return -1;
}

function unescapeQuoted(s) {
  if (s.indexOf("%") === -1) return s;
  return s.replace(/%(0A|0D|22)/gi, (m, h) => (h === "22" ? '"' : h === "0A" || h === "0a" ? "\n" : "\r"));
}

// The parameters of a Content-Disposition value after its first `;`:
// a map of lowercased name -> value (quoted strings unquoted).
function parseDispositionParams(s, start) {
  const params = new Map();
  let i = start;
  const len = s.length;
  while (i < len) {
    while (i < len && (s[i] === ";" || s[i] === " " || s[i] === "\t")) i++;
    let eq = i;
    while (eq < len && s[eq] !== "=" && s[eq] !== ";") eq++;
    const name = s.slice(i, eq).trim().toLowerCase();
    if (eq >= len || s[eq] === ";") {
      i = eq;
      continue;
    }
    i = eq + 1;
    while (i < len && (s[i] === " " || s[i] === "\t")) i++;
    let value;
    if (s[i] === '"') {
      let j = i + 1;
      value = "";
      while (j < len && s[j] !== '"') {
        if (s[j] === "\\" && j + 1 < len && (s[j + 1] === '"' || s[j + 1] === "\\")) j++;
        value += s[j++];
      }
      if (j >= len) throw malformed("unterminated quoted string in Content-Disposition");
      i = j + 1;
    } else {
      let j = i;
      while (j < len && s[j] !== ";") j++;
      value = s.slice(i, j).trim();
      i = j;
    }
    if (name !== "" && !params.has(name)) params.set(name, value);
  }
  return params;
}

// Parses `bytes` (which it takes: File values share them) as
// multipart/form-data with `boundary`; a malformed body throws a TypeError.
function parseMultipart(bytes, boundary) {
  boundary = `${boundary}`;
  if (boundary.length === 0 || boundary.length > 200 || !/^[\x21-\x7e ]+$/.test(boundary)) {
    throw malformed("invalid boundary");
  }
  const delimiter = utf8Encode(`--${boundary}`);
  const crlfDelimiter = utf8Encode(`\r\n--${boundary}`);
  const len = bytes.byteLength;
  const formData = new FormData();
  const list = formDataList(formData);

  // The first delimiter: at the start, or after a preamble ending in CRLF.
  let pos;
  if (indexOfBytes(bytes.subarray(0, delimiter.length), delimiter, 0) === 0) {
    pos = delimiter.length;
  } else {
    const at = indexOfBytes(bytes, crlfDelimiter, 0);
    if (at === -1) throw malformed("no boundary found");
    pos = at + crlfDelimiter.length;
  }
  for (;;) {
    // After a delimiter: `--` ends the body; otherwise optional whitespace and CRLF.
    if (bytes[pos] === DASH && bytes[pos + 1] === DASH) return formData;
    while (pos < len && (bytes[pos] === 0x20 || bytes[pos] === 0x09)) pos++;
    if (bytes[pos] !== CR || bytes[pos + 1] !== LF) throw malformed("expected CRLF after a boundary");
    pos += 2;

    // Headers, up to an empty line.
    let name = null;
    let filename = null;
    let contentType = null;
    for (;;) {
      let eol = pos;
      while (eol < len && !(bytes[eol] === CR && bytes[eol + 1] === LF)) eol++;
      if (eol >= len) throw malformed("unterminated part headers");
      if (eol === pos) {
        pos += 2;
        break;
      }
      // Header values are UTF-8 (browsers send raw UTF-8 names and filenames).
      const line = nativeUtf8Decode(bytes.subarray(pos, eol), false, true);
      pos = eol + 2;
      const colon = line.indexOf(":");
      if (colon <= 0) throw malformed("invalid part header");
      const headerName = line.slice(0, colon).trim().toLowerCase();
      const headerValue = line.slice(colon + 1).trim();
      if (headerName === "content-disposition") {
        const semi = headerValue.indexOf(";");
        const kind = (semi === -1 ? headerValue : headerValue.slice(0, semi)).trim().toLowerCase();
        if (kind !== "form-data") throw malformed("Content-Disposition is not form-data");
        const params = semi === -1 ? new Map() : parseDispositionParams(headerValue, semi + 1);
        if (!params.has("name")) throw malformed("Content-Disposition without a name");
        name = unescapeQuoted(params.get("name"));
        filename = params.has("filename") ? unescapeQuoted(params.get("filename")) : null;
      } else if (headerName === "content-type") {
        contentType = headerValue;
      }
    }
    if (name === null) throw malformed("a part has no Content-Disposition");

    // The content, up to CRLF and the next delimiter.
    const end = indexOfBytes(bytes, crlfDelimiter, pos);
    if (end === -1) throw malformed("missing closing boundary");
    const content = bytes.subarray(pos, end);
    if (filename !== null) {
      list.push([name, createFile(content, contentType !== null ? contentType : "text/plain", filename)]);
    } else {
      list.push([name, nativeUtf8Decode(content, false, true)]);
    }
    pos = end + crlfDelimiter.length;
  }
}

internals.FormData = FormData;
internals.isFormData = isFormData;
internals.formDataList = formDataList;
internals.serializeMultipart = serializeMultipart;
internals.parseMultipart = parseMultipart;

