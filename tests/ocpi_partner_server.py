"""A small, real OCPI 2.2.1 eMSP on 127.0.0.1 for tests: versions, credentials, locations.

It runs `http.server` in a thread, records every request it receives, checks the
Authorization header like a real platform, and can be told to fail. Reusable by every test
that needs a partner on the other end of the wire:

    with FakeEmsp() as emsp:
        emsp.versions_url, emsp.token_a      # what an operator would receive offline
        emsp.requests                        # RecordedRequest(method, path, headers, body)
        emsp.locations                       # {(cc, party_id, location_id): Location body}
        emsp.fail("/ocpi/versions", http_status=500)

As a Receiver (we register with it) it accepts token A on versions/credentials, calls our
versions with our token B while handling the POST (as the spec demands), and answers a token
C. As a Sender (it registers with us) `register_with(our_versions_url, token_a)` performs steps
S1-S5 with httpx. Its Locations Receiver accepts only its token C (or the token B it gave us).
"""

import base64
import binascii
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

VERSION = "2.2.1"


def authorization(token: str) -> str:
    return "Token " + base64.b64encode(token.encode()).decode()


def envelope(data: Any = None, status_code: int = 1000, message: str = "Success") -> dict:
    body = {"status_code": status_code, "status_message": message}
    if data is not None:
        body["data"] = data
    body["timestamp"] = "2024-03-01T10:00:00Z"
    return body


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any = None

    @property
    def token(self) -> str | None:
        """The token in the Authorization header, Base64-decoded (None if absent/invalid)."""
        keyword, _, value = self.headers.get("authorization", "").partition(" ")
        if keyword != "Token":
            return None
        try:
            return base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None


@dataclass
class Failure:
    http_status: int
    ocpi_status: int | None = None
    body: bytes | None = None


