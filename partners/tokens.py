"""Credentials tokens: generation, hashing and the Authorization header (transport.md §2)."""

import base64
import binascii
import hashlib
import secrets


def generate_token() -> str:
    # 43 URL-safe characters, all within U+0021-U+007E as the credentials object requires.
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens are 256-bit random values, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authorization_header(token: str, *, base64_encoded: bool = True) -> str:
    if base64_encoded:
        return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")
    return f"Token {token}"


def tokens_in_header(header: str) -> tuple[str | None, str | None]:
    """(Base64-decoded token, raw token) from an Authorization header value.

    Either may be None: no decoded form when the value is not valid Base64 of UTF-8 text.
    """
    keyword, _, value = header.partition(" ")
    if keyword.lower() != "token" or not value or " " in value.strip():
        return None, None
    value = value.strip()
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = None
    if decoded is not None and not decoded.isprintable():
        decoded = None
    return decoded, value
