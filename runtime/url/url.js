// WHATWG URL Standard: URL, URLSearchParams and the URL parser.
// https://url.spec.whatwg.org/
//
// This file is the body of `(function (native, internals) { "use strict"; ... })`.
//
// URL records used internally (and by other runtime files through
// internals.parseURL / internals.serializeURL) look like:
//   {
//     scheme:   string (lowercase, no ":")
//     username: string (percent-encoded)
//     password: string (percent-encoded)
//     host:     null | string  -- the *serialized* host: a domain, "1.2.3.4",
//                                 "[::1]", an opaque host, or "" (empty host)
//     port:     null | number
//     path:     string (opaque path) | string[] (path segments)
//     query:    null | string (percent-encoded, without "?")
//     fragment: null | string (percent-encoded, without "#")
//   }
// Records returned by internals.parseURL are fresh objects owned by the caller.

// ---------------------------------------------------------------------------
// Character tables and small helpers
// ---------------------------------------------------------------------------

const { finishInterface, requireArguments, pairIterator, toUSVString } = internals;
// The scheme and host checks fetch relies on use a captured startsWith.
const { StringPrototypeStartsWith } = internals.primordials;

const EOF = -1;

function isSpecialScheme(scheme) {
  switch (scheme) {
    case "http":
    case "https":
    case "ws":
    case "wss":
    case "ftp":
    case "file":
      return true;
    default:
      return false;
  }
}

function defaultPort(scheme) {
  switch (scheme) {
    case "http":
    case "ws":
      return 80;
    case "https":
    case "wss":
      return 443;
    case "ftp":
      return 21;
    default:
      return null;
  }
}

// "%00".."%FF", uppercase hex as the spec requires.
const HEX = [];
for (let i = 0; i < 256; i++) HEX.push("%" + (i < 16 ? "0" : "") + i.toString(16).toUpperCase());

// Percent-encode sets, as lookup tables over ASCII. Every code point above
// U+007E is in every set (handled in code), U+007F is in every table.
function makeSet(base, chars) {
  const set = new Uint8Array(128);
  if (base) set.set(base);
  for (let i = 0; i < chars.length; i++) set[chars.charCodeAt(i)] = 1;
  return set;
}
const C0_CONTROL_SET = new Uint8Array(128);
for (let i = 0; i < 0x20; i++) C0_CONTROL_SET[i] = 1;
C0_CONTROL_SET[0x7f] = 1;
const FRAGMENT_SET = makeSet(C0_CONTROL_SET, ' "<>`');
const QUERY_SET = makeSet(C0_CONTROL_SET, ' "#<>');
const SPECIAL_QUERY_SET = makeSet(QUERY_SET, "'");
const PATH_SET = makeSet(QUERY_SET, "?^`{}");
const USERINFO_SET = makeSet(PATH_SET, "/:;=@[\\]|");
const COMPONENT_SET = makeSet(USERINFO_SET, "$%&+,");
const URLENCODED_SET = makeSet(COMPONENT_SET, "!'()~");

// Forbidden host code points (ASCII only; none are above U+007F).
const FORBIDDEN_HOST = makeSet(null, "\u0000\t\n\r #/:<>?@[\\]^|");
// Forbidden domain code points: forbidden host + C0 controls + % + DEL.
const FORBIDDEN_DOMAIN = makeSet(FORBIDDEN_HOST, "%\u007f");
for (let i = 0; i < 0x20; i++) FORBIDDEN_DOMAIN[i] = 1;

function isASCIIAlpha(c) {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}
function isASCIIDigit(c) {
  return c >= 0x30 && c <= 0x39;
}
function isASCIIHexDigit(c) {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}
function hexValue(c) {
  if (c <= 0x39) return c - 0x30;
  return (c | 0x20) - 0x57;
}
function isSchemeCodePoint(c) {
  return isASCIIAlpha(c) || isASCIIDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e;
}

// UTF-8 percent-encode s[start, end) using `set`. Returns the slice itself
// when nothing needs encoding.
function percentEncode(s, start, end, set) {
  let i = start;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || set[c] === 1) break;
  }
  if (i === end) return start === 0 && end === s.length ? s : s.slice(start, end);
  let out = s.slice(start, i);
  let run = i;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (set[c] === 1) {
        out += s.slice(run, i) + HEX[c];
        run = i + 1;
      }
      continue;
    }
    out += s.slice(run, i);
    run = i + 1;
    if (c < 0x800) {
      out += HEX[0xc0 | (c >> 6)] + HEX[0x80 | (c & 0x3f)];
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && i + 1 < end) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          out +=
            HEX[0xf0 | (cp >> 18)] +
            HEX[0x80 | ((cp >> 12) & 0x3f)] +
            HEX[0x80 | ((cp >> 6) & 0x3f)] +
            HEX[0x80 | (cp & 0x3f)];
          i++;
          run = i + 1;
          continue;
        }
      }
      out += "%EF%BF%BD"; // lone surrogate -> U+FFFD
    } else {
      out += HEX[0xe0 | (c >> 12)] + HEX[0x80 | ((c >> 6) & 0x3f)] + HEX[0x80 | (c & 0x3f)];
    }
  }
  return out + s.slice(run, end);
}

// application/x-www-form-urlencoded byte serializer for one string.
function urlencodedEncode(s) {
  const len = s.length;
  let run = 0;
  let out = "";
  for (;;) {
    const sp = s.indexOf(" ", run);
    if (sp === -1) return out + percentEncode(s, run, len, URLENCODED_SET);
    out += percentEncode(s, run, sp, URLENCODED_SET) + "+";
    run = sp + 1;
  }
}

// Percent-decode a string (UTF-8 encoding it first), then UTF-8 decode
// without BOM (invalid sequences become U+FFFD).
function percentDecodeString(s) {
  const len = s.length;
  if (s.indexOf("%") === -1) return s;
  const bytes = new Uint8Array(len * 3);
  let n = 0;
  let nonASCII = false;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < len && isASCIIHexDigit(s.charCodeAt(i + 1)) && isASCIIHexDigit(s.charCodeAt(i + 2))) {
      const b = (hexValue(s.charCodeAt(i + 1)) << 4) | hexValue(s.charCodeAt(i + 2));
      if (b >= 0x80) nonASCII = true;
      bytes[n++] = b;
      i += 2;
    } else if (c < 0x80) {
      bytes[n++] = c;
    } else {
      nonASCII = true;
      if (c < 0x800) {
        bytes[n++] = 0xc0 | (c >> 6);
        bytes[n++] = 0x80 | (c & 0x3f);
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        let cp = 0xfffd;
        if (c <= 0xdbff && i + 1 < len) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
            i++;
          }
        }
        if (cp > 0xffff) {
          bytes[n++] = 0xf0 | (cp >> 18);
          bytes[n++] = 0x80 | ((cp >> 12) & 0x3f);
          bytes[n++] = 0x80 | ((cp >> 6) & 0x3f);
          bytes[n++] = 0x80 | (cp & 0x3f);
          continue;
        }
        c = cp;
      }
      bytes[n++] = 0xe0 | (c >> 12);
      bytes[n++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[n++] = 0x80 | (c & 0x3f);
    }
  }
  // fatal = false (U+FFFD replacement), ignoreBOM = true (a BOM is kept, not stripped).
  if (nonASCII) return native.utf8Decode(bytes.slice(0, n), false, true);
  let out = "";
  for (let i = 0; i < n; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(n, i + 8192)));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Hosts
