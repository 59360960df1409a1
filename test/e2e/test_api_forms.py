"""The same API built as one worker (examples/api-mono) and as one worker
per route with a shared worker behind a service binding
(examples/api-micro), under `edge dev`: the same requests get the same
answers from both forms. The micro form runs as one `edge dev` per route
worker (each with the shared worker), all on one persisted state, as a
node would route each path to its own worker."""
import hashlib
import json
import os
import shutil
import tempfile
import unittest

from edge_harness import SOURCE_DIR, EdgeProcess

MONO = os.path.join(SOURCE_DIR, "examples", "api-mono")
MICRO = os.path.join(SOURCE_DIR, "examples", "api-micro")
# The micro form's route workers, by the first segment of the path (and
# whether an id follows).
MICRO_ROUTES = {("health", False): "health", ("users", False): "users", ("users", True): "user",
                ("items", False): "items", ("items", True): "item", ("search", False): "search"}


def uid(email):
    return "u-" + hashlib.sha256(email.lower().encode()).hexdigest()[:12]


def iid(owner, title):
    return "i-" + hashlib.sha256(f"{owner}\n{title}".encode()).hexdigest()[:12]


ADA, BOB = uid("ada@example.com"), uid("bob@example.com")
LAMP = iid(ADA, "Desk lamp")

# (method, path, body, expected status, expected JSON or None: compared
# between the forms only).
REQUESTS = [
    ("GET", "/health", None, 200, {"ok": True}),
    ("GET", "/users", None, 200, {"users": []}),
    ("POST", "/users", {"name": "Ada", "email": "ada@example.com"}, 201,
     {"id": ADA, "name": "Ada", "email": "ada@example.com"}),
    ("POST", "/users", {"name": " Bob ", "email": "bob@example.com"}, 201,
     {"id": BOB, "name": "Bob", "email": "bob@example.com"}),
    ("POST", "/users", {"name": "Ada again", "email": "ADA@example.com"}, 409, None),
    ("POST", "/users", {"name": "", "email": "x"}, 400, None),
    ("POST", "/users", "not json", 400, None),
    ("GET", f"/users/{ADA}", None, 200, {"id": ADA, "name": "Ada", "email": "ada@example.com"}),
    ("GET", "/users/u-000000000000", None, 404, {"error": "no such user"}),
    ("POST", "/items", {"title": "Desk lamp", "owner": ADA}, 201,
     {"id": LAMP, "title": "Desk lamp", "owner": ADA}),
    ("POST", "/items", {"title": "Bike", "owner": BOB}, 201, None),
    ("POST", "/items", {"title": "Ghost", "owner": "u-nobody"}, 400, None),
    ("GET", "/items", None, 200, None),
    ("GET", f"/items?owner={ADA}", None, 200,
     {"items": [{"id": LAMP, "title": "Desk lamp", "owner": ADA}]}),
    ("GET", f"/items/{LAMP}", None, 200, {"id": LAMP, "title": "Desk lamp", "owner": ADA}),
    ("GET", "/items/i-none", None, 404, None),
    ("GET", "/search?q=LAMP", None, 200,
     {"users": [], "items": [{"id": LAMP, "title": "Desk lamp", "owner": ADA}]}),
    ("GET", "/search?q=b", None, 200, None),
    ("GET", "/search", None, 400, None),
    ("DELETE", "/users", None, 405, None),
    ("PUT", "/health", None, 405, None),
    ("GET", "/users", None, 200, None),
]


class ApiFormsTest(unittest.TestCase):
    def setUp(self):
        self.state = tempfile.mkdtemp(prefix="edge-api-forms-")
        self.processes = []

    def tearDown(self):
        for process in self.processes:
            self.assertEqual(process.stop(), 0, process.log())
        shutil.rmtree(self.state, ignore_errors=True)

    def dev(self, *paths, state):
        process = EdgeProcess(*paths, "--persist-to", os.path.join(self.state, state))
        self.processes.append(process)
        return process

    @staticmethod
    def call(process, method, path, body):
        data = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        response = process.request(method, path, data, headers)
        return response.status, json.loads(response.body), response.header("allow")

    def answers(self, route):
        results = []
        for method, path, body, status, expected in REQUESTS:
            got = self.call(route(path), method, path, body)
            self.assertEqual(got[0], status, (method, path, got))
            if expected is not None:
                self.assertEqual(got[1], expected, (method, path))
            results.append(got)
        return results

    def test_both_forms_answer_alike(self):
        mono = self.dev(MONO, state="mono")
        mono_answers = self.answers(lambda path: mono)

        micro = {}
        for (first, with_id), name in MICRO_ROUTES.items():
            micro[(first, with_id)] = self.dev(os.path.join(MICRO, name), os.path.join(MICRO, "core"),
                                               state="micro")

        def route(path):
            parts = path.split("?")[0].split("/")
            return micro[(parts[1], len(parts) > 2)]

        micro_answers = self.answers(route)
        self.assertEqual(micro_answers, mono_answers)
        # The lists hold what was made, in both forms.
        users = mono_answers[-1][1]["users"]
        self.assertEqual(sorted(user["id"] for user in users), sorted([ADA, BOB]))
        self.assertEqual(mono_answers[-3][2], "GET, POST")


if __name__ == "__main__":
    unittest.main()
