"""End-to-end: source-mapped stacks and `edge dev`'s error page.

The worker is test/e2e/fixtures/source_maps: TypeScript in src/, bundled by
esbuild into dist/ with its map beside it (index.js + index.js.map) or inline
(inline.js). An uncaught exception must show src/greet.ts and src/index.ts
lines wherever people see it: `edge dev`'s error page (HTML and text, the
tenant's message escaped) and terminal, a node's log and `edge tail`, and
`edge test`; never the runtime's own frames. `edge serve` keeps its plain 500.
"""
import json
import os
import subprocess
import unittest

from edge_harness import BINARY, SOURCE_DIR, EdgeProcess, NodeProcess, Project
from test_node_tail import Tail, request_events

FIXTURE = os.path.join(SOURCE_DIR, "test", "e2e", "fixtures", "source_maps")
MESSAGE = "greet failed for <b>boom</b> & co"


def fixture_files():
    files = {}
    for folder in ("src", "dist"):
        for name in os.listdir(os.path.join(FIXTURE, folder)):
            with open(os.path.join(FIXTURE, folder, name)) as f:
                files[f"{folder}/{name}"] = f.read()
    return files


def project(main, name="maps", routes=None):
    config = f'name = "{name}"\nmain = "{main}"\n'
    if routes:
        config += "routes = [" + ", ".join(f'"{r}"' for r in routes) + "]\n"
    return Project(fixture_files(), config=config)


class SourceMapAssertions:
    def assertMappedStack(self, text):
        # greet() throws at src/greet.ts line 8, called from line 15 of
        # src/index.ts (the bundle has them on lines 4 and 22).
        self.assertRegex(text, r"at greet \(src/greet\.ts:8:\d+\)")
        self.assertRegex(text, r"at Object\.fetch \(src/index\.ts:15:\d+\)")
        self.assertNotIn("dist/index.js:", text)
        self.assertNotIn("dist/inline.js:", text)
        self.assertNotIn("edge:internal", text)


class DevErrorPageTest(unittest.TestCase, SourceMapAssertions):
    @classmethod
    def setUpClass(cls):
        cls.project = project("dist/index.js")
        cls.edge = EdgeProcess(cls.project.dir)

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)

    def tearDown(self):
        self.assertTrue(self.edge.alive(), "edge dev died:\n" + self.edge.log())

    def test_browser_gets_an_html_page_with_the_escaped_message_and_original_lines(self):
        response = self.edge.request("GET", "/?name=boom",
                                     headers={"Accept": "text/html,application/xhtml+xml"})
        self.assertEqual(response.status, 500)
        self.assertEqual(response.header("content-type"), "text/html; charset=utf-8")
        page = response.body.decode()
        self.assertIn("Error: greet failed for &lt;b&gt;boom&lt;/b&gt; &amp; co", page)
        self.assertNotIn("<b>boom</b>", page)
        self.assertMappedStack(page)

    def test_other_clients_get_plain_text(self):
        response = self.edge.request("GET", "/?name=boom", headers={"Accept": "*/*"})
        self.assertEqual(response.status, 500)
        self.assertEqual(response.header("content-type"), "text/plain; charset=utf-8")
        text = response.body.decode()
        self.assertTrue(text.startswith("500 Internal Server Error\n\nError: " + MESSAGE), text)
        self.assertMappedStack(text)

    def test_terminal_shows_the_mapped_stack(self):
        self.edge.request("GET", "/?name=boom")
        self.assertTrue(self.edge.wait_for_log(r"at greet \(src/greet\.ts:8:"), self.edge.log())
        self.assertNotIn("edge:internal", self.edge.log())

    def test_a_logged_stack_is_mapped_too(self):
        response = self.edge.request("GET", "/log")
        self.assertEqual(response.body, b"logged")
        self.assertTrue(self.edge.wait_for_log(r"at Object\.fetch \(src/index\.ts:9:"),
                        self.edge.log())

    def test_requests_that_do_not_throw_are_untouched(self):
        response = self.edge.request("GET", "/?name=edge", headers={"Accept": "text/html"})
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, b"Hello, edge!")


SERVICE_WORKER = r"""
addEventListener("fetch", (event) => {
  const error = new Error("sw <boom>");
  if (new URL(event.request.url).pathname === "/stack") {
    event.respondWith(new Response(error.stack));
  } else {
    event.respondWith(Promise.reject(error));
  }
});
"""


