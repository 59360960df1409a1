"""End-to-end: `edge dev --inspect` and a Chrome DevTools Protocol client.

The worker is test/e2e/fixtures/source_maps (TypeScript bundled by esbuild,
dist/index.js with index.js.map beside it). The client does what DevTools
does: it finds the target on /json/list, opens its WebSocket, learns the
bundle's source map from Debugger.scriptParsed, maps a line of src/index.ts
to the bundle through it, sets a breakpoint there, and a request stops on it;
it reads a local variable, resumes, and the request gets its answer. Then:
the console reaches DevTools, a reload keeps the session and its breakpoint,
CPU profiles and heap snapshots work, a debugger that goes away while the
worker is stopped lets it go on, and only loopback Host names are answered.
"""
import json
import os
import queue
import socket
import subprocess
import threading
import time
import unittest
from urllib.parse import unquote, urlparse

from edge_harness import BINARY, EdgeProcess, read_response
from test_source_maps import project
from ws_client import WsClient

BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def decode_vlq(segment):
    values, shift, value = [], 0, 0
    for char in segment:
        digit = BASE64.index(char)
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(value >> 1) if value & 1 else value >> 1)
        shift, value = 0, 0
    return values


def generated_lines(source_map, source_suffix, original_line):
    """0-based lines of the bundle that map to `original_line` (0-based) of
    the source whose name ends with `source_suffix`."""
    lines = set()
    source, orig_line = 0, 0
    for gen_line, line in enumerate(source_map["mappings"].split(";")):
        for segment in filter(None, line.split(",")):
            fields = decode_vlq(segment)
            if len(fields) < 4:
                continue
            source += fields[1]
            orig_line += fields[2]
            if source_map["sources"][source].endswith(source_suffix) and orig_line == original_line:
                lines.add(gen_line)
    return sorted(lines)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port, path, host=None):
    host = host or f"localhost:{port}"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        return read_response(sock)


class Cdp:
    """A DevTools Protocol session over WsClient: calls wait for their
    answer; events are kept in order for wait_event."""

    def __init__(self, port, target):
        self.ws = WsClient(port, path="/" + target, timeout=30)
        self.next_id = 1
        self.events = []

    def send(self, method, params=None):
        call_id = self.next_id
        self.next_id += 1
        self.ws.send_text(json.dumps({"id": call_id, "method": method, "params": params or {}}))
        return call_id

    def call(self, method, params=None):
        call_id = self.send(method, params)
        while True:
            message = self._recv()
            if message.get("id") == call_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_event(self, method, match=lambda params: True, timeout=30):
        deadline = time.time() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and match(event.get("params", {})):
                    del self.events[: i + 1]
                    return event["params"]
            if time.time() > deadline:
                raise AssertionError(f"no {method} within {timeout} s: {self.events[-5:]}")
            self.events.append(self._recv())

    def _recv(self):
        kind, data = self.ws.recv()
        assert kind == "text", (kind, data)
        return json.loads(data)

    def close(self):
        self.ws.send_close(1000)
        self.ws.close()


class InspectorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.project = project("dist/index.js")
        cls.inspect_port = free_port()
        cls.edge = EdgeProcess(cls.project.dir, f"--inspect={cls.inspect_port}")

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)

    def tearDown(self):
        self.assertTrue(self.edge.alive(), "edge dev died:\n" + self.edge.log())

    def request_in_background(self, path):
        answers = queue.Queue()

        def run():
            try:
                answers.put(self.edge.request("GET", path))
            except Exception as error:  # the test reads it from the queue
                answers.put(error)

        threading.Thread(target=run, daemon=True).start()
        return answers

    def bundle_script(self, cdp):
        return cdp.wait_event("Debugger.scriptParsed",
                              lambda p: p.get("url", "").endswith("/dist/index.js"))

    def breakpoint_line(self, script):
        # The line of src/index.ts that answers with greet(greeting) (line
        # 15, 0-based 14), found in the bundle through the script's map.
        self.assertEqual(script["sourceMapURL"], "index.js.map")
        script_path = unquote(urlparse(script["url"]).path)
        with open(os.path.join(os.path.dirname(script_path), script["sourceMapURL"])) as f:
            lines = generated_lines(json.load(f), "src/index.ts", 14)
        # The first, as DevTools takes it (bundle line 22, 0-based 21).
        self.assertEqual(lines[0], 21, lines)
        return lines[0]

    def attach_with_breakpoint(self):
        """A session with the runtime and debugger on and a breakpoint on the
        bundle line of src/index.ts:15: (cdp, script, line, breakpoint)."""
        cdp = Cdp(self.inspect_port, "maps")
        cdp.call("Runtime.enable")
        cdp.call("Debugger.enable")
        script = self.bundle_script(cdp)
        line = self.breakpoint_line(script)
        placed = cdp.call("Debugger.setBreakpointByUrl", {"url": script["url"], "lineNumber": line})
        self.assertEqual(placed["locations"][0]["lineNumber"], line)
        return cdp, script, line, placed

    def test_discovery(self):
        version = http_get(self.inspect_port, "/json/version")
        self.assertEqual(version.status, 200)
        self.assertIn("Protocol-Version", json.loads(version.body))
        listing = http_get(self.inspect_port, "/json/list")
        targets = json.loads(listing.body)
        self.assertEqual(len(targets), 1)
        self.assertEqual(targets[0]["id"], "maps")
        self.assertEqual(targets[0]["webSocketDebuggerUrl"], f"ws://localhost:{self.inspect_port}/maps")
        self.assertEqual(http_get(self.inspect_port, "/json", host=f"127.0.0.1:{self.inspect_port}").status, 200)
        self.assertEqual(http_get(self.inspect_port, "/nope").status, 404)
        # A page on another name (DNS rebinding) never reaches the debugger.
        refused = http_get(self.inspect_port, "/json/list", host="attacker.example")
        self.assertEqual(refused.status, 403)
        self.assertTrue(self.edge.wait_for_log(r"inspector: refused a request with Host 'attacker\.example'"))
        # The worker's own port serves the worker, not the protocol.
        self.assertEqual(self.edge.request("GET", "/json/list").body, b"Hello, world!")

    def test_breakpoint_in_original_source(self):
        cdp, script, line, placed = self.attach_with_breakpoint()
        try:
            answers = self.request_in_background("/?name=inspector")
            paused = cdp.wait_event("Debugger.paused")
            frame = paused["callFrames"][0]
            self.assertEqual(frame["location"]["lineNumber"], line)
            self.assertEqual(frame["location"]["scriptId"], script["scriptId"])
            value = cdp.call("Debugger.evaluateOnCallFrame",
                             {"callFrameId": frame["callFrameId"], "expression": "greeting.name"})
            self.assertEqual(value["result"]["value"], "inspector")
            # The local scope lists the variable too, as DevTools shows it.
            local = next(s for s in frame["scopeChain"] if s["type"] == "local")
            props = cdp.call("Runtime.getProperties", {"objectId": local["object"]["objectId"]})
            self.assertIn("greeting", [p["name"] for p in props["result"]])
            # Nothing answers while the worker is stopped.
            self.assertTrue(answers.empty())
            cdp.call("Debugger.resume")
            cdp.wait_event("Debugger.resumed")
            response = answers.get(timeout=30)
            self.assertEqual(response.status, 200)
            self.assertEqual(response.body, b"Hello, inspector!")
            cdp.call("Debugger.removeBreakpoint", {"breakpointId": placed["breakpointId"]})
            self.assertEqual(self.edge.request("GET", "/?name=free").body, b"Hello, free!")
        finally:
            cdp.close()

    def test_console_reaches_devtools(self):
        cdp = Cdp(self.inspect_port, "maps")
        try:
            cdp.call("Runtime.enable")
            self.assertEqual(self.edge.request("GET", "/log").body, b"logged")
            event = cdp.wait_event("Runtime.consoleAPICalled", lambda p: p["type"] == "error")
            self.assertIn("greet failed", event["args"][0]["value"])
            # The terminal still has it.
            self.assertTrue(self.edge.wait_for_log("greet failed for"))
            # Runtime.evaluate runs in the worker's global scope.
            result = cdp.call("Runtime.evaluate", {"expression": "typeof caches.default.match"})
            self.assertEqual(result["result"]["value"], "function")
        finally:
            cdp.close()

    def test_uncaught_exceptions_reach_the_devtools_console(self):
        cdp = Cdp(self.inspect_port, "maps")
        try:
            cdp.call("Runtime.enable")
            self.assertEqual(self.edge.request("GET", "/?name=boom").status, 500)
            event = cdp.wait_event("Runtime.exceptionThrown")
            details = event["exceptionDetails"]
            self.assertEqual(details["text"], "Uncaught")
            self.assertIn("greet failed", details["exception"]["description"])
            # The frames of the error as it was made, in the bundle that
            # DevTools maps to the sources.
            frames = details["stackTrace"]["callFrames"]
            self.assertEqual(frames[0]["functionName"], "greet")
            self.assertTrue(frames[0]["url"].endswith("/dist/index.js"), frames[0])
        finally:
            cdp.close()

    def test_pause_stops_running_javascript(self):
        # DevTools' pause button while the worker's JavaScript is busy: the
        # message must reach the isolate while it runs, not after.
        cdp = Cdp(self.inspect_port, "maps")
        try:
            cdp.call("Debugger.enable")
            busy = ("globalThis.spinning = true;"
                    "(function busy() { let i = 0; while (globalThis.spinning) i++; return 'done'; })()")
            evaluate = cdp.send("Runtime.evaluate", {"expression": busy})
            # busy() never returns while spinning is true, so a pause inside
            # it was taken while it ran. A pause handled before it began (the
            # evaluate's first statement) lets it go on, and pauses again.
            for _ in range(50):
                time.sleep(0.1)
                cdp.send("Debugger.pause")
                paused = cdp.wait_event("Debugger.paused")
                frame = paused["callFrames"][0]
                if frame["functionName"] == "busy":
                    break
                cdp.send("Debugger.resume")
            self.assertEqual(frame["functionName"], "busy")
            # End the loop from the debugger, then let it go.
            cdp.call("Debugger.evaluateOnCallFrame", {
                "callFrameId": frame["callFrameId"], "expression": "globalThis.spinning = false"})
            cdp.send("Debugger.resume")
            while True:
                message = cdp._recv()
                if message.get("id") == evaluate:
                    self.assertEqual(message["result"]["result"]["value"], "done")
                    break
        finally:
            cdp.close()

    def test_profiles_and_heap_snapshots(self):
        cdp = Cdp(self.inspect_port, "maps")
        try:
            cdp.call("Profiler.enable")
            cdp.call("Profiler.setSamplingInterval", {"interval": 100})
            cdp.call("Profiler.start")
            for _ in range(5):
                self.edge.request("GET", "/?name=p")
            busy = "(function spin() { let x = 0; for (let i = 0; i < 3e7; i++) x += i; return x; })()"
            cdp.call("Runtime.evaluate", {"expression": busy})
            profile = cdp.call("Profiler.stop")["profile"]
            names = {node["callFrame"]["functionName"] for node in profile["nodes"]}
            self.assertIn("spin", names)
            self.assertGreater(profile["endTime"], profile["startTime"])

            cdp.call("HeapProfiler.enable")
            call_id = cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
            chunks = []
            while True:
                message = cdp._recv()
                if message.get("id") == call_id:
                    break
                if message.get("method") == "HeapProfiler.addHeapSnapshotChunk":
                    chunks.append(message["params"]["chunk"])
            snapshot = json.loads("".join(chunks))
            self.assertIn("snapshot", snapshot)
            self.assertGreater(snapshot["snapshot"]["node_count"], 1000)
        finally:
            cdp.close()

    def test_detaching_while_stopped_lets_the_worker_go_on(self):
        cdp = self.attach_with_breakpoint()[0]
        answers = self.request_in_background("/?name=gone")
        cdp.wait_event("Debugger.paused")
        cdp.ws.close()  # no close frame: DevTools' window was closed
        response = answers.get(timeout=30)
        self.assertEqual(response.body, b"Hello, gone!")
        self.assertTrue(self.edge.wait_for_log(r"inspector: debugger detached from 'maps'"))
        # The breakpoint went with its session.
        self.assertEqual(self.edge.request("GET", "/?name=after").body, b"Hello, after!")

    def test_reload_keeps_the_session_and_its_breakpoints(self):
        cdp, _, line, _ = self.attach_with_breakpoint()
        try:

            bundle = os.path.join(self.project.dir, "dist", "index.js")
            with open(bundle) as f:
                text = f.read()
            # Same lines, another text: the map still fits.
            with open(bundle, "w") as f:
                f.write(text.replace("Hello, ${greeting.name}!", "Hi, ${greeting.name}!"))
            cdp.wait_event("Runtime.executionContextsCleared")
            cdp.wait_event("Runtime.executionContextCreated")
            self.bundle_script(cdp)

            answers = self.request_in_background("/?name=again")
            paused = cdp.wait_event("Debugger.paused")
            self.assertEqual(paused["callFrames"][0]["location"]["lineNumber"], line)
            cdp.call("Debugger.resume")
            self.assertEqual(answers.get(timeout=30).body, b"Hi, again!")
            with open(bundle, "w") as f:
                f.write(text)
            self.assertTrue(self.edge.wait_for_log(r"reloaded worker 'maps'(.|\n)*reloaded worker 'maps'"))
        finally:
            cdp.close()


class NoInspectorTest(unittest.TestCase):
    def test_edge_serve_has_no_inspector(self):
        result = subprocess.run([BINARY, "serve", "--inspect"], capture_output=True, text=True,
                                timeout=30)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--inspect", result.stderr + result.stdout)


if __name__ == "__main__":
    unittest.main()
