// node:path, node:string_decoder, node:querystring and node:url against
// Node.js (expected values printed by Node 20 for the same calls).

import path from "node:path";
import posix from "node:path/posix";
import { StringDecoder } from "node:string_decoder";
import { Buffer } from "node:buffer";
import querystring from "node:querystring";
import url, { URL as NodeURL, fileURLToPath, pathToFileURL } from "node:url";
import { assert, assertEquals, assertThrows } from "../../runtime/testing/assert.js";

export default {
  "path functions as Node's POSIX ones"() {
    const p = path;
    const got = [p.relative("/a/b/c", "/a/d"), p.relative("/a", "/a/b"), p.join("a", "../..", "b"),
      p.resolve("/x", "y", "../z"), p.normalize("/a//b/../c/."), p.parse("/home/u/f.txt"), p.basename("/a/b.js", ".js"),
      p.extname(".bashrc"), p.extname("a.b.c"), p.dirname("/a/b/"), p.format({ dir: "/x", name: "f", ext: "js" }),
      p.normalize(""), p.normalize("./"), p.join(""), p.isAbsolute("a"), p.parse("a/b"), p.basename("/"),
      p.dirname("a"), p.normalize("../../a/../b"), p.relative("/", "/a"), p.resolve("/a/b", "/c")];
    assertEquals(got, ["../../d", "b", "../b", "/x/z", "/a/c",
      { root: "/", dir: "/home/u", base: "f.txt", ext: ".txt", name: "f" }, "b", "", ".c", "/a", "/x/f.js", ".",
      "./", ".", false, { root: "", dir: "a", base: "b", ext: "", name: "b" }, "", ".", "../../b", "a", "/c"]);
    assertEquals(path.sep, "/");
    assertEquals(path.delimiter, ":");
    assert(path.posix === path && posix === path);
    assertEquals(assertThrows(() => path.join("a", 1), TypeError).code, "ERR_INVALID_ARG_TYPE");
    // A long path stays linear.
    assertEquals(path.normalize("a/".repeat(100000)).length, 200000);
  },

  "StringDecoder keeps split characters"() {
    const d = new StringDecoder("utf16le");
    assertEquals([d.write(Buffer.from([0x61])), d.write(Buffer.from([0x00, 0x3d, 0xd8])),
      d.write(Buffer.from([0x00, 0xde])), d.end()], ["", "a", "😀", ""]);
    const u = new StringDecoder("utf8");
    assertEquals([u.write(Buffer.from([0xe2, 0x82])), u.write(Buffer.from([0xac])), u.end(Buffer.from([0xe2]))],
      ["", "€", "\ufffd"]);
    const b = new StringDecoder("base64");
    assertEquals([b.write(Buffer.from("ab")), b.write(Buffer.from("c")), b.end()], ["", "YWJj", ""]);
    assertEquals(new StringDecoder("hex").write(Buffer.from([1, 2])), "0102");
    assertEquals(new StringDecoder().encoding, "utf8");
    assertEquals(assertThrows(() => new StringDecoder("nope"), TypeError).code, "ERR_UNKNOWN_ENCODING");
  },

  "querystring as Node"() {
    assertEquals(querystring.stringify({ a: [1, 2], b: "x y", c: "é&", d: null, e: true }),
      "a=1&a=2&b=x%20y&c=%C3%A9%26&d=&e=true");
    assertEquals(querystring.parse("a=1&a=2&b=x+y&c=%E9%26&d"), { a: ["1", "2"], b: "x y", c: "\ufffd&", d: "" });
    assertEquals(querystring.escape("a b/ü"), "a%20b%2F%C3%BC");
    assertEquals(querystring.unescape("%zz%41"), "%zzA");
    assertEquals(querystring.parse("a:1;b:2", ";", ":"), { a: "1", b: "2" });
    assertEquals(querystring.stringify({ a: 1 }, ";", ":"), "a:1");
    assertEquals(Object.getPrototypeOf(querystring.parse("__proto__=1")), null);
    assertEquals(querystring.parse("__proto__=1").__proto__, "1");
    assertEquals(Object.keys(querystring.parse("a=1&".repeat(5000))).length, 1);
    assertEquals(querystring.parse("a=1&b=2&c=3", null, null, { maxKeys: 2 }), { a: "1", b: "2" });
  },

  "url: WHATWG classes, legacy parse/format/resolve, file URLs"() {
    assertEquals(NodeURL, URL);
    assertEquals(url.parse("http://user:pw@Host.COM:8080/p/a/t/h?query=string&a=1#hash").href,
      "http://user:pw@host.com:8080/p/a/t/h?query=string&a=1#hash");
    const parsed = url.parse("http://user:pw@Host.COM:8080/p/a/t/h?query=string&a=1#hash", true);
    assertEquals([parsed.protocol, parsed.auth, parsed.host, parsed.port, parsed.hostname, parsed.hash, parsed.search,
      parsed.pathname, parsed.path], ["http:", "user:pw", "host.com:8080", "8080", "host.com", "#hash",
      "?query=string&a=1", "/p/a/t/h", "/p/a/t/h?query=string&a=1"]);
    assertEquals(parsed.query, { query: "string", a: "1" });
    assertEquals(url.parse("/p?x=1", true).query, { x: "1" });
    assertEquals(url.format({ protocol: "https", hostname: "a.com", pathname: "/x", query: { a: 1 } }), "https://a.com/x?a=1");
    assertEquals(url.format(new URL("http://a.com/x?y#z"), { fragment: false }), "http://a.com/x?y");
    assertEquals(url.resolve("http://a.com/b/c", "../d"), "http://a.com/d");
    assertEquals(url.resolve("/one/two/three", "four"), "/one/two/four");
    assertEquals(fileURLToPath("file:///a/b%20c"), "/a/b c");
    assertEquals(pathToFileURL("/a/b c#").href, "file:///a/b%20c%23");
    assertEquals(assertThrows(() => fileURLToPath("http://x/"), TypeError).code, "ERR_INVALID_URL_SCHEME");
    assertEquals(assertThrows(() => fileURLToPath("file:///a%2fb"), TypeError).code, "ERR_INVALID_FILE_URL_PATH");
  },
};
