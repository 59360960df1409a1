"""End-to-end: service bindings between workers loaded by one `edge dev`."""
import os
import time
import unittest

from edge_harness import THREE_CHUNKS_JS, EdgeProcess, Project, SOURCE_DIR

CALLER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/missing") return env.NOBODY.fetch(request);
    // Pass the request on (method, headers, body) and return the other
    // worker's response as is: its body streams through.
    return env.BACKEND.fetch(request);
  },
};
"""

BACKEND = THREE_CHUNKS_JS + r"""
let calls = 0;
export default {
  async fetch(request) {
    calls++;
    const url = new URL(request.url);
    if (url.pathname === "/stream") {
      return new Response(threeChunks("chunk"), { headers: { "x-backend": "yes" } });
    }
    if (url.pathname === "/throw") throw new Error("backend failure");
    const body = request.body ? await request.text() : "";
    return new Response(`${VERSION} ${request.method} ${url.pathname} ${body} ` +
                        `${request.headers.get("x-token")} #${calls}`);
  },
};
const VERSION = "v1";
"""


class ServiceBindingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.caller = Project({"index.js": CALLER}, config=(
            'name = "caller"\nmain = "index.js"\n'
            '[[services]]\nbinding = "BACKEND"\nservice = "backend"\n'
            '[[services]]\nbinding = "NOBODY"\nservice = "not-loaded"\n'))
        cls.backend = Project({"index.js": BACKEND},
                              config='name = "backend"\nmain = "index.js"\n')
        cls.edge = EdgeProcess(cls.caller.dir, cls.backend.dir)

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.caller, cls.backend)

    def test_request_goes_through_and_state_is_the_other_workers(self):
        response = self.edge.request("POST", "/echo", body=b"payload",
                                     headers={"X-Token": "t1"})
        self.assertEqual(response.status, 200)
        self.assertRegex(response.body.decode(), r"^v1 POST /echo payload t1 #\d+$")

    def test_streamed_body_passes_through(self):
        response = self.edge.request("GET", "/stream")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("x-backend"), "yes")
        self.assertEqual(response.body, b"chunk0;chunk1;chunk2;")

    def test_errors_in_the_other_worker_reject_the_call(self):
        self.assertEqual(self.edge.request("GET", "/throw").status, 500)
        self.assertTrue(self.edge.wait_for_log(r"\[backend\] Error: backend failure"),
                        self.edge.log())

    def test_a_worker_not_loaded_is_a_clear_error(self):
        self.assertEqual(self.edge.request("GET", "/missing").status, 500)
        self.assertTrue(self.edge.wait_for_log(r"no worker named 'not-loaded' is loaded"),
                        self.edge.log())

    def test_the_other_worker_reloads_on_its_own(self):
        self.backend.write("index.js", BACKEND.replace('"v1"', '"v2"'))
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.edge.request("GET", "/x").body.startswith(b"v2"):
                break
            time.sleep(0.05)
        self.assertTrue(self.edge.request("GET", "/x").body.startswith(b"v2"), self.edge.log())


class ServiceBindingExampleTest(unittest.TestCase):
    def test_example(self):
        root = os.path.join(SOURCE_DIR, "examples", "service-binding")
        edge = EdgeProcess(os.path.join(root, "front"), os.path.join(root, "auth"))
        try:
            ok = edge.request("GET", "/", headers={"Authorization": "Bearer secret-token"})
            self.assertEqual((ok.status, ok.body), (200, b"Hello, ada!\n"))
            self.assertEqual(edge.request("GET", "/").status, 403)
        finally:
            self.assertEqual(edge.stop(), 0)


if __name__ == "__main__":
    unittest.main()