// ---------------------------------------------------------------------------

function parseIPv4Number(s) {
  const len = s.length;
  if (len === 0) return null;
  let i = 0;
  let radix = 10;
  if (len >= 2 && s.charCodeAt(0) === 0x30) {
    const c1 = s.charCodeAt(1);
    if (c1 === 0x78 || c1 === 0x58) {
      i = 2;
      radix = 16;
    } else {
      i = 1;
      radix = 8;
    }
  }
  if (i === len) return 0;
  for (let j = i; j < len; j++) {
    const c = s.charCodeAt(j);
    if (radix === 10 ? !isASCIIDigit(c) : radix === 16 ? !isASCIIHexDigit(c) : !(c >= 0x30 && c <= 0x37)) {
      return null;
    }
  }
  return parseInt(s.slice(i), radix);
}

function endsInANumber(s) {
  let end = s.length;
  if (end > 0 && s.charCodeAt(end - 1) === 0x2e) end--;
  if (end === 0) return false;
  let start = end;
  while (start > 0 && s.charCodeAt(start - 1) !== 0x2e) start--;
  if (start === end) return false;
  let allDigits = true;
  for (let i = start; i < end; i++) {
    if (!isASCIIDigit(s.charCodeAt(i))) {
      allDigits = false;
      break;
    }
  }
  if (allDigits) return true;
  // Only "0x"/"0X" followed by hex digits can still parse as an IPv4 number.
  if (end - start >= 2 && s.charCodeAt(start) === 0x30 && (s.charCodeAt(start + 1) | 0x20) === 0x78) {
    for (let i = start + 2; i < end; i++) {
      if (!isASCIIHexDigit(s.charCodeAt(i))) return false;
    }
    return true;
  }
  return false;
}

// Returns the IPv4 address as a number, or null on failure.
function parseIPv4(s) {
  const parts = s.split(".");
  if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
  if (parts.length > 4) return null;
  const numbers = [];
  for (let i = 0; i < parts.length; i++) {
    const n = parseIPv4Number(parts[i]);
    if (n === null) return null;
    numbers.push(n);
  }
  const last = numbers.length - 1;
  for (let i = 0; i < last; i++) if (numbers[i] > 255) return null;
  if (numbers[last] >= 256 ** (4 - last)) return null;
  let ipv4 = numbers[last];
  for (let i = 0; i < last; i++) ipv4 += numbers[i] * 256 ** (3 - i);
  return ipv4;
}

function serializeIPv4(n) {
  return (
    Math.floor(n / 16777216) +
    "." +
    (Math.floor(n / 65536) % 256) +
    "." +
    (Math.floor(n / 256) % 256) +
    "." +
    (n % 256)
  );
}

// Returns an array of 8 numbers, or null on failure.
function parseIPv6(input) {
  const address = [0, 0, 0, 0, 0, 0, 0, 0];
  const len = input.length;
  let pieceIndex = 0;
  let compress = null;
  let p = 0;
  const at = (i) => (i < len ? input.charCodeAt(i) : EOF);

  if (at(p) === 0x3a) {
    if (at(p + 1) !== 0x3a) return null;
    p += 2;
    pieceIndex++;
    compress = pieceIndex;
  }
  while (at(p) !== EOF) {
    if (pieceIndex === 8) return null;
    if (at(p) === 0x3a) {
      if (compress !== null) return null;
      p++;
      pieceIndex++;
      compress = pieceIndex;
      continue;
    }
    let value = 0;
    let length = 0;
    while (length < 4 && isASCIIHexDigit(at(p))) {
      value = value * 16 + hexValue(at(p));
      p++;
      length++;
    }
    if (at(p) === 0x2e) {
      if (length === 0) return null;
      p -= length;
      if (pieceIndex > 6) return null;
      let numbersSeen = 0;
      while (at(p) !== EOF) {
        let ipv4Piece = null;
        if (numbersSeen > 0) {
          if (at(p) === 0x2e && numbersSeen < 4) p++;
          else return null;
        }
        if (!isASCIIDigit(at(p))) return null;
        while (isASCIIDigit(at(p))) {
          const number = at(p) - 0x30;
          if (ipv4Piece === null) ipv4Piece = number;
          else if (ipv4Piece === 0) return null;
          else ipv4Piece = ipv4Piece * 10 + number;
          if (ipv4Piece > 255) return null;
          p++;
        }
        address[pieceIndex] = address[pieceIndex] * 0x100 + ipv4Piece;
        numbersSeen++;
        if (numbersSeen === 2 || numbersSeen === 4) pieceIndex++;
      }
      if (numbersSeen !== 4) return null;
      break;
    } else if (at(p) === 0x3a) {
      p++;
      if (at(p) === EOF) return null;
    } else if (at(p) !== EOF) {
      return null;
    }
    address[pieceIndex] = value;
    pieceIndex++;
  }
  if (compress !== null) {
    let swaps = pieceIndex - compress;
    pieceIndex = 7;
    while (pieceIndex !== 0 && swaps > 0) {
      const tmp = address[compress + swaps - 1];
      address[compress + swaps - 1] = address[pieceIndex];
      address[pieceIndex] = tmp;
      pieceIndex--;
      swaps--;
    }
  } else if (pieceIndex !== 8) {
    return null;
  }
  return address;
}

function serializeIPv6(address) {
  // Find the first longest run of zero pieces (length > 1).
  let compress = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (address[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && address[j] === 0) j++;
    if (j - i > bestLen) {
      bestLen = j - i;
      compress = i;
    }
    i = j;
  }
  let out = "";
  let ignore0 = false;
  for (let i = 0; i < 8; i++) {
    if (ignore0 && address[i] === 0) continue;
    ignore0 = false;
    if (compress === i) {
      out += i === 0 ? "::" : ":";
      ignore0 = true;
      continue;
    }
    out += address[i].toString(16);
    if (i !== 7) out += ":";
  }
  return out;
}

function parseOpaqueHost(input) {
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c < 0x80 && FORBIDDEN_HOST[c] === 1) return null;
  }
  return percentEncode(input, 0, input.length, C0_CONTROL_SET);
}

