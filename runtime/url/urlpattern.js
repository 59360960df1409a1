// URLPattern (https://urlpattern.spec.whatwg.org/).
//
// Body of `(function (native, internals) { "use strict"; ... })`, run once
// per isolate, on its first use of URLPattern (runtime/js/lazy.js): its top
// level uses only internals.primordials and what url.js put on internals. Canonicalization goes through url.js's parser
// (internals.parseURL); the state-override entry points the spec uses are
// emulated on top of it.

const { finishInterface, brandCheck, isObject, toUSVString, createDataProperty } = internals;
const URL_ = internals.URL;
const parseURL = internals.parseURL;
const { RegExpCtor, RegExpPrototypeExec } = internals.primordials;

const SPECIAL_SCHEMES = ["ftp", "file", "http", "https", "ws", "wss"];
const DEFAULT_PORTS = { __proto__: null, ftp: "21", http: "80", https: "443", ws: "80", wss: "443" };
const COMPONENTS = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"];
// The spec compiles with the `v` flag; V8 10.2 lacks it, so fall back to `u`
// (patterns using set notation such as `[\d&&[0-1]]` are then rejected).
const REGEXP_FLAGS = (() => {
  try {
    new RegExpCtor("", "v");
    return "v";
  } catch (e) {
    return "u";
  }
})();

function typeError(msg) {
  return new TypeError(`URLPattern: ${msg}`);
}

// ---------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------

const ID_START_RE = /[$_\p{ID_Start}]/u;
const ID_CONTINUE_RE = /[$\u200C\u200D\p{ID_Continue}]/u;

function isValidNameCodePoint(cp, first) {
  const s = String.fromCodePoint(cp);
  return first ? ID_START_RE.test(s) : ID_CONTINUE_RE.test(s);
}

function isASCII(cp) {
  return cp >= 0 && cp <= 0x7f;
}

function tokenize(input, policy) {
  const tokens = [];
  const len = input.length;
  let index = 0;
  let nextIndex = 0;
  let cp = 0;
  const getNext = () => {
    cp = input.codePointAt(nextIndex);
    nextIndex += cp > 0xffff ? 2 : 1;
  };
  const seekAndGetNext = (i) => {
    nextIndex = i;
    getNext();
  };
  const addToken = (type, nextPos, valuePos, valueLen) => {
    tokens.push({ type, index, value: input.substring(valuePos, valuePos + valueLen) });
    index = nextPos;
  };
  const addTokenDefault = (type) => addToken(type, nextIndex, index, nextIndex - index);
  const tokenizingError = (nextPos, valuePos) => {
    if (policy === "strict") throw typeError(`invalid pattern "${input}"`);
    addToken("invalid-char", nextPos, valuePos, nextPos - valuePos);
  };

  while (index < len) {
    seekAndGetNext(index);
    if (cp === 0x2a) {
      addTokenDefault("asterisk");
      continue;
    }
    if (cp === 0x2b || cp === 0x3f) {
      addTokenDefault("other-modifier");
      continue;
    }
    if (cp === 0x5c) {
      if (index === len - 1) {
        tokenizingError(nextIndex, index);
        continue;
      }
      const escapedIndex = nextIndex;
      getNext();
      addToken("escaped-char", nextIndex, escapedIndex, nextIndex - escapedIndex);
      continue;
    }
    if (cp === 0x7b) {
      addTokenDefault("open");
      continue;
    }
    if (cp === 0x7d) {
      addTokenDefault("close");
      continue;
    }
    if (cp === 0x3a) {
      let namePosition = nextIndex;
      const nameStart = namePosition;
      while (namePosition < len) {
        seekAndGetNext(namePosition);
        if (!isValidNameCodePoint(cp, namePosition === nameStart)) break;
        namePosition = nextIndex;
      }
      if (namePosition <= nameStart) {
        tokenizingError(nameStart, index);
        continue;
      }
      addToken("name", namePosition, nameStart, namePosition - nameStart);
      continue;
    }
    if (cp === 0x28) {
      let depth = 1;
      let regexpPosition = nextIndex;
      const regexpStart = regexpPosition;
      let error = false;
      while (regexpPosition < len) {
        seekAndGetNext(regexpPosition);
        if (!isASCII(cp)) {
          tokenizingError(regexpStart, index);
          error = true;
          break;
        }
        if (regexpPosition === regexpStart && cp === 0x3f) {
          tokenizingError(regexpStart, index);
          error = true;
          break;
        }
        if (cp === 0x5c) {
          if (regexpPosition === len - 1) {
            tokenizingError(regexpStart, index);
            error = true;
            break;
          }
          getNext();
          if (!isASCII(cp)) {
            tokenizingError(regexpStart, index);
            error = true;
            break;
          }
          regexpPosition = nextIndex;
          continue;
        }
        if (cp === 0x29) {
          depth--;
          if (depth === 0) {
            regexpPosition = nextIndex;
            break;
          }
        } else if (cp === 0x28) {
          depth++;
          if (regexpPosition === len - 1) {
            tokenizingError(regexpStart, index);
            error = true;
            break;
          }
          const temporaryPosition = nextIndex;
          getNext();
          if (cp !== 0x3f) {
            tokenizingError(regexpStart, index);
            error = true;
            break;
          }
          nextIndex = temporaryPosition;
        }
        regexpPosition = nextIndex;
      }
      if (error) continue;
      if (depth !== 0) {
        tokenizingError(regexpStart, index);
        continue;
      }
      const regexpLength = regexpPosition - regexpStart - 1;
      if (regexpLength === 0) {
        tokenizingError(regexpStart, index);
        continue;
      }
      addToken("regexp", regexpPosition, regexpStart, regexpLength);
      continue;
    }
    addTokenDefault("char");
  }
  tokens.push({ type: "end", index, value: "" });
  return tokens;
}

