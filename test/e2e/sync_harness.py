"""An edge-sync fleet on loopback for the end-to-end tests: keys and tokens,
an `edge origin`, relays and PoPs (`edge serve --sync-from`), a TCP proxy
that can corrupt what passes through it (CorruptingProxy) and an HTTP-aware
one that tampers with log lines, blobs and snapshots in modes switched at run
time (TamperingProxy)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from edge_harness import BINARY, NodeProcess, Project, Reader, admin_folder, free_port

SYNC_TOKEN = "e2e-sync-token-0123456789abcdef"


class FleetKeys:
    """The origin's signing key, the fleet's secrets key and the tokens."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="edge-fleet-")
        self.signing_key = os.path.join(self.dir, "origin.key")
        self.verify_key = self.signing_key + ".pub"
        subprocess.run([BINARY, "keygen", "--out", self.signing_key], check=True,
                       capture_output=True)
        self.secrets_key = os.path.join(self.dir, "fleet-secrets.key")
        with open(self.secrets_key, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        self.sync_token_file = os.path.join(self.dir, "sync-token")
        with open(self.sync_token_file, "w") as f:
            f.write(SYNC_TOKEN + "\n")

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class OriginProcess:
    """`edge origin` with a fixed admin port (so PoPs can find it again after a restart)."""

    def __init__(self, keys, port=None, data_dir=None, extra=()):
        self.keys = keys
        self.port = port or free_port()
        self.dir, self.data_dir, self.token_file = admin_folder("edge-origin-", data_dir)
        self.extra = extra
        self.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            [BINARY, "origin", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir,
             "--token-file", self.token_file, "--signing-key", self.keys.signing_key,
             "--secrets-key", self.keys.secrets_key, "--sync-token-file",
             self.keys.sync_token_file, "--compact-every-s", "0", *self.extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("Ready:"):
            self.proc.kill()
            raise RuntimeError("edge origin did not start: " + line + self.proc.stderr.read())
        self.log_lines = []
        self._stderr_thread = threading.Thread(target=self._read_stderr, args=(self.proc,),
                                               daemon=True)
        self._stderr_thread.start()

    def _read_stderr(self, proc):
        for line in proc.stderr:
            self.log_lines.append(line)

    def log(self):
        return "".join(self.log_lines)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("edge origin did not stop on " + str(sig))
        self._stderr_thread.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def admin(self, method, path, body=b""):
        return _call(self.port, method, path, body, NodeProcess.TOKEN)

    def deploy(self, project_dir):
        return subprocess.run([BINARY, "deploy", project_dir, "--to", self.url, "--token-file",
                               self.token_file], capture_output=True, text=True, timeout=120)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def kv_worker(answer):
    """A worker source: PUT /kv?key=K&value=V stores V under K in the KV
    namespace bound as DATA, GET /kv?key=K answers it (or "missing"); any
    other request is answered with the JavaScript template literal `answer`
    (`request` and `env` in scope)."""
    return """
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/kv") {
      const key = url.searchParams.get("key");
      if (request.method === "PUT") {
        await env.DATA.put(key, url.searchParams.get("value"));
        return new Response("stored");
      }
      return new Response((await env.DATA.get(key)) ?? "missing");
    }
    return new Response(`ANSWER`);
  },
};
""".replace("ANSWER", answer)


def fleet_project(name, host, version, worker):
    """A project of `worker` routed to HOST/*, with [vars] VERSION = "`version`"
    and the KV namespace "data" bound as DATA."""
    config = (f'name = "{name}"\nmain = "index.js"\nroutes = ["{host}/*"]\n'
              f'[vars]\nVERSION = "{version}"\n'
              '[[kv_namespaces]]\nbinding = "DATA"\nid = "data"\n')
    return Project({"index.js": worker}, config=config)


def start_pop(keys, upstream_url, pop_id, relay=False, data_dir=None, admin_port=None, extra=()):
    args = ["--sync-from", upstream_url, "--sync-key", keys.verify_key, "--sync-token-file",
            keys.sync_token_file, "--secrets-key", keys.secrets_key, "--pop-id", pop_id, *extra]
    if relay:
        args.append("--sync-relay")
    if admin_port:
        args += ["--admin", f"127.0.0.1:{admin_port}"]
    node = NodeProcess(*args, data_dir=data_dir, threads=1)
    return node


def _call(port, method, path, body, token):
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body,
                           headers={"Authorization": "Bearer " + token})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until(condition, timeout=20, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return True
        except (OSError, ValueError):
            pass
        time.sleep(interval)
    return False


class _Proxy:
    """A loopback listener on a port of its own for connections on their way
    to `target_port`; a thread hands each one to _handle() (the subclass's).
    A subclass sets its own attributes before calling __init__."""

    def __init__(self, target_port, backlog):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(backlog)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self._handle(client)

    def close(self):
        self.closed = True
        self.listener.close()


class CorruptingProxy(_Proxy):
    """Forwards TCP connections to `target_port`; `corrupt(data) -> data` may
    change what flows from the target back to the client."""

    def __init__(self, target_port, corrupt=None):
        self.corrupt = corrupt
        super().__init__(target_port, 16)

    def _handle(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
        threading.Thread(target=self._pipe, args=(upstream, client, self.corrupt),
                         daemon=True).start()

    @staticmethod
    def _pipe(source, sink, corrupt):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if corrupt is not None:
                    data = corrupt(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class TamperingProxy(_Proxy):
    """An HTTP-aware man in the middle for edge-sync: forwards every
    connection to `target_port` and, depending on a mode that can be switched
    at any time (it is read for each line and each blob, so a log stream that
    is already open is affected too), tampers with what the upstream sends:

      "pass"          nothing changed
      "corrupt_entry" one base64 character inside an entry line's "entry" is
                      replaced (the line stays valid JSON; the signature no
                      longer matches)
      "resign"        the entry is kept and its signature replaced with a
                      valid Ed25519 signature by another key
      "replay"        the line keeps its seq but carries the entry and the
                      signature of the first entry line the proxy saw (a
                      genuine, correctly signed entry at the wrong place)
      "corrupt_blob"  a GET /sync/blobs/ body is changed: `replace` (old, new)
                      of equal length when given, else one byte flipped
      "truncate_line" the log stream's connection is cut in the middle of an
                      entry line (inside its chunk) after `keep` whole entry
                      lines on that connection
      "end_mid_line"  the log body ends properly (last chunk) in the middle
                      of an entry line after `keep` whole entry lines
      "truncate_blob" a blob body is cut in the middle (the connection closed
                      short of its Content-Length)
      "forge_snapshot" no key needed: /sync/log is answered 410 (as when the
                      reader's cursor is below the compaction point) and
                      /sync/snapshot with a snapshot made up by the proxy:
                      its header (`head`, `compacted_through`) and end line,
                      with no entry between them

    `count` limits the tampering to that many lines/blobs, then the mode goes
    back to "pass". Everything else (check-ins, KV forwarding, 410 answers)
    passes as it is. `tampered` counts what was changed.
    """

    ENTRY_MODES = ("corrupt_entry", "resign", "replay", "truncate_line", "end_mid_line")
    BLOB_MODES = ("corrupt_blob", "truncate_blob")
    OTHER_MODES = ("forge_snapshot",)

    def __init__(self, target_port):
        self.lock = threading.Lock()
        self.mode = "pass"
        self.count = None
        self.keep = 0
        self.replace = None
        self.forged_head = self.forged_compacted_through = 0
        self.tampered = 0
        self.first_entry = None  # (entry, sig) of the first entry line seen
        self.requests = []       # (method, path) of every request seen
        self._other_key = None
        self.sockets = set()
        super().__init__(target_port, 64)

    def set_mode(self, mode, count=None, keep=0, replace=None, head=0, compacted_through=0):
        assert mode == "pass" or mode in self.ENTRY_MODES + self.BLOB_MODES + self.OTHER_MODES, mode
        with self.lock:
            self.mode, self.count, self.keep, self.replace = mode, count, keep, replace
            self.forged_head, self.forged_compacted_through = head, compacted_through

    def tampered_count(self):
        with self.lock:
            return self.tampered

    def drop_connections(self):
        """Cuts every connection open now (the readers reconnect)."""
        with self.lock:
            sockets = list(self.sockets)
        for s in sockets:
            _shut(s)

    def close(self):
        super().close()
        self.drop_connections()

    # --- internals -------------------------------------------------------

    def _take(self, modes):
        """The current mode if it is one of `modes` (counting one use), else None."""
        with self.lock:
            if self.mode not in modes:
                return None
            mode = self.mode
            self.tampered += 1
            if self.count is not None:
                self.count -= 1
                if self.count <= 0:
                    self.mode, self.count = "pass", None
            return mode

    def _resign(self, entry_b64):
        import base64
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        if self._other_key is None:
            self._other_key = Ed25519PrivateKey.generate()
        return base64.b64encode(self._other_key.sign(base64.b64decode(entry_b64))).decode()

    def _handle(self, client):
        threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = None
        try:
            with self.lock:
                self.sockets.add(client)
            client_reader = Reader(client)
            head = client_reader.read_until(b"\r\n\r\n")
            method, path = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
            with self.lock:
                self.requests.append((method, path))
            if path.startswith(("/sync/log", "/sync/snapshot")) and self._forge(path, client):
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.sockets.add(upstream)
            upstream.sendall(head + client_reader.buffer)
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            reader = Reader(upstream)
            response_head = reader.read_until(b"\r\n\r\n")
            lines = response_head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            if (status == 200 and path.startswith("/sync/log")
                    and headers.get("transfer-encoding") == "chunked"):
                client.sendall(response_head)
                self._log_stream(reader, client)
            elif status == 200 and path.startswith("/sync/blobs/") and "content-length" in headers:
                body = reader.read_exact(int(headers["content-length"]))
                self._blob(response_head, body, client)
            else:
                client.sendall(response_head + reader.buffer)
                self._pipe(upstream, client)
        except (OSError, ValueError, IndexError):
            pass
        finally:
            for s in (client, upstream):
                if s is not None:
                    _shut(s)
                    with self.lock:
                        self.sockets.discard(s)

    def _forge(self, path, client):
        """Answers a log or snapshot request itself in "forge_snapshot" mode."""
        if self._take(self.OTHER_MODES) is None:
            return False
        with self.lock:
            head, compacted = self.forged_head, self.forged_compacted_through
        if path.startswith("/sync/log"):
            body = ('{"error":"the log is compacted through %d: take a snapshot",'
                    '"compacted_through":%d,"head":%d}\n' % (compacted, compacted, head)).encode()
            client.sendall(b"HTTP/1.1 410 Gone\r\nContent-Type: application/json\r\n"
                           b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        else:
            body = ('{"type":"snapshot","head":%d,"compacted_through":%d}\n'
                    '{"type":"end","count":0}\n' % (head, compacted)).encode()
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                           + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        return True

    @staticmethod
    def _pipe(source, sink):
        pipe(source, sink)

    def _blob(self, response_head, body, client):
        mode = self._take(self.BLOB_MODES)
        if mode == "truncate_blob":
            client.sendall(response_head + body[:len(body) // 2])
            return  # the caller closes the connection
        if mode == "corrupt_blob":
            with self.lock:
                replace = self.replace
            if replace and replace[0] in body:
                assert len(replace[0]) == len(replace[1])
                body = body.replace(replace[0], replace[1])
            else:
                i = len(body) // 2
                body = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
        client.sendall(response_head + body)

    def _log_stream(self, reader, client):
        import json
        pending = b""   # an unfinished line
        passed = 0      # whole entry lines passed on this connection
        while True:
            size = int(reader.read_until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                reader.read_until(b"\r\n")
                client.sendall(b"0\r\n\r\n")
                return
            data = pending + reader.read_exact(size)
            reader.read_exact(2)
            *complete, pending = data.split(b"\n")
            out = b""
            for line in complete:
                if not line.startswith(b'{"seq":'):
                    out += line + b"\n"
                    continue
                record = json.loads(line)
                with self.lock:
                    if self.first_entry is None:
                        self.first_entry = (record["entry"], record["sig"])
                    keep = self.keep
                if passed < keep and self.mode in ("truncate_line", "end_mid_line"):
                    passed += 1
                    out += line + b"\n"
                    continue
                mode = self._take(self.ENTRY_MODES)
                if mode in ("truncate_line", "end_mid_line"):
                    half = line[:len(line) // 2]
                    if mode == "truncate_line":
                        # The chunk says how long it is; less than that arrives.
                        client.sendall(b"%x\r\n" % (len(out) + len(line) + 1) + out + half)
                    else:
                        chunk = out + half
                        client.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
                    return  # the caller closes both connections
                entry, sig = record["entry"], record["sig"]
                if mode == "corrupt_entry":
                    i = len(entry) // 2
                    entry = entry[:i] + ("B" if entry[i] == "A" else "A") + entry[i + 1:]
                elif mode == "resign":
                    sig = self._resign(entry)
                elif mode == "replay":
                    with self.lock:
                        entry, sig = self.first_entry
                if mode is None:
                    out += line + b"\n"
                else:
                    out += json.dumps({"seq": record["seq"], "entry": entry, "sig": sig},
                                      separators=(",", ":")).encode() + b"\n"
            if out:
                client.sendall(b"%x\r\n" % len(out) + out + b"\r\n")


def pipe(source, sink):
    """Copies `source` to `sink` until either ends, then shuts both."""
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _shut(source)
        _shut(sink)


def _shut(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


def metric(node, name):
    """The value of the gauge or counter `name` (no labels) in a node's /metrics."""
    text = node.admin("GET", "/metrics").body.decode()
    match = re.search(r"^" + re.escape(name) + r" ([-\d.e+]+)$", text, re.M)
    if match is None:
        raise ValueError(f"no {name} in /metrics")
    return float(match.group(1))