// ASCII input with no label starting with "xn--": ToASCII is ASCII lowercase.
// Returns NOT_PLAIN, PLAIN_LOWER (already lowercase), PLAIN_UPPER, or
// PLAIN_FORBIDDEN (plain, but contains a forbidden domain code point).
const NOT_PLAIN = 0;
const PLAIN_LOWER = 1;
const PLAIN_UPPER = 2;
const PLAIN_FORBIDDEN = 3;
function classifyPlainASCIIDomain(s) {
  const len = s.length;
  let result = PLAIN_LOWER;
  let forbidden = false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return NOT_PLAIN;
    if (c >= 0x41 && c <= 0x5a) result = PLAIN_UPPER;
    else if (FORBIDDEN_DOMAIN[c] === 1) forbidden = true;
    if (
      (c === 0x78 || c === 0x58) &&
      (i === 0 || s.charCodeAt(i - 1) === 0x2e) &&
      i + 3 < len &&
      (s.charCodeAt(i + 1) | 0x20) === 0x6e &&
      s.charCodeAt(i + 2) === 0x2d &&
      s.charCodeAt(i + 3) === 0x2d
    ) {
      return NOT_PLAIN;
    }
  }
  return forbidden ? PLAIN_FORBIDDEN : result;
}

function domainToASCII(domain, beStrict) {
  if (!beStrict) {
    // Fast path (see the note in the spec's "domain to ASCII"): for ASCII
    // input without "xn--" labels, UTS #46 ToASCII is ASCII lowercasing.
    const kind = classifyPlainASCIIDomain(domain);
    if (kind === PLAIN_LOWER) return domain === "" ? null : domain;
    if (kind === PLAIN_UPPER) return domain.toLowerCase();
    if (kind === PLAIN_FORBIDDEN) return null;
  }
  const result = native.domainToASCII(domain, beStrict);
  if (typeof result !== "string") {
    // ASCII fallback (whatwg/url#914, the data in WPT's urltestdata and
    // toascii): when ToASCII fails on an all-ASCII domain with no forbidden
    // domain code point, the domain is kept, lowercased. Browsers accept
    // such hosts ("xn--a", "a.b.c.xn--pokxncvks") and real sites use them.
    if (!beStrict && domain !== "" && isASCIIWithoutForbidden(domain)) {
      return domain.toLowerCase();
    }
    return null;
  }
  if (!beStrict) {
    if (result === "") return null;
    for (let i = 0; i < result.length; i++) {
      const c = result.charCodeAt(i);
      if (c < 0x80 && FORBIDDEN_DOMAIN[c] === 1) return null;
    }
  }
  return result;
}

function isASCIIWithoutForbidden(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || FORBIDDEN_DOMAIN[c] === 1) return false;
  }
  return true;
}

// Host parser. Returns the serialized host string, or null on failure.
function parseHost(input, isOpaque) {
  if (input.charCodeAt(0) === 0x5b) {
    if (input.charCodeAt(input.length - 1) !== 0x5d) return null;
    const address = parseIPv6(input.slice(1, -1));
    return address === null ? null : "[" + serializeIPv6(address) + "]";
  }
  if (isOpaque) return parseOpaqueHost(input);
  const domain = percentDecodeString(input);
  const asciiDomain = domainToASCII(domain, false);
  if (asciiDomain === null) return null;
  if (endsInANumber(asciiDomain)) {
    const ipv4 = parseIPv4(asciiDomain);
    return ipv4 === null ? null : serializeIPv4(ipv4);
  }
  return asciiDomain;
}

// ---------------------------------------------------------------------------
// URL records and the basic URL parser
// ---------------------------------------------------------------------------

class URLRecord {
  scheme = "";
  username = "";
  password = "";
  host = null;
  port = null;
  path = [];
  query = null;
  fragment = null;
}

function cloneRecord(r) {
  const c = new URLRecord();
  c.scheme = r.scheme;
  c.username = r.username;
  c.password = r.password;
  c.host = r.host;
  c.port = r.port;
  c.path = typeof r.path === "string" ? r.path : r.path.slice();
  c.query = r.query;
  c.fragment = r.fragment;
  return c;
}

function hasOpaquePath(url) {
  return typeof url.path === "string";
}
function includesCredentials(url) {
  return url.username !== "" || url.password !== "";
}
function cannotHaveUsernamePasswordPort(url) {
  return url.host === null || url.host === "" || url.scheme === "file";
}

function isWindowsDriveLetter(s) {
  if (s.length !== 2 || !isASCIIAlpha(s.charCodeAt(0))) return false;
  const c = s.charCodeAt(1);
  return c === 0x3a || c === 0x7c;
}
function isNormalizedWindowsDriveLetter(s) {
  return s.length === 2 && isASCIIAlpha(s.charCodeAt(0)) && s.charCodeAt(1) === 0x3a;
}
function startsWithWindowsDriveLetter(s, p) {
  const rem = s.length - p;
  if (rem < 2 || !isASCIIAlpha(s.charCodeAt(p))) return false;
  const c1 = s.charCodeAt(p + 1);
  if (c1 !== 0x3a && c1 !== 0x7c) return false;
  if (rem === 2) return true;
  const c2 = s.charCodeAt(p + 2);
  return c2 === 0x2f || c2 === 0x5c || c2 === 0x3f || c2 === 0x23;
}

function isSingleDot(s) {
  const n = s.length;
  if (n === 1) return s === ".";
  return n === 3 && s.charCodeAt(0) === 0x25 && s.charCodeAt(1) === 0x32 && (s.charCodeAt(2) | 0x20) === 0x65;
}
function isDoubleDot(s) {
  switch (s.length) {
    case 2:
      return s === "..";
    case 4: {
      const l = s.toLowerCase();
      return l === ".%2e" || l === "%2e.";
    }
    case 6:
      return s.toLowerCase() === "%2e%2e";
    default:
      return false;
  }
}

function shortenPath(url) {
  const path = url.path;
  if (url.scheme === "file" && path.length === 1 && isNormalizedWindowsDriveLetter(path[0])) return;
  path.pop();
}

function trimControlAndSpace(s) {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}
const TAB_NEWLINE_RE = /[\t\n\r]/g;
function removeTabAndNewline(s) {
  TAB_NEWLINE_RE.lastIndex = 0;
  if (!TAB_NEWLINE_RE.test(s)) return s;
  TAB_NEWLINE_RE.lastIndex = 0;
  return s.replace(TAB_NEWLINE_RE, "");
}

// States.
const SCHEME_START = 1;
const SCHEME = 2;
const NO_SCHEME = 3;
const SPECIAL_RELATIVE_OR_AUTHORITY = 4;
const PATH_OR_AUTHORITY = 5;
const RELATIVE = 6;
const RELATIVE_SLASH = 7;
const SPECIAL_AUTHORITY_SLASHES = 8;
const SPECIAL_AUTHORITY_IGNORE_SLASHES = 9;
const AUTHORITY = 10;
const HOST = 11;
const HOSTNAME = 12;
const PORT = 13;
const FILE = 14;
const FILE_SLASH = 15;
const FILE_HOST = 16;
const PATH_START = 17;
const PATH = 18;
const OPAQUE_PATH = 19;
const QUERY = 20;
const FRAGMENT = 21;

