"""A minimal, fast Locations Receiver on loopback for the benchmarks: every PUT and PATCH is
answered at once with HTTP 200 and OCPI 1000 (OCPI 2.2.1, Locations module, 8.2.2 Receiver
Interface), nothing is checked or stored but what the benchmark asks about.

It runs in a process of its own (its threads do not share the benchmark's GIL), HTTP/1.1 with
keep-alive, and counts, per EVSE status, the distinct EVSEs it was told have that status (by a
PATCH of the EVSE, a PUT of the EVSE or a PUT of its Location), with the time
(`time.monotonic()`, the same clock in every process of the host) of the latest new one.

    receiver = FastReceiver().start()
    receiver.locations_url        # the endpoint to register for the partner
    receiver.evses_with("BLOCKED")  # -> (count, monotonic time of the last new one)
    receiver.stop()
"""

import json
import multiprocessing
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_ANSWER = json.dumps(
    {"status_code": 1000, "status_message": "Success", "timestamp": "2026-01-01T00:00:00Z"}
).encode()
_PREFIX = "/ocpi/emsp/2.2.1/locations"


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.evses: dict[str, set[str]] = {}  # status -> "location/uid" keys
        self.last_at: dict[str, float] = {}
        self.requests = 0

    def saw(self, status: str | None, key: str) -> None:
        if not status:
            return
        with self.lock:
            seen = self.evses.setdefault(status, set())
            if key not in seen:
                seen.add(key)
                self.last_at[status] = time.monotonic()


def _handler(state: _State):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _push(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            with state.lock:
                state.requests += 1
            parts = self.path.removeprefix(_PREFIX).strip("/").split("/")
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            if len(parts) == 4:  # an EVSE: PATCH or PUT
                state.saw(body.get("status"), f"{parts[2]}/{parts[3]}")
            elif len(parts) == 3 and self.command == "PUT":  # a whole Location
                for evse in body.get("evses") or []:
                    state.saw(evse.get("status"), f"{parts[2]}/{evse.get('uid')}")
            self._answer(_ANSWER)

        do_PUT = do_PATCH = _push

        def do_GET(self) -> None:
            # /_count/<STATUS>: how many distinct EVSEs were told that status, and when the
            # last new one came.
            status = self.path.rsplit("/", 1)[-1]
            with state.lock:
                answer = {
                    "count": len(state.evses.get(status, ())),
                    "last_at": state.last_at.get(status),
                    "requests": state.requests,
                }
            self._answer(json.dumps(answer).encode())

    return Handler


def _serve(ready) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(_State()))
    server.daemon_threads = True
    ready.put(server.server_address[1])
    server.serve_forever()


class FastReceiver:
    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._process = None
        self.port = 0

    def start(self) -> "FastReceiver":
        ready = self._context.Queue()
        self._process = self._context.Process(target=_serve, args=(ready,), daemon=True)
        self._process.start()
        self.port = ready.get(timeout=60)
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None and self._process.pid is not None
        return self._process.pid

    @property
    def locations_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{_PREFIX}"

    def evses_with(self, status: str) -> tuple[int, float | None]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_count/{status}") as answer:
            found = json.loads(answer.read())
        return found["count"], found["last_at"]

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.join(timeout=10)
