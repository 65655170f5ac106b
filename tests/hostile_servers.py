"""Hostile partners on 127.0.0.1, for the tests and the benchmarks: each a real TCP server
that misbehaves in one way, in a thread of the caller's process (or, run as a script, in a
process of its own).

    with DripServer(interval=0.2) as server:
        server.url            # http://127.0.0.1:PORT (https:// for the TLS ones)
        server.connections    # TCP connections accepted so far
        server.requests       # requests read so far

- `SlowServer(delay, body)`: answers `body` (by default a small OCPI envelope) after `delay`
  seconds (keep-alive, so with `delay=0` it is also a well-behaved partner).
- `DripServer(interval, phase)`: sends an endless answer one byte every `interval` seconds,
  from the status line on (`phase="headers"`) or after complete headers (`"body"`).
- `SilentServer()`: accepts, reads the request, never answers.
- `HugeServer(size, announce)`: a 200 answer of `size` bytes as fast as the client reads,
  with Content-Length or (`announce=False`) without, ending by closing the connection;
  `gzip=True` sends it compressed (a few hundred KB on the wire).
- `RedirectServer(location)`: answers 302 to `location`.
- `TlsDripServer(interval)`: for https:// URLs: after the client's hello, a TLS record
  header and then one byte every `interval` seconds, so the handshake never ends.
- `SelfSignedTlsServer()`: a TLS server with a self-signed certificate (made with the
  `openssl` command) that answers an envelope; a verifying client must refuse it.

As a script (`--port 0` picks a free port, printed on stdout), until SIGTERM or Ctrl-C:

    .venv/bin/python tests/hostile_servers.py drip --interval 5 --port 8701
    .venv/bin/python tests/hostile_servers.py slow --delay 10
    .venv/bin/python tests/hostile_servers.py silent | huge --size 1000000000 [--no-announce]
"""

import argparse
import contextlib
import gzip as gzip_module
import json
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ENVELOPE = json.dumps(
    {
        "data": [],
        "status_code": 1000,
        "status_message": "Success",
        "timestamp": "2024-01-01T00:00:00Z",
    }
).encode()


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    owner: "HostileServer"


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        owner = self.server.owner  # type: ignore[attr-defined]
        owner._count("connections")
        sock: socket.socket = self.request
        sock.settimeout(30)
        with contextlib.suppress(OSError):  # the client gave up: that is the point
            owner.behave(sock)


class HostileServer:
    scheme = "http"

    def __init__(self, port: int = 0) -> None:
        self._server = _TCPServer(("127.0.0.1", port), _Handler)
        self._server.owner = self
        self.port: int = self._server.server_address[1]
        self.stopping = threading.Event()
        self.connections = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> "HostileServer":
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "HostileServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)

    def pause(self, seconds: float) -> bool:
        """Sleep; False when the server is stopping."""
        return not self.stopping.wait(seconds)

    def read_request(self, sock: socket.socket) -> bool:
        """Read one request (head and Content-Length body); False when the client left."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return False
            rest += chunk
        self._count("requests")
        return True

    def behave(self, sock: socket.socket) -> None:
        raise NotImplementedError


def _answer(status: str, body: bytes = ENVELOPE, headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{headers}\r\n"
    ).encode() + body


class SlowServer(HostileServer):
    def __init__(self, delay: float, body: bytes = ENVELOPE, port: int = 0) -> None:
        super().__init__(port)
        self.delay, self.body = delay, body

    def behave(self, sock: socket.socket) -> None:
        while self.read_request(sock):
            if not self.pause(self.delay):
                return
            sock.sendall(_answer("200 OK", self.body))


class DripServer(HostileServer):
    def __init__(self, interval: float, phase: str = "body", port: int = 0) -> None:
        super().__init__(port)
        assert phase in ("headers", "body")
        self.interval, self.phase = interval, phase

    def behave(self, sock: socket.socket) -> None:
        if not self.read_request(sock):
            return
        if self.phase == "headers":
            drip = b"HTTP/1.1 200 OK\r\nX-Drip: " + b"a" * 10_000_000
        else:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            drip = b" " * 1_000_000
        for i in range(len(drip)):
            sock.sendall(drip[i : i + 1])
            if not self.pause(self.interval):
                return


class SilentServer(HostileServer):
    def behave(self, sock: socket.socket) -> None:
        if self.read_request(sock):
            self.stopping.wait()


class HugeServer(HostileServer):
    def __init__(self, size: int, announce: bool = True, gzip: bool = False, port: int = 0) -> None:
        super().__init__(port)
        self.size, self.announce, self.gzip = size, announce, gzip
        self._compressed = gzip_module.compress(b" " * size, 1) if gzip else b""

    def behave(self, sock: socket.socket) -> None:
        if not self.read_request(sock):
            return
        length = len(self._compressed) if self.gzip else self.size
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += f"Content-Length: {length}\r\n" if self.announce else "Connection: close\r\n"
        head += "Content-Encoding: gzip\r\n" if self.gzip else ""
        sock.sendall((head + "\r\n").encode())
        if self.gzip:
            sock.sendall(self._compressed)
            return
        chunk = b" " * 65536
        sent = 0
        while sent < self.size and not self.stopping.is_set():
            piece = chunk[: self.size - sent]
            sock.sendall(piece)
            sent += len(piece)


class RedirectServer(HostileServer):
    def __init__(self, location: str, port: int = 0) -> None:
        super().__init__(port)
        self.location = location

    def behave(self, sock: socket.socket) -> None:
        while self.read_request(sock):
            sock.sendall(_answer("302 Found", b"", f"Location: {self.location}\r\n"))


class TlsDripServer(HostileServer):
    scheme = "https"

    def __init__(self, interval: float, port: int = 0) -> None:
        super().__init__(port)
        self.interval = interval

    def behave(self, sock: socket.socket) -> None:
        if not sock.recv(65536):  # the ClientHello
            return
        sock.sendall(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 KB announced ...
        while self.pause(self.interval):
            sock.sendall(b"\x00")  # ... that never completes


class SelfSignedTlsServer(HostileServer):
    scheme = "https"

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self._dir = tempfile.TemporaryDirectory()
        cert, key = Path(self._dir.name) / "cert.pem", Path(self._dir.name) / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert, key)

    def behave(self, sock: socket.socket) -> None:
        with self._context.wrap_socket(sock, server_side=True) as tls:
            while self.read_request(tls):
                tls.sendall(_answer("200 OK"))

    def stop(self) -> None:
        super().stop()
        self._dir.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["slow", "drip", "silent", "huge", "redirect", "tls-drip"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=10, help="slow: seconds")
    parser.add_argument("--interval", type=float, default=5, help="drip: seconds per byte")
    parser.add_argument("--phase", choices=["headers", "body"], default="body")
    parser.add_argument("--size", type=int, default=10**9, help="huge: bytes")
    parser.add_argument("--no-announce", action="store_true", help="huge: no Content-Length")
    parser.add_argument("--location", default="http://127.0.0.1:9/", help="redirect target")
    args = parser.parse_args()
    server: HostileServer = {
        "slow": lambda: SlowServer(args.delay, port=args.port),
        "drip": lambda: DripServer(args.interval, args.phase, port=args.port),
        "silent": lambda: SilentServer(port=args.port),
        "huge": lambda: HugeServer(args.size, not args.no_announce, port=args.port),
        "redirect": lambda: RedirectServer(args.location, port=args.port),
        "tls-drip": lambda: TlsDripServer(args.interval, port=args.port),
    }[args.kind]()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            server.stopping.wait()


if __name__ == "__main__":
    main()