// Fast path for the URLs a server sees most: "http(s)://host[:port][/path][?query]"
// in printable ASCII with a lowercase domain or canonical IPv4 host, no
// credentials, dot segments, fragment or anything the parser would change.
// Returns the record the full parser would produce, or undefined to make
// the caller run the full parser: it accepts only inputs where both agree
// (urltestdata and setters_tests cover the boundary).
function parseSimpleAbsolute(input) {
  const len = input.length;
  let i;
  let scheme;
  if (StringPrototypeStartsWith(input, "http://")) {
    scheme = "http";
    i = 7;
  } else if (StringPrototypeStartsWith(input, "https://")) {
    scheme = "https";
    i = 8;
  } else {
    return undefined;
  }
  // Host: labels of [a-z0-9-], none empty, none starting with "xn--". While
  // scanning, note whether every label so far is a canonical decimal IPv4
  // part (1-3 digits, no leading zero, at most 255).
  const hostStart = i;
  let labelStart = i;
  let labelDigits = true;
  let labels = 0;
  let allParts = true;
  for (;; i++) {
    const c = i < len ? input.charCodeAt(i) : -1;
    if (c === 0x2e || !((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d)) {
      const labelLength = i - labelStart;
      if (labelLength === 0) return undefined;  // empty label, empty host or trailing dot
      labels++;
      if (
        !labelDigits ||
        labelLength > 3 ||
        (labelLength > 1 && input.charCodeAt(labelStart) === 0x30) ||
        +input.slice(labelStart, i) > 255
      ) {
        allParts = false;
      }
      if (c !== 0x2e) break;
      labelStart = i + 1;
      labelDigits = true;
    } else if (c >= 0x61) {
      if (c === 0x78 && i === labelStart && StringPrototypeStartsWith(input, "n--", i + 1)) return undefined;
      labelDigits = false;
    } else if (c === 0x2d) {
      labelDigits = false;
    }
  }
  // A last label of "0x..." is a hexadecimal IPv4 number: the full parser.
  if (input.charCodeAt(labelStart) === 0x30 && input.charCodeAt(labelStart + 1) === 0x78) {
    return undefined;
  }
  // Ends in a number: only a canonical dotted-decimal IPv4 address keeps its
  // text unchanged.
  if (labelDigits && !(labels === 4 && allParts)) return undefined;
  const host = input.slice(hostStart, i);
  let port = null;
  if (i < len && input.charCodeAt(i) === 0x3a) {
    const portStart = ++i;
    while (i < len && input.charCodeAt(i) >= 0x30 && input.charCodeAt(i) <= 0x39) i++;
    const digits = i - portStart;
    if (digits === 0 || digits > 5 || input.charCodeAt(portStart) === 0x30) return undefined;
    port = +input.slice(portStart, i);
    if (port > 65535) return undefined;
    if (port === defaultPort(scheme)) port = null;
  }
  // Path: printable ASCII outside the path percent-encode set, no
  // backslash, no dot segments (nor their %2e spellings).
  let path;
  if (i === len || input.charCodeAt(i) === 0x3f) {
    path = [""];
  } else if (input.charCodeAt(i) === 0x2f) {
    const pathStart = i;
    for (; i < len; i++) {
      const c = input.charCodeAt(i);
      if (c === 0x3f) break;
      if (c <= 0x20 || c >= 0x7f || PATH_SET[c] === 1 || c === 0x5c) return undefined;
      if (c === 0x2e && input.charCodeAt(i - 1) === 0x2f) return undefined;
      if (c === 0x25 && input.charCodeAt(i + 1) === 0x32 && (input.charCodeAt(i + 2) | 0x20) === 0x65) {
        return undefined;
      }
    }
    path = i === pathStart + 1 ? [""] : input.slice(pathStart + 1, i).split("/");
  } else {
    return undefined;
  }
  let query = null;
  if (i < len) {
    // input[i] is "?": the query runs to the end (a fragment is left to the
    // full parser).
    const queryStart = i + 1;
    for (i = queryStart; i < len; i++) {
      const c = input.charCodeAt(i);
      if (c <= 0x20 || c >= 0x7f || SPECIAL_QUERY_SET[c] === 1) return undefined;
    }
    query = input.slice(queryStart);
  }
  const url = new URLRecord();
  url.scheme = scheme;
  url.host = host;
  url.port = port;
  url.path = path;
  url.query = query;
  return url;
}

// Basic URL parser. Without `url`, returns a new record or null on failure.
// With `url` and `stateOverride`, modifies `url` in place; the return value is
// then only meaningful as failure (null) / not failure.
// Characters are examined per UTF-16 code unit: every code point that drives
// a state transition is ASCII, and runs of ordinary characters are scanned and
// percent-encoded as whole slices.
function basicParse(input, base, url, stateOverride) {
  if (url === undefined) {
    const simple = parseSimpleAbsolute(input);
    if (simple !== undefined) return simple;
    url = new URLRecord();
    input = trimControlAndSpace(input);
  }
  input = removeTabAndNewline(input);
  const len = input.length;
  let state = stateOverride || SCHEME_START;
  let buffer = "";
  let special = isSpecialScheme(url.scheme);

  for (let pointer = 0; pointer <= len; pointer++) {
    const c = pointer < len ? input.charCodeAt(pointer) : EOF;
    switch (state) {
      case SCHEME_START:
        if (isASCIIAlpha(c)) {
          state = SCHEME;
          pointer--;
        } else if (!stateOverride) {
          state = NO_SCHEME;
          pointer--;
        } else {
          return null;
        }
        break;

      case SCHEME: {
        let e = pointer;
        let upper = false;
        for (; e < len; e++) {
          const ch = input.charCodeAt(e);
          if (ch >= 0x61 && ch <= 0x7a) continue;
          if (ch >= 0x41 && ch <= 0x5a) upper = true;
          else if (!isSchemeCodePoint(ch)) break;
        }
        if (e < len && input.charCodeAt(e) === 0x3a) {
          buffer = input.slice(pointer, e);
          if (upper) buffer = buffer.toLowerCase();
          pointer = e;
          const bufferSpecial = isSpecialScheme(buffer);
          if (stateOverride) {
            if (special !== bufferSpecial) return url;
            if ((includesCredentials(url) || url.port !== null) && buffer === "file") return url;
            if (url.scheme === "file" && url.host === "") return url;
          }
          url.scheme = buffer;
          special = bufferSpecial;
          if (stateOverride) {
            if (url.port !== null && url.port === defaultPort(buffer)) url.port = null;
            return url;
          }
          buffer = "";
          if (url.scheme === "file") {
            state = FILE;
          } else if (special && base !== null && base.scheme === url.scheme) {
            state = SPECIAL_RELATIVE_OR_AUTHORITY;
          } else if (special) {
            state = SPECIAL_AUTHORITY_SLASHES;
          } else if (input.charCodeAt(pointer + 1) === 0x2f) {
            state = PATH_OR_AUTHORITY;
            pointer++;
          } else {
            url.path = "";
            state = OPAQUE_PATH;
          }
        } else if (!stateOverride) {
          buffer = "";
          state = NO_SCHEME;
          pointer = -1;
        } else {
          return null;
        }
        break;
      }

      case NO_SCHEME:
        if (base === null || (hasOpaquePath(base) && c !== 0x23)) {
          return null;
        } else if (hasOpaquePath(base) && c === 0x23) {
          url.scheme = base.scheme;
          special = isSpecialScheme(url.scheme);
          url.path = base.path;
          url.query = base.query;
          url.fragment = "";
          state = FRAGMENT;
        } else if (base.scheme !== "file") {
          state = RELATIVE;
          pointer--;
        } else {
          state = FILE;
          pointer--;
        }
        break;

      case SPECIAL_RELATIVE_OR_AUTHORITY:
        if (c === 0x2f && input.charCodeAt(pointer + 1) === 0x2f) {
          state = SPECIAL_AUTHORITY_IGNORE_SLASHES;
          pointer++;
        } else {
          state = RELATIVE;
          pointer--;
        }
        break;

      case PATH_OR_AUTHORITY:
        if (c === 0x2f) {
          state = AUTHORITY;
        } else {
          state = PATH;
          pointer--;
        }
        break;

      case RELATIVE:
        url.scheme = base.scheme;
        special = isSpecialScheme(url.scheme);
        if (c === 0x2f || (special && c === 0x5c)) {
          state = RELATIVE_SLASH;
        } else {
          url.username = base.username;
          url.password = base.password;
          url.host = base.host;
          url.port = base.port;
          url.path = base.path.slice();
          url.query = base.query;
          if (c === 0x3f) {
            url.query = "";
            state = QUERY;
          } else if (c === 0x23) {
            url.fragment = "";
            state = FRAGMENT;
          } else if (c !== EOF) {
            url.query = null;
            shortenPath(url);
            state = PATH;
            pointer--;
          }
        }
        break;

      case RELATIVE_SLASH:
        if (special && (c === 0x2f || c === 0x5c)) {
          state = SPECIAL_AUTHORITY_IGNORE_SLASHES;
        } else if (c === 0x2f) {
          state = AUTHORITY;
        } else {
          url.username = base.username;
          url.password = base.password;
          url.host = base.host;
          url.port = base.port;
          state = PATH;
          pointer--;
        }
        break;

      case SPECIAL_AUTHORITY_SLASHES:
        state = SPECIAL_AUTHORITY_IGNORE_SLASHES;
        if (c === 0x2f && input.charCodeAt(pointer + 1) === 0x2f) pointer++;
        else pointer--;
        break;

      case SPECIAL_AUTHORITY_IGNORE_SLASHES:
        if (c !== 0x2f && c !== 0x5c) {
          state = AUTHORITY;
          pointer--;
        }
        break;

      case AUTHORITY: {
        // The authority ends at the first "/", "?", "#" (or "\" if special).
        // Credentials end at the last "@"; earlier "@"s become "%40".
        let e = pointer;
        let at = -1;
        while (e < len) {
          const ch = input.charCodeAt(e);
          if (ch === 0x2f || ch === 0x3f || ch === 0x23 || (special && ch === 0x5c)) break;
          if (ch === 0x40) at = e;
          e++;
        }
        let hostStart = pointer;
        if (at !== -1) {
          const colon = input.indexOf(":", pointer);
          if (colon !== -1 && colon < at) {
            url.username += percentEncode(input, pointer, colon, USERINFO_SET);
            url.password += percentEncode(input, colon + 1, at, USERINFO_SET);
          } else {
            url.username += percentEncode(input, pointer, at, USERINFO_SET);
          }
          if (at + 1 === e) return null; // host-missing
          hostStart = at + 1;
        }
        state = HOST;
        pointer = hostStart - 1;
        break;
      }

      case HOST:
      case HOSTNAME: {
        if (stateOverride && url.scheme === "file") {
          pointer--;
          state = FILE_HOST;
          break;
        }
        let e = pointer;
        let insideBrackets = false;
        while (e < len) {
          const ch = input.charCodeAt(e);
          if (ch === 0x3a && !insideBrackets) break;
          if (ch === 0x2f || ch === 0x3f || ch === 0x23 || (special && ch === 0x5c)) break;
          if (ch === 0x5b) insideBrackets = true;
          else if (ch === 0x5d) insideBrackets = false;
          e++;
        }
        buffer = input.slice(pointer, e);
        if (e < len && input.charCodeAt(e) === 0x3a) {
          if (buffer === "") return null;
          if (stateOverride === HOSTNAME) return null;
          const host = parseHost(buffer, !special);
          if (host === null) return null;
          url.host = host;
          buffer = "";
          state = PORT;
          pointer = e;
        } else {
          if (special && buffer === "") return null;
          if (stateOverride && buffer === "" && (includesCredentials(url) || url.port !== null)) return null;
          const host = parseHost(buffer, !special);
          if (host === null) return null;
          url.host = host;
          buffer = "";
          state = PATH_START;
          if (stateOverride) return url;
          pointer = e - 1;
        }
        break;
      }

      case PORT: {
        let e = pointer;
        while (e < len && isASCIIDigit(input.charCodeAt(e))) e++;
        const t = e < len ? input.charCodeAt(e) : EOF;
        if (t === EOF || t === 0x2f || t === 0x3f || t === 0x23 || (special && t === 0x5c) || stateOverride) {
          if (e > pointer) {
            let port = 0;
            for (let i = pointer; i < e; i++) {
              port = port * 10 + (input.charCodeAt(i) - 0x30);
              if (port > 65535) return null;
            }
            url.port = port === defaultPort(url.scheme) ? null : port;
            if (stateOverride) return url;
          }
          if (stateOverride) return null;
          state = PATH_START;
          pointer = e - 1;
        } else {
          return null;
        }
        break;
      }

      case FILE:
        url.scheme = "file";
        special = true;
        url.host = "";
        if (c === 0x2f || c === 0x5c) {
          state = FILE_SLASH;
        } else if (base !== null && base.scheme === "file") {
          url.host = base.host;
          url.path = base.path.slice();
          url.query = base.query;
          if (c === 0x3f) {
            url.query = "";
            state = QUERY;
          } else if (c === 0x23) {
            url.fragment = "";
            state = FRAGMENT;
          } else if (c !== EOF) {
            url.query = null;
            if (!startsWithWindowsDriveLetter(input, pointer)) shortenPath(url);
            else url.path = [];
            state = PATH;
            pointer--;
          }
        } else {
          state = PATH;
          pointer--;
        }
        break;

      case FILE_SLASH:
        if (c === 0x2f || c === 0x5c) {
          state = FILE_HOST;
        } else {
          if (base !== null && base.scheme === "file") {
            url.host = base.host;
            if (
              !startsWithWindowsDriveLetter(input, pointer) &&
              base.path.length > 0 &&
              isNormalizedWindowsDriveLetter(base.path[0])
            ) {
              url.path.push(base.path[0]);
            }
          }
          state = PATH;
          pointer--;
        }
        break;

      case FILE_HOST: {
        let e = pointer;
        while (e < len) {
          const ch = input.charCodeAt(e);
          if (ch === 0x2f || ch === 0x5c || ch === 0x3f || ch === 0x23) break;
          e++;
        }
        buffer = input.slice(pointer, e);
        pointer = e - 1;
        if (!stateOverride && isWindowsDriveLetter(buffer)) {
          // Windows drive letter quirk: buffer is kept and used by the path state.
          state = PATH;
        } else if (buffer === "") {
          url.host = "";
          if (stateOverride) return url;
          state = PATH_START;
        } else {
          let host = parseHost(buffer, !special);
          if (host === null) return null;
          if (host === "localhost") host = "";
          url.host = host;
          if (stateOverride) return url;
          buffer = "";
          state = PATH_START;
        }
        break;
      }

      case PATH_START:
        if (special) {
          state = PATH;
          if (c !== 0x2f && c !== 0x5c) pointer--;
        } else if (!stateOverride && c === 0x3f) {
          url.query = "";
          state = QUERY;
        } else if (!stateOverride && c === 0x23) {
          url.fragment = "";
          state = FRAGMENT;
        } else if (c !== EOF) {
          state = PATH;
          if (c !== 0x2f) pointer--;
        } else if (stateOverride && url.host === null) {
          url.path.push("");
        }
        break;

      case PATH: {
        let e = pointer;
        while (e < len) {
          const ch = input.charCodeAt(e);
          if (ch === 0x2f || (special && ch === 0x5c) || (!stateOverride && (ch === 0x3f || ch === 0x23))) break;
          e++;
        }
        if (e > pointer) buffer += percentEncode(input, pointer, e, PATH_SET);
        const t = e < len ? input.charCodeAt(e) : EOF;
        pointer = e;
        const slash = t === 0x2f || (special && t === 0x5c);
        if (isDoubleDot(buffer)) {
          shortenPath(url);
          if (!slash) url.path.push("");
        } else if (isSingleDot(buffer)) {
          if (!slash) url.path.push("");
        } else {
          if (url.scheme === "file" && url.path.length === 0 && isWindowsDriveLetter(buffer)) {
            buffer = buffer[0] + ":";
          }
          url.path.push(buffer);
        }
        buffer = "";
        if (t === 0x3f) {
          url.query = "";
          state = QUERY;
        } else if (t === 0x23) {
          url.fragment = "";
          state = FRAGMENT;
        }
        break;
      }

      case OPAQUE_PATH: {
        let e = pointer;
        while (e < len) {
          const ch = input.charCodeAt(e);
          if (ch === 0x3f || ch === 0x23) break;
          e++;
        }
        if (e < len && e > pointer && input.charCodeAt(e - 1) === 0x20) {
          // A space directly before "?" or "#" is encoded so that removing
          // the query/fragment later cannot leave a trailing space.
          url.path += percentEncode(input, pointer, e - 1, C0_CONTROL_SET) + "%20";
        } else {
          url.path += percentEncode(input, pointer, e, C0_CONTROL_SET);
        }
        pointer = e;
        if (e < len) {
          if (input.charCodeAt(e) === 0x3f) {
            url.query = "";
            state = QUERY;
          } else {
            url.fragment = "";
            state = FRAGMENT;
          }
        }
        break;
      }

      case QUERY: {
        let e = stateOverride ? len : input.indexOf("#", pointer);
        if (e === -1) e = len;
        url.query += percentEncode(input, pointer, e, special ? SPECIAL_QUERY_SET : QUERY_SET);
        pointer = e;
        if (e < len) {
          url.fragment = "";
          state = FRAGMENT;
        }
        break;
      }

      case FRAGMENT:
        url.fragment += percentEncode(input, pointer, len, FRAGMENT_SET);
        pointer = len;
        break;
    }
  }
  return url;
}

function serializePath(url) {
  const path = url.path;
  if (typeof path === "string") return path;
  let out = "";
  for (let i = 0; i < path.length; i++) out += "/" + path[i];
  return out;
}

function serializeURL(url, excludeFragment) {
  let out = url.scheme + ":";
  if (url.host !== null) {
    out += "//";
    if (url.username !== "" || url.password !== "") {
      out += url.username;
      if (url.password !== "") out += ":" + url.password;
      out += "@";
    }
    out += url.host;
    if (url.port !== null) out += ":" + url.port;
  } else if (typeof url.path !== "string" && url.path.length > 1 && url.path[0] === "") {
    out += "/.";
  }
  out += serializePath(url);
  if (url.query !== null) out += "?" + url.query;
  if (!excludeFragment && url.fragment !== null) out += "#" + url.fragment;
  return out;
}

function serializeOrigin(url) {
  switch (url.scheme) {
    case "blob": {
      const pathURL = basicParse(serializePath(url), null);
      if (pathURL !== null && (pathURL.scheme === "http" || pathURL.scheme === "https")) {
        return serializeOrigin(pathURL);
      }
      return "null";
    }
    case "ftp":
    case "http":
    case "https":
    case "ws":
    case "wss":
      return url.scheme + "://" + url.host + (url.port !== null ? ":" + url.port : "");
    default:
      return "null";
  }
}

// ---------------------------------------------------------------------------
// application/x-www-form-urlencoded
// ---------------------------------------------------------------------------

const PLUS_RE = /\+/g;

// Returns an array of [name, value] pairs.
function parseUrlencoded(input) {
  const list = [];
  const len = input.length;
  let start = 0;
  while (start <= len) {
    let end = input.indexOf("&", start);
    if (end === -1) end = len;
    if (end > start) {
      const eq = input.indexOf("=", start);
      let name;
      let value;
      if (eq !== -1 && eq < end) {
        name = input.slice(start, eq);
        value = input.slice(eq + 1, end);
      } else {
        name = input.slice(start, end);
        value = "";
      }
      if (name.indexOf("+") !== -1) name = name.replace(PLUS_RE, " ");
      if (value.indexOf("+") !== -1) value = value.replace(PLUS_RE, " ");
      list.push([percentDecodeString(name), percentDecodeString(value)]);
    }
    start = end + 1;
  }
  return list;
}

function serializeUrlencoded(list) {
  let out = "";
  for (let i = 0; i < list.length; i++) {
    if (i !== 0) out += "&";
    out += urlencodedEncode(list[i][0]) + "=" + urlencodedEncode(list[i][1]);
  }
  return out;
}

const kInternal = Symbol("internal");

// Cross-class private accessors, filled in by static blocks.
let getRecord; // (URL) -> record
let getParamsList; // (URLSearchParams) -> list
let setParamsList; // (URLSearchParams, list) -> void
let newParamsForURL; // (URL, record) -> URLSearchParams

// ---------------------------------------------------------------------------
// URLSearchParams
// ---------------------------------------------------------------------------

const newParamsIterator = pairIterator("URLSearchParams", (params) => getParamsList(params));

class URLSearchParams {
  #list = [];
  #url = null; // associated URL object, or null

  constructor(init = undefined) {
    if (init === kInternal || init === undefined) return;
    if (init !== null && (typeof init === "object" || typeof init === "function")) {
      const method = init[Symbol.iterator];
      if (method !== undefined && method !== null) {
        if (typeof method !== "function") {
          throw new TypeError("Failed to construct 'URLSearchParams': @@iterator is not callable.");
        }
        if (#list in init && method === URLSearchParams.prototype.entries) {
          const src = init.#list;
          const list = new Array(src.length);
          for (let i = 0; i < src.length; i++) list[i] = [src[i][0], src[i][1]];
          this.#list = list;
          return;
        }
        this.#list = sequenceToPairs(init, method);
        return;
      }
      this.#list = recordToPairs(init);
      return;
    }
    let s = toUSVString(init);
    if (s.charCodeAt(0) === 0x3f) s = s.slice(1);
    if (s !== "") this.#list = parseUrlencoded(s);
  }

  static {
    getParamsList = (p) => p.#list;
    setParamsList = (p, list) => {
      p.#list = list;
    };
    newParamsForURL = (urlObject, record) => {
      const p = new URLSearchParams(kInternal);
      p.#url = urlObject;
      if (record.query !== null && record.query !== "") p.#list = parseUrlencoded(record.query);
      return p;
    };
  }

  #update() {
    const urlObject = this.#url;
    if (urlObject === null) return;
    const serialized = serializeUrlencoded(this.#list);
    getRecord(urlObject).query = serialized === "" ? null : serialized;
  }

  get size() {
    return this.#list.length;
  }

  append(name, value) {
    requireArguments(arguments.length, 2, "Failed to execute 'append' on 'URLSearchParams'");
    this.#list.push([toUSVString(name), toUSVString(value)]);
    this.#update();
  }

  delete(name, value = undefined) {
    requireArguments(arguments.length, 1, "Failed to execute 'delete' on 'URLSearchParams'");
    name = toUSVString(name);
    const list = this.#list;
    let j = 0;
    if (value === undefined) {
      for (let i = 0; i < list.length; i++) if (list[i][0] !== name) list[j++] = list[i];
    } else {
      value = toUSVString(value);
      for (let i = 0; i < list.length; i++) {
        if (list[i][0] !== name || list[i][1] !== value) list[j++] = list[i];
      }
    }
    list.length = j;
    this.#update();
  }

  get(name) {
    requireArguments(arguments.length, 1, "Failed to execute 'get' on 'URLSearchParams'");
    name = toUSVString(name);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i][0] === name) return list[i][1];
    return null;
  }

  getAll(name) {
    requireArguments(arguments.length, 1, "Failed to execute 'getAll' on 'URLSearchParams'");
    name = toUSVString(name);
    const list = this.#list;
    const out = [];
    for (let i = 0; i < list.length; i++) if (list[i][0] === name) out.push(list[i][1]);
    return out;
  }

  has(name, value = undefined) {
    requireArguments(arguments.length, 1, "Failed to execute 'has' on 'URLSearchParams'");
    name = toUSVString(name);
    const list = this.#list;
    if (value === undefined) {
      for (let i = 0; i < list.length; i++) if (list[i][0] === name) return true;
    } else {
      value = toUSVString(value);
      for (let i = 0; i < list.length; i++) if (list[i][0] === name && list[i][1] === value) return true;
    }
    return false;
  }

  set(name, value) {
    requireArguments(arguments.length, 2, "Failed to execute 'set' on 'URLSearchParams'");
    name = toUSVString(name);
    value = toUSVString(value);
    const list = this.#list;
    let found = false;
    let j = 0;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === name) {
        if (found) continue;
        found = true;
        list[i] = [name, value];
      }
      list[j++] = list[i];
    }
    list.length = j;
    if (!found) list.push([name, value]);
    this.#update();
  }

  sort() {
    // Array.prototype.sort is stable; "<" compares UTF-16 code units.
    this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#update();
  }

  forEach(callback, thisArg = undefined) {
    requireArguments(arguments.length, 1, "Failed to execute 'forEach' on 'URLSearchParams'");
    if (typeof callback !== "function") {
      throw new TypeError("Failed to execute 'forEach' on 'URLSearchParams': parameter 1 is not of type 'Function'.");
    }
    for (let i = 0; i < this.#list.length; i++) {
      const pair = this.#list[i];
      callback.call(thisArg, pair[1], pair[0], this);
    }
  }

  keys() {
    return newParamsIterator(this, "key");
  }

  values() {
    return newParamsIterator(this, "value");
  }

  entries() {
    return newParamsIterator(this, "key+value");
  }

  toString() {
    return serializeUrlencoded(this.#list);
  }

  static isURLSearchParams(v) {
    return v !== null && typeof v === "object" && #list in v;
  }
}

