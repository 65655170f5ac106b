"""Reading an import's input (`locations.importing`): a file or a URL downloaded to a
temporary file (streamed, with a size cap and a deadline), checked as a whole in a first
streamed pass (JSON, the shape of a Locations list or envelope, the number of Locations, ids
that repeat), then read one Location at a time. Memory does not grow with the input.
"""

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson  # type: ignore[import-untyped]
import urllib3


class ImportFileError(Exception):
    """The input as a whole cannot be imported (not JSON, not Locations, too big, ...)."""


# --- Reading the input ---------------------------------------------------------------------


def download(url: str, *, max_bytes: int, deadline: float) -> IO[bytes]:
    """The body of a plain GET of `url` in a temporary file (deleted when closed).

    Streamed to disk in chunks; refused past `max_bytes` (announced or received) or when the
    whole download takes longer than `deadline` seconds. Redirects are not followed and TLS
    certificates are verified (urllib3's defaults). No Authorization header is sent: this is
    for files (exports), not a paginated crawl of a partner's OCPI API.
    """
    if not url.startswith(("http://", "https://")):
        raise ImportFileError(f"{url!r} is not an http(s) URL.")
    ends = time.monotonic() + deadline
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=min(10.0, deadline), read=10.0))
    try:
        response = http.request("GET", url, preload_content=False, redirect=False)
    except urllib3.exceptions.HTTPError as exc:
        raise ImportFileError(f"Could not fetch {url}: {exc}") from exc
    target = tempfile.TemporaryFile()  # noqa: SIM115 (returned open; the caller closes it)
    try:
        if response.status != 200:
            raise ImportFileError(f"Could not fetch {url}: HTTP {response.status}.")
        announced = response.headers.get("Content-Length")
        if announced and announced.isdigit() and int(announced) > max_bytes:
            raise ImportFileError(f"{url} is {announced} bytes, more than {max_bytes}.")
        received = 0
        for chunk in response.stream(64 * 1024):
            received += len(chunk)
            if received > max_bytes:
                raise ImportFileError(f"{url} sent more than {max_bytes} bytes.")
            if time.monotonic() > ends:
                raise ImportFileError(f"{url} took longer than {deadline:g} s.")
            target.write(chunk)
    except urllib3.exceptions.HTTPError as exc:
        target.close()
        raise ImportFileError(f"Could not fetch {url}: {exc}") from exc
    except BaseException:
        target.close()
        raise
    finally:
        response.release_conn()
    target.seek(0)
    return target


def _items_prefix(stream: IO[bytes]) -> str:
    """ijson's prefix of the Locations: `item` in a list, `data.item` in an envelope."""
    start = stream.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    stream.seek(0)
    if start.startswith(b"["):
        return "item"
    if start.startswith(b"{"):
        return "data.item"
    raise ImportFileError(
        "Not OCPI Locations JSON: expected a list of Locations or an OCPI envelope "
        '({"data": [...], "status_code": 1000, ...}).'
    )


def location_key(country_code: Any, party_id: Any, location_id: Any) -> str:
    return "*".join(str(part).upper() for part in (country_code, party_id, location_id))


@dataclass
class Scan:
    """What the first pass learnt: where the Locations are, how many, and which ids repeat."""

    prefix: str
    count: int
    duplicates: dict[str, int]  # key → how many times it occurs (only those > 1)


def scan(stream: IO[bytes]) -> Scan:
    """Check the whole input is JSON of the right shape, without building it in memory."""
    prefix = _items_prefix(stream)
    envelope = prefix == "data.item"
    count = 0
    seen: dict[str, int] = {}
    status_code = None
    has_data = False
    current: dict[str, Any] = {}
    members = {f"{prefix}.{name}": name for name in ("country_code", "party_id", "id")}
    try:
        for path, event, value in ijson.parse(stream):
            if path == prefix:
                if event == "start_map":
                    current = {}
                    count += 1
                elif event == "end_map":
                    key = location_key(current.get("country_code"), current.get("party_id"),
                               current.get("id"))  # fmt: skip
                    seen[key] = seen.get(key, 0) + 1
                elif event in {"start_array", "string", "number", "boolean", "null"}:
                    count += 1  # not an object: refused by the schema check
            elif path in members and event == "string":
                current[members[path]] = value
            elif envelope and path == "status_code":
                status_code = value
            elif envelope and path == "data" and event == "start_array":
                has_data = True
    except ijson.JSONError as exc:
        raise ImportFileError(
            f"Not valid JSON ({exc}); nothing was imported (Locations read so far: {count})."
        ) from exc
    finally:
        stream.seek(0)
    if envelope:
        if status_code is not None and not 1000 <= status_code < 2000:
            raise ImportFileError(
                f"The envelope's status_code is {status_code}, not a success (1xxx); "
                "nothing was imported."
            )
        if not has_data:
            raise ImportFileError('The envelope has no "data" list of Locations.')
    return Scan(prefix, count, {key: n for key, n in seen.items() if n > 1})


def read_locations(stream: IO[bytes], prefix: str) -> Iterator[Any]:
    """The Locations of the input, one at a time (non-integer numbers as floats)."""
    yield from ijson.items(stream, prefix, use_float=True)


def open_source(source: str, *, max_bytes: int, deadline: float) -> IO[bytes]:
    """A file path, or an http(s) URL downloaded first (see `download`)."""
    if source.startswith(("http://", "https://")):
        return download(source, max_bytes=max_bytes, deadline=deadline)
    path = Path(source)
    if not path.is_file():
        raise ImportFileError(f"There is no file {source!r}.")
    return path.open("rb")


def input_format(name: str, chosen: str | None = None) -> str:
    """ "csv" or "json": the one chosen, else by the name's extension (`.csv`: CSV)."""
    if chosen:
        return chosen
    path = name.split("?", 1)[0].lower()
    return "csv" if path.endswith(".csv") else "json"