// ---------------------------------------------------------------------------
// Pattern parser
// ---------------------------------------------------------------------------

const FULL_WILDCARD = ".*";

function escapeRegExpString(s) {
  return s.replace(/[.+*?^${}()[\]|/\\]/g, "\\$&");
}

function escapePatternString(s) {
  return s.replace(/[+*?:{}()\\]/g, "\\$&");
}

function segmentWildcardRegExp(options) {
  return `[^${escapeRegExpString(options.delimiter)}]+?`;
}

// The segment wildcard as compiled. With an empty delimiter it is `[^]+?`,
// which some V8 versions match against nothing under the `v` flag; `[\s\S]`
// is the same set.
function segmentWildcardForMatching(options) {
  return options.delimiter === "" ? "[\\s\\S]+?" : segmentWildcardRegExp(options);
}

function modifierString(m) {
  return m === "optional" ? "?" : m === "zero-or-more" ? "*" : m === "one-or-more" ? "+" : "";
}

function parsePatternString(input, options, encode) {
  const tokens = tokenize(input, "strict");
  const segmentWildcard = segmentWildcardRegExp(options);
  const parts = [];
  let pendingFixedValue = "";
  let index = 0;
  let nextNumericName = 0;

  const tryConsume = (type) => {
    const t = tokens[index];
    if (t.type !== type) return null;
    index++;
    return t;
  };
  const tryConsumeModifier = () => tryConsume("other-modifier") || tryConsume("asterisk");
  const tryConsumeRegexpOrWildcard = (nameToken) => {
    let t = tryConsume("regexp");
    if (nameToken === null && t === null) t = tryConsume("asterisk");
    return t;
  };
  const consumeRequired = (type) => {
    const t = tryConsume(type);
    if (t === null) throw typeError(`invalid pattern "${input}"`);
    return t;
  };
  const consumeText = () => {
    let result = "";
    for (;;) {
      const t = tryConsume("char") || tryConsume("escaped-char");
      if (t === null) break;
      result += t.value;
    }
    return result;
  };
  const maybeAddPartFromPendingFixedValue = () => {
    if (pendingFixedValue === "") return;
    const encoded = encode(pendingFixedValue);
    pendingFixedValue = "";
    parts.push({ type: "fixed-text", value: encoded, modifier: "none", name: "", prefix: "", suffix: "" });
  };
  const addPart = (prefix, nameToken, regexpOrWildcardToken, suffix, modifierToken) => {
    let modifier = "none";
    if (modifierToken !== null) {
      modifier = modifierToken.value === "?" ? "optional" : modifierToken.value === "*" ? "zero-or-more" : "one-or-more";
    }
    if (nameToken === null && regexpOrWildcardToken === null && modifier === "none") {
      pendingFixedValue += prefix;
      return;
    }
    maybeAddPartFromPendingFixedValue();
    if (nameToken === null && regexpOrWildcardToken === null) {
      if (prefix === "") return;
      parts.push({ type: "fixed-text", value: encode(prefix), modifier, name: "", prefix: "", suffix: "" });
      return;
    }
    let regexpValue;
    if (regexpOrWildcardToken === null) regexpValue = segmentWildcard;
    else if (regexpOrWildcardToken.type === "asterisk") regexpValue = FULL_WILDCARD;
    else regexpValue = regexpOrWildcardToken.value;
    let type = "regexp";
    if (regexpValue === segmentWildcard) {
      type = "segment-wildcard";
      regexpValue = "";
    } else if (regexpValue === FULL_WILDCARD) {
      type = "full-wildcard";
      regexpValue = "";
    }
    let name = "";
    if (nameToken !== null) name = nameToken.value;
    else if (regexpOrWildcardToken !== null) name = String(nextNumericName++);
    for (const p of parts) {
      if (p.name === name) throw typeError(`duplicate name "${name}" in "${input}"`);
    }
    parts.push({ type, value: regexpValue, modifier, name, prefix: encode(prefix), suffix: encode(suffix) });
  };

  while (index < tokens.length) {
    const charToken = tryConsume("char");
    let nameToken = tryConsume("name");
    let regexpOrWildcardToken = tryConsumeRegexpOrWildcard(nameToken);
    if (nameToken !== null || regexpOrWildcardToken !== null) {
      let prefix = charToken !== null ? charToken.value : "";
      if (prefix !== "" && prefix !== options.prefix) {
        pendingFixedValue += prefix;
        prefix = "";
      }
      maybeAddPartFromPendingFixedValue();
      const modifierToken = tryConsumeModifier();
      addPart(prefix, nameToken, regexpOrWildcardToken, "", modifierToken);
      continue;
    }
    let fixedToken = charToken;
    if (fixedToken === null) fixedToken = tryConsume("escaped-char");
    if (fixedToken !== null) {
      pendingFixedValue += fixedToken.value;
      continue;
    }
    const openToken = tryConsume("open");
    if (openToken !== null) {
      const prefix = consumeText();
      nameToken = tryConsume("name");
      regexpOrWildcardToken = tryConsumeRegexpOrWildcard(nameToken);
      const suffix = consumeText();
      consumeRequired("close");
      const modifierToken = tryConsumeModifier();
      addPart(prefix, nameToken, regexpOrWildcardToken, suffix, modifierToken);
      continue;
    }
    maybeAddPartFromPendingFixedValue();
    consumeRequired("end");
  }
  return parts;
}

