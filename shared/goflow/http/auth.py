"""API-key authentication: ``Authorization: Bearer <key>`` → the caller's tenant.

The key is looked up by its SHA-256 hash (see :mod:`goflow.store.apikeys`) and is never logged,
echoed or stored in plain text. Missing, malformed, unknown and revoked keys all answer 401 with
``WWW-Authenticate: Bearer``; the message does not say which, so a key cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from goflow.errors import AuthenticationError
from goflow.http.errors import InvalidApiKeyError

TenantLookup = Callable[[str], str | None]

SECURITY_SCHEME = "apiKey"
SECURED: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]
"""A route's ``security``: it needs an API key (the gate enforces exactly what OpenAPI declares)."""


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive), or None."""
    value = _header(headers, "authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def authenticate(headers: Mapping[str, str], lookup: TenantLookup) -> str:
    """The tenant the request's API key belongs to; :class:`AuthenticationError` otherwise."""
    if _header(headers, "authorization") is None:
        raise AuthenticationError("An API key is required: send 'Authorization: Bearer <key>'")
    token = bearer_token(headers)
    tenant = lookup(token) if token is not None else None
    if tenant is None:
        raise InvalidApiKeyError("The API key is not valid")
    return tenant


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
