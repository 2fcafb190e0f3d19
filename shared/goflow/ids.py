"""Identifiers: time-ordered, unguessable, URL- and state-machine-name-safe."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase


def _ulid(now: float | None = None) -> str:
    millis = int((time.time() if now is None else now) * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_workflow_id() -> str:
    return f"wf_{_ulid()}"


def new_execution_id() -> str:
    return f"ex_{_ulid()}"


def new_trace_id(now: float | None = None) -> str:
    """An X-Ray trace id (``1-<epoch hex>-<96 random bits hex>``)."""
    epoch = int(time.time() if now is None else now)
    return f"1-{epoch:08x}-{os.urandom(12).hex()}"


def is_workflow_id(value: str) -> bool:
    return _is_id(value, "wf_")


def is_execution_id(value: str) -> bool:
    return _is_id(value, "ex_")


def _is_id(value: str, prefix: str) -> bool:
    body = value[len(prefix) :]
    return value.startswith(prefix) and len(body) == 26 and all(c in _ALPHABET for c in body)
