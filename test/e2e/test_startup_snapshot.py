"""The startup snapshot (runtime/snapshot.h) as the real binary uses it:
`edge test` starts its isolate from the snapshot built into `edge`; with
EDGE_SNAPSHOT=off, or with V8 flags the snapshot was not made with, it says
so once and builds the runtime by running its JavaScript, with the same
result and no crash."""
import os
import subprocess
import tempfile
import unittest

from edge_harness import BINARY

# A test module that needs the whole runtime and its refusals (runtime/
# snapshot_test.cc checks the per-isolate values).
TEST_MODULE = """
export default {
  "the runtime is there and still refuses eval"() {
    for (const name of ["Request", "Response", "URLPattern", "CompressionStream", "TextDecoder"]) {
      if (typeof globalThis[name] !== "function") throw new Error(name + " is missing");
    }
    if (typeof crypto.subtle.digest !== "function") throw new Error("crypto.subtle is missing");
    let evaluated = true;
    try { eval("1"); } catch (e) { if (e.name !== "EvalError") throw e; evaluated = false; }
    if (evaluated) throw new Error("eval ran");
  },
};
"""


class StartupSnapshotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="edge-snapshot-")
        cls.path = os.path.join(cls.dir.name, "runtime_test.js")
        with open(cls.path, "w") as f:
            f.write(TEST_MODULE)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def run_edge_test(self, **env):
        full_env = dict(os.environ)
        full_env.pop("EDGE_SNAPSHOT", None)
        full_env.pop("EDGE_V8_FLAGS", None)
        full_env.update(env)
        result = subprocess.run([BINARY, "test", self.path], env=full_env, capture_output=True,
                                text=True, timeout=60)
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 0, output)
        return output

    def test_the_built_in_snapshot_is_used_quietly(self):
        output = self.run_edge_test()
        self.assertNotIn("startup snapshot", output)

    def test_turned_off_it_says_so_and_runs_the_javascript(self):
        output = self.run_edge_test(EDGE_SNAPSHOT="off")
        self.assertIn("startup snapshot: off (EDGE_SNAPSHOT)", output)

    def test_other_v8_flags_fall_back_instead_of_crashing(self):
        # V8 itself would refuse (or crash on) a blob made with other flags:
        # the header check keeps the blob from it.
        output = self.run_edge_test(EDGE_V8_FLAGS="--no-lazy-feedback-allocation")
        self.assertIn("startup snapshot not used: it was made with flags "
                      "'--single-threaded-gc --no-verify-snapshot-checksum'", output)
        self.assertIn("--no-lazy-feedback-allocation", output)


if __name__ == "__main__":
    unittest.main()
