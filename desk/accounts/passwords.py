"""Agents' passwords: scrypt hashes with a random salt, and what a new password must be.

Passwords are hashed with scrypt (``hashlib.scrypt``) and a random salt per agent; the
parameters travel in the stored hash, so they can be raised later without invalidating
existing passwords. :data:`DUMMY_HASH` lets checking an unknown name cost the same as
checking a known one, so sign-in does not reveal which names exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets

from desk.accounts.model import AccountError

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

# scrypt at OWASP's N=2^15, r=8, p=3 (32 MiB, about half a second here).
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 3
SALT_BYTES = 16
KEY_BYTES = 32
_MAX_SCRYPT_N = 2**20


def hash_password(password: str) -> str:
    """Hashes a password with scrypt and a fresh salt.

    Returns:
        ``scrypt$<n>$<r>$<p>$<salt>$<key>`` with the salt and key in base64.
    """
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key)))


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant time)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        n_, r_, p_ = int(n), int(r), int(p)
        if scheme != "scrypt" or not (1 < n_ <= _MAX_SCRYPT_N and 0 < r_ <= 32 and 0 < p_ <= 16):
            return False
        expected = base64.b64decode(key, validate=True)
        computed = _scrypt(password, base64.b64decode(salt, validate=True), n_, r_, p_)
    except ValueError:
        logger.error("A stored desk password hash is malformed")
        return False
    return hmac.compare_digest(computed, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * n * r + 1024 * 1024,
        dklen=KEY_BYTES,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


#: Checked against when the name is unknown, so that costs as much as a wrong password.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_password(password: str) -> str:
    """Checks a new password's length.

    Raises:
        AccountError: Shorter than :data:`MIN_PASSWORD_LENGTH` or absurdly long.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"passwords have at most {MAX_PASSWORD_LENGTH} characters")
    return password
