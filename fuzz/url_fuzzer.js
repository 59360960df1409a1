// The JavaScript half of url_fuzzer.cc: the worker it loads. __fuzzUrl(hex)
// turns the input into a string and runs it through the URL natives and
// classes; it returns "ok", or throws an Error whose message starts with
// "FUZZ" when a check fails.
const native = globalThis.__native;
const BASE = 'https://user:pass@example.com:8080/a/b?c=d#e';

function fail(what, input) {
  throw new Error(`FUZZ: ${what} for ${JSON.stringify(input)}`);
}

function fromHex(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
  return bytes;
}

function toText(bytes) {
  if (bytes.length === 0) return '';
  const rest = bytes.subarray(1);
  if ((bytes[0] & 1) === 0) return new TextDecoder().decode(rest);
  let text = '';
  for (let i = 0; i + 1 < rest.length; i += 2) text += String.fromCharCode(rest[i] | (rest[i + 1] << 8));
  return text;
}

function parse(input, base) {
  try {
    return base === undefined ? new URL(input) : new URL(input, base);
  } catch (error) {
    if (!(error instanceof TypeError)) fail(`new URL threw ${error && error.name}`, input);
    return null;
  }
}

function checkUrl(url, input) {
  const href = url.href;
  const again = parse(href);
  if (again === null) fail(`href ${JSON.stringify(href)} does not parse again`, input);
  if (again.href !== href) fail(`href ${JSON.stringify(href)} parses to ${JSON.stringify(again.href)}`, input);
  // Every getter, and the setters with the input as the new value.
  void [url.origin, url.protocol, url.username, url.password, url.host, url.hostname, url.port,
        url.pathname, url.search, url.hash, url.searchParams.toString(), url.toJSON()];
  for (const key of ['protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname',
                     'search', 'hash']) {
    try {
      const copy = new URL(href);
      copy[key] = input;
      const after = copy.href;
      const reparsed = parse(after);
      if (reparsed === null) fail(`setting ${key} made ${JSON.stringify(after)}, which does not parse`, input);
    } catch (error) {
      if (String(error && error.message).startsWith('FUZZ')) throw error;
    }
  }
}

function checkHost(input) {
  for (const strict of [false, true]) {
    const ascii = native.domainToASCII(input, strict);
    if (ascii !== null && (typeof ascii !== 'string' || /[^\x00-\x7f]/.test(ascii))) {
      fail(`domainToASCII(strict=${strict}) gave ${JSON.stringify(ascii)}`, input);
    }
  }
  const unicode = native.domainToUnicode(input);
  if (typeof unicode !== 'string') fail('domainToUnicode gave no string', input);
}

function checkPattern(input, base) {
  let pattern;
  try {
    pattern = base === undefined ? new URLPattern(input) : new URLPattern(input, base);
  } catch (error) {
    if (!(error instanceof TypeError)) fail(`new URLPattern threw ${error && error.name}`, input);
    return;
  }
  void [pattern.protocol, pattern.hostname, pattern.pathname, pattern.search, pattern.hash];
  pattern.test(BASE);
  pattern.exec(BASE);
}

globalThis.__fuzzUrl = (hex) => {
  const text = toText(fromHex(hex));
  const split = text.indexOf('\n');
  const input = split < 0 ? text : text.slice(0, split);
  const base = split < 0 ? undefined : text.slice(split + 1);

  checkHost(input);
  const url = parse(input, base);
  if (url !== null) checkUrl(url, input);
  let canParse;
  try {
    canParse = URL.canParse(input, base);
  } catch (error) {
    canParse = false;  // a base that is not a URL
  }
  if (canParse !== (url !== null)) fail(`URL.canParse says ${canParse}`, input);
  const relative = parse(input, BASE);
  if (relative !== null) checkUrl(relative, input);
  new URLSearchParams(input).toString();
  checkPattern(input, base);
  return 'ok';
};

export default { fetch() { return new Response('url fuzzer'); } };
