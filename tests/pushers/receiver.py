"""A Locations Receiver for push tests: the shared fake eMSP with a real object tree.

`tests.ocpi_partner_server.FakeEmsp` stores each pushed URL separately. This subclass keeps
one Location tree per Location, as a real eMSP does (OCPI 2.2.1, Locations module, 8.2.2
Receiver Interface): a PUT of an EVSE or Connector replaces that child inside its Location, a
PATCH sets only the fields it carries, and `last_updated` propagates to the parents. Tests
compare `location(...)` with our own rendering of the Location. It can also be slowed down,
be told to fail, or be down (stopped, then started again on the same port).
"""

import threading
import time
from collections.abc import Callable
from typing import Any

from tests.ocpi_partner_server import VERSION, FakeEmsp, RecordedRequest, _json, envelope

PUSH_TOKEN = "emsp-issued-token-for-the-cpo"


class Receiver(FakeEmsp):
    # HTTP/1.0 closes the connection after each answer; "HTTP/1.1" keeps it open (as most
    # real receivers do). The tests stop the receiver to simulate an outage, which open
    # keep-alive connections would outlive, so they keep 1.0; the benchmark uses 1.1.
    protocol_version = "HTTP/1.0"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.accepted_tokens[PUSH_TOKEN] = "C"
        self.delay = 0.0  # seconds to wait before answering
        # Called with each request before it is answered (in the server's thread).
        self.before_answer: Callable[[RecordedRequest], None] | None = None
        self.in_flight = self.max_in_flight = 0  # requests being answered: now, at most
        self._port: int | None = None
        self._sequence: list[tuple[int, int]] = []  # (http, ocpi) answers to give first
        self._tree_lock = threading.Lock()
        # Each Location's `last_updated` after every message applied to it, in the order
        # they were applied: what a client of this receiver saw over time (the order tests).
        self.location_stamps: dict[tuple[str, str, str], list[str]] = {}

    def start(self) -> "Receiver":
        from http.server import ThreadingHTTPServer

        from tests.ocpi_partner_server import _Handler

        handler = type(
            "Handler", (_Handler,), {"partner": self, "protocol_version": self.protocol_version}
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port or 0), handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        assert self._port is not None, "start() the receiver first"
        return f"http://127.0.0.1:{self._port}"

    # --- test controls -------------------------------------------------------------------

    def answer_next(self, *answers: tuple[int, int]) -> None:
        """Answer the next Locations requests with these (HTTP, OCPI) statuses, in order."""
        self._sequence.extend(answers)

    def pushes(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method in ("PUT", "PATCH")]

    def location(self, country_code: str, party_id: str, location_id: str) -> Any:
        return self.locations.get((country_code, party_id, location_id))

    # --- handling --------------------------------------------------------------------------

    def _handle(self, request: RecordedRequest) -> tuple[int, bytes]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.before_answer is not None:
                self.before_answer(request)
            if self.delay:
                time.sleep(self.delay)
            return super()._handle(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _locations(self, request: RecordedRequest, path: str) -> tuple[int, bytes]:
        with self._lock:
            if self._sequence:
                http_status, ocpi_status = self._sequence.pop(0)
                return http_status, _json(envelope(status_code=ocpi_status, message="as told"))
        parts = path.removeprefix(f"/ocpi/emsp/{VERSION}/locations/").split("/")
        with self._tree_lock:
            answer = self._apply(request.method, parts, request.body)
            location = self.locations.get(tuple(parts[:3]))
            if answer[0] < 300 and location is not None:
                stamps = self.location_stamps.setdefault(tuple(parts[:3]), [])
                stamps.append(location.get("last_updated"))
            return answer

    def _apply(self, method: str, parts: list[str], body: Any) -> tuple[int, bytes]:
        key = tuple(parts[:3])
        if len(parts) == 3 and method == "PUT":
            created = key not in self.locations
            self.locations[key] = body
            return (201 if created else 200), _json(envelope())
        location = self.locations.get(key)
        if location is None:
            return 404, _json(envelope(status_code=2003, message="unknown location"))
        stamp = body.get("last_updated")
        if len(parts) == 3:  # PATCH of the Location
            location.update(body)
            return 200, _json(envelope())
        evses = location.setdefault("evses", [])
        evse = next((e for e in evses if e["uid"] == parts[3]), None)
        if len(parts) == 4:
            if method == "PUT":
                if evse is None:
                    evses.append(body)
                else:
                    evses[evses.index(evse)] = body
            elif evse is None:
                return 404, _json(envelope(status_code=2003, message="unknown EVSE"))
            else:
                evse.update(body)
            location["last_updated"] = stamp
            return (201 if evse is None else 200), _json(envelope())
        if evse is None:
            return 404, _json(envelope(status_code=2003, message="unknown EVSE"))
        connectors = evse.setdefault("connectors", [])
        connector = next((c for c in connectors if c["id"] == parts[4]), None)
        if method == "PUT":
            if connector is None:
                connectors.append(body)
            else:
                connectors[connectors.index(connector)] = body
        elif connector is None:
            return 404, _json(envelope(status_code=2003, message="unknown connector"))
        else:
            connector.update(body)
        evse["last_updated"] = location["last_updated"] = stamp
        return (201 if connector is None else 200), _json(envelope())