// Brand check usable by other runtime files; not exposed on the class.
const isURLSearchParams = URLSearchParams.isURLSearchParams;
delete URLSearchParams.isURLSearchParams;

function sequenceToPairs(init, method) {
  const iterator = method.call(init);
  if (iterator === null || (typeof iterator !== "object" && typeof iterator !== "function")) {
    throw new TypeError("Failed to construct 'URLSearchParams': iterator is not an object.");
  }
  const next = iterator.next;
  const list = [];
  for (;;) {
    const result = next.call(iterator);
    if (result === null || (typeof result !== "object" && typeof result !== "function")) {
      throw new TypeError("Failed to construct 'URLSearchParams': iterator result is not an object.");
    }
    if (result.done) break;
    const pair = result.value;
    if (pair === null || (typeof pair !== "object" && typeof pair !== "function")) {
      throw new TypeError(
        "Failed to construct 'URLSearchParams': The provided value cannot be converted to a sequence.",
      );
    }
    const items = [];
    for (const item of pair) items.push(toUSVString(item));
    if (items.length !== 2) {
      throw new TypeError(
        "Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements.",
      );
    }
    list.push(items);
  }
  return list;
}

function recordToPairs(init) {
  const list = [];
  let indexByKey = null;
  const keys = Reflect.ownKeys(init);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const desc = Reflect.getOwnPropertyDescriptor(init, key);
    if (desc === undefined || !desc.enumerable) continue;
    const typedKey = toUSVString(key);
    const typedValue = toUSVString(init[key]);
    // Distinct keys can collide after USVString conversion (lone surrogates).
    if (indexByKey === null) indexByKey = new Map();
    const existing = indexByKey.get(typedKey);
    if (existing !== undefined) {
      list[existing][1] = typedValue;
    } else {
      indexByKey.set(typedKey, list.length);
      list.push([typedKey, typedValue]);
    }
  }
  return list;
}