function generateRegExpAndNames(parts, options) {
  let result = "^";
  const names = [];
  for (const part of parts) {
    if (part.type === "fixed-text") {
      if (part.modifier === "none") result += escapeRegExpString(part.value);
      else result += `(?:${escapeRegExpString(part.value)})${modifierString(part.modifier)}`;
      continue;
    }
    names.push(part.name);
    let regexpValue = part.value;
    if (part.type === "segment-wildcard") regexpValue = segmentWildcardForMatching(options);
    else if (part.type === "full-wildcard") regexpValue = FULL_WILDCARD;
    const m = modifierString(part.modifier);
    if (part.prefix === "" && part.suffix === "") {
      if (part.modifier === "none" || part.modifier === "optional") result += `(${regexpValue})${m}`;
      else result += `((?:${regexpValue})${m})`;
      continue;
    }
    const prefix = escapeRegExpString(part.prefix);
    const suffix = escapeRegExpString(part.suffix);
    if (part.modifier === "none" || part.modifier === "optional") {
      result += `(?:${prefix}(${regexpValue})${suffix})${m}`;
      continue;
    }
    result += `(?:${prefix}((?:${regexpValue})(?:${suffix}${prefix}(?:${regexpValue}))*)${suffix})`;
    if (part.modifier === "zero-or-more") result += "?";
  }
  return { regexp: result + "$", names };
}

const ASCII_DIGIT_RE = /^[0-9]/;

function generatePatternString(parts, options) {
  let result = "";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const previous = i > 0 ? parts[i - 1] : null;
    const next = i < parts.length - 1 ? parts[i + 1] : null;
    if (part.type === "fixed-text") {
      if (part.modifier === "none") result += escapePatternString(part.value);
      else result += `{${escapePatternString(part.value)}}${modifierString(part.modifier)}`;
      continue;
    }
    const customName = !ASCII_DIGIT_RE.test(part.name);
    let needsGrouping = part.suffix !== "" || (part.prefix !== "" && part.prefix !== options.prefix);
    if (
      !needsGrouping &&
      customName &&
      part.type === "segment-wildcard" &&
      part.modifier === "none" &&
      next !== null &&
      next.prefix === "" &&
      next.suffix === ""
    ) {
      if (next.type === "fixed-text") {
        if (next.value !== "" && isValidNameCodePoint(next.value.codePointAt(0), false)) needsGrouping = true;
      } else if (ASCII_DIGIT_RE.test(next.name)) {
        needsGrouping = true;
      }
    }
    if (
      !needsGrouping &&
      part.prefix === "" &&
      previous !== null &&
      previous.type === "fixed-text" &&
      previous.value !== "" &&
      previous.value[previous.value.length - 1] === options.prefix
    ) {
      needsGrouping = true;
    }
    if (needsGrouping) result += "{";
    result += escapePatternString(part.prefix);
    if (customName) result += `:${part.name}`;
    if (part.type === "regexp") {
      result += `(${part.value})`;
    } else if (part.type === "segment-wildcard" && !customName) {
      result += `(${segmentWildcardRegExp(options)})`;
    } else if (part.type === "full-wildcard") {
      if (
        !customName &&
        (previous === null ||
          previous.type === "fixed-text" ||
          previous.modifier !== "none" ||
          needsGrouping ||
          part.prefix !== "")
      ) {
        result += "*";
      } else {
        result += `(${FULL_WILDCARD})`;
      }
    }
    if (
      part.type === "segment-wildcard" &&
      customName &&
      part.suffix !== "" &&
      isValidNameCodePoint(part.suffix.codePointAt(0), false)
    ) {
      result += "\\";
    }
    result += escapePatternString(part.suffix);
    if (needsGrouping) result += "}";
    result += modifierString(part.modifier);
  }
  return result;
}

