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


class EdgeProcess:
    """`edge dev PATH... --port 0 ...`, waiting for its "Ready on" line."""

    def __init__(self, path, *args, timeout=30):
        self.proc = subprocess.Popen(
            [BINARY, "dev", path, *args, "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log_lines = []
        self._log_lock = threading.Lock()
        self._stderr_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_thread.start()
        deadline = time.time() + timeout
        self.port = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            match = re.match(r"Ready on http://([\d.]+):(\d+)", line)
            if match:
                self.port = int(match.group(2))
                break
        if self.port is None:
            self.proc.kill()
            self.proc.wait()
            self._stderr_thread.join(timeout=5)
            self.proc.stdout.close()
            self.proc.stderr.close()
            raise RuntimeError("edge dev did not become ready:\n" + self.log())

    def _read_stderr(self):
        for line in self.proc.stderr:
            with self._log_lock:
                self.log_lines.append(line)

    def log(self):
        with self._log_lock:
            return "".join(self.log_lines)

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

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr_thread.join(timeout=5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()
        return self.proc.returncode


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

    def read_line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

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