Object.defineProperty(URLSearchParams.prototype, Symbol.iterator, {
  value: URLSearchParams.prototype.entries,
  writable: true,
  enumerable: false,
  configurable: true,
});
finishInterface(URLSearchParams);

// ---------------------------------------------------------------------------
// URL
// ---------------------------------------------------------------------------

// The username and password setters' steps.
function setUserinfo(url, field, value) {
  if (cannotHaveUsernamePasswordPort(url)) return;
  url[field] = percentEncode(value, 0, value.length, USERINFO_SET);
}

// The host and hostname setters' steps.
function setHost(url, value, stateOverride) {
  if (hasOpaquePath(url)) return;
  basicParse(value, null, url, stateOverride);
}

function parseBaseArg(base) {
  const s = toUSVString(base);
  return basicParse(s, null);
}

class URL {
  #url;
  #query = null; // URLSearchParams, created on first access of searchParams

  constructor(url, base = undefined) {
    if (url === kInternal) {
      this.#url = base;
      return;
    }
    requireArguments(arguments.length, 1, "Failed to construct 'URL'");
    url = toUSVString(url);
    let baseRecord = null;
    if (base !== undefined) {
      const b = toUSVString(base);
      baseRecord = basicParse(b, null);
      if (baseRecord === null) throw new TypeError(`Invalid URL: ${url} (invalid base URL: ${b})`);
    }
    const record = basicParse(url, baseRecord);
    if (record === null) throw new TypeError(`Invalid URL: ${url}`);
    this.#url = record;
  }

