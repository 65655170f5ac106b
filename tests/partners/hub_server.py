"""A small, real OCPI 2.2.1 roaming hub on 127.0.0.1 for tests (role HUB, optionally also
EMSP): it registers with us, pushes ClientInfo (HubClientInfo module), forwards GETs of the
parties behind it, and receives our broadcast pushes on its Locations Receiver.

    with FakeHub(clients=[("FR", "MSP"), ("BE", "EMP")]) as hub:
        hub.register_with(our_versions_url, token_a)   # steps S1-S5, as role HUB
        hub.push_client_infos()                        # PUT {hubclientinfo}/{cc}/{party}
        hub.forward_get("/LOC-1", sender=("FR", "MSP"))   # GET as FR*MSP, through the hub
        hub.pushes()                                   # what we pushed to it, with headers

Built on FakeEmsp (tests/ocpi_partner_server.py): same registration, token checks and
Locations Receiver; only its roles and the hub's own calls differ.
"""

from dataclasses import dataclass, field

import httpx

from tests.ocpi_partner_server import (
    VERSION,
    FakeEmsp,
    RecordedRequest,
    _json,
    authorization,
    envelope,
)


@dataclass
class FakeHub(FakeEmsp):
    country_code: str = "DE"
    party_id: str = "HUB"
    name: str = "Fake hub"
    also_emsp: tuple[str, str] | None = None  # (country_code, party_id) of an eMSP role
    clients: list[tuple[str, str]] = field(default_factory=list)  # parties behind the hub

    def roles(self) -> list[dict]:
        # OCPI 2.2.1, Credentials module: a hub reports only itself, with role HUB; its
        # connected parties come through the HubClientInfo module.
        roles = [
            {
                "role": "HUB",
                "party_id": self.party_id,
                "country_code": self.country_code,
                "business_details": {"name": self.name},
            }
        ]
        if self.also_emsp is not None:
            roles.append(
                {
                    "role": "EMSP",
                    "party_id": self.also_emsp[1],
                    "country_code": self.also_emsp[0],
                    "business_details": {"name": f"{self.name} eMSP"},
                }
            )
        return roles

    # --- the hub calling us, with the token C we gave it ----------------------------------

    def _our_endpoint(self, identifier: str) -> str:
        assert self.our_credentials is not None, "register first"
        headers = self._headers()
        versions = httpx.get(self.our_credentials["url"], headers=headers).json()["data"]
        details_url = next(v["url"] for v in versions if v["version"] == VERSION)
        endpoints = httpx.get(details_url, headers=headers).json()["data"]["endpoints"]
        return next(e["url"] for e in endpoints if e["identifier"] == identifier)

    def _headers(self) -> dict[str, str]:
        assert self.our_credentials is not None, "register first"
        return {"Authorization": authorization(self.our_credentials["token"])}

    def push_client_info(
        self, country_code: str, party_id: str, *, status: str = "CONNECTED", role: str = "EMSP"
    ) -> httpx.Response:
        """PUT one ClientInfo to our Receiver interface (no routing headers: a
        Configuration Module)."""
        url = f"{self._our_endpoint('hubclientinfo')}/{country_code}/{party_id}"
        body = {
            "party_id": party_id,
            "country_code": country_code,
            "role": role,
            "status": status,
            "last_updated": "2024-03-01T10:00:00Z",
        }
        return httpx.put(url, headers=self._headers(), json=body)

    def push_client_infos(self) -> list[httpx.Response]:
        return [self.push_client_info(country, party) for country, party in self.clients]

    def forward_get(
        self, path: str, *, sender: tuple[str, str], to: tuple[str, str] = ("NL", "EXA")
    ) -> httpx.Response:
        """A party's GET on our Locations Sender, as the hub passes it on: OCPI-from is the
        requesting party, OCPI-to the receiving one (OCPI 2.2.1, Transport and format,
        Message Routing, "Via hub")."""
        url = self._our_endpoint("locations") + path
        headers = {
            **self._headers(),
            "OCPI-from-country-code": sender[0],
            "OCPI-from-party-id": sender[1],
            "OCPI-to-country-code": to[0],
            "OCPI-to-party-id": to[1],
        }
        return httpx.get(url, headers=headers)

    def _locations(self, request: RecordedRequest, path: str) -> tuple[int, bytes]:
        """FakeEmsp's receiver, plus: a PATCH of an EVSE or Connector of a Location it holds
        is taken (the hub passes it on; it keeps no EVSE-level copy)."""
        key = tuple(path.removeprefix(f"/ocpi/emsp/{VERSION}/locations/").split("/"))
        if request.method == "PATCH" and len(key) > 3 and key[:3] in self.locations:
            return 200, _json(envelope())
        return super()._locations(request, path)

    def pushes(self) -> list[RecordedRequest]:
        """Our pushes to its Locations Receiver, oldest first."""
        return [
            r
            for r in self.requests
            if r.path.startswith(f"/ocpi/emsp/{VERSION}/locations/")
            and r.method in ("PUT", "PATCH")
        ]
