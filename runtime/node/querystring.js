// node:querystring — Node.js's legacy query string parser and serializer
// (parse/decode, stringify/encode, escape, unescape, unescapeBuffer).
// https://nodejs.org/api/querystring.html

const { ArrayIsArray, ObjectKeys, StringPrototypeCharCodeAt, NumberIsFinite } = internals.primordials;
const { Buffer } = require("buffer");

// Node's unreserved set for escape(): A-Z a-z 0-9 - . _ ~ ! ' ( ) *
const noEscape = new Int8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!'()*") {
  noEscape[StringPrototypeCharCodeAt(c, 0)] = 1;
}
const hexTable = [];
for (let i = 0; i < 256; i++) hexTable[i] = `%${i < 16 ? "0" : ""}${i.toString(16).toUpperCase()}`;

function escape(value) {
  const str = typeof value === "string" ? value : typeof value === "object" && value !== null ? String(value) : `${value}`;
  let out = "";
  for (let i = 0; i < str.length; i++) {
    let code = StringPrototypeCharCodeAt(str, i);
    if (code < 0x80) {
      out += noEscape[code] === 1 ? str[i] : hexTable[code];
    } else if (code < 0x800) {
      out += hexTable[0xc0 | (code >> 6)] + hexTable[0x80 | (code & 0x3f)];
    } else if (code < 0xd800 || code >= 0xe000) {
      out += hexTable[0xe0 | (code >> 12)] + hexTable[0x80 | ((code >> 6) & 0x3f)] + hexTable[0x80 | (code & 0x3f)];
    } else {
      const next = i + 1 < str.length ? StringPrototypeCharCodeAt(str, i + 1) : 0;
      if (code > 0xdbff || next < 0xdc00 || next > 0xdfff) {
        const error = new URIError("URI malformed");
        error.code = "ERR_INVALID_URI";
        throw error;
      }
      i++;
      code = 0x10000 + (((code & 0x3ff) << 10) | (next & 0x3ff));
      out += hexTable[0xf0 | (code >> 18)] + hexTable[0x80 | ((code >> 12) & 0x3f)] +
        hexTable[0x80 | ((code >> 6) & 0x3f)] + hexTable[0x80 | (code & 0x3f)];
    }
  }
  return out;
}

function hexValue(code) {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

// Percent-decoding to bytes; a malformed escape stays as it is, and other
// characters are their UTF-8 bytes.
function unescapeBuffer(s, decodeSpaces) {
  s = `${s}`;
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    const code = StringPrototypeCharCodeAt(s, i);
    const high = i + 2 < s.length ? hexValue(StringPrototypeCharCodeAt(s, i + 1)) : -1;
    const low = i + 2 < s.length ? hexValue(StringPrototypeCharCodeAt(s, i + 2)) : -1;
    if (code === 0x2b && decodeSpaces) {
      bytes.push(0x20);
    } else if (code === 0x25 && high >= 0 && low >= 0) {
      bytes.push(high * 16 + low);
      i += 2;
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      const paired = code >= 0xd800 && code <= 0xdbff && i + 1 < s.length;
      const encoded = Buffer.from(paired ? s[i] + s[i + 1] : s[i]);
      if (paired) i++;
      for (let j = 0; j < encoded.length; j++) bytes.push(encoded[j]);
    }
  }
  return Buffer.from(bytes);
}

function unescape(s, decodeSpaces) {
  try {
    return decodeURIComponent(s);
  } catch {
    return unescapeBuffer(s, decodeSpaces).toString();
  }
}

function stringifyPrimitive(value) {
  if (typeof value === "string") return value;
  if (typeof value === "number" && NumberIsFinite(value)) return `${value}`;
  if (typeof value === "bigint") return `${value}`;
  if (typeof value === "boolean") return value ? "true" : "false";
  return "";
}

function stringify(obj, sep = "&", eq = "=", options = undefined) {
  sep ||= "&";
  eq ||= "=";
  let encode = escape;
  if (options && typeof options.encodeURIComponent === "function") encode = options.encodeURIComponent;
  if (obj === null || typeof obj !== "object") return "";
  const keys = ObjectKeys(obj);
  const fields = [];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const value = obj[key];
    const ks = `${encode(stringifyPrimitive(key))}${eq}`;
    if (ArrayIsArray(value)) {
      for (let j = 0; j < value.length; j++) fields.push(ks + encode(stringifyPrimitive(value[j])));
    } else {
      fields.push(ks + encode(stringifyPrimitive(value)));
    }
  }
  return fields.join(sep);
}

function parse(qs, sep = "&", eq = "=", options = undefined) {
  const obj = { __proto__: null };
  if (typeof qs !== "string" || qs.length === 0) return obj;
  sep = typeof sep === "string" && sep.length > 0 ? sep : "&";
  eq = typeof eq === "string" && eq.length > 0 ? eq : "=";
  let maxKeys = 1000;
  if (options && typeof options.maxKeys === "number") maxKeys = options.maxKeys;
  let decode = unescape;
  if (options && typeof options.decodeURIComponent === "function") decode = options.decodeURIComponent;
  const pairs = qs.split(sep, maxKeys > 0 ? maxKeys : undefined);
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    if (pair.length === 0) continue;
    const index = pair.indexOf(eq);
    let key = index >= 0 ? pair.slice(0, index) : pair;
    let value = index >= 0 ? pair.slice(index + eq.length) : "";
    key = decodeComponent(key.replace(/\+/g, " "), decode);
    value = decodeComponent(value.replace(/\+/g, " "), decode);
    const existing = obj[key];
    if (existing === undefined) obj[key] = value;
    else if (ArrayIsArray(existing)) existing.push(value);
    else obj[key] = [existing, value];
  }
  return obj;
}

function decodeComponent(s, decode) {
  try {
    return decode(s);
  } catch {
    return unescape(s, true);
  }
}

return {
  unescapeBuffer,
  unescape,
  escape,
  stringify,
  encode: stringify,
  parse,
  decode: parse,
};