const DEFAULT_OPTIONS = { delimiter: "", prefix: "", ignoreCase: false };
const HOSTNAME_OPTIONS = { delimiter: ".", prefix: "", ignoreCase: false };
const PATHNAME_OPTIONS = { delimiter: "/", prefix: "/", ignoreCase: false };

function compileComponent(input, encode, options) {
  const parts = parsePatternString(input, options, encode);
  const { regexp, names } = generateRegExpAndNames(parts, options);
  let re;
  try {
    re = new RegExpCtor(regexp, options.ignoreCase ? REGEXP_FLAGS + "i" : REGEXP_FLAGS);
  } catch (e) {
    throw typeError(`invalid regular expression in "${input}": ${e.message}`);
  }
  return {
    patternString: generatePatternString(parts, options),
    regexp: re,
    groupNameList: names,
    hasRegExpGroups: parts.some((p) => p.type === "regexp"),
  };
}


function execComponent(component, input) {
  return RegExpPrototypeExec(component.regexp, input);
}

function protocolComponentMatchesSpecialScheme(component) {
  for (const scheme of SPECIAL_SCHEMES) {
    if (execComponent(component, scheme) !== null) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Canonicalization (the URL parser with a state override, emulated)
// ---------------------------------------------------------------------------

const TAB_NEWLINE_RE = /[\t\n\r]/g;
const CONTROL_SPACE_RE = /[\u0000-\u0020]/g;
const percentByte = (c) => "%" + (c.charCodeAt(0) < 16 ? "0" : "") + c.charCodeAt(0).toString(16).toUpperCase();

function isSpecialScheme(s) {
  return SPECIAL_SCHEMES.includes(s);
}

function canonicalizeProtocol(value) {
  if (value === "") return value;
  const r = parseURL(`${value}://dummy.invalid/`);
  if (r === null) throw typeError(`invalid protocol "${value}"`);
  return r.scheme;
}

function makeCredentialCanonicalizer(which) {
  return (value) => {
    if (value === "") return value;
    const url = new URL_("fake://dummy.invalid/");
    url[which] = value;
    return url[which];
  };
}
const canonicalizeUsername = makeCredentialCanonicalizer("username");
const canonicalizePassword = makeCredentialCanonicalizer("password");

function canonicalizeHostname(value, protocol) {
  if (value === "") return value;
  // Without a protocol (pattern compilation, or an input without one) the
  // host is parsed as a special URL's, as implementations and WPT expect.
  const special = protocol === undefined || protocol === "" || isSpecialScheme(protocol);
  const input = value.replace(TAB_NEWLINE_RE, "");
  // Hostname state with a state override: the host ends at "/", "?", "#"
  // (and "\" for special URLs); ":" outside brackets is a failure.
  let insideBrackets = false;
  let end = input.length;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c === ":" && !insideBrackets) throw typeError(`invalid hostname "${value}"`);
    if (c === "/" || c === "?" || c === "#" || (special && c === "\\")) {
      end = i;
      break;
    }
    if (c === "[") insideBrackets = true;
    else if (c === "]") insideBrackets = false;
  }
  const buffer = input.substring(0, end);
  if (buffer === "") {
    if (special) throw typeError(`invalid hostname "${value}"`);
    return "";
  }
  // "@" would be taken as the end of credentials by a full parse; the host
  // parser rejects it as a forbidden host code point either way. So would it
  // leading or trailing C0 controls and spaces, which a full parse strips.
  if (buffer.includes("@") || /[\u0000-\u0020]/.test(buffer)) throw typeError(`invalid hostname "${value}"`);
  const r = parseURL(`${special ? "https" : protocol}://${buffer}/`);
  if (r === null) throw typeError(`invalid hostname "${value}"`);
  return r.host === null ? "" : String(r.host);
}

function canonicalizeIPv6Hostname(value) {
  let result = "";
  for (const c of value) {
    if (!/[0-9a-fA-F[\]:]/.test(c)) throw typeError(`invalid IPv6 hostname "${value}"`);
    result += c.toLowerCase();
  }
  return result;
}

function canonicalizePort(value, protocol) {
  if (value === "") return value;
  const input = value.replace(TAB_NEWLINE_RE, "");
  const m = /^[0-9]*/.exec(input)[0];
  if (m === "") throw typeError(`invalid port "${value}"`);
  // Port state with a state override stops at the first non-digit.
  const n = Number(m);
  if (n > 65535) throw typeError(`invalid port "${value}"`);
  const port = String(n);
  if (protocol !== undefined && DEFAULT_PORTS[protocol] === port) return "";
  return port;
}

function preEncode(s) {
  return s.replace(TAB_NEWLINE_RE, "").replace(CONTROL_SPACE_RE, percentByte);
}

