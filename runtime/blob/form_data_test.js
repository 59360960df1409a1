// FormData: the entry list methods, Blob -> File conversion and filenames,
// iteration; FormData as a body (multipart/form-data) and body.formData()
// for multipart and urlencoded bodies, with round trips and malformed input.

import { assert, assertEquals, assertThrows, assertRejects } from "../../runtime/testing/assert.js";

function multipartResponse(body, boundary = "XyZ") {
  return new Response(body, { headers: { "content-type": `multipart/form-data; boundary=${boundary}` } });
}

function roundTrip(fd) {
  return new Request("https://example.com/upload", { method: "POST", body: fd }).formData();
}

// A FormData with each of `entries` appended in turn: [name, value] or
// [name, blob, filename].
function formData(...entries) {
  const fd = new FormData();
  for (const entry of entries) fd.append(...entry);
  return fd;
}

export default {
  "interface"() {
    assertEquals(typeof FormData, "function");
    assertEquals(Object.prototype.toString.call(new FormData()), "[object FormData]");
    assertEquals(FormData.prototype[Symbol.iterator], FormData.prototype.entries);
    assertThrows(() => new FormData({}), TypeError, "no HTMLFormElement in workers");
    assertThrows(() => FormData(), TypeError);
    assertEquals(Object.prototype.toString.call(new FormData().entries()), "[object FormData Iterator]");
  },

  "append, get, getAll, has, delete"() {
    const fd = new FormData();
    assertEquals(fd.get("a"), null);
    assertEquals(fd.has("a"), false);
    fd.append("a", "1");
    fd.append("b", "2");
    fd.append("a", "3");
    assertEquals(fd.get("a"), "1");
    assertEquals(fd.getAll("a"), ["1", "3"]);
    assertEquals(fd.getAll("zz"), []);
    assertEquals(fd.has("b"), true);
    fd.delete("a");
    assertEquals([...fd], [["b", "2"]]);
    fd.delete("missing");
    assertEquals([...fd.keys()], ["b"]);
  },

  "values are converted to strings"() {
    const fd = formData(["n", 42], ["o", { toString: () => "obj" }], [7, null], ["s\uD800", "v\uDC00"]);
    assertEquals([...fd], [["n", "42"], ["o", "obj"], ["7", "null"], ["s\uFFFD", "v\uFFFD"]]);
  },

  "set replaces the first entry and removes the others"() {
    const fd = formData(["a", "1"], ["b", "2"], ["a", "3"], ["c", "4"]);
    fd.set("a", "x");
    assertEquals([...fd], [["a", "x"], ["b", "2"], ["c", "4"]]);
    fd.set("d", "5");
    assertEquals([...fd.keys()], ["a", "b", "c", "d"]);
  },

  "iteration is in insertion order and live"() {
    const fd = formData(["a", "1"], ["b", "2"]);
    assertEquals([...fd.values()], ["1", "2"]);
    assertEquals([...fd.entries()], [["a", "1"], ["b", "2"]]);
    const it = fd.keys();
    assertEquals(it.next(), { value: "a", done: false });
    fd.append("c", "3");
    assertEquals(it.next(), { value: "b", done: false });
    assertEquals(it.next(), { value: "c", done: false });
    assertEquals(it.next().done, true);
    const seen = [];
    const thisArg = {};
    fd.forEach(function (value, key, self) {
      assert(this === thisArg, "thisArg");
      assert(self === fd, "third argument");
      seen.push(key + "=" + value);
    }, thisArg);
    assertEquals(seen, ["a=1", "b=2", "c=3"]);
  },

  "Blob values become Files"() {
    const fd = new FormData();
    const blob = new Blob(["abc"], { type: "text/csv" });
    fd.append("blob", blob);
    const f = fd.get("blob");
    assert(f instanceof File, "a File");
    assertEquals([f.name, f.type, f.size], ["blob", "text/csv", 3]);
    assert(f !== blob, "a new object");

    fd.append("named", blob, "data.csv");
    assertEquals(fd.get("named").name, "data.csv");

    const file = new File(["x"], "orig.txt", { type: "text/plain", lastModified: 5 });
    fd.append("file", file);
    assert(fd.get("file") === file, "a File is kept as is");
    fd.set("file", file, "renamed.txt");
    const renamed = fd.get("file");
    assertEquals([renamed.name, renamed.type, renamed.lastModified], ["renamed.txt", "text/plain", 5]);
    assertEquals(file.name, "orig.txt");
  },

  async "File values keep the bytes"() {
    const fd = new FormData();
    fd.append("f", new Blob([new Uint8Array([1, 2, 3])]), "a.bin");
    assertEquals([...(await fd.get("f").bytes())], [1, 2, 3]);
  },

  "argument errors"() {
    const fd = new FormData();
    assertThrows(() => fd.append("a"), TypeError);
    assertThrows(() => fd.append("a", "b", "c"), TypeError, "filename needs a Blob");
    assertThrows(() => fd.set("a", "b", "c"), TypeError);
    assertThrows(() => fd.get(), TypeError);
    assertThrows(() => fd.getAll(), TypeError);
    assertThrows(() => fd.has(), TypeError);
    assertThrows(() => fd.delete(), TypeError);
    assertThrows(() => fd.forEach(), TypeError);
    assertThrows(() => fd.forEach(1), TypeError);
    assertThrows(() => FormData.prototype.append.call({}, "a", "b"), TypeError);
    assertThrows(() => FormData.prototype.entries.call({}), TypeError);
    assertThrows(() => fd.keys().next.call({}), TypeError);
  },

  async "a FormData body is multipart/form-data"() {
    const fd = formData(
      ["field", "value"],
      ["file", new Blob(["content"], { type: "text/plain" }), "hello.txt"],
    );
    const req = new Request("https://example.com/", { method: "POST", body: fd });
    const contentType = req.headers.get("content-type");
    const match = /^multipart\/form-data; boundary=(.+)$/.exec(contentType);
    assert(match, `content type ${contentType}`);
    const boundary = match[1];
    assert(/^[0-9A-Za-z-]{20,70}$/.test(boundary), "boundary");
    const text = await req.text();
    assertEquals(
      text,
      `--${boundary}\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="hello.txt"\r\n` +
        `Content-Type: text/plain\r\n\r\ncontent\r\n--${boundary}--\r\n`,
    );
  },

  async "boundaries are random"() {
    const a = new Response(new FormData()).headers.get("content-type");
    const b = new Response(new FormData()).headers.get("content-type");
    assert(a !== b, "two boundaries differ");
  },

  async "an empty FormData"() {
    const r = new Response(new FormData());
    const boundary = r.headers.get("content-type").split("boundary=")[1];
    assertEquals(await r.clone().text(), `--${boundary}--\r\n`);
    assertEquals([...(await r.formData())], []);
  },

  async "an explicit Content-Type is kept"() {
    const fd = new FormData();
    fd.append("a", "b");
    const r = new Response(fd, { headers: { "content-type": "text/plain" } });
    assertEquals(r.headers.get("content-type"), "text/plain");
  },

  async "untyped Blob parts get application/octet-stream"() {
    const fd = new FormData();
    fd.append("f", new Blob(["x"]));
    const text = await new Response(fd).text();
    assert(text.includes('name="f"; filename="blob"\r\nContent-Type: application/octet-stream\r\n'), text);
  },

  async "names and filenames are escaped; newlines normalized"() {
    const fd = formData(
      ['a"b\nc', "line1\nline2\rline3\r\nline4"],
      ["f", new Blob(["raw\nbytes\r"]), 'q"\r\n.txt'],
    );
    const text = await new Response(fd).text();
    assert(text.includes('name="a%22b%0D%0Ac"\r\n\r\nline1\r\nline2\r\nline3\r\nline4\r\n'), text);
    assert(text.includes('name="f"; filename="q%22%0D%0A.txt"'), text);
    assert(text.includes("\r\n\r\nraw\nbytes\r\r\n"), "file bytes are not normalized");
  },

  async "multipart round trip"() {
    const fd = formData(
      ["text", "héllo wörld ✓"],
      ["text", "second"],
      ["empty", ""],
      ['we"ird\nname', "v"],
      ["ünï", "code"],
    );
    const binary = new Uint8Array(256);
    for (let i = 0; i < 256; i++) binary[i] = i;
    fd.append("bin", new Blob([binary, "\r\n--not-a-boundary\r\n", binary], { type: "application/x-thing" }), "ü.bin");
    fd.append("emptyfile", new File([], "empty.txt", { type: "text/plain" }));
    const back = await roundTrip(fd);
    assertEquals([...back.keys()], ["text", "text", "empty", 'we"ird\r\nname', "ünï", "bin", "emptyfile"]);
    assertEquals(back.getAll("text"), ["héllo wörld ✓", "second"]);
    assertEquals(back.get("empty"), "");
    assertEquals(back.get("ünï"), "code");
    const bin = back.get("bin");
    assert(bin instanceof File, "a File");
    assertEquals([bin.name, bin.type], ["ü.bin", "application/x-thing"]);
    const bytes = await bin.bytes();
    assertEquals(bytes.length, 512 + 20);
    assertEquals([...bytes.subarray(0, 256)], [...binary]);
    assertEquals([...bytes.subarray(276)], [...binary]);
    const emptyFile = back.get("emptyfile");
    assertEquals([emptyFile.name, emptyFile.size, emptyFile.type], ["empty.txt", 0, "text/plain"]);
  },

  async "multipart round trip through a stream body"() {
    const fd = formData(["a", "1"], ["f", new File(["data"], "f.txt", { type: "text/plain" })]);
    const source = new Response(fd);
    const streamed = new Response(source.body, { headers: source.headers });
    const back = await streamed.formData();
    assertEquals(back.get("a"), "1");
    assertEquals(await back.get("f").text(), "data");
  },

  async "parsing a hand-written multipart body"() {
    const body =
      "preamble to ignore\r\n" +
      "--XyZ\r\n" +
      'Content-Disposition: form-data; name="field1"\r\n' +
      "\r\n" +
      "value1\r\n" +
      "--XyZ\r\n" +
      'content-disposition: form-data; name="file"; filename="a.txt"\r\n' +
      "\r\n" +
      "file text\r\n" +
      "--XyZ\r\n" +
      "Content-Disposition: form-data; name=unquoted; filename=\"b.png\"\r\n" +
      "Content-Type: image/png\r\n" +
      "\r\n" +
      "PNG\r\n" +
      "--XyZ--\r\n" +
      "epilogue";
    const fd = await multipartResponse(body).formData();
    assertEquals(fd.get("field1"), "value1");
    const a = fd.get("file");
    assertEquals([a.name, a.type, await a.text()], ["a.txt", "text/plain", "file text"]);
    const b = fd.get("unquoted");
    assertEquals([b.name, b.type, await b.text()], ["b.png", "image/png", "PNG"]);
  },

  async "a quoted boundary parameter"() {
    const body = '--a b\r\nContent-Disposition: form-data; name="x"\r\n\r\ny\r\n--a b--';
    const r = new Response(body, { headers: { "content-type": 'Multipart/Form-Data; charset=utf-8; boundary="a b"' } });
    assertEquals([...(await r.formData())], [["x", "y"]]);
  },

  async "malformed multipart bodies reject with TypeError"() {
    const bad = [
      "",
      "no boundary here",
      '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated',
      '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n',
      "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
      '--XyZ\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--XyZ--',
      "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--",
      '--XyZjunk\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--XyZ--',
      "--XyZ\r\nbad header line\r\n\r\nx\r\n--XyZ--",
    ];
    for (const body of bad) {
      const r = multipartResponse(body);
      await assertRejects(r.formData(), TypeError, JSON.stringify(body));
      assertEquals(r.bodyUsed, true);
    }
  },

  async "multipart without a boundary rejects"() {
    const r = new Response("--x--", { headers: { "content-type": "multipart/form-data" } });
    await assertRejects(r.formData(), TypeError);
  },

  async "urlencoded bodies"() {
    const r = new Response("a=1&b=x+y&a=%F0%9F%98%80&c&=e&d=%zz", {
      headers: { "content-type": "application/x-www-form-urlencoded;charset=UTF-8" },
    });
    const fd = await r.formData();
    assertEquals([...fd], [["a", "1"], ["b", "x y"], ["a", "😀"], ["c", ""], ["", "e"], ["d", "%zz"]]);
  },

  async "URLSearchParams body round trips through formData()"() {
    const params = new URLSearchParams({ q: "a&b=c", emoji: "✓" });
    const req = new Request("https://example.com/", { method: "POST", body: params });
    const fd = await req.formData();
    assertEquals([...fd], [["q", "a&b=c"], ["emoji", "✓"]]);
  },

  async "urlencoded from bytes and streams"() {
    const bytes = new TextEncoder().encode("k=v%C3%A9");
    const headers = { "content-type": "application/x-www-form-urlencoded" };
    assertEquals((await new Response(bytes, { headers }).formData()).get("k"), "vé");
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(bytes.slice(0, 3));
        c.enqueue(bytes.slice(3));
        c.close();
      },
    });
    assertEquals((await new Response(stream, { headers }).formData()).get("k"), "vé");
    assertEquals([...(await new Response(null, { headers }).formData())], []);
  },

  async "other content types reject with TypeError"() {
    await assertRejects(new Response("a=1").formData(), TypeError, "text/plain");
    await assertRejects(new Response(new Uint8Array([1])).formData(), TypeError, "no content type");
    await assertRejects(
      new Response("{}", { headers: { "content-type": "application/json" } }).formData(),
      TypeError,
    );
    const used = new Response("a=1", { headers: { "content-type": "application/x-www-form-urlencoded" } });
    await used.text();
    await assertRejects(used.formData(), TypeError, "used body");
  },

  async "formData() reads the Content-Type once the body is read"() {
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("a=1"));
        c.close();
      },
    });
    const r = new Response(stream);
    const promise = r.formData();
    r.headers.set("content-type", "application/x-www-form-urlencoded");
    assertEquals((await promise).get("a"), "1");
  },

  async "Blob and File values survive a Response round trip"() {
    const fd = formData(
      ["blob", new Blob(["b"], { type: "image/gif" })],
      ["file", new File(["f"], "orig.txt"), "renamed.txt"],
    );
    const back = await new Response(fd).formData();
    assertEquals([back.get("blob").name, back.get("blob").type], ["blob", "image/gif"]);
    assertEquals([back.get("file").name, back.get("file").type], ["renamed.txt", "application/octet-stream"]);
  },

  async "Request clone keeps a FormData body"() {
    const fd = new FormData();
    fd.append("a", "1");
    const req = new Request("https://example.com/", { method: "POST", body: fd });
    const copy = req.clone();
    assertEquals((await req.formData()).get("a"), "1");
    assertEquals((await copy.formData()).get("a"), "1");
    fd.append("b", "2");
    assertEquals(
      (await new Request(new Request("https://example.com/", { method: "POST", body: fd })).formData()).get("b"),
      "2",
    );
  },
};
