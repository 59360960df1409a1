// atob/btoa (forgiving-base64, https://html.spec.whatwg.org/#atob).

const { requireArguments, DOMException } = internals;

const StringFromCharCode = String.fromCharCode;
const ReflectApply = Reflect.apply;

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const decodeTable = new Int8Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) decodeTable[alphabet.charCodeAt(i)] = i;
const asciiWhitespaceRegExp = /[\t\n\f\r ]/;
const asciiWhitespaceGlobalRegExp = /[\t\n\f\r ]+/g;

function invalidCharacter(message) {
  return new DOMException(message, "InvalidCharacterError");
}

// Latin-1 string from bytes, in chunks to stay below argument limits.
function bytesToBinaryString(bytes) {
  const chunk = 8192;
  if (bytes.length <= chunk) return ReflectApply(StringFromCharCode, null, bytes);
  let out = "";
  for (let i = 0; i < bytes.length; i += chunk) {
    out += ReflectApply(StringFromCharCode, null, bytes.subarray(i, i + chunk));
  }
  return out;
}

function atob(data) {
  requireArguments(arguments.length, 1, "Failed to execute 'atob'");
  let s = `${data}`;
  if (asciiWhitespaceRegExp.test(s)) s = s.replace(asciiWhitespaceGlobalRegExp, "");
  let len = s.length;
  if (len % 4 === 0 && len > 0 && s.charCodeAt(len - 1) === 0x3d) {
    len--;
    if (s.charCodeAt(len - 1) === 0x3d) len--;
  }
  if (len % 4 === 1) {
    throw invalidCharacter("Failed to execute 'atob': The string to be decoded is not correctly encoded.");
  }
  const bytes = new Uint8Array((len * 3) >> 2);
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? decodeTable[c] : -1;
    if (v < 0) {
      throw invalidCharacter("Failed to execute 'atob': The string to be decoded is not correctly encoded.");
    }
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[j++] = (acc >> bits) & 0xff;
    }
  }
  return bytesToBinaryString(j === bytes.length ? bytes : bytes.subarray(0, j));
}

function btoa(data) {
  requireArguments(arguments.length, 1, "Failed to execute 'btoa'");
  const s = `${data}`;
  const len = s.length;
  let out = "";
  let i = 0;
  for (; i + 2 < len; i += 3) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const c = s.charCodeAt(i + 2);
    if ((a | b | c) > 0xff) break;
    const n = (a << 16) | (b << 8) | c;
    out +=
      alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  const rest = len - i;
  if (rest >= 3 || (rest === 2 && (s.charCodeAt(i) | s.charCodeAt(i + 1)) > 0xff) ||
      (rest === 1 && s.charCodeAt(i) > 0xff)) {
    throw invalidCharacter(
      "Failed to execute 'btoa': The string to be encoded contains characters outside of the Latin1 range.",
    );
  }
  if (rest === 1) {
    const n = s.charCodeAt(i) << 16;
    out += `${alphabet[n >> 18]}${alphabet[(n >> 12) & 63]}==`;
  } else if (rest === 2) {
    const n = (s.charCodeAt(i) << 16) | (s.charCodeAt(i + 1) << 8);
    out += `${alphabet[n >> 18]}${alphabet[(n >> 12) & 63]}${alphabet[(n >> 6) & 63]}=`;
  }
  return out;
}

internals.atob = atob;
internals.btoa = btoa;
