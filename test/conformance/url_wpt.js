// WPT URL conformance harness.
//
// Plain script, evaluated in an isolate whose globals include URL and
// URLSearchParams. Defines one global function:
//
//   runUrlWpt(kind, jsonText) -> string[]
//
// kind:
//   "urltestdata"      urltestdata.json      (url-constructor, url-origin, url-statics-canparse,
//                                              url-statics-parse, failure.html checks)
//   "setters"          setters_tests.json    (url-setters)
//   "toascii"          toascii.json          (toascii.window.js, URL parts)
//   "percent-encoding" percent-encoding.json (utf-8 only; other encodings are counted as skipped)
//   "idna"             IdnaTestV2.json       (IdnaTestV2.window.js)
//   "urlpattern"       urlpatterntestdata.json (urlpattern.any.js; needs URLPattern)
//   "urlsearchparams"  jsonText is ignored   (built-in URLSearchParams checks)
//
// The result is an array of failure descriptions (empty when everything
// passed). It also carries the numeric properties `passed`, `failed`,
// `skipped` and `total` (number of tests run, excluding skipped ones).
(function (global) {
  "use strict";

  class AssertionError extends Error {}

  function show(v) {
    if (typeof v === "string") return JSON.stringify(v);
    if (v === undefined) return "undefined";
    try {
      return JSON.stringify(v);
    } catch (e) {
      return String(v);
    }
  }

  function assertEquals(actual, expected, what) {
    if (actual !== expected && !(actual !== actual && expected !== expected)) {
      throw new AssertionError(`${what}: expected ${show(expected)} but got ${show(actual)}`);
    }
  }

  function assertTrue(v, what) {
    if (v !== true) throw new AssertionError(`${what}: expected true but got ${show(v)}`);
  }

  function assertThrowsType(fn, what) {
    let threw = false;
    try {
      fn();
    } catch (e) {
      threw = true;
      if (!(e instanceof TypeError)) {
        throw new AssertionError(`${what}: expected TypeError but got ${e && e.name}: ${e && e.message}`);
      }
    }
    if (!threw) throw new AssertionError(`${what}: expected TypeError to be thrown`);
  }

  function createRun() {
    const failures = [];
    failures.passed = 0;
    failures.failed = 0;
    failures.skipped = 0;
    failures.total = 0;
    const test = (name, fn) => {
      failures.total++;
      try {
        fn();
        failures.passed++;
      } catch (e) {
        failures.failed++;
        const msg = e instanceof AssertionError ? e.message : `unexpected ${e && e.name}: ${e && e.message}`;
        failures.push(`${name}: ${msg}`);
      }
    };
    return { failures, test };
  }

  // ---- urltestdata.json ---------------------------------------------------

  function runUrlTestData(data, test) {
    for (const expected of data) {
      if (typeof expected === "string") continue;
      const base = expected.base !== null ? expected.base : undefined;
      const label = `<${expected.input}> ${base !== undefined ? "against <" + base + ">" : "without base"}`;
      const make = () => (base !== undefined ? new URL(expected.input, base) : new URL(expected.input));

      test(`Parsing: ${label}`, () => {
        if (expected.failure) {
          assertThrowsType(make, "new URL()");
          return;
        }
        const url = make();
        assertEquals(url.href, expected.href, "href");
        if ("origin" in expected) assertEquals(url.origin, expected.origin, "origin");
        assertEquals(url.protocol, expected.protocol, "protocol");
        assertEquals(url.username, expected.username, "username");
        assertEquals(url.password, expected.password, "password");
        assertEquals(url.host, expected.host, "host");
        assertEquals(url.hostname, expected.hostname, "hostname");
        assertEquals(url.port, expected.port, "port");
        assertEquals(url.pathname, expected.pathname, "pathname");
        assertEquals(url.search, expected.search, "search");
        if ("searchParams" in expected) {
          assertTrue("searchParams" in url, "'searchParams' in url");
          assertEquals(url.searchParams.toString(), expected.searchParams, "searchParams");
        }
        assertEquals(url.hash, expected.hash, "hash");
        assertEquals(url.toString(), expected.href, "toString()");
        assertEquals(url.toJSON(), expected.href, "toJSON()");
      });

      test(`URL.canParse: ${label}`, () => {
        const r = base !== undefined ? URL.canParse(expected.input, base) : URL.canParse(expected.input);
        assertEquals(r, !expected.failure, "URL.canParse()");
      });

      if (typeof URL.parse === "function") {
        test(`URL.parse: ${label}`, () => {
          const r = base !== undefined ? URL.parse(expected.input, base) : URL.parse(expected.input);
          if (expected.failure) {
            assertEquals(r, null, "URL.parse()");
          } else {
            assertTrue(r instanceof URL, "URL.parse() instanceof URL");
            assertEquals(r.href, expected.href, "URL.parse().href");
          }
        });
      }

      // failure.html: an input that fails without a base must also fail as a
      // base URL, and via the href setter.
      if (expected.failure && expected.base === null) {
        test(`URL's constructor's base argument: ${label} should throw`, () => {
          assertThrowsType(() => new URL("about:blank", expected.input), "new URL('about:blank', input)");
        });
        test(`URL's href: ${label} should throw`, () => {
          const url = new URL("about:blank");
          assertThrowsType(() => {
            url.href = expected.input;
          }, "url.href = input");
          assertEquals(url.href, "about:blank", "href after failed set");
        });
      }
    }
  }

  // ---- setters_tests.json -------------------------------------------------

  function runSetters(data, test) {
    for (const property of Object.keys(data)) {
      if (property === "comment") continue;
      for (const testCase of data[property]) {
        if (typeof testCase === "string") continue;
        const name =
          `Setting <${testCase.href}>.${property} = ${show(testCase.new_value)}` +
          (testCase.comment ? ` ${testCase.comment}` : "");
        test(name, () => {
          const url = new URL(testCase.href);
          url[property] = testCase.new_value;
          for (const key of Object.keys(testCase.expected)) {
            assertEquals(url[key], testCase.expected[key], key);
          }
        });
      }
    }
  }

  // ---- toascii.json -------------------------------------------------------

  function runToASCII(data, test) {
    for (const hostTest of data) {
      if (typeof hostTest === "string") continue;
      test(`${show(hostTest.input)} (using URL)`, () => {
        const input = "https://" + hostTest.input + "/x";
        if (hostTest.output !== null) {
          const url = new URL(input);
          assertEquals(url.host, hostTest.output, "host");
          assertEquals(url.hostname, hostTest.output, "hostname");
          assertEquals(url.pathname, "/x", "pathname");
          assertEquals(url.href, "https://" + hostTest.output + "/x", "href");
        } else {
          assertThrowsType(() => new URL(input), "new URL()");
        }
      });
      for (const attr of ["host", "hostname"]) {
        test(`${show(hostTest.input)} (using URL.${attr})`, () => {
          const url = new URL("https://x/x");
          url[attr] = hostTest.input;
          assertEquals(url[attr], hostTest.output !== null ? hostTest.output : "x", attr);
        });
      }
    }
  }

  // ---- IdnaTestV2.json ---------------------------------------------------
  //
  // As IdnaTestV2.window.js: the data is UTS #46's IdnaTestV2.txt filtered to
  // what the URL Standard applies (no STD3 rules, no Bidi, no CheckJoiners
  // beyond ContextJ, IPv4-like inputs excluded), run through the URL parser.
  // Code points that end a host are percent-encoded so they reach the host
  // parser; the empty input cannot be expressed as a URL and is skipped.

  function encodeHostEndingCodePoints(input) {
    let output = "";
    for (const codePoint of input) {
      if (codePoint === ":" || codePoint === "/" || codePoint === "?" || codePoint === "#" || codePoint === "\\") {
        output += encodeURIComponent(codePoint);
      } else {
        output += codePoint;
      }
    }
    return output;
  }

  function runIdnaTestV2(data, test, failures) {
    for (const idnaTest of data) {
      if (typeof idnaTest === "string") continue;
      if (idnaTest.input === "") {
        failures.skipped++;
        continue;
      }
      const encodedInput = encodeHostEndingCodePoints(idnaTest.input);
      test(`ToASCII(${show(idnaTest.input)})${idnaTest.comment ? " " + idnaTest.comment : ""}`, () => {
        if (idnaTest.output === null) {
          assertThrowsType(() => new URL(`https://${encodedInput}/x`), "new URL()");
        } else {
          const url = new URL(`https://${encodedInput}/x`);
          assertEquals(url.host, idnaTest.output, "host");
          assertEquals(url.hostname, idnaTest.output, "hostname");
          assertEquals(url.pathname, "/x", "pathname");
          assertEquals(url.href, `https://${idnaTest.output}/x`, "href");
        }
      });
    }
  }

  // ---- urlpatterntestdata.json -------------------------------------------
  //
  // As urlpattern.any.js (resources/urlpatterntests.js): each entry
  // constructs `new URLPattern(...pattern)`, checks the component pattern
  // strings (inferring the ones the entry leaves out), then test() and
  // exec() on the inputs.

  const kComponents = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"];

  const kEarlierComponents = {
    protocol: [],
    hostname: ["protocol"],
    port: ["protocol", "hostname"],
    username: [],
    password: [],
    pathname: ["protocol", "hostname", "port"],
    search: ["protocol", "hostname", "port", "pathname"],
    hash: ["protocol", "hostname", "port", "pathname", "search"],
  };

  function assertThrowsTypeError(fn, what) {
    assertThrowsType(fn, what);
  }

  // testharness.js's assert_object_equals: same own enumerable keys, values
  // compared recursively (=== for primitives).
  function assertObjectEquals(actual, expected, what) {
    const walk = (a, e, path) => {
      if (typeof e !== "object" || e === null) {
        assertEquals(a, e, `${what}${path}`);
        return;
      }
      if (typeof a !== "object" || a === null) {
        throw new AssertionError(`${what}${path}: expected ${show(e)} but got ${show(a)}`);
      }
      for (const k in a) {
        if (!Object.prototype.hasOwnProperty.call(e, k)) {
          throw new AssertionError(`${what}${path}: unexpected property ${show(k)} (got ${show(a)}, expected ${show(e)})`);
        }
      }
      for (const k in e) {
        if (!(k in a)) {
          throw new AssertionError(`${what}${path}: missing property ${show(k)} (got ${show(a)}, expected ${show(e)})`);
        }
        walk(a[k], e[k], `${path}.${k}`);
      }
    };
    walk(actual, expected, "");
  }

  function runUrlPattern(data, test) {
    if (typeof URLPattern !== "function") throw new Error("runUrlWpt: URLPattern is not defined");
    for (const entry of data) {
      test(`Pattern: ${JSON.stringify(entry.pattern)} Inputs: ${JSON.stringify(entry.inputs)}`, () => {
        if (entry.expected_obj === "error") {
          assertThrowsTypeError(() => new URLPattern(...entry.pattern), "URLPattern() constructor");
          return;
        }
        const pattern = new URLPattern(...entry.pattern);
        const expectedObj = entry.expected_obj || {};
        for (const component of kComponents) {
          // Infer the expected pattern string when the entry leaves it out:
          // an exactly-empty component, the pattern's own value, a wildcard
          // when an earlier component is given, the base URL's value
          // (username and password are never inherited), else "*".
          let expected = expectedObj[component];
          if (expected == undefined) {
            let baseURL = null;
            if (entry.pattern.length > 0 && entry.pattern[0].baseURL) {
              baseURL = new URL(entry.pattern[0].baseURL);
            } else if (entry.pattern.length > 1 && typeof entry.pattern[1] === "string") {
              baseURL = new URL(entry.pattern[1]);
            }
            if (entry.exactly_empty_components && entry.exactly_empty_components.includes(component)) {
              expected = "";
            } else if (typeof entry.pattern[0] === "object" && entry.pattern[0][component]) {
              expected = entry.pattern[0][component];
            } else if (
              typeof entry.pattern[0] === "object" &&
              kEarlierComponents[component].some((c) => c in entry.pattern[0])
            ) {
              expected = "*";
            } else if (baseURL && component !== "username" && component !== "password") {
              let baseValue = baseURL[component];
              if (component === "protocol") baseValue = baseValue.substring(0, baseValue.length - 1);
              else if (component === "search" || component === "hash") baseValue = baseValue.substring(1);
              expected = baseValue;
            } else {
              expected = "*";
            }
          }
          assertEquals(pattern[component], expected, `compiled pattern property '${component}'`);
        }

        if (entry.expected_match === "error") {
          assertThrowsTypeError(() => pattern.test(...entry.inputs), "test() result");
          assertThrowsTypeError(() => pattern.exec(...entry.inputs), "exec() result");
          return;
        }

        assertEquals(pattern.test(...entry.inputs), !!entry.expected_match, "test() result");
        const execResult = pattern.exec(...entry.inputs);
        if (!entry.expected_match || typeof entry.expected_match !== "object") {
          assertEquals(execResult, entry.expected_match, "exec() failed match result");
          return;
        }
        if (execResult === null) throw new AssertionError("exec() result: expected a match but got null");
        const expectedInputs = entry.expected_match.inputs || entry.inputs;
        assertEquals(execResult.inputs.length, expectedInputs.length, "exec() result.inputs.length");
        for (let i = 0; i < execResult.inputs.length; ++i) {
          const input = execResult.inputs[i];
          const expectedInput = expectedInputs[i];
          if (typeof input === "string") {
            assertEquals(input, expectedInput, `exec() result.inputs[${i}]`);
            continue;
          }
          for (const component of kComponents) {
            assertEquals(input[component], expectedInput[component], `exec() result.inputs[${i}][${component}]`);
          }
        }
        for (const component of kComponents) {
          let expected = entry.expected_match[component];
          if (!expected) {
            expected = { input: "", groups: {} };
            if (!entry.exactly_empty_components || !entry.exactly_empty_components.includes(component)) {
              expected.groups["0"] = "";
            }
          } else {
            // JSON has no undefined: the data writes an unmatched group as null.
            expected = { input: expected.input, groups: Object.assign({}, expected.groups) };
            for (const key of Object.keys(expected.groups)) {
              if (expected.groups[key] === null) expected.groups[key] = undefined;
            }
          }
          assertObjectEquals(execResult[component], expected, `exec() result for ${component}`);
        }
      });
    }
  }

  // ---- percent-encoding.json ----------------------------------------------

  function runPercentEncoding(data, test, failures) {
    for (const testUnit of data) {
      if (typeof testUnit === "string") continue;
      for (const encoding of Object.keys(testUnit.output)) {
        if (encoding !== "utf-8") {
          // Needs legacy-encoding support for the query, which the runtime lacks.
          failures.skipped++;
          continue;
        }
        test(`Input ${show(testUnit.input)} with encoding ${encoding}`, () => {
          const url = new URL(`https://doesnotmatter.invalid/?${testUnit.input}#${testUnit.input}`);
          assertEquals(url.hash, `#${testUnit.output["utf-8"]}`, "fragment");
          assertEquals(url.search, `?${testUnit.output[encoding]}`, "query");
        });
      }
    }
  }

  // ---- URLSearchParams (built in) -----------------------------------------

  function listOf(params) {
    return JSON.stringify([...params]);
  }

  function runSearchParams(test) {
    test("constructor from string strips one leading '?'", () => {
      assertEquals(new URLSearchParams("??a=b&c").toString(), "%3Fa=b&c=", "toString");
    });
    test("constructor from pairs, record and URLSearchParams", () => {
      assertEquals(listOf(new URLSearchParams([["a", "1"], ["b", "2"]])), '[["a","1"],["b","2"]]', "pairs");
      assertEquals(listOf(new URLSearchParams({ a: "1", b: 2 })), '[["a","1"],["b","2"]]', "record");
      const src = new URLSearchParams("x=1&x=2");
      const copy = new URLSearchParams(src);
      src.append("y", "3");
      assertEquals(copy.toString(), "x=1&x=2", "copy is independent");
    });
    test("constructor rejects non-pairs", () => {
      assertThrowsType(() => new URLSearchParams([["a"]]), "1-item pair");
      assertThrowsType(() => new URLSearchParams([["a", "b", "c"]]), "3-item pair");
      assertThrowsType(() => new URLSearchParams(["ab"]), "string pair");
    });
    test("lone surrogates become U+FFFD", () => {
      const p = new URLSearchParams({ "\uD835x": "1", xx: "2", "\uD83Dx": "3" });
      assertEquals(listOf(p), JSON.stringify([["\uFFFDx", "3"], ["xx", "2"]]), "record keys");
      assertEquals(new URLSearchParams([["a\uDC00", "b"]]).toString(), "a%EF%BF%BD=b", "pair key");
    });
    test("parsing: '+' and percent-decoding", () => {
      const p = new URLSearchParams("a=b+c&%2B=%zz&%C3%A9=%FF&=&x");
      assertEquals(listOf(p), JSON.stringify([["a", "b c"], ["+", "%zz"], ["\u00e9", "\uFFFD"], ["", ""], ["x", ""]]),
        "list");
    });
    test("serializing", () => {
      const p = new URLSearchParams();
      p.append("a b", "~!'()*-._ +&=/\u00e9\uD83D\uDE00");
      assertEquals(p.toString(), "a+b=%7E%21%27%28%29*-._+%2B%26%3D%2F%C3%A9%F0%9F%98%80", "toString");
    });
    test("get/getAll/has/set/delete/size", () => {
      const p = new URLSearchParams("a=1&b=2&a=3");
      assertEquals(p.get("a"), "1", "get");
      assertEquals(p.get("z"), null, "get missing");
      assertEquals(JSON.stringify(p.getAll("a")), '["1","3"]', "getAll");
      assertEquals(p.has("a", "3"), true, "has(name, value)");
      assertEquals(p.has("a", "4"), false, "has(name, wrong value)");
      assertEquals(p.has("a", undefined), true, "has(name, undefined)");
      assertEquals(p.size, 3, "size");
      p.set("a", "x");
      assertEquals(p.toString(), "a=x&b=2", "set");
      p.append("a", "y");
      p.delete("a", "x");
      assertEquals(p.toString(), "b=2&a=y", "delete(name, value)");
      p.delete("a");
      assertEquals(p.toString(), "b=2", "delete(name)");
      assertThrowsType(() => p.append("a"), "append with 1 arg");
      assertThrowsType(() => p.get(), "get with 0 args");
    });
    test("sort is stable and by code units", () => {
      const p = new URLSearchParams("z=5&a=2&\uFFFD=x&\uD83D\uDE00=y&a=1&z=0");
      p.sort();
      assertEquals(listOf(p),
        JSON.stringify([["a", "2"], ["a", "1"], ["z", "5"], ["z", "0"], ["\uD83D\uDE00", "y"], ["\uFFFD", "x"]]),
        "sorted");
    });
    test("iterators are live", () => {
      const p = new URLSearchParams("a=1&b=2");
      const seen = [];
      for (const [k] of p) {
        seen.push(k);
        if (k === "a") p.append("c", "3");
      }
      assertEquals(seen.join(), "a,b,c", "for-of");
      const it = p.keys();
      assertEquals(Object.prototype.toString.call(it), "[object URLSearchParams Iterator]", "toStringTag");
      assertEquals(it.next().value, "a", "keys().next()");
      p.delete("a");
      assertEquals(it.next().value, "c", "after deletion");
      assertEquals(it.next().done, true, "done");
      const vals = [];
      p.forEach((v, k, obj) => {
        vals.push(k + "=" + v);
        assertTrue(obj === p, "forEach third argument");
      });
      assertEquals(vals.join("&"), "b=2&c=3", "forEach");
      assertTrue(URLSearchParams.prototype[Symbol.iterator] === URLSearchParams.prototype.entries, "@@iterator");
    });
    test("URL.searchParams stays in sync", () => {
      const url = new URL("https://example.com/?a=1#h");
      const sp = url.searchParams;
      assertTrue(sp === url.searchParams, "same object");
      sp.append("b", "x y");
      assertEquals(url.href, "https://example.com/?a=1&b=x+y#h", "href after append");
      url.search = "?c=3";
      assertEquals(sp.toString(), "c=3", "after search setter");
      url.href = "https://example.com/?d=4";
      assertEquals(sp.get("d"), "4", "after href setter");
      sp.delete("d");
      assertEquals(url.href, "https://example.com/", "empty query becomes null");
      url.search = "";
      assertEquals(sp.size, 0, "after clearing search");
    });
    test("WebIDL shape", () => {
      assertEquals(Object.prototype.toString.call(new URL("a:b")), "[object URL]", "URL toStringTag");
      assertEquals(Object.prototype.toString.call(new URLSearchParams()), "[object URLSearchParams]", "tag");
      const d = Object.getOwnPropertyDescriptor(URLSearchParams.prototype, "append");
      assertTrue(d.enumerable, "append enumerable");
      const h = Object.getOwnPropertyDescriptor(URL.prototype, "href");
      assertTrue(h.enumerable && typeof h.get === "function" && typeof h.set === "function", "href accessor");
      assertEquals(URL.length, 1, "URL.length");
      assertEquals(URLSearchParams.length, 0, "URLSearchParams.length");
      assertThrowsType(() => URL("http://x/"), "URL() without new");
      assertThrowsType(() => new URL(), "new URL() without args");
      assertThrowsType(() => URL.prototype.href, "href getter on prototype");
      assertEquals(JSON.stringify({ u: new URL("http://x/y") }), '{"u":"http://x/y"}', "toJSON");
    });
  }

  global.runUrlWpt = function runUrlWpt(kind, jsonText) {
    const { failures, test } = createRun();
    if (kind === "urlsearchparams") {
      runSearchParams(test);
      return failures;
    }
    const data = JSON.parse(jsonText);
    switch (kind) {
      case "urltestdata":
        runUrlTestData(data, test);
        break;
      case "setters":
        runSetters(data, test);
        break;
      case "toascii":
        runToASCII(data, test);
        break;
      case "percent-encoding":
        runPercentEncoding(data, test, failures);
        break;
      case "idna":
        runIdnaTestV2(data, test, failures);
        break;
      case "urlpattern":
        runUrlPattern(data, test);
        break;
      default:
        throw new Error(`runUrlWpt: unknown kind ${show(kind)}`);
    }
    return failures;
  };
})(globalThis);
