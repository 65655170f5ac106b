"""Does the base URL we publish answer? A loopback GET of our own versions endpoint.

Every URL we hand a partner starts with OCPI_BASE_URL. When it is wrong (another port than
the server runs on, a host name partners cannot resolve) the partner fails later with an
error that names nothing useful, so the commands that publish it (`ocpi_partner create` and
`token-a`, `ocpi_register`) and `ocpi_prod_check` ask first and say so plainly.

Not the outbound partner client (versions.client): that one refuses loopback and plain
http:// in production, and here the URL is our own, which may well be on loopback.
"""

import orjson
import urllib3

from .urls_util import public_reverse

# Seconds for the whole check: the server is on this machine or behind our own proxy.
CHECK_TIMEOUT = 3.0

FIX_HINT = (
    "Start the server on that URL (`make run PORT=<port>` records "
    "OCPI_BASE_URL=http://127.0.0.1:<port> in .env for this checkout), or set OCPI_BASE_URL "
    "to the URL partners reach us at."
)


def base_url_problem(timeout: float = CHECK_TIMEOUT) -> str | None:
    """None when our versions URL answers as an OCPI versions endpoint, else what is wrong.

    Without a token our versions endpoint answers HTTP 401 with the OCPI envelope (OCPI
    2.2.1, Transport and format, "Authorization header"); any answer in an envelope counts
    as ours answering.
    """
    url = public_reverse("ocpi-versions")
    try:
        # A pool of its own, closed at once: one call, no kept-alive connection left behind.
        with urllib3.PoolManager() as http:
            response = http.request(
                "GET",
                url,
                headers={"Connection": "close"},
                timeout=urllib3.Timeout(total=timeout),
                retries=False,
                redirect=False,
                preload_content=False,
            )
            body = response.read(64 * 1024, decode_content=True)
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        reason = str(exc).rsplit(": ", 1)[-1] or type(exc).__name__
        return f"our versions URL {url} does not answer ({reason})"
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or "status_code" not in document:
        return (
            f"our versions URL {url} answered HTTP {response.status} without an OCPI envelope "
            "(another server on that address?)"
        )
    return None


def base_url_warning(timeout: float = CHECK_TIMEOUT) -> str | None:
    """The operator's warning when our URL does not answer (with the fix), else None."""
    problem = base_url_problem(timeout)
    if problem is None:
        return None
    return f"WARNING: {problem}; partners cannot reach it either. {FIX_HINT}"