function canonicalizePathname(value) {
  if (value === "") return value;
  const leadingSlash = value[0] === "/";
  const modified = leadingSlash ? value : "/-" + value;
  // Path start state with a state override: "?" and "#" do not end the path.
  const input = preEncode(modified).replace(/\?/g, "%3F").replace(/#/g, "%23");
  const r = parseURL(`fake://dummy${input}`);
  if (r === null) throw typeError(`invalid pathname "${value}"`);
  let result = typeof r.path === "string" ? r.path : "/" + r.path.join("/");
  if (!leadingSlash) result = result.substring(2);
  return result;
}

function utf8PercentEncodeC0(s) {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (cp >= 0x20 && cp <= 0x7e) {
      out += ch;
      continue;
    }
    const wellFormed = cp >= 0xd800 && cp <= 0xdfff ? "\uFFFD" : ch;
    out += encodeURIComponent(wellFormed);
  }
  return out;
}

function canonicalizeOpaquePathname(value) {
  if (value === "") return value;
  return utf8PercentEncodeC0(value.replace(TAB_NEWLINE_RE, ""));
}

function canonicalizeSearch(value) {
  if (value === "") return value;
  const r = parseURL(`fake://dummy/?${preEncode(value).replace(/#/g, "%23")}`);
  if (r === null) throw typeError(`invalid search "${value}"`);
  return r.query === null ? "" : r.query;
}

function canonicalizeHash(value) {
  if (value === "") return value;
  const r = parseURL(`fake://dummy/#${preEncode(value)}`);
  if (r === null) throw typeError(`invalid hash "${value}"`);
  return r.fragment === null ? "" : r.fragment;
}

function hostnamePatternIsIPv6(input) {
  if (input.length < 2) return false;
  return input[0] === "[" || ((input[0] === "{" || input[0] === "\\") && input[1] === "[");
}

// ---------------------------------------------------------------------------
// URLPatternInit processing
// ---------------------------------------------------------------------------

function serializePath(record) {
  return typeof record.path === "string" ? record.path : record.path.length ? "/" + record.path.join("/") : "";
}

function processBaseURLString(input, type) {
  return type !== "pattern" ? input : escapePatternString(input);
}

function isAbsolutePathname(input, type) {
  if (input === "") return false;
  if (input[0] === "/") return true;
  if (type === "url") return false;
  if (input.length < 2) return false;
  return (input[0] === "\\" || input[0] === "{") && input[1] === "/";
}

function processURLPatternInit(init, type, defaults) {
  const result = { __proto__: null };
  if (defaults) Object.assign(result, defaults);
  let baseURL = null;
  const has = (k) => init[k] !== undefined;
  if (has("baseURL")) {
    baseURL = parseURL(init.baseURL);
    if (baseURL === null) throw typeError(`invalid baseURL "${init.baseURL}"`);
    if (!has("protocol")) result.protocol = processBaseURLString(baseURL.scheme, type);
    if (type !== "pattern" && !has("protocol") && !has("hostname") && !has("port") && !has("username")) {
      result.username = processBaseURLString(baseURL.username, type);
    }
    if (
      type !== "pattern" &&
      !has("protocol") &&
      !has("hostname") &&
      !has("port") &&
      !has("username") &&
      !has("password")
    ) {
      result.password = processBaseURLString(baseURL.password, type);
    }
    if (!has("protocol") && !has("hostname")) {
      result.hostname = processBaseURLString(baseURL.host === null ? "" : String(baseURL.host), type);
    }
    if (!has("protocol") && !has("hostname") && !has("port")) {
      result.port = processBaseURLString(baseURL.port === null ? "" : String(baseURL.port), type);
    }
    if (!has("protocol") && !has("hostname") && !has("port") && !has("pathname")) {
      result.pathname = processBaseURLString(serializePath(baseURL), type);
    }
    if (!has("protocol") && !has("hostname") && !has("port") && !has("pathname") && !has("search")) {
      result.search = processBaseURLString(baseURL.query === null ? "" : baseURL.query, type);
    }
    if (!has("protocol") && !has("hostname") && !has("port") && !has("pathname") && !has("search") && !has("hash")) {
      result.hash = processBaseURLString(baseURL.fragment === null ? "" : baseURL.fragment, type);
    }
  }
  if (has("protocol")) {
    const v = init.protocol;
    const stripped = v.endsWith(":") ? v.substring(0, v.length - 1) : v;
    result.protocol = type === "pattern" ? stripped : canonicalizeProtocol(stripped);
  }
  if (has("username")) result.username = type === "pattern" ? init.username : canonicalizeUsername(init.username);
  if (has("password")) result.password = type === "pattern" ? init.password : canonicalizePassword(init.password);
  if (has("hostname")) {
    result.hostname = type === "pattern" ? init.hostname : canonicalizeHostname(init.hostname, result.protocol);
  }
  if (has("port")) result.port = type === "pattern" ? init.port : canonicalizePort(init.port, result.protocol);
  if (has("pathname")) {
    let pathname = init.pathname;
    if (baseURL !== null && typeof baseURL.path !== "string" && !isAbsolutePathname(pathname, type)) {
      const basePath = processBaseURLString(serializePath(baseURL), type);
      const slash = basePath.lastIndexOf("/");
      if (slash !== -1) pathname = basePath.substring(0, slash + 1) + pathname;
    }
    if (type !== "pattern") {
      const protocol = result.protocol === undefined ? "" : result.protocol;
      pathname =
        protocol === "" || isSpecialScheme(protocol) ? canonicalizePathname(pathname) : canonicalizeOpaquePathname(pathname);
    }
    result.pathname = pathname;
  }
  if (has("search")) {
    const v = init.search;
    const stripped = v.startsWith("?") ? v.substring(1) : v;
    result.search = type === "pattern" ? stripped : canonicalizeSearch(stripped);
  }
  if (has("hash")) {
    const v = init.hash;
    const stripped = v.startsWith("#") ? v.substring(1) : v;
    result.hash = type === "pattern" ? stripped : canonicalizeHash(stripped);
  }
  return result;
}

