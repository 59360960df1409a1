"""A PoP enforces the account rules itself (issue 10 part 6), not only the
origin: fed a log signed with the fleet's real key (an origin that is broken
or compromised, played here by a small fake) whose version entry routes a
host outside its account's patterns, the PoP refuses that entry and serves
nothing past it, while the entries before it apply."""
import base64
import hashlib
import http.server
import json
import threading
import time
import unittest

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from sync_harness import FleetKeys, start_pop, wait_until

WORKER = "export default { fetch() { return new Response('good'); } };"


def entry_bytes(fields):
    # The canonical JSON the origin signs: fields in order, no spaces.
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def bundle(name):
    return entry_bytes({"name": name, "main": "index.js", "modules": [
        {"name": "index.js", "content": base64.b64encode(WORKER.encode()).decode()}]})


class FakeOrigin:
    """Serves /sync/log (the given entries, signed with the fleet's key),
    /sync/blobs and /sync/checkin, as an origin would."""

    def __init__(self, keys, entries, blobs):
        with open(keys.signing_key, "rb") as f:
            key = load_pem_private_key(f.read(), password=None)
        self.lines = []
        for fields in entries:
            data = entry_bytes(fields)
            self.lines.append(json.dumps({
                "seq": fields["seq"], "entry": base64.b64encode(data).decode(),
                "sig": base64.b64encode(key.sign(data)).decode()}, separators=(",", ":")))
        self.blobs = blobs
        self.stopping = False
        self.epoch = "0123456789abcdef0123456789abcdef"
        origin = self

        def heartbeat():
            # The origin's signed state of its log (docs/edge-sync.md): a PoP
            # applies a connection's entries only after one of its epoch.
            head = len(origin.lines)
            time_ms = int(time.time() * 1000)
            statement = (f"edge-sync state\nepoch {origin.epoch}\nhead {head}\n"
                         f"compacted_through 0\ntime_ms {time_ms}\n").encode()
            state = {"epoch": origin.epoch, "head": head, "compacted_through": 0,
                     "time_ms": time_ms, "sig": base64.b64encode(key.sign(statement)).decode()}
            return json.dumps({"type": "heartbeat", "head": head, "epoch": origin.epoch,
                               "state": state}, separators=(",", ":"))

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self):
                path, _, query = self.path.partition("?")
                if path == "/sync/log":
                    after = int(dict(p.split("=") for p in query.split("&") if p).get("after", 0))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.end_headers()
                    out = [heartbeat()]
                    out += [line for i, line in enumerate(origin.lines) if i + 1 > after]
                    try:
                        self.wfile.write(("\n".join(out) + "\n").encode())
                        self.wfile.flush()
                        while not origin.stopping:
                            time.sleep(1)
                            self.wfile.write((heartbeat() + "\n").encode())
                            self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                if path.startswith("/sync/blobs/") and path[12:] in origin.blobs:
                    body = origin.blobs[path[12:]]
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = b"{}"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.stopping = True
        self.server.shutdown()
        self.server.server_close()


class PopRulesTest(unittest.TestCase):
    def test_a_pop_refuses_a_route_outside_the_owners_hosts(self):
        keys = FleetKeys()
        good, evil = bundle("good"), bundle("evil")
        sha_good, sha_evil = hashlib.sha256(good).hexdigest(), hashlib.sha256(evil).hexdigest()
        record = entry_bytes({"hosts": ["shop.test"], "token_sha256": "", "created_ms": 1})
        entries = [
            {"seq": 1, "time_ms": 1, "type": "account", "account": "shop",
             "record": record.decode()},
            {"seq": 2, "time_ms": 1, "type": "version", "worker": "good", "version": 1,
             "blob": sha_good, "routes": ["shop.test/*"], "make_current": True,
             "account": "shop"},
            {"seq": 3, "time_ms": 1, "type": "version", "worker": "evil", "version": 1,
             "blob": sha_evil, "routes": ["victim.test/*"], "make_current": True,
             "account": "shop"},
        ]
        origin = FakeOrigin(keys, entries, {sha_good: good, sha_evil: evil})
        pop = start_pop(keys, origin.url, "pop-rules")
        try:
            self.assertTrue(wait_until(lambda: pop.request("shop.test").body == b"good", 20),
                            pop.log()[-3000:])
            self.assertTrue(wait_until(lambda: "did not apply entry 3" in pop.log(), 20),
                            pop.log()[-3000:])
            self.assertIn("worker 'evil': route \"victim.test/*\": the host victim.test is not "
                          "one of account shop's hosts", pop.log())
            self.assertEqual(pop.request("victim.test").status, 404)
            self.assertEqual(pop.admin("GET", "/workers/evil").status, 404)
            status, body = pop.admin_json("GET", "/workers/good")
            self.assertEqual(body["account"], "shop", body)
        finally:
            pop.remove()
            origin.stop()
            keys.remove()


if __name__ == "__main__":
    unittest.main()
