"""An edge-sync fleet on loopback for the end-to-end tests: keys and tokens,
an `edge origin`, relays and PoPs (`edge serve --sync-from`), and a TCP
proxy that can corrupt what passes through it."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from edge_harness import BINARY, NodeProcess, free_port

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
        self.dir = tempfile.mkdtemp(prefix="edge-origin-")
        self.data_dir = data_dir or os.path.join(self.dir, "data")
        self.token_file = os.path.join(self.dir, "token")
        with open(self.token_file, "w") as f:
            f.write(NodeProcess.TOKEN + "\n")
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
        threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True).start()

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
        self.proc.stdout.close()

    def admin(self, method, path, body=b""):
        return _call(self.port, method, path, body, NodeProcess.TOKEN)

    def deploy(self, project_dir):
        return subprocess.run([BINARY, "deploy", project_dir, "--to", self.url, "--token-file",
                               self.token_file], capture_output=True, text=True, timeout=120)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


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


class CorruptingProxy:
    """Forwards TCP connections to `target_port`; `corrupt(data) -> data` may
    change what flows from the target back to the client."""

    def __init__(self, target_port, corrupt=None):
        self.target_port = target_port
        self.corrupt = corrupt
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
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
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
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

    def close(self):
        self.closed = True
        self.listener.close()
