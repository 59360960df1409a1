// Request and Response (https://fetch.spec.whatwg.org/#request-class,
// https://fetch.spec.whatwg.org/#response-class), Workers flavoured: no CORS
// modes or forbidden headers, a `cf` property on Request, and helpers for the
// embedder (internals.makeRequest, internals.responseForWire).

const {
  finishInterface, inspectSymbol, inspectNamed, brandCheck, requireArguments, isObject, headersFromInit,
  headersFromList, headersList, headersHas, headersGet, headersAppend, cloneHeaders, extractBody, InnerBody,
  bodyUnusable, bodyUsed, inspectBody, cloneBody, transferBody, takeBody, installBodyMixin, isReadableStream,
} = internals;

// The method and statusText checks (both go on the wire) use built-ins
// captured before tenant code runs (runtime/js/primordials.js), and the
// original TypeError and RangeError, whatever globalThis holds.
const {
  JSONParse, JSONStringify, MathTrunc, NumberCtor, NumberIsFinite, ReflectApply, RegExpTest, StringPrototypeToUpperCase,
  TypeErrorCtor: TypeError, RangeErrorCtor: RangeError,
} = internals.primordials;

const kCreate = {}; // private constructor token

const tokenRegExp = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const reasonPhraseRegExp = /^[\t\x20-\x7e\x80-\xff]*$/;

// Parses an absolute URL (there is no base URL in a worker) and returns its
// serialization.
function parseAbsoluteURL(input, context) {
  const { parseURL, serializeURL } = internals;
  if (typeof parseURL === "function" && typeof serializeURL === "function") {
    const record = parseURL(input);
    if (record === null) throw new TypeError(`${context}: Invalid URL: "${input}"`);
    return serializeURL(record);
  }
  let url;
  try {
    url = new internals.URL(input);
  } catch {
    throw new TypeError(`${context}: Invalid URL: "${input}"`);
  }
  return url.href;
}

function normalizeMethod(method, context) {
  switch (method) {
    case "GET":
    case "POST":
    case "PUT":
    case "DELETE":
    case "HEAD":
    case "OPTIONS":
    case "PATCH":
      return method;
  }
  if (!RegExpTest(tokenRegExp, method)) {
    throw new TypeError(`${context}: '${method}' is not a valid HTTP method.`);
  }
  const upper = StringPrototypeToUpperCase(method);
  switch (upper) {
    case "CONNECT":
    case "TRACE":
    case "TRACK":
      throw new TypeError(`${context}: '${method}' HTTP method is unsupported.`);
    case "DELETE":
    case "GET":
    case "HEAD":
    case "OPTIONS":
    case "POST":
    case "PUT":
      return upper;
  }
  return method;
}

function convertRedirect(value, context) {
  const redirect = `${value}`;
  if (redirect !== "follow" && redirect !== "error" && redirect !== "manual") {
    throw new TypeError(
      `${context}: The provided value '${redirect}' is not a valid enum value of type RequestRedirect.`,
    );
  }
  return redirect;
}

let isRequest;
let requestBody;

class Request {
  #method = "GET";
  #url = "";
  #headers = null;
  // The header list of a request from the embedder: Headers are built from it
  // on first use, as most handlers never look at most requests' headers.
  #headerList = null;
  #body = null;
  #redirect = "follow";
  #signal = null;
  #cf = undefined;
  // request.cf of a request from the embedder, as JSON until first read
  // (most handlers never read it; parsing it for every request costs).
  #cfJson = "";

