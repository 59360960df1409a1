// node:url — the WHATWG URL and URLSearchParams (the runtime's own), the
// file: URL helpers (fileURLToPath, pathToFileURL: POSIX paths), and
// Node.js's legacy API (Url, parse, format, resolve) for the URLs packages
// commonly hand it: scheme, auth, host, port, path, query and hash.
// https://nodejs.org/api/url.html

const { StringPrototypeToLowerCase, StringPrototypeCharCodeAt } = internals.primordials;
const errors = require("internal/errors");
const querystring = require("querystring");
const { validateString } = require("internal/validators");
const URL = internals.URL;
const URLSearchParams = internals.URLSearchParams;

function Url() {
  this.protocol = null;
  this.slashes = null;
  this.auth = null;
  this.host = null;
  this.port = null;
  this.hostname = null;
  this.hash = null;
  this.search = null;
  this.query = null;
  this.pathname = null;
  this.path = null;
  this.href = null;
}

// Schemes whose URLs always have a host after "//" (Node's slashedProtocol).
const slashedProtocol = new Set(["http", "http:", "https", "https:", "ftp", "ftp:", "gopher", "gopher:",
  "file", "file:", "ws", "ws:", "wss", "wss:"]);
const hostlessProtocol = new Set(["javascript", "javascript:"]);
const protocolPattern = /^[a-z0-9.+-]+:/i;
const portPattern = /:[0-9]*$/;