  static {
    getRecord = (u) => u.#url;
  }

  static canParse(url, base = undefined) {
    requireArguments(arguments.length, 1, "Failed to execute 'canParse' on 'URL'");
    url = toUSVString(url);
    let baseRecord = null;
    if (base !== undefined) {
      baseRecord = parseBaseArg(base);
      if (baseRecord === null) return false;
    }
    return basicParse(url, baseRecord) !== null;
  }

  static parse(url, base = undefined) {
    requireArguments(arguments.length, 1, "Failed to execute 'parse' on 'URL'");
    url = toUSVString(url);
    let baseRecord = null;
    if (base !== undefined) {
      baseRecord = parseBaseArg(base);
      if (baseRecord === null) return null;
    }
    const record = basicParse(url, baseRecord);
    return record === null ? null : new URL(kInternal, record);
  }

  get href() {
    return serializeURL(this.#url, false);
  }

  set href(value) {
    value = toUSVString(value);
    const record = basicParse(value, null);
    if (record === null) throw new TypeError(`Invalid URL: ${value}`);
    this.#url = record;
    if (this.#query !== null) {
      setParamsList(this.#query, record.query !== null && record.query !== "" ? parseUrlencoded(record.query) : []);
    }
  }

  get origin() {
    return serializeOrigin(this.#url);
  }

  get protocol() {
    return this.#url.scheme + ":";
  }

  set protocol(value) {
    value = toUSVString(value);
    basicParse(value + ":", null, this.#url, SCHEME_START);
  }

  get username() {
    return this.#url.username;
  }

  set username(value) {
    value = toUSVString(value);
    setUserinfo(this.#url, "username", value);
  }

  get password() {
    return this.#url.password;
  }

  set password(value) {
    value = toUSVString(value);
    setUserinfo(this.#url, "password", value);
  }

  get host() {
    const url = this.#url;
    if (url.host === null) return "";
    if (url.port === null) return url.host;
    return url.host + ":" + url.port;
  }

  set host(value) {
    value = toUSVString(value);
    setHost(this.#url, value, HOST);
  }

  get hostname() {
    const host = this.#url.host;
    return host === null ? "" : host;
  }

  set hostname(value) {
    value = toUSVString(value);
    setHost(this.#url, value, HOSTNAME);
  }

  get port() {
    const port = this.#url.port;
    return port === null ? "" : "" + port;
  }

  set port(value) {
    value = toUSVString(value);
    const url = this.#url;
    if (cannotHaveUsernamePasswordPort(url)) return;
    if (value === "") url.port = null;
    else basicParse(value, null, url, PORT);
  }

  get pathname() {
    return serializePath(this.#url);
  }

  set pathname(value) {
    value = toUSVString(value);
    const url = this.#url;
    if (hasOpaquePath(url)) return;
    url.path = [];
    basicParse(value, null, url, PATH_START);
  }

  get search() {
    const query = this.#url.query;
    return query === null || query === "" ? "" : "?" + query;
  }

  set search(value) {
    value = toUSVString(value);
    const url = this.#url;
    if (value === "") {
      url.query = null;
      if (this.#query !== null) setParamsList(this.#query, []);
      return;
    }
    const input = value.charCodeAt(0) === 0x3f ? value.slice(1) : value;
    url.query = "";
    basicParse(input, null, url, QUERY);
    if (this.#query !== null) setParamsList(this.#query, parseUrlencoded(input));
  }

  get searchParams() {
    let q = this.#query;
    if (q === null) {
      q = newParamsForURL(this, this.#url);
      this.#query = q;
    }
    return q;
  }

  get hash() {
    const fragment = this.#url.fragment;
    return fragment === null || fragment === "" ? "" : "#" + fragment;
  }

  set hash(value) {
    value = toUSVString(value);
    const url = this.#url;
    if (value === "") {
      url.fragment = null;
      return;
    }
    const input = value.charCodeAt(0) === 0x23 ? value.slice(1) : value;
    url.fragment = "";
    basicParse(input, null, url, FRAGMENT);
  }

  toString() {
    return serializeURL(this.#url, false);
  }

  toJSON() {
    return serializeURL(this.#url, false);
  }

  static isURL(v) {
    return v !== null && typeof v === "object" && #url in v;
  }
}

const isURL = URL.isURL;
delete URL.isURL;

finishInterface(URL);

// ---------------------------------------------------------------------------
// Exports for other runtime files
// ---------------------------------------------------------------------------

internals.URL = URL;
internals.URLSearchParams = URLSearchParams;

// parseURL(input: string, base?: string | record | null) -> record | null
internals.parseURL = (input, base) => {
  let baseRecord = null;
  if (base !== undefined && base !== null) {
    baseRecord = typeof base === "string" ? basicParse(base, null) : base;
    if (baseRecord === null) return null;
  }
  return basicParse(typeof input === "string" ? input : `${input}`, baseRecord);
};
// serializeURL(record, excludeFragment?: boolean) -> string
internals.serializeURL = (record, excludeFragment) => serializeURL(record, excludeFragment === true);
// serializeURLOrigin(record) -> "scheme://host[:port]" or "null"
internals.serializeURLOrigin = serializeOrigin;
// urlRecordOf(URL object) -> a copy of its record (null if not a URL)
internals.urlRecordOf = (u) => (isURL(u) ? cloneRecord(getRecord(u)) : null);
internals.isURL = isURL;
internals.isURLSearchParams = isURLSearchParams;
// serializeURLSearchParams(params) -> string (unaffected by user patching of toString)
internals.serializeURLSearchParams = (p) => serializeUrlencoded(getParamsList(p));
// application/x-www-form-urlencoded parser / serializer on [name, value] pairs.
internals.parseUrlencoded = (s) => parseUrlencoded(`${s}`);
internals.serializeUrlencoded = serializeUrlencoded;
// UTF-8 percent-encode with the component percent-encode set (encodeURIComponent-like).
internals.percentEncodeComponent = (s) => percentEncode(s, 0, s.length, COMPONENT_SET);
