"""The desk's browser protections: security headers on every answer, the session cookie.

The page, its script and its style sheet hold no data and are served to anyone; a
strict Content-Security-Policy allows only the desk's own script and style. The session
token travels in an HttpOnly, ``SameSite=Strict`` cookie (``Secure`` over HTTPS), which
browsers never send with cross-site requests. The check of every ``/api/`` request is
in :mod:`desk.routes.auth`.
"""

from __future__ import annotations

from typing import TypeVar

from sanic import Request
from sanic.response import BaseHTTPResponse

ResponseT = TypeVar("ResponseT", bound=BaseHTTPResponse)

COOKIE_NAME = "frontline_desk"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def with_security_headers(response: ResponseT) -> ResponseT:
    """Adds the :data:`SECURITY_HEADERS` the answer does not set itself."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def add_security_headers(request: Request, response: BaseHTTPResponse) -> None:
    """Response middleware: :func:`with_security_headers` on every answer."""
    with_security_headers(response)


def token_of(request: Request) -> str | None:
    """The session token: a bearer token (API clients), else the cookie (browsers)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE_NAME) or None


def set_cookie(
    request: Request, response: BaseHTTPResponse, token: str, max_age: int, *, secure: bool
) -> None:
    """Sets (or, with ``max_age`` 0, clears) the session cookie.

    It is ``Secure`` over HTTPS, and always with ``secure`` (TLS ended by a proxy).
    """
    response.cookies[COOKIE_NAME] = token
    cookie = response.cookies[COOKIE_NAME]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = max_age
    if secure or request.scheme == "https":
        cookie["secure"] = True