class DevInternalFramesTest(unittest.TestCase):
    def test_runtime_frames_are_left_out_of_the_page_but_not_out_of_error_stack(self):
        proj = Project({"sw.js": SERVICE_WORKER}, config='name = "sw"\nmain = "sw.js"\n')
        edge = EdgeProcess(proj.dir)
        try:
            # Inside the worker, error.stack is what V8 made.
            inside = edge.request("GET", "/stack").body.decode()
            self.assertIn("at sw.js:3:", inside)
            self.assertIn("edge:internal/", inside)
            response = edge.request("GET", "/", headers={"Accept": "text/html"})
            self.assertEqual(response.status, 500)
            page = response.body.decode()
            self.assertIn("Error: sw &lt;boom&gt;", page)
            self.assertIn("at sw.js:3:", page)
            self.assertNotIn("edge:internal", page)
        finally:
            edge.stop_and_remove(proj)


class DevInlineMapTest(unittest.TestCase, SourceMapAssertions):
    def test_inline_data_url_map(self):
        proj = project("dist/inline.js")
        edge = EdgeProcess(proj.dir)
        try:
            response = edge.request("GET", "/?name=boom")
            self.assertEqual(response.status, 500)
            self.assertMappedStack(response.body.decode())
        finally:
            edge.stop_and_remove(proj)

    def test_a_broken_map_leaves_the_bundle_lines_and_says_why(self):
        proj = project("dist/index.js")
        proj.write("dist/index.js.map", '{"version":3,"sources":[],"mappings":"AAAA"}')
        edge = EdgeProcess(proj.dir)
        try:
            response = edge.request("GET", "/?name=boom")
            self.assertEqual(response.status, 500)
            self.assertIn("at greet (dist/index.js:4:", response.body.decode())
            self.assertTrue(edge.wait_for_log("the source map of dist/index.js is not used: "
                                              "invalid source map: a segment before offset "),
                            edge.log())
            self.assertTrue(edge.alive())
        finally:
            edge.stop_and_remove(proj)


class ServeTest(unittest.TestCase, SourceMapAssertions):
    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess.for_class(cls, threads=2)
        proj = project("dist/index.js", name="mapped", routes=["mapped.test/*"])
        cls.node.projects.append(proj)
        cls.deployed = cls.node.deploy(proj.dir)
        assert cls.deployed.returncode == 0, cls.deployed.stderr

    def test_deploy_carries_the_map_file(self):
        self.assertIn("(2 modules,", self.deployed.stdout)

    def test_clients_get_the_plain_500_and_the_log_and_tail_the_mapped_stack(self):
        tail = Tail(self.node, "mapped", "--format", "json")
        try:
            tail.wait_connected()
            response = self.node.request("mapped.test", "/?name=boom",
                                         headers={"Accept": "text/html"})
            self.assertEqual(response.status, 500)
            self.assertEqual(response.header("content-type"), "text/plain; charset=utf-8")
            self.assertNotIn(b"greet", response.body)
            self.assertIn(b"Worker threw exception", response.body)
            lines = tail.read_until(lambda lines: len(request_events(lines)) >= 1)
            event = request_events(lines)[0]
            self.assertEqual(event["outcome"], "exception", event)
            self.assertEqual(len(event["exceptions"]), 1, event)
            self.assertIn("Error: " + MESSAGE, event["exceptions"][0]["message"])
            self.assertMappedStack(event["exceptions"][0]["message"])
        finally:
            tail.stop()
            tail.proc.stdout.close()
            tail.proc.stderr.close()
        self.assertRegex(self.node.log(), r"at greet \(src/greet\.ts:8:")

    def test_pretty_tail_prints_the_exception(self):
        tail = Tail(self.node, "mapped")
        try:
            tail.wait_connected()
            self.node.request("mapped.test", "/?name=boom")
            lines = tail.read_until(lambda lines: any("src/index.ts:15:" in l for l in lines))
            text = "\n".join(lines)
            self.assertIn("(exception) Error: " + MESSAGE, text)
            self.assertMappedStack(text)
        finally:
            tail.stop()
            tail.proc.stdout.close()
            tail.proc.stderr.close()


class EdgeTestOutputTest(unittest.TestCase):
    def test_failures_show_original_lines(self):
        proj = project("dist/index.js")
        try:
            result = subprocess.run([BINARY, "test", "dist/greet.test.js"], cwd=proj.dir,
                                    capture_output=True, text=True, timeout=120)
            self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
            self.assertIn("FAIL  greetsBoom", result.stdout)
            self.assertRegex(result.stdout, r"at greet \(src/greet\.ts:8:\d+\)")
            self.assertRegex(result.stdout, r"at greetsBoom \(src/greet\.test\.ts:4:\d+\)")
            self.assertNotIn("edge:internal", result.stdout)
        finally:
            proj.remove()


if __name__ == "__main__":
    unittest.main()
