"""Files uploaded on the admin's Import… page, kept on the server between the dry run and
the confirmation (docs/admin.md, "Import and export").

- Kept in a private folder (`VAR_DIR/imports`, mode 0700), each under a random token
  (`secrets.token_urlsafe`), with a small JSON file saying who uploaded it, when, its name
  and its format. The page carries only the token: a client never names a path, and a token
  is checked against its pattern before it is used in one.
- A token belongs to the user who uploaded it: another user's confirmation is refused.
- It expires after `UPLOAD_TTL` (an hour); expired files are deleted whenever the page is
  used. A confirmed import deletes its file.
- Written in chunks (an upload Django already spooled to a temporary file is copied, never
  read whole), and refused past `OCPI_ADMIN_IMPORT_MAX_BYTES`.
"""

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

UPLOAD_TTL = 3600  # seconds between the dry run and the confirmation
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


class UploadRefused(Exception):
    """The upload cannot be kept (too big) or a token does not lead to one of the user's."""


@dataclass(frozen=True)
class PendingImport:
    token: str
    user_id: int
    name: str  # the uploaded file's name, as the user's browser sent it (shown only)
    format: str  # json / csv
    size: int
    uploaded_at: float

    @property
    def path(self) -> Path:
        return _folder() / f"{self.token}.data"

    def open(self) -> IO[bytes]:
        return self.path.open("rb")

    def discard(self) -> None:
        for path in (self.path, _meta_path(self.token)):
            path.unlink(missing_ok=True)


def _folder() -> Path:
    folder = Path(settings.VAR_DIR) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _meta_path(token: str) -> Path:
    return _folder() / f"{token}.json"


def delete_expired(now: float | None = None) -> int:
    """Delete the uploads older than UPLOAD_TTL (and strays); returns how many files."""
    now = time.time() if now is None else now
    deleted = 0
    for path in _folder().iterdir():
        if path.is_file() and now - path.stat().st_mtime > UPLOAD_TTL:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def keep_upload(upload: UploadedFile, *, user_id: int, file_format: str) -> PendingImport:
    """Copy an upload to the private folder, in chunks; UploadRefused past the size cap."""
    limit = settings.OCPI_ADMIN_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise UploadRefused(
            f"{upload.name} is {upload.size:,} bytes, more than the {limit:,} this page takes; "
            "use `manage.py ocpi_import` for large files. Nothing was imported."
        )
    token = secrets.token_urlsafe(24)
    pending = PendingImport(
        token, user_id, str(upload.name)[:200], file_format, upload.size or 0, time.time()
    )
    written = 0
    with pending.path.open("xb") as out:
        for chunk in upload.chunks():
            written += len(chunk)
            if written > limit:
                out.close()
                pending.discard()
                raise UploadRefused(f"{upload.name} is more than {limit:,} bytes.")
            out.write(chunk)
    _meta_path(token).write_text(
        json.dumps(
            {
                "user_id": user_id,
                "name": pending.name,
                "format": file_format,
                "size": written,
                "uploaded_at": pending.uploaded_at,
            }  # fmt: skip
        )
    )
    return PendingImport(token, user_id, pending.name, file_format, written, pending.uploaded_at)


def pending_import(token: str, *, user_id: int) -> PendingImport:
    """The upload of this token, if it is the user's and has not expired."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise UploadRefused("This import is unknown; upload the file again.")
    try:
        meta = json.loads(_meta_path(token).read_text())
    except (OSError, ValueError):
        raise UploadRefused("This import has expired or was done; upload the file again.") from None
    pending = PendingImport(
        token, meta["user_id"], meta["name"], meta["format"], meta["size"], meta["uploaded_at"]
    )
    if pending.user_id != user_id:
        raise UploadRefused("This import was uploaded by another user; upload the file again.")
    if time.time() - pending.uploaded_at > UPLOAD_TTL or not pending.path.is_file():
        pending.discard()
        raise UploadRefused("This import has expired or was done; upload the file again.")
    return pending
