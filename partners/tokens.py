"""Credentials tokens we issue: generation and hashing (the Authorization header that carries
them is `versions.authorization`)."""

import hashlib
import secrets


def generate_token() -> str:
    # 43 URL-safe characters, all within U+0021-U+007E as the credentials object requires.
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens are 256-bit random values, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