// ---------------------------------------------------------------------------
// Constructor string parser
// ---------------------------------------------------------------------------

function parseConstructorString(input) {
  const tokens = tokenize(input, "lenient");
  const result = { __proto__: null };
  let componentStart = 0;
  let tokenIndex = 0;
  let tokenIncrement = 1;
  let groupDepth = 0;
  let ipv6BracketDepth = 0;
  let protocolMatchesSpecialScheme = false;
  let state = "init";

  const safeToken = (i) => (i < tokens.length ? tokens[i] : tokens[tokens.length - 1]);
  const isNonSpecialPatternChar = (i, value) => {
    const t = safeToken(i);
    if (t.value !== value) return false;
    return t.type === "char" || t.type === "escaped-char" || t.type === "invalid-char";
  };
  const isProtocolSuffix = () => isNonSpecialPatternChar(tokenIndex, ":");
  const nextIsAuthoritySlashes = () =>
    isNonSpecialPatternChar(tokenIndex + 1, "/") && isNonSpecialPatternChar(tokenIndex + 2, "/");
  const isIdentityTerminator = () => isNonSpecialPatternChar(tokenIndex, "@");
  const isPasswordPrefix = () => isNonSpecialPatternChar(tokenIndex, ":");
  const isPortPrefix = () => isNonSpecialPatternChar(tokenIndex, ":");
  const isPathnameStart = () => isNonSpecialPatternChar(tokenIndex, "/");
  const isSearchPrefix = () => {
    if (isNonSpecialPatternChar(tokenIndex, "?")) return true;
    if (tokens[tokenIndex].value !== "?") return false;
    const previousIndex = tokenIndex - 1;
    if (previousIndex < 0) return true;
    const previous = safeToken(previousIndex);
    return !["name", "regexp", "close", "asterisk"].includes(previous.type);
  };
  const isHashPrefix = () => isNonSpecialPatternChar(tokenIndex, "#");
  const isGroupOpen = () => tokens[tokenIndex].type === "open";
  const isGroupClose = () => tokens[tokenIndex].type === "close";
  const isIPv6Open = () => isNonSpecialPatternChar(tokenIndex, "[");
  const isIPv6Close = () => isNonSpecialPatternChar(tokenIndex, "]");
  const makeComponentString = () => {
    const token = tokens[tokenIndex];
    const start = safeToken(componentStart).index;
    return input.substring(start, token.index);
  };
  const rewind = () => {
    tokenIndex = componentStart;
    tokenIncrement = 0;
  };
  const rewindAndSetState = (s) => {
    rewind();
    state = s;
  };
  const changeState = (newState, skip) => {
    if (state !== "init" && state !== "authority" && state !== "done") result[state] = makeComponentString();
    if (state !== "init" && newState !== "done") {
      const beforeHost = ["protocol", "authority", "username", "password"].includes(state);
      if (beforeHost && ["port", "pathname", "search", "hash"].includes(newState) && result.hostname === undefined) {
        result.hostname = "";
      }
      if (
        (beforeHost || state === "hostname" || state === "port") &&
        (newState === "search" || newState === "hash") &&
        result.pathname === undefined
      ) {
        result.pathname = protocolMatchesSpecialScheme ? "/" : "";
      }
      if (
        (beforeHost || state === "hostname" || state === "port" || state === "pathname") &&
        newState === "hash" &&
        result.search === undefined
      ) {
        result.search = "";
      }
    }
    state = newState;
    tokenIndex += skip;
    componentStart = tokenIndex;
    tokenIncrement = 0;
  };
  const computeProtocolMatchesSpecialScheme = () => {
    const protocolString = makeComponentString();
    const component = compileComponent(protocolString, canonicalizeProtocol, DEFAULT_OPTIONS);
    if (protocolComponentMatchesSpecialScheme(component)) protocolMatchesSpecialScheme = true;
  };

  while (tokenIndex < tokens.length) {
    tokenIncrement = 1;
    if (tokens[tokenIndex].type === "end") {
      if (state === "init") {
        rewind();
        if (isHashPrefix()) changeState("hash", 1);
        else if (isSearchPrefix()) changeState("search", 1);
        else changeState("pathname", 0);
        tokenIndex += tokenIncrement;
        continue;
      }
      if (state === "authority") {
        rewindAndSetState("hostname");
        tokenIndex += tokenIncrement;
        continue;
      }
      changeState("done", 0);
      break;
    }
    if (isGroupOpen()) {
      groupDepth++;
      tokenIndex += tokenIncrement;
      continue;
    }
    if (groupDepth > 0) {
      if (isGroupClose()) {
        groupDepth--;
      } else {
        tokenIndex += tokenIncrement;
        continue;
      }
    }
    switch (state) {
      case "init":
        if (isProtocolSuffix()) rewindAndSetState("protocol");
        break;
      case "protocol":
        if (isProtocolSuffix()) {
          computeProtocolMatchesSpecialScheme();
          let nextState = "pathname";
          let skip = 1;
          if (nextIsAuthoritySlashes()) {
            nextState = "authority";
            skip = 3;
          } else if (protocolMatchesSpecialScheme) {
            nextState = "authority";
          }
          changeState(nextState, skip);
        }
        break;
      case "authority":
        if (isIdentityTerminator()) rewindAndSetState("username");
        else if (isPathnameStart() || isSearchPrefix() || isHashPrefix()) rewindAndSetState("hostname");
        break;
      case "username":
        if (isPasswordPrefix()) changeState("password", 1);
        else if (isIdentityTerminator()) changeState("hostname", 1);
        break;
      case "password":
        if (isIdentityTerminator()) changeState("hostname", 1);
        break;
      case "hostname":
        if (isIPv6Open()) ipv6BracketDepth++;
        else if (isIPv6Close()) ipv6BracketDepth--;
        else if (isPortPrefix() && ipv6BracketDepth === 0) changeState("port", 1);
        else if (isPathnameStart()) changeState("pathname", 0);
        else if (isSearchPrefix()) changeState("search", 1);
        else if (isHashPrefix()) changeState("hash", 1);
        break;
      case "port":
        if (isPathnameStart()) changeState("pathname", 0);
        else if (isSearchPrefix()) changeState("search", 1);
        else if (isHashPrefix()) changeState("hash", 1);
        break;
      case "pathname":
        if (isSearchPrefix()) changeState("search", 1);
        else if (isHashPrefix()) changeState("hash", 1);
        break;
      case "search":
        if (isHashPrefix()) changeState("hash", 1);
        break;
      default:
        break;
    }
    tokenIndex += tokenIncrement;
  }
  if (result.hostname !== undefined && result.port === undefined) result.port = "";
  return result;
}

