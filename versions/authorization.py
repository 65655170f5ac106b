"""The `Authorization: Token …` header, both ways (OCPI 2.2.1, Transport and format,
"Authorization header").

OCPI 2.2.1 sends the credentials token Base64-encoded; OCPI 2.1.1 sent it raw, and some
partners still do (per-partner switches on `partners.Partner`).
"""

import base64
import binascii


def authorization_header(token: str, *, base64_encoded: bool = True) -> str:
    if base64_encoded:
        return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")
    return f"Token {token}"


def tokens_in_header(header: str) -> tuple[str | None, str | None]:
    """(Base64-decoded token, raw token) from an Authorization header value.

    Either may be None: no decoded form when the value is not valid Base64 of UTF-8 text.

    Whitespace at the end of the decoded token is dropped: the spec's own examples encode the
    token with a trailing newline (OCPI 2.2.1, Transport and format, Authorization header:
    `ZXhhbXBsZS10b2tlbgo=` is `example-token` plus `\\n`), and partners copy them. A
    credentials token never ends in whitespace (Credentials object: printable non-whitespace
    ASCII), so nothing else can match by this.
    """
    keyword, _, value = header.partition(" ")
    if keyword.lower() != "token" or not value or " " in value.strip():
        return None, None
    value = value.strip()
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = None
    if decoded is not None:
        decoded = decoded.rstrip(" \t\r\n")
    if decoded is not None and (not decoded or not decoded.isprintable()):
        decoded = None
    return decoded, value
