"""Opaque pagination tokens: URL-safe base64 of the JSON ``LastEvaluatedKey`` of a ``gsi1`` query.

A token is only ever accepted by the listing that issued it: its ``gsi1pk`` names the tenant (and
the workflow, for executions), so a token from another tenant or workflow is rejected rather than
silently starting somewhere else.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from goflow.errors import ErrorDetail, InvalidPaginationTokenError
from goflow.store.items import KEY_ATTRIBUTES

MAX_TOKEN_LENGTH = 4096


def encode_token(key: Mapping[str, str]) -> str:
    """The token for a ``gsi1`` position (the plain-string ``pk``/``sk``/``gsi1pk``/``gsi1sk``)."""
    payload = json.dumps({name: key[name] for name in KEY_ATTRIBUTES}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode("ascii").rstrip("=")


def decode_token(token: str, gsi1pk: str) -> dict[str, str]:
    """The ``gsi1`` position in ``token``; ``InvalidPaginationTokenError`` unless the listing of
    ``gsi1pk`` issued it."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise invalid_token_error()
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        key = json.loads(raw)
    except (ValueError, binascii.Error) as exc:  # UnicodeError and JSONDecodeError are ValueErrors
        raise invalid_token_error() from exc
    if not isinstance(key, dict) or set(key) != set(KEY_ATTRIBUTES):
        raise invalid_token_error()
    if not all(isinstance(value, str) and value for value in key.values()):
        raise invalid_token_error()
    if key["gsi1pk"] != gsi1pk:
        raise invalid_token_error()
    return key


def invalid_token_error() -> InvalidPaginationTokenError:
    """The error for a token the listing cannot use (detail field ``next_token``)."""
    return InvalidPaginationTokenError(
        "The pagination token is not valid for this listing",
        [ErrorDetail("next_token", "is malformed or belongs to another listing")],
    )