// ---------------------------------------------------------------------------
// WebIDL conversions
// ---------------------------------------------------------------------------

const INIT_MEMBERS = ["baseURL", "hash", "hostname", "password", "pathname", "port", "protocol", "search", "username"];

function isDictionaryLike(v) {
  return v === undefined || v === null || typeof v === "object" || typeof v === "function";
}

function toURLPatternInit(v) {
  const init = { __proto__: null };
  if (v === undefined || v === null) return init;
  for (const k of INIT_MEMBERS) {
    const x = v[k];
    if (x !== undefined) init[k] = toUSVString(x);
  }
  return init;
}

function toURLPatternInput(v) {
  return isDictionaryLike(v) ? toURLPatternInit(v) : toUSVString(v);
}

function toOptions(v) {
  if (v === undefined || v === null) return { ignoreCase: false };
  if (typeof v !== "object" && typeof v !== "function") throw new TypeError("URLPattern: options must be an object");
  return { ignoreCase: !!v.ignoreCase };
}

// ---------------------------------------------------------------------------
// URLPattern
// ---------------------------------------------------------------------------

let getComponents;

function createURLPattern(input, baseURL, options) {
  let init;
  if (typeof input === "string") {
    init = parseConstructorString(input);
    if (baseURL === null && init.protocol === undefined) {
      throw typeError(`relative pattern "${input}" needs a baseURL`);
    }
    if (baseURL !== null) init.baseURL = baseURL;
  } else {
    if (baseURL !== null) throw typeError("a baseURL is not allowed with a URLPatternInit");
    init = input;
  }
  const processed = processURLPatternInit(init, "pattern");
  for (const c of COMPONENTS) {
    if (processed[c] === undefined) processed[c] = "*";
  }
  if (isSpecialScheme(processed.protocol) && processed.port === DEFAULT_PORTS[processed.protocol]) processed.port = "";
  const result = { __proto__: null };
  result.protocol = compileComponent(processed.protocol, canonicalizeProtocol, DEFAULT_OPTIONS);
  result.username = compileComponent(processed.username, canonicalizeUsername, DEFAULT_OPTIONS);
  result.password = compileComponent(processed.password, canonicalizePassword, DEFAULT_OPTIONS);
  result.hostname = hostnamePatternIsIPv6(processed.hostname)
    ? compileComponent(processed.hostname, canonicalizeIPv6Hostname, HOSTNAME_OPTIONS)
    : compileComponent(processed.hostname, (v) => canonicalizeHostname(v), HOSTNAME_OPTIONS);
  result.port = compileComponent(processed.port, (v) => canonicalizePort(v), DEFAULT_OPTIONS);
  const compileOptions = { delimiter: "", prefix: "", ignoreCase: options.ignoreCase };
  if (protocolComponentMatchesSpecialScheme(result.protocol)) {
    const pathOptions = { delimiter: "/", prefix: "/", ignoreCase: options.ignoreCase };
    result.pathname = compileComponent(processed.pathname, canonicalizePathname, pathOptions);
  } else {
    result.pathname = compileComponent(processed.pathname, canonicalizeOpaquePathname, compileOptions);
  }
  result.search = compileComponent(processed.search, canonicalizeSearch, compileOptions);
  result.hash = compileComponent(processed.hash, canonicalizeHash, compileOptions);
  return result;
}

