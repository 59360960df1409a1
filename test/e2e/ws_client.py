"""A small RFC 6455 client (standard library only) for the WebSocket tests.

It speaks the protocol byte by byte so tests can also break it on purpose:
unmasked frames, invalid UTF-8, oversized length headers, fragments.
"""
import base64
import hashlib
import os
import socket
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


class HandshakeRefused(Exception):
    def __init__(self, status, head, body):
        super().__init__(f"handshake answered {status}")
        self.status = status
        self.head = head
        self.body = body


class Closed(Exception):
    """The server ended the TCP connection."""


class WsClient:
    def __init__(self, port, path="/", host="localhost", headers=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        self.status = int(status_line.split(" ")[1])
        self.headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()
        if self.status != 101:
            body = b""
            length = int(self.headers.get("content-length", "0"))
            while len(self.buffer) < length:
                self._fill()
            body = self.buffer[:length]
            self.sock.close()
            raise HandshakeRefused(self.status, head, body)
        expected = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        assert self.headers.get("sec-websocket-accept") == expected, head
        assert self.headers.get("upgrade", "").lower() == "websocket", head

    # -- bytes ---------------------------------------------------------------

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed()
        self.buffer += data

    def _read_until(self, delimiter):
        while delimiter not in self.buffer:
            self._fill()
        index = self.buffer.index(delimiter) + len(delimiter)
        out, self.buffer = self.buffer[:index], self.buffer[index:]
        return out

    def _read_exact(self, n):
        while len(self.buffer) < n:
            self._fill()
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    # -- frames --------------------------------------------------------------

    @staticmethod
    def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
        if isinstance(payload, str):
            payload = payload.encode()
        first = (0x80 if fin else 0) | rsv | opcode
        n = len(payload) if length is None else length
        mask_bit = 0x80 if mask else 0
        if n < 126:
            header = struct.pack("!BB", first, mask_bit | n)
        elif n <= 0xFFFF:
            header = struct.pack("!BBH", first, mask_bit | 126, n)
        else:
            header = struct.pack("!BBQ", first, mask_bit | 127, n)
        if not mask:
            return header + payload
        key = os.urandom(4)
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return header + key + masked

    def send_frame(self, opcode, payload=b"", **kwargs):
        self.sock.sendall(self.frame(opcode, payload, **kwargs))

    def send_text(self, text):
        self.send_frame(TEXT, text.encode())

    def send_binary(self, data):
        self.send_frame(BINARY, data)

    def send_close(self, code=None, reason=""):
        payload = b"" if code is None else struct.pack("!H", code) + reason.encode()
        self.send_frame(CLOSE, payload)

    def recv_frame(self):
        """(fin, opcode, payload) of the next frame; server frames must not be masked."""
        b0, b1 = self._read_exact(2)
        assert b1 & 0x80 == 0, "a server frame was masked"
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._read_exact(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._read_exact(8))
        return bool(b0 & 0x80), b0 & 0x0F, self._read_exact(n)

    def recv(self):
        """The next message or control frame: ("text", str), ("binary", bytes),
        ("ping"|"pong", bytes) or ("close", (code, reason))."""
        opcode, data = None, b""
        while True:
            fin, op, payload = self.recv_frame()
            if op == PING:
                return "ping", payload
            if op == PONG:
                return "pong", payload
            if op == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return "close", (code, payload[2:].decode())
            if op != CONTINUATION:
                opcode = op
            data += payload
            if fin:
                return ("text", data.decode()) if opcode == TEXT else ("binary", data)

    def expect_eof(self, timeout=10):
        """True when the server closes the TCP connection (after any frames)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                self._fill()
        except Closed:
            return True
        except ConnectionResetError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