@dataclass
class FakeEmsp:
    country_code: str = "DE"
    party_id: str = "EMS"
    name: str = "Fake eMSP"
    versions: tuple[str, ...] = (VERSION,)
    locations_receiver: bool = True
    credentials_endpoint: bool = True
    token_a: str = field(default_factory=lambda: "fake-a-" + secrets.token_urlsafe(12))
    requests: list[RecordedRequest] = field(default_factory=list)
    locations: dict[tuple, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Tokens this platform accepts, with their kind: "A" (versions/credentials only) or
        # "C"/"B" (everything).
        self.accepted_tokens: dict[str, str] = {self.token_a: "A"}
        self.token_c: str | None = None  # the token C it issued to us
        self.our_token: str | None = None  # the token we gave it (B) for calling us
        self.our_credentials: dict | None = None
        self.callback_errors: list[str] = []
        self._failures: dict[tuple[str | None, str], Failure] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._port: int | None = None  # kept after stop(), to test an unreachable partner

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> "FakeEmsp":
        handler = type("Handler", (_Handler,), {"partner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeEmsp":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._port is not None, "start() the partner first"
        return f"http://127.0.0.1:{self._port}"

    @property
    def versions_url(self) -> str:
        return f"{self.base_url}/ocpi/versions"

    @property
    def credentials_url(self) -> str:
        return f"{self.base_url}/ocpi/{VERSION}/credentials"

    @property
    def locations_url(self) -> str:
        return f"{self.base_url}/ocpi/emsp/{VERSION}/locations"

    # --- test controls -------------------------------------------------------------------

    def fail(
        self,
        path: str,
        *,
        http_status: int = 500,
        ocpi_status: int | None = None,
        method: str | None = None,
        body: bytes | None = None,
    ) -> None:
        """Answer requests to `path` (any method, or only `method`) with this failure."""
        self._failures[(method, path)] = Failure(http_status, ocpi_status, body)

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.path.startswith(path_prefix) and method in (None, r.method)
        ]

    def roles(self) -> list[dict]:
        return [
            {
                "role": "EMSP",
                "party_id": self.party_id,
                "country_code": self.country_code,
                "business_details": {"name": self.name},
            }
        ]

    def version_details(self) -> dict:
        endpoints = []
        if self.credentials_endpoint:
            endpoints.append(
                {"identifier": "credentials", "role": "SENDER", "url": self.credentials_url}
            )
        if self.locations_receiver:
            endpoints.append(
                {"identifier": "locations", "role": "RECEIVER", "url": self.locations_url}
            )
        return {"version": VERSION, "endpoints": endpoints}

    # --- as the Sender: it registers with us ---------------------------------------------

    def register_with(self, versions_url: str, token_a: str) -> httpx.Response:
        """Steps S1-S5 against our server; returns the POST response."""
        self.our_token = "fake-b-" + secrets.token_urlsafe(12)
        self.accepted_tokens[self.our_token] = "B"
        headers = {"Authorization": authorization(token_a)}
        versions = httpx.get(versions_url, headers=headers).json()["data"]
        details_url = next(v["url"] for v in versions if v["version"] == VERSION)
        endpoints = httpx.get(details_url, headers=headers).json()["data"]["endpoints"]
        credentials_url = next(e["url"] for e in endpoints if e["identifier"] == "credentials")
        response = httpx.post(
            credentials_url,
            headers=headers,
            json={"token": self.our_token, "url": self.versions_url, "roles": self.roles()},
        )
        if response.status_code == 200 and response.json().get("status_code") == 1000:
            self.our_credentials = response.json()["data"]
        return response

    def update_credentials_with(self, credentials_url: str) -> httpx.Response:
        """PUT new credentials (a fresh token for us to use) with the token we received."""
        assert self.our_credentials is not None, "register first"
        old_token = self.our_token
        self.our_token = "fake-b2-" + secrets.token_urlsafe(12)
        self.accepted_tokens[self.our_token] = "B"
        response = httpx.put(
            credentials_url,
            headers={"Authorization": authorization(self.our_credentials["token"])},
            json={"token": self.our_token, "url": self.versions_url, "roles": self.roles()},
        )
        if response.status_code == 200 and response.json().get("status_code") == 1000:
            self.our_credentials = response.json()["data"]
            self.accepted_tokens.pop(old_token, None)
        return response

    # --- request handling (called from the server thread) --------------------------------

    def _handle(self, request: RecordedRequest) -> tuple[int, bytes]:
        with self._lock:
            self.requests.append(request)
        failure = self._failures.get((request.method, request.path)) or self._failures.get(
            (None, request.path)
        )
        if failure is not None:
            if failure.body is not None:
                return failure.http_status, failure.body
            return failure.http_status, _json(
                envelope(status_code=failure.ocpi_status or 3000, message="told to fail")
            )
        kind = self.accepted_tokens.get(request.token or "")
        if kind is None:
            return 401, _json(envelope(status_code=2000, message="unknown token"))
        path = request.path.rstrip("/")
        if path == "/ocpi/versions" and request.method == "GET":
            return 200, _json(
                envelope(
                    [{"version": v, "url": f"{self.base_url}/ocpi/{v}"} for v in self.versions]
                )
            )
        if path == f"/ocpi/{VERSION}" and request.method == "GET" and VERSION in self.versions:
            return 200, _json(envelope(self.version_details()))
        if path == f"/ocpi/{VERSION}/credentials":
            return self._credentials(request, kind)
        if kind == "A":
            return 401, _json(envelope(status_code=2000, message="token A is for registering"))
        if path.startswith(f"/ocpi/emsp/{VERSION}/locations/") and self.locations_receiver:
            return self._locations(request, path)
        return 404, _json(envelope(status_code=2000, message="unknown URL"))

    def _credentials(self, request: RecordedRequest, kind: str) -> tuple[int, bytes]:
        if request.method == "POST":
            if kind != "A":
                return 405, _json(envelope(status_code=2000, message="already registered"))
            error = self._call_back(request.body)
            if error:
                self.callback_errors.append(error)
                return 200, _json(envelope(status_code=3001, message=error))
            self.our_token = request.body["token"]
            self.our_credentials = request.body
            self.token_c = "fake-c-" + secrets.token_urlsafe(12)
            del self.accepted_tokens[self.token_a]
            self.accepted_tokens[self.token_c] = "C"
            return 200, _json(envelope(self._credentials_object()))
        if request.method == "GET":
            return 200, _json(envelope(self._credentials_object()))
        if request.method == "DELETE" and kind != "A":
            self.accepted_tokens = {}
            return 200, _json(envelope())
        return 405, _json(envelope(status_code=2000, message="method not allowed"))

    def _credentials_object(self) -> dict:
        return {"token": self.token_c, "url": self.versions_url, "roles": self.roles()}

    def _call_back(self, body) -> str | None:
        """R1/R2: fetch the caller's versions and details with the token it posted."""
        try:
            headers = {"Authorization": authorization(body["token"])}
            versions = httpx.get(body["url"], headers=headers).json()["data"]
            details_url = next(v["url"] for v in versions if v["version"] == VERSION)
            details = httpx.get(details_url, headers=headers).json()
            if details.get("status_code") != 1000:
                return f"version details answered {details.get('status_code')}"
        except (httpx.HTTPError, KeyError, TypeError, ValueError, StopIteration) as exc:
            return f"could not use the client's API: {type(exc).__name__}"
        return None

    def _locations(self, request: RecordedRequest, path: str) -> tuple[int, bytes]:
        key = tuple(path.removeprefix(f"/ocpi/emsp/{VERSION}/locations/").split("/"))
        if request.method == "GET":
            if key not in self.locations:
                return 404, _json(envelope(status_code=2003, message="unknown location"))
            return 200, _json(envelope(self.locations[key]))
        if request.method == "PUT":
            created = key not in self.locations
            self.locations[key] = request.body
            return (201 if created else 200), _json(envelope())
        if request.method == "PATCH":
            if key not in self.locations:
                return 404, _json(envelope(status_code=2003, message="unknown location"))
            self.locations[key] = {**self.locations[key], **request.body}
            return 200, _json(envelope())
        return 405, _json(envelope(status_code=2000, message="method not allowed"))


def _json(body: dict) -> bytes:
    return json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    partner: FakeEmsp
    # TCP_NODELAY, as production HTTP servers set it: the answer goes out in two writes
    # (headers, body), and with Nagle's algorithm on a kept-alive connection the body waits
    # for the client's delayed ACK of the headers – a stall no real receiver has, which
    # slowed every keep-alive push in the benchmark (docs/benchmarks.md, "Push: where the
    # time went").
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        status, content = self.partner._handle(request)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        for name in ("X-Request-ID", "X-Correlation-ID"):
            if name.lower() in request.headers:
                self.send_header(name, request.headers[name.lower()])
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format, *args) -> None:  # `format`: the base class's parameter name
        pass  # keep test output (and captured logs) quiet
