"""End-to-end: `edge tail` against a running `edge serve`.

`edge tail NAME --from URL --token-file F` runs as a subprocess; requests to
the node must show up in it as events with their console output and the
right outcome, filters (--status) must hold, a wrong token must end it with
a clear message, and the admin endpoint must refuse a bad filter.
"""
import json
import os
import queue
import signal
import subprocess
import threading
import time
import unittest
import uuid

from edge_harness import BINARY, NodeProcess

TAILED_WORKER = r"""
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const tag = url.searchParams.get("tag");
    console.log(`handling ${url.pathname} ${tag}`);
    switch (url.pathname) {
      case "/warn":
        console.warn("careful", { tag, n: 1 });
        return new Response("warned");
      case "/throw":
        throw new Error(`boom ${tag}`);
      case "/spin":
        while (true) {}
      case "/fivehundred":
        return new Response("server trouble", { status: 500 });
    }
    return new Response(`ok ${tag}`);
  },
};
"""

OTHER_WORKER = r"""
export default {
  fetch(request) {
    console.log("other worker says hi");
    return new Response("other");
  },
};
"""


class Tail:
    """`edge tail ARGS...` in the background; its stdout lines in a queue."""

    def __init__(self, node, *args):
        self.proc = subprocess.Popen(
            [BINARY, "tail", *args, "--from", node.admin_url, "--token-file", node.token_file],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.stderr_lines = queue.Queue()
        self.stderr_text = ""
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr_lines),
                         daemon=True).start()

    @staticmethod
    def _pump(pipe, lines):
        for line in pipe:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    @staticmethod
    def _next(lines, deadline):
        """The next line in `lines`, or None at EOF or if none comes before `deadline`."""
        try:
            return lines.get(timeout=max(0.01, deadline - time.time()))
        except queue.Empty:
            return None

    def wait_connected(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self._next(self.stderr_lines, deadline)
            if line is None:
                break
            self.stderr_text += line + "\n"
            if line.startswith("Connected to"):
                return
        raise AssertionError("edge tail did not connect:\n" + self.stderr_text)

    def read_until(self, done, timeout=20):
        """Lines until done(lines) is true; fails on timeout or EOF."""
        lines = []
        deadline = time.time() + timeout
        while not done(lines):
            remaining = deadline - time.time()
            if remaining <= 0:
                raise AssertionError("edge tail did not print what was expected; got:\n" +
                                     "\n".join(lines))
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("edge tail ended early; got:\n" + "\n".join(lines))
            lines.append(line)
        return lines

    def drain(self, seconds):
        lines = []
        deadline = time.time() + seconds
        while time.time() < deadline:
            line = self._next(self.lines, deadline)
            if line is None:
                break
            lines.append(line)
        return lines

    def stop(self):
        """Ctrl-C; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def request_events(lines):
    events = []
    for line in lines:
        event = json.loads(line)
        if event.get("type") == "request":
            events.append(event)
    return events


class NodeTailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess.for_class(cls, threads=2)
        for name, source, extra in (("tailed", TAILED_WORKER, "[limits]\ncpu_ms = 50\n"),
                                    ("other", OTHER_WORKER, "")):
            cls.node.deploy_worker(name, source, [f"{name}.test/*"], extra)

    def setUp(self):
        self.tails = []

    def tearDown(self):
        for tail in self.tails:
            tail.stop()
            for pipe in (tail.proc.stdout, tail.proc.stderr):
                pipe.close()

    def start_tail(self, *args):
        tail = Tail(self.node, *args)
        self.tails.append(tail)
        tail.wait_connected()
        return tail

    def get(self, worker, path):
        return self.node.request(f"{worker}.test", path)

    def test_json_events_carry_logs_and_outcomes(self):
        tail = self.start_tail("tailed", "--format", "json")
        tag = uuid.uuid4().hex[:8]
        expected = {
            f"/?tag={tag}": (200, "ok"),
            f"/warn?tag={tag}": (200, "ok"),
            f"/throw?tag={tag}": (500, "exception"),
            f"/spin?tag={tag}": (500, "exceededCpu"),
            f"/fivehundred?tag={tag}": (500, "ok"),
        }
        for path, (status, _) in expected.items():
            self.assertEqual(self.get("other", "/").status, 200)  # never in this tail
            response = self.get("tailed", path)
            self.assertEqual(response.status, status, (path, response.body))

        lines = tail.read_until(lambda lines: len(request_events(lines)) >= len(expected))
        events = {event["url"].split("tailed.test", 1)[1]: event
                  for event in request_events(lines)}
        self.assertEqual(set(events), set(expected), lines)
        for path, (status, outcome) in expected.items():
            event = events[path]
            self.assertEqual(event["worker"], "tailed")
            self.assertEqual(event["method"], "GET")
            self.assertEqual(event["status"], status, event)
            self.assertEqual(event["outcome"], outcome, event)
            self.assertTrue(event["url"].startswith("http://tailed.test/"), event)
            messages = [log["message"] for log in event["logs"]]
            self.assertIn(f"handling {path.split('?')[0]} {tag}", messages, event)
            self.assertEqual(event["logs"][0]["level"], "log", event)
        warn_logs = events[f"/warn?tag={tag}"]["logs"]
        self.assertEqual(len(warn_logs), 2, warn_logs)
        self.assertEqual(warn_logs[1]["level"], "warn")
        self.assertIn("careful", warn_logs[1]["message"])
        self.assertIn(tag, warn_logs[1]["message"])
        # Nothing from the other worker, nor more than one event per request.
        self.assertEqual(len(request_events(lines + tail.drain(0.5))), len(expected))
        self.assertEqual(tail.stop(), 0, tail.stderr_text)

    def test_status_error_shows_only_failures(self):
        tail = self.start_tail("tailed", "--format", "json", "--status", "error")
        tag = uuid.uuid4().hex[:8]
        for i in range(3):
            self.assertEqual(self.get("tailed", f"/?tag={tag}-ok{i}").status, 200)
            self.assertEqual(self.get("tailed", f"/warn?tag={tag}-ok{i}").status, 200)
        failing = [f"/throw?tag={tag}-1", f"/spin?tag={tag}-2", f"/fivehundred?tag={tag}-3"]
        for path in failing:
            self.assertEqual(self.get("tailed", path).status, 500)
        lines = tail.read_until(lambda lines: len(request_events(lines)) >= len(failing))
        events = request_events(lines + tail.drain(0.5))
        seen = sorted(event["url"].split("tailed.test", 1)[1] for event in events)
        self.assertEqual(seen, sorted(failing), lines)
        self.assertEqual({e["outcome"] for e in events}, {"exception", "exceededCpu", "ok"})

    def test_pretty_output(self):
        tail = self.start_tail("tailed")
        tag = uuid.uuid4().hex[:8]
        self.assertEqual(self.get("tailed", f"/throw?tag={tag}").status, 500)
        self.assertEqual(self.get("tailed", f"/?tag={tag}").status, 200)
        lines = tail.read_until(lambda lines: f"  (log) handling / {tag}" in lines)
        text = "\n".join(lines)
        self.assertIn(f"GET http://tailed.test/throw?tag={tag} - Exception Thrown @", text)
        self.assertIn(f"GET http://tailed.test/?tag={tag} - Ok @", text)
        self.assertIn(f"  (log) handling / {tag}", text)
        self.assertEqual(tail.stop(), 0, tail.stderr_text)

    def test_a_wrong_token_is_refused_clearly(self):
        bad_token = os.path.join(self.node.dir, "wrong-token")
        with open(bad_token, "w") as f:
            f.write("not-the-right-token-0123456789\n")
        result = subprocess.run(
            [BINARY, "tail", "tailed", "--from", self.node.admin_url, "--token-file", bad_token,
             "--format", "json"],
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("edge tail:", result.stderr)
        self.assertIn("refused the token (403)", result.stderr)
        self.assertEqual(result.stdout, "")

    def test_a_bad_filter_is_a_400(self):
        response = self.node.admin("GET", "/workers/tailed/tail?status=bogus")
        self.assertEqual(response.status, 400, response.body)
        error = json.loads(response.body)["error"]
        self.assertIn('invalid tail parameter "status"', error)
        self.assertIn('"ok" or "error"', error)
        response = self.node.admin("GET", "/workers/tailed/tail?sampling=0")
        self.assertEqual(response.status, 400, response.body)
        # Without a token: 401, and no stream.
        response = self.node.admin("GET", "/workers/tailed/tail", token="")
        self.assertEqual(response.status, 401, response.body)


if __name__ == "__main__":
    unittest.main()
