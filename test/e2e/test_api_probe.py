"""End-to-end: issue 16's probe. A worker with `nodejs_compat` that uses,
briefly but for real, every API the Workers ecosystem commonly needs (the
node: modules, the cloudflare: modules, WebSockets, the Cache API, the
smaller globals and the modern built-ins) runs unmodified under `edge dev`
and on `edge serve`, and each probe gives the answer Workers (or Node, for
node: modules) gives. HTMLRewriter is optional and reported, not required."""
import json
import unittest

from edge_harness import EdgeProcess, NodeProcess, Project

# process.env holds vars only when Workers' rule says so: before the
# 2025-04-01 date, with nodejs_compat_populate_process_env. The probe runs
# every module's first use in one request: more CPU than one request of a
# real worker needs.
SETTINGS = ('compatibility_date = "2024-09-23"\n'
            'compatibility_flags = ["nodejs_compat", "nodejs_compat_populate_process_env"]\n'
            '[vars]\nPROBE_VAR = "set"\n[limits]\ncpu_ms = 2000\n')
CONFIG = 'name = "probe"\nmain = "index.js"\n' + SETTINGS

PROBE = r"""
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import util from "node:util";
import { AsyncLocalStorage } from "node:async_hooks";
import nodeCrypto from "node:crypto";
import { Readable, Transform, pipeline } from "node:stream";
import { ReadableStream as WebReadable } from "node:stream/web";
import path from "node:path";
import { StringDecoder } from "node:string_decoder";
import querystring from "node:querystring";
import assert from "node:assert";
import diagnostics from "node:diagnostics_channel";
import { setTimeout as sleep } from "node:timers/promises";
import zlib from "node:zlib";
import process from "node:process";
import { URL as NodeURL } from "node:url";
import { WorkerEntrypoint, env as importedEnv } from "cloudflare:workers";
import { connect } from "cloudflare:sockets";

const probes = {
  "node:buffer": () => Buffer.from("hi").toString("base64") === "aGk=" &&
    Buffer.from("68692121", "hex").toString("latin1") === "hi!!",
  "node:events": () => {
    const e = new EventEmitter();
    let got;
    e.once("x", (v) => (got = v));
    e.emit("x", 7);
    return got === 7 && e.listenerCount("x") === 0;
  },
  "node:util": () => util.format("%s=%d", "a", 1) === "a=1" &&
    util.inspect({ a: [1] }) === "{ a: [ 1 ] }" && util.types.isPromise(Promise.resolve()),
  "node:async_hooks": async () => {
    const als = new AsyncLocalStorage();
    return als.run("ctx", async () => {
      await sleep(1);
      await null;
      return als.getStore() === "ctx";
    });
  },
  "node:crypto": () =>
    nodeCrypto.createHash("sha256").update("abc").digest("hex") ===
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" &&
    nodeCrypto.createHmac("sha256", "k").update("m").digest("base64").length === 44 &&
    nodeCrypto.timingSafeEqual(Buffer.from("a"), Buffer.from("a")) &&
    /^[0-9a-f-]{36}$/.test(nodeCrypto.randomUUID()),
  "node:stream": async () => {
    const upper = new Transform({ transform(chunk, _enc, done) { done(null, String(chunk).toUpperCase()); } });
    const chunks = [];
    await new Promise((resolve, reject) =>
      pipeline(Readable.from(["a", "b"]), upper, async function* (source) {
        for await (const c of source) chunks.push(String(c));
      }, (error) => (error ? reject(error) : resolve())));
    return chunks.join("") === "AB";
  },
  "node:stream/web": () => typeof WebReadable === "function" && WebReadable === ReadableStream,
  "node:path": () => path.join("/a/b", "../c") === "/a/c" && path.extname("x.tar.gz") === ".gz",
  "node:string_decoder": () => {
    const d = new StringDecoder("utf8");
    return d.write(Buffer.from([0xe2, 0x82])) + d.write(Buffer.from([0xac])) === "\u20ac";
  },
  "node:url": () => new NodeURL("https://a.test/x?y=1").searchParams.get("y") === "1",
  "node:querystring": () => querystring.stringify({ a: [1, 2], b: "c d" }) === "a=1&a=2&b=c%20d",
  "node:assert": () => {
    assert.deepStrictEqual({ a: [1] }, { a: [1] });
    try { assert.strictEqual(1, 2); } catch (e) { return e.code === "ERR_ASSERTION"; }
    return false;
  },
  "node:diagnostics_channel": () => {
    let seen;
    diagnostics.subscribe("probe", (m) => (seen = m));
    diagnostics.channel("probe").publish(5);
    return seen === 5;
  },
  "node:timers": async () => (await sleep(1, "done")) === "done",
  "node:zlib": () => zlib.inflateSync(zlib.deflateSync(Buffer.from("zzz"))).toString() === "zzz" &&
    zlib.gunzipSync(zlib.gzipSync("g")).toString() === "g",
  "node:process": () => typeof process.nextTick === "function" && process.env.PROBE_VAR === "set" &&
    typeof process.version === "string",
  "cloudflare:workers": () => typeof WorkerEntrypoint === "function" && importedEnv.PROBE_VAR === "set",
  "cloudflare:sockets": () => typeof connect === "function",
  WebSocketPair: () => {
    const pair = new WebSocketPair();
    return pair[0] instanceof WebSocket && pair[1] instanceof WebSocket;
  },
  WebSocket: () => typeof WebSocket === "function" && WebSocket.OPEN === 1,
  caches: async () => {
    const url = "https://probe.test/cached";
    await caches.default.put(url, new Response("c", { headers: { "cache-control": "max-age=60" } }));
    const hit = await caches.default.match(url);
    const named = await caches.open("probe");
    return hit !== undefined && (await hit.text()) === "c" && typeof named.match === "function";
  },
  EventSource: () => typeof EventSource === "function" && EventSource.CLOSED === 2,
  MessageChannel: async () => {
    const { port1, port2 } = new MessageChannel();
    const got = new Promise((resolve) => (port2.onmessage = (e) => resolve(e.data)));
    port1.postMessage("m");
    return (await got) === "m";
  },
  IdentityTransformStream: async () => {
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    writer.write(new Uint8Array([1, 2]));
    writer.close();
    return (await new Response(readable).arrayBuffer()).byteLength === 2;
  },
  FixedLengthStream: () => typeof new FixedLengthStream(3).readable === "object",
  "crypto.DigestStream": async () => {
    const digest = new crypto.DigestStream("SHA-1");
    await new Response("abc").body.pipeTo(digest);
    return new Uint8Array(await digest.digest)[0] === 0xa9;
  },
  "scheduler.wait": async () => (await scheduler.wait(1)) === undefined,
  "navigator.userAgent": () => navigator.userAgent === "Cloudflare-Workers",
  "Array.prototype.toSorted": () => [3, 1, 2].toSorted().join() === "1,2,3" &&
    [1, 2].with(0, 9).join() === "9,2" && [1, 2].toReversed().join() === "2,1",
  "Object.groupBy": () => Object.groupBy([1, 2, 3], (v) => (v % 2 ? "odd" : "even")).odd.length === 2,
  "Map.groupBy": () => Map.groupBy([1, 2], (v) => v > 1).get(true)[0] === 2,
  "Promise.withResolvers": async () => {
    const { promise, resolve } = Promise.withResolvers();
    resolve(4);
    return (await promise) === 4;
  },
  "Array.fromAsync": async () => (await Array.fromAsync((async function* () { yield 1; yield 2; })())).length === 2,
  "Set methods": () => new Set([1, 2]).intersection(new Set([2, 3])).has(2) &&
    new Set([1]).isSubsetOf(new Set([1, 2])),
  "String.prototype.isWellFormed": () => "a\uD800".isWellFormed() === false &&
    "a\uD800".toWellFormed() === "a\uFFFD",
  "ArrayBuffer.prototype.transfer": () => {
    const buffer = new ArrayBuffer(4);
    const moved = buffer.transfer(8);
    return buffer.detached === true && moved.byteLength === 8;
  },
};

export default {
  async fetch(request, env) {
    const results = { "request.cf": typeof request.cf?.colo === "string" };
    for (const [name, probe] of Object.entries(probes)) {
      try {
        results[name] = (await probe()) === true;
      } catch (error) {
        results[name] = String(error);
      }
    }
    results.HTMLRewriter = typeof HTMLRewriter === "function";
    return Response.json(results);
  },
};
"""

PROJECT_FILES = {"index.js": PROBE}


def failures(results):
    return {name: value for name, value in results.items()
            if value is not True and name != "HTMLRewriter"}


class ApiProbeDevTest(unittest.TestCase):
    def test_every_probe_passes_under_edge_dev(self):
        project = Project(PROJECT_FILES, config=CONFIG)
        edge = EdgeProcess(project.dir)
        try:
            response = edge.request("GET", "/")
            self.assertEqual(response.status, 200, response.body)
            results = json.loads(response.body)
            self.assertEqual(failures(results), {}, edge.log())
            self.assertGreaterEqual(len(results), 38)  # every probe answered
        finally:
            edge.stop_and_remove(project)


class ApiProbeServeTest(unittest.TestCase):
    def test_every_probe_passes_on_edge_serve(self):
        node = NodeProcess()
        try:
            node.deploy_worker("probe", PROBE, ["probe.test/*"], SETTINGS)
            response = node.request("probe.test", "/")
            self.assertEqual(response.status, 200, response.body)
            results = json.loads(response.body)
            self.assertEqual(failures(results), {}, node.log())
        finally:
            node.remove()


if __name__ == "__main__":
    unittest.main()