Url.prototype.parse = function parse(url, parseQueryString, slashesDenoteHost) {
  validateString(url, "url");
  let rest = url.trim();
  // Backslashes before the query are slashes, as browsers read them.
  const queryIndex = rest.search(/[?#]/);
  const head = queryIndex === -1 ? rest : rest.slice(0, queryIndex);
  rest = head.replace(/\\/g, "/") + (queryIndex === -1 ? "" : rest.slice(queryIndex));

  const hashIndex = rest.indexOf("#");
  if (hashIndex !== -1) {
    this.hash = rest.slice(hashIndex);
    rest = rest.slice(0, hashIndex);
  }
  const searchIndex = rest.indexOf("?");
  if (searchIndex !== -1) {
    this.search = rest.slice(searchIndex);
    this.query = rest.slice(searchIndex + 1);
    rest = rest.slice(0, searchIndex);
  } else if (parseQueryString) {
    this.search = null;
    this.query = { __proto__: null };
  }
  if (parseQueryString && typeof this.query === "string") this.query = querystring.parse(this.query);

  const proto = protocolPattern.exec(rest);
  let lowerProto;
  if (proto !== null) {
    lowerProto = StringPrototypeToLowerCase(proto[0]);
    this.protocol = lowerProto;
    rest = rest.slice(proto[0].length);
  }

  let slashes = false;
  if (slashesDenoteHost || proto !== null || /^\/\/[^@/]+@[^@/]+/.test(rest)) {
    slashes = rest.startsWith("//");
    if (slashes && !(lowerProto && hostlessProtocol.has(lowerProto))) {
      rest = rest.slice(2);
      this.slashes = true;
    }
  }

  if (!(lowerProto && hostlessProtocol.has(lowerProto)) &&
      (slashes || (lowerProto && !slashedProtocol.has(lowerProto)))) {
    // The host ends at the first '/', or at '@'-less end.
    let hostEnd = rest.search(/[/?#]/);
    if (hostEnd === -1) hostEnd = rest.length;
    let hostPart = rest.slice(0, hostEnd);
    const at = hostPart.lastIndexOf("@");
    if (at !== -1) {
      this.auth = decodeURIComponent(hostPart.slice(0, at));
      hostPart = hostPart.slice(at + 1);
    }
    rest = rest.slice(hostEnd);
    const port = portPattern.exec(hostPart);
    if (port !== null && port[0] !== ":") {
      this.port = port[0].slice(1);
      hostPart = hostPart.slice(0, hostPart.length - port[0].length);
    } else if (port !== null) {
      hostPart = hostPart.slice(0, -1);
    }
    let hostname = StringPrototypeToLowerCase(hostPart);
    const ipv6 = hostname.startsWith("[") && hostname.endsWith("]");
    if (ipv6) hostname = hostname.slice(1, -1);
    this.hostname = hostname;
    this.host = `${ipv6 ? `[${hostname}]` : hostname}${this.port ? `:${this.port}` : ""}`;
  }

  if (rest.length > 0) this.pathname = rest;
  if (slashedProtocol.has(lowerProto) && this.hostname && !this.pathname) this.pathname = "/";
  if (this.pathname || this.search) this.path = `${this.pathname || ""}${this.search || ""}`;
  this.href = this.format();
  return this;
};

function encodePathChars(pathname) {
  return pathname.replace(/[#?]/g, (c) => (c === "#" ? "%23" : "%3F"));
}

Url.prototype.format = function format() {
  let auth = this.auth || "";
  if (auth) {
    auth = encodeURIComponent(auth).replace(/%3A/i, ":");
    auth += "@";
  }
  let protocol = this.protocol || "";
  let pathname = this.pathname || "";
  let hash = this.hash || "";
  let host = "";
  let query = "";
  if (this.host) {
    host = auth + this.host;
  } else if (this.hostname) {
    host = auth + (this.hostname.includes(":") && !this.hostname.startsWith("[") ? `[${this.hostname}]` : this.hostname);
    if (this.port) host += `:${this.port}`;
  }
  if (this.query !== null && typeof this.query === "object") query = querystring.stringify(this.query);
  let search = this.search || (query && `?${query}`) || "";
  if (protocol && StringPrototypeCharCodeAt(protocol, protocol.length - 1) !== 58) protocol += ":";
  pathname = encodePathChars(pathname);
  if (this.slashes || ((!protocol || slashedProtocol.has(protocol)) && host)) {
    host = `//${host}`;
    if (pathname && pathname[0] !== "/") pathname = `/${pathname}`;
  } else if (protocol.length >= 4 && protocol.startsWith("file")) {
    host = "//";
  }
  search = search.replace(/#/g, "%23");
  if (hash && hash[0] !== "#") hash = `#${hash}`;
  if (search && search[0] !== "?") search = `?${search}`;
  return protocol + host + pathname + search + hash;
};

Url.prototype.resolve = function resolve(relative) {
  return urlResolve(this.format(), relative);
};

function urlParse(url, parseQueryString, slashesDenoteHost) {
  if (url instanceof Url) return url;
  const result = new Url();
  result.parse(url, parseQueryString, slashesDenoteHost);
  return result;
}

// format(urlObject | string | URL, options)
function urlFormat(urlObject, options) {
  if (typeof urlObject === "string") return urlParse(urlObject).format();
  if (urlObject === null || typeof urlObject !== "object") {
    throw errors.ERR_INVALID_ARG_TYPE("urlObject", ["Object", "string"], urlObject);
  }
  if (internals.isURL(urlObject)) {
    const fragment = options?.fragment !== false;
    const unicode = options?.unicode === true;
    const search = options?.search !== false;
    const auth = options?.auth !== false;
    let out = `${urlObject.protocol}`;
    if (urlObject.host !== "" || urlObject.protocol === "file:") {
      out += "//";
      if (auth && (urlObject.username || urlObject.password)) {
        out += urlObject.username;
        if (urlObject.password) out += `:${urlObject.password}`;
        out += "@";
      }
      out += unicode ? domainToUnicode(urlObject.hostname) : urlObject.hostname;
      if (urlObject.port) out += `:${urlObject.port}`;
    }
    out += urlObject.pathname;
    if (search) out += urlObject.search;
    if (fragment) out += urlObject.hash;
    return out;
  }
  return Url.prototype.format.call(urlObject);
}

// Resolution on the WHATWG parser; a relative base resolves against a
// placeholder origin that is removed again.
function urlResolve(source, relative) {
  validateString(source, "source");
  validateString(relative, "relative");
  try {
    return new URL(relative, source).href;
  } catch {
    const base = new URL(source, "resolve://host/");
    const resolved = new URL(relative, base);
    if (resolved.protocol === "resolve:") {
      const text = resolved.href.slice("resolve://host".length);
      return source.startsWith("/") || relative.startsWith("/") ? text : text.slice(1);
    }
    return resolved.href;
  }
}

function urlResolveObject(source, relative) {
  if (!source) return relative;
  return urlParse(urlResolve(typeof source === "string" ? source : urlFormat(source), relative));
}

function domainToASCII(domain) {
  try {
    return new URL(`ws://${domain}`).hostname;
  } catch {
    return "";
  }
}
function domainToUnicode(domain) {
  // The runtime's URL parser keeps hosts in their ASCII form.
  return `${domain}`;
}

function fileURLToPath(path) {
  let url = path;
  if (typeof path === "string") {
    url = new URL(path);
  } else if (!internals.isURL(path)) {
    throw errors.ERR_INVALID_ARG_TYPE("path", ["string", "URL"], path);
  }
  if (url.protocol !== "file:") throw errors.ERR_INVALID_URL_SCHEME("file");
  if (url.hostname !== "") throw errors.ERR_INVALID_FILE_URL_HOST("linux");
  const pathname = url.pathname;
  for (let n = 0; n < pathname.length; n++) {
    if (pathname[n] === "%") {
      const third = pathname.codePointAt(n + 2) | 0x20;
      if (pathname[n + 1] === "2" && third === 102) {
        throw errors.ERR_INVALID_FILE_URL_PATH("must not include encoded / characters");
      }
    }
  }
  return decodeURIComponent(pathname);
}

function pathToFileURL(filepath) {
  validateString(filepath, "path");
  const path = require("path");
  let resolved = path.resolve(filepath);
  if (filepath.endsWith("/") && !resolved.endsWith("/")) resolved += "/";
  // Characters the URL parser would read as syntax are escaped first.
  const escaped = resolved.replace(/%/g, "%25").replace(/\\/g, "%5C").replace(/\n/g, "%0A")
    .replace(/\r/g, "%0D").replace(/\t/g, "%09").replace(/#/g, "%23").replace(/\?/g, "%3F");
  return new URL(`file://${escaped}`);
}

function urlToHttpOptions(url) {
  const options = {
    protocol: url.protocol,
    hostname: typeof url.hostname === "string" && url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    hash: url.hash,
    search: url.search,
    pathname: url.pathname,
    path: `${url.pathname || ""}${url.search || ""}`,
    href: url.href,
  };
  if (url.port !== "") options.port = Number(url.port);
  if (url.username || url.password) {
    options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  }
  return options;
}

return {
  Url,
  parse: urlParse,
  resolve: urlResolve,
  resolveObject: urlResolveObject,
  format: urlFormat,
  URL,
  URLSearchParams,
  domainToASCII,
  domainToUnicode,
  pathToFileURL,
  fileURLToPath,
  urlToHttpOptions,
};
