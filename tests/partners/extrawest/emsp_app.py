"""An eMSP built on extrawest-ocpi (py_ocpi), run by the end-to-end test in its own venv.

    python emsp_app.py PORT TOKEN_A

Serves versions, credentials (Receiver side of the handshake: it fetches the caller's
versions and details with the posted token B, then answers a token C) and a Locations
Receiver, all from the py_ocpi library; only storage and token lists are ours (the library
leaves them to the integrator). This file runs under extrawest's own interpreter, not ours.
"""

import os
import secrets
import sys

PORT = int(sys.argv[1])
os.environ.update(
    OCPI_HOST=f"127.0.0.1:{PORT}", PROTOCOL="http", ENVIRONMENT="production", NO_AUTH="false"
)

import uvicorn  # noqa: E402
from py_ocpi import get_application  # noqa: E402
from py_ocpi.core.authentication.authenticator import Authenticator  # noqa: E402
from py_ocpi.core.crud import Crud  # noqa: E402
from py_ocpi.core.enums import ModuleID, RoleEnum  # noqa: E402
from py_ocpi.modules.versions.enums import VersionNumber  # noqa: E402

TOKENS_A = {sys.argv[2]}
TOKENS_C: set[str] = set()
STORE: dict = {}  # what the partner posted, their endpoints, our token C
VERSIONS_URL = f"http://127.0.0.1:{PORT}/ocpi/versions"


def our_credentials(token):
    return {
        "token": token,
        "url": VERSIONS_URL,
        "roles": [
            {
                "role": "EMSP",
                "party_id": "XWE",
                "country_code": "UA",
                "business_details": {"name": "Extrawest eMSP"},
            }
        ],
    }


class TokenLists(Authenticator):
    @classmethod
    async def get_valid_token_a(cls):
        return list(TOKENS_A)

    @classmethod
    async def get_valid_token_c(cls):
        return list(TOKENS_C)


class MemoryCrud(Crud):
    @classmethod
    async def get(cls, module, role, id, *args, **kwargs):
        if module == ModuleID.credentials_and_registration:
            return our_credentials(id) if id in TOKENS_C else None
        return STORE.get((module, id))

    @classmethod
    async def list(cls, module, role, filters, *args, **kwargs):
        return [], 0, True

    @classmethod
    async def create(cls, module, role, data, *args, **kwargs):
        if module == ModuleID.credentials_and_registration:
            token_c = "xw-c-" + secrets.token_urlsafe(16)
            TOKENS_A.discard(kwargs["auth_token"])  # token A is used up
            TOKENS_C.add(token_c)
            STORE["credentials"] = data
            return our_credentials(token_c)
        STORE[(module, data.get("id"))] = data
        return data

    @classmethod
    async def update(cls, module, role, data, id, *args, **kwargs):
        STORE[(module, id)] = data
        return data

    @classmethod
    async def delete(cls, module, role, id, *args, **kwargs):
        TOKENS_C.discard(id)

    @classmethod
    async def do(cls, *args, **kwargs):
        return None


app = get_application(
    version_numbers=[VersionNumber.v_2_2_1],
    roles=[RoleEnum.emsp],
    crud=MemoryCrud,
    modules=[ModuleID.credentials_and_registration, ModuleID.locations],
    authenticator=TokenLists,
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