function match(c, input, baseURLString) {
  const values = { protocol: "", username: "", password: "", hostname: "", port: "", pathname: "", search: "", hash: "" };
  const inputs = [input];
  if (typeof input !== "string") {
    if (baseURLString !== null) throw typeError("a baseURL is not allowed with a URLPatternInit");
    let applied;
    try {
      applied = processURLPatternInit(input, "url", values);
    } catch (e) {
      return null;
    }
    for (const k of COMPONENTS) values[k] = applied[k];
  } else {
    let baseURL = null;
    if (baseURLString !== null) {
      inputs.push(baseURLString);
      baseURL = parseURL(baseURLString);
      if (baseURL === null) return null;
    }
    const url = parseURL(input, baseURL);
    if (url === null) return null;
    values.protocol = url.scheme;
    values.username = url.username;
    values.password = url.password;
    values.hostname = url.host === null ? "" : String(url.host);
    values.port = url.port === null ? "" : String(url.port);
    values.pathname = serializePath(url);
    values.search = url.query === null ? "" : url.query;
    values.hash = url.fragment === null ? "" : url.fragment;
  }
  const execResults = { __proto__: null };
  for (const k of COMPONENTS) {
    const r = execComponent(c[k], values[k]);
    if (r === null) return null;
    execResults[k] = r;
  }
  // The URLPatternResult the tenant gets: ordinary objects whose members
  // are defined, not assigned (no setter on Object.prototype runs, and a
  // group named "__proto__" is a group).
  const result = { inputs };
  for (const k of COMPONENTS) {
    const groups = {};
    const r = execResults[k];
    const names = c[k].groupNameList;
    // Only the pattern's own groups: a regexp part may hold more captures.
    for (let i = 0; i < names.length; i++) createDataProperty(groups, names[i], r[i + 1]);
    createDataProperty(result, k, { input: values[k], groups });
  }
  return result;
}

function toMatchInput(input) {
  if (input === undefined || input === null) return { __proto__: null };
  // Any object, a URL included, is converted as a URLPatternInit dictionary.
  if (typeof input === "object" || typeof input === "function") return toURLPatternInit(input);
  return toUSVString(input);
}

class URLPattern {
  #components;

  constructor(input = undefined, baseURL = undefined, options = undefined) {
    let base = null;
    let opts;
    if (arguments.length >= 2 && !isDictionaryLike(baseURL)) {
      base = toUSVString(baseURL);
      opts = toOptions(options);
    } else {
      opts = toOptions(baseURL);
    }
    this.#components = createURLPattern(toURLPatternInput(input), base, opts);
  }

  test(input = undefined, baseURL = undefined) {
    const c = getComponents(this);
    const base = baseURL === undefined ? null : toUSVString(baseURL);
    return match(c, toMatchInput(input), base) !== null;
  }

  exec(input = undefined, baseURL = undefined) {
    const c = getComponents(this);
    const base = baseURL === undefined ? null : toUSVString(baseURL);
    return match(c, toMatchInput(input), base);
  }

  get protocol() {
    return getComponents(this).protocol.patternString;
  }
  get username() {
    return getComponents(this).username.patternString;
  }
  get password() {
    return getComponents(this).password.patternString;
  }
  get hostname() {
    return getComponents(this).hostname.patternString;
  }
  get port() {
    return getComponents(this).port.patternString;
  }
  get pathname() {
    return getComponents(this).pathname.patternString;
  }
  get search() {
    return getComponents(this).search.patternString;
  }
  get hash() {
    return getComponents(this).hash.patternString;
  }
  get hasRegExpGroups() {
    const c = getComponents(this);
    return COMPONENTS.some((k) => c[k].hasRegExpGroups);
  }

  static {
    getComponents = brandCheck((value) => (isObject(value) && #components in value ? value.#components : undefined));
  }
}
finishInterface(URLPattern);

internals.URLPattern = URLPattern;
