"""The OCPI modules: their identifiers, and the ones this server really implements.

Module identifiers and interface roles are defined here once (OCPI 2.2.1, Version
information endpoint, "ModuleID enum" and "InterfaceRole enum"); every app names
modules through `ModuleID`. Each app registers its endpoints in AppConfig.ready(), so the
version details endpoint publishes an endpoint exactly when its code is installed.
"""

from dataclasses import dataclass

from django.db import models

OCPI_VERSION = "2.2.1"
SUPPORTED_VERSIONS = (OCPI_VERSION,)


class ModuleID(models.TextChoices):
    """The module identifiers of OCPI 2.2.1 (ModuleID enum)."""

    CDRS = "cdrs"
    CHARGING_PROFILES = "chargingprofiles"
    COMMANDS = "commands"
    CREDENTIALS = "credentials"
    HUB_CLIENT_INFO = "hubclientinfo"
    LOCATIONS = "locations"
    SESSIONS = "sessions"
    TARIFFS = "tariffs"
    TOKENS = "tokens"


class InterfaceRole(models.TextChoices):
    """Which side of a module's interface an endpoint is (InterfaceRole enum)."""

    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


@dataclass(frozen=True)
class Endpoint:
    identifier: str  # ModuleID
    role: str  # InterfaceRole
    url_name: str  # Django URL name of the module's root ("" when `path` is given)
    # The module's base path, for a module that serves nothing at its root (a Receiver
    # interface whose URLs are all below it, e.g. {url}/{country_code}/{party_id}).
    path: str = ""


_endpoints: dict[tuple[str, str], Endpoint] = {}


def register_endpoint(
    *, identifier: ModuleID, role: InterfaceRole, url_name: str = "", path: str = ""
) -> None:
    if bool(url_name) == bool(path):
        raise ValueError("give the endpoint either a URL name or a base path")
    _endpoints[(identifier, role)] = Endpoint(identifier, role, url_name, path)


def registered_endpoints() -> list[Endpoint]:
    return sorted(_endpoints.values(), key=lambda e: (e.identifier, e.role))
