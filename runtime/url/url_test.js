// URL behaviour beyond the web-platform-tests data (which
// test/conformance/url_wpt_test.cc runs): the parser's fast path for plain
// http(s) URLs must agree with the full parser on every input.

import { assertStrictEquals } from "../../runtime/testing/assert.js";

// A small deterministic generator, so a failure reproduces.
function random(seed) {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

const PIECES = [
  "a", "z", "0", "9", "-", ".", "..", "/", "//", "./", "../", "%2e", "%2E", "%41", "%",
  "?", "#", "'", '"', "<", ">", "`", "{", "}", "^", "\\", " ", ":", "@", "0x", "xn--",
  "255", "256", "00", "1.2.3.4", "example.com", "A", "|", "[", "]", "~", "!", "$", "&",
  "=", "+", ",", ";", "\t", "é", "80", "443", ":80", ":443", ":0", ":65536", ":8080",
];

function describe(input) {
  try {
    const url = new URL(input);
    return [url.href, url.host, url.hostname, url.port, url.pathname, url.search, url.hash].join(" | ");
  } catch (error) {
    return error.name;
  }
}

export default {
  "fast path agrees with the full parser on generated inputs"() {
    const next = random(20261127);
    for (let n = 0; n < 20000; n++) {
      let rest = "";
      const count = 1 + next(8);
      for (let k = 0; k < count; k++) rest += PIECES[next(PIECES.length)];
      for (const scheme of ["http", "https"]) {
        const input = `${scheme}://${rest}`;
        // An uppercase scheme never takes the fast path; otherwise the two
        // inputs mean the same URL.
        const slow = `${scheme.toUpperCase()}://${rest}`;
        assertStrictEquals(describe(input), describe(slow), `new URL(${JSON.stringify(input)})`);
      }
    }
  },

  "typical request URLs"() {
    assertStrictEquals(new URL("http://127.0.0.1:8787/?name=edge").searchParams.get("name"), "edge", "query");
    assertStrictEquals(new URL("https://example.com:443/a/b").href, "https://example.com/a/b", "default port");
    assertStrictEquals(new URL("http://example.com/a/./b/../c").pathname, "/a/c", "dot segments");
    assertStrictEquals(new URL("http://0x7f.1/").hostname, "127.0.0.1", "hex IPv4");
    assertStrictEquals(new URL("http://EXAMPLE.com/").hostname, "example.com", "uppercase host");
  },
};
