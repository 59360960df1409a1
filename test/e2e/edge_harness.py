"""Starts the real `edge` binary and speaks raw HTTP/1.1 to it.

Used by the end-to-end tests under test/e2e. The binary comes from
$EDGE_BINARY (ctest sets it), else build/edge.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

SOURCE_DIR = os.environ.get(
    "EDGE_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BINARY = os.environ.get("EDGE_BINARY", os.path.join(SOURCE_DIR, "build", "edge"))


class _Process:
    """A child `edge` whose stderr a thread collects (log()) and that waits for
    its ready line on stdout."""

    STOP_TIMEOUT = 15

    def _spawn(self, cmd, **kwargs):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, **kwargs)
        self.log_lines = []
        self._log_lock = threading.Lock()
        self._stderr_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_thread.start()

    def _wait_ready(self, pattern, timeout, what):
        """The match of `pattern` with the first stdout line it matches; if
        stdout ends or `timeout` passes first, kills the process and raises."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            match = re.match(pattern, line)
            if match:
                return match
        self.proc.kill()
        self.proc.wait()
        self._stderr_thread.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        raise RuntimeError(f"{what} did not become ready:\n" + self.log())

    def _read_stderr(self):
        for line in self.proc.stderr:
            with self._log_lock:
                self.log_lines.append(line)

    def log(self):
        with self._log_lock:
            return "".join(self.log_lines)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=None):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout or self.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr_thread.join(timeout=5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()
        return self.proc.returncode


class EdgeProcess(_Process):
    """`edge dev PATH... --port 0 ...`, waiting for its "Ready on" line."""

    def __init__(self, path, *args, timeout=30, extra_env=None):
        self._spawn([BINARY, "dev", path, *args, "--port", "0"],
                    env=dict(os.environ, **(extra_env or {})))
        match = self._wait_ready(r"Ready on http://([\d.]+):(\d+)", timeout, "edge dev")
        self.port = int(match.group(2))

    def wait_for_log(self, pattern, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if re.search(pattern, self.log()):
                return True
            time.sleep(0.05)
        return False

    def connect(self, timeout=10):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return sock

    def request(self, method="GET", path="/", body=b"", headers=None):
        """One request on a new connection; returns a Response."""
        with self.connect() as sock:
            send_request(sock, method, path, body, headers, close=True)
            return read_response(sock, head=(method == "HEAD"))

    def stop_and_remove(self, *projects):
        """For a tearDownClass: stops it, removes `projects`, and fails unless it exited 0."""
        code = self.stop()
        for project in projects:
            project.remove()
        assert code == 0, f"edge dev exited with {code}:\n{self.log()}"


def send_request(sock, method="GET", path="/", body=b"", headers=None, close=False):
    sock.sendall(build_request(method, path, body, headers, close))


def build_request(method="GET", path="/", body=b"", headers=None, close=False):
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body and not any(k.lower() in ("content-length", "transfer-encoding")
                        for k in (headers or {})):
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (lowercased name, value)
        self.body = body

    def header(self, name):
        for key, value in self.headers:
            if key == name.lower():
                return value
        return None


class Reader:
    """Buffered reads from a socket, so pipelined responses can be split."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed")
        self.buffer += data

    def read_until(self, delimiter):
        """Everything up to and including `delimiter`."""
        while delimiter not in self.buffer:
            self._fill()
        data, self.buffer = self.buffer.split(delimiter, 1)
        return data + delimiter

    def read_line(self):
        """A CRLF-terminated line, without its CRLF."""
        return self.read_until(b"\r\n")[:-2]

    def read_exact(self, n):
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_until_close(self):
        try:
            while True:
                self._fill()
        except ConnectionError:
            pass
        data, self.buffer = self.buffer, b""
        return data


def received_chunks(sock):
    """What `sock` receives, one recv() at a time, until the peer closes."""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        yield data


_readers = {}


def read_response(sock, head=False):
    reader = _readers.setdefault(id(sock), Reader(sock))
    if reader.sock is not sock:
        reader = _readers[id(sock)] = Reader(sock)
    status_line = reader.read_line().decode()
    _, status, reason = (status_line.split(" ", 2) + [""])[:3]
    headers = []
    while True:
        line = reader.read_line()
        if not line:
            break
        name, value = line.decode().split(":", 1)
        headers.append((name.strip().lower(), value.strip()))
    response = Response(int(status), reason, headers, b"")
    status_code = int(status)
    if head or status_code in (204, 304) or 100 <= status_code < 200:
        return response
    if response.header("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int(reader.read_line().split(b";")[0], 16)
            if size == 0:
                reader.read_line()
                break
            body += reader.read_exact(size)
            reader.read_line()
        response.body = body
    elif response.header("content-length") is not None:
        response.body = reader.read_exact(int(response.header("content-length")))
    else:
        response.body = reader.read_until_close()
    return response


def wait_for(predicate, timeout, interval=0.1):
    """Polls `predicate` until it returns something true (returned), or
    `timeout` seconds passed (then its last value)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class Project:
    """A temporary worker project folder the test can edit."""

    def __init__(self, files, config=None):
        self.dir = tempfile.mkdtemp(prefix="edge-e2e-")
        if config is None:
            config = 'name = "e2e"\nmain = "index.js"\n'
        self.write("edge.toml", config)
        for name, text in files.items():
            self.write(name, text)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # Write a new file and rename it over the old one, as editors do.
        tmp = path + ".tmp~"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port():
    """A TCP port nothing listens on right now (for an `edge serve` admin port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin_folder(prefix, data_dir=None):
    """A fresh folder for a node or an origin: (the folder, the data folder
    (`data_dir`, else one inside it), a file in it holding NodeProcess.TOKEN)."""
    folder = tempfile.mkdtemp(prefix=prefix)
    token_file = os.path.join(folder, "token")
    with open(token_file, "w") as f:
        f.write(NodeProcess.TOKEN + "\n")
    return folder, data_dir or os.path.join(folder, "data"), token_file


class NodeProcess(_Process):
    """`edge serve` on loopback with a fresh (or given) data folder and token.

    Waits for its "Ready:" line; `http_port` and `admin_port` are the ports it
    bound. Access-log lines (stdout) are kept in `access` as parsed JSON.
    `projects` (those add_worker made, and any a test appends) are removed
    with the node.
    """

    TOKEN = "e2e-admin-token-0123456789abcdef"
    STOP_TIMEOUT = 30

    @classmethod
    def for_class(cls, case, *args, **kwargs):
        """A node for a TestCase's setUpClass: `case` removes it (report=True)
        as a class cleanup, after tearDownClass or when setUpClass fails."""
        node = cls(*args, **kwargs)
        case.addClassCleanup(node.remove, report=True)
        return node

    def __init__(self, *args, data_dir=None, threads=2, timeout=60, extra_env=None):
        self.dir, self.data_dir, self.token_file = admin_folder("edge-node-", data_dir)
        self.args = args
        self.threads = threads
        self.timeout = timeout
        self.extra_env = extra_env
        self.access = []
        self.access_lock = threading.Lock()
        self.projects = []
        self._start()

    def _start(self):
        cmd = [BINARY, "serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
               "--admin-token-file", self.token_file, "--data-dir", self.data_dir,
               "--threads", str(self.threads), *self.args]
        self._spawn(cmd, env=dict(os.environ, **(self.extra_env or {})))
        match = self._wait_ready(
            r"Ready:(?: http port (\d+))?(?: https port (\d+))? admin port (\d+)",
            self.timeout, "edge serve")
        self.http_port = int(match.group(1)) if match.group(1) else None
        self.https_port = int(match.group(2)) if match.group(2) else None
        self.admin_port = int(match.group(3))
        self._stdout_thread = threading.Thread(target=self._read_stdout, daemon=True)
        self._stdout_thread.start()

    def _read_stdout(self):
        import json
        for line in self.proc.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            with self.access_lock:
                self.access.append(record)

    def access_records(self, type_="access"):
        with self.access_lock:
            return [r for r in self.access if r.get("type") == type_]

    @property
    def admin_url(self):
        return f"http://127.0.0.1:{self.admin_port}"

    def request(self, host, path="/", method="GET", body=b"", headers=None, timeout=30):
        """One request to the traffic port with Host `host`; returns a Response."""
        all_headers = {"Host": host, **(headers or {})}
        with socket.create_connection(("127.0.0.1", self.http_port), timeout=timeout) as sock:
            sock.sendall(_raw_request(method, path, body, all_headers))
            return read_response(sock, head=(method == "HEAD"))

    def admin(self, method, path, body=b"", token=None, headers=None):
        """One admin API call; `token` None means the right one, "" none at all."""
        all_headers = dict(headers or {})
        token = self.TOKEN if token is None else token
        if token:
            all_headers["Authorization"] = "Bearer " + token
        if isinstance(body, str):
            body = body.encode()
        with socket.create_connection(("127.0.0.1", self.admin_port), timeout=60) as sock:
            sock.sendall(_raw_request(method, path, body,
                                      {"Host": "127.0.0.1", **all_headers}))
            return read_response(sock, head=(method == "HEAD"))

    def admin_json(self, method, path, body=b""):
        import json
        response = self.admin(method, path, body)
        return response.status, json.loads(response.body or b"null")

    def cli(self, *args, input=None, cwd=None):
        """Runs `edge ARGS...` against this node (deploy, secret, tail...)."""
        return subprocess.run([BINARY, *args], input=input, cwd=cwd, capture_output=True,
                              text=True, timeout=120)

    def worker_usage(self, worker, done=lambda usage: True, timeout=10):
        """The worker's entry of /usage ({"invocations": 0, "refused": 0}
        when it has none), once `done(usage)` holds or `timeout` passed."""
        deadline = time.time() + timeout
        while True:
            response = self.admin("GET", "/usage")
            assert response.status == 200, response.body
            import json
            usage = json.loads(response.body)["workers"].get(worker, {"invocations": 0, "refused": 0})
            if done(usage) or time.time() >= deadline:
                return usage
            time.sleep(0.05)

    def tail_request_event(self, worker, url_suffix, act, timeout=30):
        """Runs `edge tail WORKER --format json` against this node, calls
        `act()` once it is connected, and returns the first request event
        whose URL ends with `url_suffix` (None if none came in `timeout`)."""
        import json
        tail = subprocess.Popen([BINARY, "tail", worker, "--format", "json", "--from", self.admin_url,
                                 "--token-file", self.token_file],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + timeout
            while time.time() < deadline:
                line = tail.stderr.readline()
                if line.startswith("Connected to") or not line:
                    break
            act()
            while time.time() < deadline:
                line = tail.stdout.readline()
                if not line:
                    break
                event = json.loads(line)
                if event.get("type") == "request" and event["url"].endswith(url_suffix):
                    return event
            return None
        finally:
            tail.terminate()
            tail.wait(15)
            tail.stdout.close()
            tail.stderr.close()

    def deploy(self, project_dir, *extra):
        return self.cli("deploy", project_dir, "--to", self.admin_url, "--token-file",
                        self.token_file, *extra)

    def create_account(self, name, hosts):
        """`edge account create NAME --hosts HOSTS` with the operator's token;
        returns the file its token was written to. Raises AssertionError if
        the node refuses."""
        token_file = os.path.join(self.dir, f"account-{name}.token")
        result = self.cli("account", "create", name, "--hosts", hosts, "--token-out", token_file,
                          "--to", self.admin_url, "--token-file", self.token_file)
        if result.returncode != 0:
            raise AssertionError(f"account {name}: {result.stderr}")
        return token_file

    def add_worker(self, name, source, routes, extra_config=""):
        """make_worker(...), the project removed with the node."""
        project = make_worker(name, source, routes, extra_config)
        self.projects.append(project)
        return project

    def deploy_worker(self, name, source, routes, extra_config=""):
        """Deploys add_worker(...); raises AssertionError if the deploy fails."""
        result = self.deploy(self.add_worker(name, source, routes, extra_config).dir)
        if result.returncode != 0:
            raise AssertionError(f"deploy of {name} failed:\n{result.stderr}\n{self.log()}")
        return result

    def restart(self):
        self.stop()
        self._start()

    def remove(self, report=False):
        """Stops the node if it runs (with `report`, printing its log if it
        then exits with other than 0: a class cleanup cannot fail usefully),
        then removes its folder and its projects."""
        if self.proc.poll() is None:
            code = self.stop()
            if report and code != 0:
                print(f"edge serve exited with {code}:\n{self.log()}")
        shutil.rmtree(self.dir, ignore_errors=True)
        for project in self.projects:
            project.remove()


def _raw_request(method, path, body, headers):
    lines = [f"{method} {path} HTTP/1.1"]
    for name, value in headers.items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# For worker sources: threeChunks(prefix) is a ReadableStream of the bytes of
# `${prefix}0;`, `${prefix}1;` and `${prefix}2;`, each 5 ms after the last.
THREE_CHUNKS_JS = r"""
function threeChunks(prefix) {
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      if (i === 3) return controller.close();
      await new Promise((r) => setTimeout(r, 5));
      controller.enqueue(new TextEncoder().encode(`${prefix}${i++};`));
    },
  });
}
"""


def make_worker(name, source, routes=(), extra_config="", files=None):
    """A project folder for `edge deploy`: edge.toml + index.js (+ files)."""
    route_list = ", ".join(f'"{r}"' for r in routes)
    config = f'name = "{name}"\nmain = "index.js"\nroutes = [{route_list}]\n{extra_config}'
    return Project({"index.js": source, **(files or {})}, config=config)
