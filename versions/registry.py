"""The OCPI modules this server really implements, for the version details endpoint.

Each app registers its endpoints in AppConfig.ready(), so an endpoint is published exactly
when its code is installed.
"""

from dataclasses import dataclass

OCPI_VERSION = "2.2.1"
SUPPORTED_VERSIONS = (OCPI_VERSION,)


@dataclass(frozen=True)
class Endpoint:
    identifier: str  # ModuleID
    role: str  # InterfaceRole: SENDER or RECEIVER
    url_name: str  # Django URL name of the module's root


_endpoints: dict[tuple[str, str], Endpoint] = {}


def register_endpoint(*, identifier: str, role: str, url_name: str) -> None:
    _endpoints[(identifier, role)] = Endpoint(identifier, role, url_name)


def registered_endpoints() -> list[Endpoint]:
    return sorted(_endpoints.values(), key=lambda e: (e.identifier, e.role))