  constructor(input, init = undefined) {
    if (input === kCreate) return;
    const context = "Failed to construct 'Request'";
    requireArguments(arguments.length, 1, context);
    if (init !== undefined && init !== null && !isObject(init)) {
      throw new TypeError(`${context}: The provided value is not of type 'RequestInit'.`);
    }

    // RequestInit members, read in WebIDL (alphabetical) order.
    let initBody;
    let initCf;
    let initHeaders;
    let initMethod;
    let initRedirect;
    let initSignal;
    let hasSignal = false;
    if (init != null) {
      initBody = init.body;
      initCf = init.cf;
      initHeaders = init.headers;
      initMethod = init.method;
      initRedirect = init.redirect;
      if ("signal" in init) {
        hasSignal = true;
        initSignal = init.signal;
      }
    }

    let inputRequest = null;
    if (isRequest(input)) {
      inputRequest = input;
      this.#url = input.#url;
      this.#method = input.#method;
      this.#redirect = input.#redirect;
      this.#signal = input.#signal;
      this.#cf = input.#cfOf();
    } else {
      this.#url = parseAbsoluteURL(`${input}`, context);
    }

    if (initMethod !== undefined) this.#method = normalizeMethod(`${initMethod}`, context);
    if (initRedirect !== undefined) this.#redirect = convertRedirect(initRedirect, context);
    if (hasSignal && initSignal !== undefined) {
      if (initSignal !== null && typeof initSignal !== "object") {
        throw new TypeError(`${context}: Failed to read the 'signal' property from 'RequestInit': The provided value is not of type 'AbortSignal'.`);
      }
      this.#signal = initSignal;
    }
    if (initCf !== undefined) this.#cf = initCf;

    if (initHeaders !== undefined) {
      this.#headers = headersFromInit(initHeaders, "request");
    } else if (inputRequest !== null) {
      this.#headers = cloneHeaders(inputRequest.#headersOf(), "request");
    } else {
      this.#headers = headersFromInit(undefined, "request");
    }

    const inputBody = inputRequest !== null ? inputRequest.#body : null;
    const hasInitBody = initBody !== undefined && initBody !== null;
    if ((hasInitBody || inputBody !== null) && (this.#method === "GET" || this.#method === "HEAD")) {
      throw new TypeError(`${context}: Request with GET/HEAD method cannot have body.`);
    }
    if (hasInitBody) {
      const extracted = extractBody(initBody);
      this.#body = extracted.body;
      if (extracted.contentType !== null && !headersHas(this.#headers, "content-type")) {
        headersAppend(this.#headers, "content-type", extracted.contentType);
      }
    } else if (inputBody !== null) {
      if (bodyUnusable(inputBody)) {
        throw new TypeError(`${context}: Cannot construct a Request with a Request object that has already been used.`);
      }
      this.#body = transferBody(inputBody);
    }
  }

  get method() {
    return this.#method;
  }

  get url() {
    return this.#url;
  }

  get headers() {
    return this.#headersOf();
  }

  #headersOf() {
    if (this.#headers === null && this.#headerList !== null) {
      this.#headers = headersFromList(this.#headerList, "immutable");
      this.#headerList = null;
    }
    return this.#headers;
  }

  get redirect() {
    return this.#redirect;
  }

  get signal() {
    return this.#signal;
  }

  get cf() {
    return this.#cfOf();
  }

  #cfOf() {
    if (this.#cfJson !== "") {
      const json = this.#cfJson;
      this.#cfJson = "";
      this.#cf = JSONParse(json);
    }
    return this.#cf;
  }

  clone() {
    if (bodyUnusable(this.#body)) {
      throw new TypeError("Failed to execute 'clone' on 'Request': Request body is already used.");
    }
    const copy = new Request(kCreate);
    copy.#method = this.#method;
    copy.#url = this.#url;
    copy.#headers = cloneHeaders(this.#headersOf());
    copy.#body = cloneBody(this.#body);
    copy.#redirect = this.#redirect;
    copy.#signal = this.#signal;
    copy.#cf = this.#cfOf();
    return copy;
  }

  [inspectSymbol]() {
    return inspectNamed("Request", {
      method: this.#method,
      url: this.#url,
      headers: this.#headersOf(),
      body: inspectBody(this.#body),
      bodyUsed: bodyUsed(this.#body),
      redirect: this.#redirect,
      cf: this.#cfOf(),
    });
  }

  static {
    isRequest = (value) => isObject(value) && #body in value;
    const check = brandCheck((value) => (isRequest(value) ? value : undefined));
    requestBody = (value) => check(value).#body;
    // For the embedder: a Request for an incoming HTTP request. `body` is
    // null, a Uint8Array (now owned by the Request) or a ReadableStream.
    // `cfJson`: request.cf as JSON, "" for none.
    internals.makeRequest = (method, url, flatHeaders, body, cfJson) => {
      const request = new Request(kCreate);
      request.#method = method;
      request.#url = url;
      request.#headerList = flatHeaders;
      if (body !== null && body !== undefined) {
        request.#body = isReadableStream(body) ? new InnerBody(null, body) : new InnerBody(body, null);
      }
      request.#cfJson = cfJson;
      return request;
    };
    // For a future fetch(): the parts of a Request to send.
    internals.requestForWire = (request) => {
      if (!isRequest(request)) throw new TypeError("Not a Request.");
      if (bodyUnusable(request.#body)) throw new TypeError("The Request body has already been used.");
      return {
        method: request.#method,
        url: request.#url,
        headers: headersList(request.#headersOf()),
        body: takeBody(request.#body),
        redirect: request.#redirect,
        signal: request.#signal,
        cf: request.#cfOf(),
      };
    };
  }
}
const requestHeadersGetter = Object.getOwnPropertyDescriptor(Request.prototype, "headers").get;
installBodyMixin(Request, requestBody, (request) =>
  headersGet(ReflectApply(requestHeadersGetter, request, []), "content-type"),
);
finishInterface(Request);

// ---------------------------------------------------------------------------

function isNullBodyStatus(status) {
  return status === 101 || status === 103 || status === 204 || status === 205 || status === 304;
}

function isRedirectStatus(status) {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

// WebIDL `unsigned short`.
function toUnsignedShort(value) {
  let n = NumberCtor(value);
  if (!NumberIsFinite(n) || n === 0) return 0;
  n = MathTrunc(n) % 65536;
  return n < 0 ? n + 65536 : n;
}

const defaultResponseInit = { __proto__: null, headers: undefined, status: 200, statusText: "", webSocket: null };

function convertResponseInit(init, context) {
  if (init === undefined || init === null) return defaultResponseInit;
  if (!isObject(init)) {
    throw new TypeError(`${context}: The provided value is not of type 'ResponseInit'.`);
  }
  const headers = init.headers;
  const status = init.status;
  const statusText = init.statusText;
  // Workers' own member: the client end of a WebSocketPair, for a 101.
  const webSocket = init.webSocket;
  if (webSocket !== undefined && webSocket !== null && !internals.isWebSocket(webSocket)) {
    throw new TypeError(`${context}: Failed to read the 'webSocket' property from 'ResponseInit': The provided value is not of type 'WebSocket'.`);
  }
  return {
    __proto__: null,
    headers,
    status: status === undefined ? 200 : toUnsignedShort(status),
    statusText: statusText === undefined ? "" : `${statusText}`,
    webSocket: webSocket === undefined ? null : webSocket,
  };
}

let isResponse;
let responseBody;
let initializeResponse;

class Response {
  #type = "default";
  #url = "";
  #redirected = false;
  #status = 200;
  #statusText = "";
  #headers = null;
  #body = null;
  #webSocket = null;

  constructor(body = null, init = undefined) {
    if (body === kCreate) return;
    const context = "Failed to construct 'Response'";
    const dict = convertResponseInit(init, context);
    let bodyWithType = null;
    if (body !== null && body !== undefined) bodyWithType = extractBody(body);
    initializeResponse(this, dict, bodyWithType, context, "response");
  }

  static error() {
    const response = new Response(kCreate);
    response.#type = "error";
    response.#status = 0;
    response.#headers = headersFromInit(undefined, "immutable");
    return response;
  }

  static redirect(url, status = 302) {
    const context = "Failed to execute 'redirect' on 'Response'";
    requireArguments(arguments.length, 1, context);
    const href = parseAbsoluteURL(`${url}`, context);
    status = toUnsignedShort(status);
    if (!isRedirectStatus(status)) {
      throw new RangeError(`${context}: Invalid status code ${status}`);
    }
    const response = new Response(kCreate);
    response.#status = status;
    response.#headers = headersFromList(["location", href], "immutable");
    return response;
  }

  static json(data, init = undefined) {
    const context = "Failed to execute 'json' on 'Response'";
    requireArguments(arguments.length, 1, context);
    const dict = convertResponseInit(init, context);
    const text = JSONStringify(data);
    if (text === undefined) {
      throw new TypeError(`${context}: The data is not JSON serializable.`);
    }
    const bodyWithType = {
      body: new InnerBody(text, null),
      contentType: "application/json",
    };
    const response = new Response(kCreate);
    initializeResponse(response, dict, bodyWithType, context, "response");
    return response;
  }

  get type() {
    return this.#type;
  }

  get url() {
    return this.#url;
  }

  get redirected() {
    return this.#redirected;
  }

  get status() {
    return this.#status;
  }

  get ok() {
    return this.#status >= 200 && this.#status <= 299;
  }

  get statusText() {
    return this.#statusText;
  }

  get headers() {
    return this.#headers;
  }

  // Workers: the WebSocket a 101 response carries (null otherwise).
  get webSocket() {
    return this.#webSocket;
  }

  clone() {
    if (this.#webSocket !== null) {
      throw new TypeError("Failed to execute 'clone' on 'Response': a Response with a WebSocket cannot be cloned.");
    }
    if (bodyUnusable(this.#body)) {
      throw new TypeError("Failed to execute 'clone' on 'Response': Response body is already used.");
    }
    const copy = new Response(kCreate);
    copy.#type = this.#type;
    copy.#url = this.#url;
    copy.#redirected = this.#redirected;
    copy.#status = this.#status;
    copy.#statusText = this.#statusText;
    copy.#headers = cloneHeaders(this.#headers);
    copy.#body = cloneBody(this.#body);
    return copy;
  }

  [inspectSymbol]() {
    return inspectNamed("Response", {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.#headers,
      body: inspectBody(this.#body),
      bodyUsed: bodyUsed(this.#body),
      ok: this.ok,
      redirected: this.#redirected,
      type: this.#type,
      url: this.#url,
    });
  }

  static {
    isResponse = (value) => isObject(value) && #body in value;
    const check = brandCheck((value) => (isResponse(value) ? value : undefined));
    responseBody = (value) => check(value).#body;
    // https://fetch.spec.whatwg.org/#initialize-a-response
    initializeResponse = (response, init, bodyWithType, context, guard) => {
      const status = init.status;
      if (init.webSocket !== undefined && init.webSocket !== null) {
        if (status !== 101) {
          throw new RangeError(`${context}: Responses with a WebSocket must have status code 101.`);
        }
        if (bodyWithType !== null) {
          throw new TypeError(`${context}: A Response with a WebSocket cannot have a body.`);
        }
        response.#webSocket = init.webSocket;
      } else if (status < 200 || status > 599) {
        throw new RangeError(`${context}: The status provided (${status}) is outside the range [200, 599].`);
      }
      const statusText = init.statusText;
      if (statusText !== "" && !RegExpTest(reasonPhraseRegExp, statusText)) {
        throw new TypeError(`${context}: Invalid statusText.`);
      }
      response.#status = status;
      response.#statusText = statusText;
      response.#headers = headersFromInit(init.headers, guard);
      if (bodyWithType !== null) {
        if (isNullBodyStatus(status)) {
          throw new TypeError(`${context}: Response with null body status cannot have body.`);
        }
        response.#body = bodyWithType.body;
        const contentType = bodyWithType.contentType;
        if (contentType !== null && !headersHas(response.#headers, "content-type")) {
          headersAppend(response.#headers, "content-type", contentType);
        }
      }
    };
    // For the embedder: the parts of the Response a handler returned.
    internals.responseForWire = (response) => {
      if (!isResponse(response)) {
        throw new TypeError("The handler did not return a Response object.");
      }
      if (bodyUnusable(response.#body)) {
        throw new TypeError("The Response's body has already been used or is locked.");
      }
      return {
        status: response.#status,
        statusText: response.#statusText,
        headers: headersList(response.#headers),
        body: takeBody(response.#body),
        webSocket: response.#webSocket,
      };
    };
    // For a future fetch(): a Response for a received HTTP response.
    internals.makeResponse = (status, statusText, flatHeaders, body, url = "", redirected = false, webSocket = null) => {
      const response = new Response(kCreate);
      response.#type = "basic";
      response.#status = status;
      response.#statusText = statusText;
      response.#headers = headersFromList(flatHeaders, "immutable");
      if (body !== null && body !== undefined) {
        response.#body = isReadableStream(body) ? new InnerBody(null, body) : new InnerBody(body, null);
      }
      response.#url = url;
      response.#redirected = redirected;
      response.#webSocket = webSocket;
      return response;
    };
    internals.responseStatus = (response) => response.#status;
  }
}
const responseHeadersGetter = Object.getOwnPropertyDescriptor(Response.prototype, "headers").get;
installBodyMixin(Response, responseBody, (response) =>
  headersGet(ReflectApply(responseHeadersGetter, response, []), "content-type"),
);
finishInterface(Response);

internals.Request = Request;
internals.Response = Response;
internals.isRequest = isRequest;
internals.isResponse = isResponse;
