"""API keys on the GoFlow table: each key maps to one tenant and is stored only as its SHA-256 hash.

Two items per key, written together in one transaction:

- pk ``APIKEY#{sha256(key)}``, sk ``APIKEY``: what a request's key is looked up by (tenant, key id,
  label, created_at, revoked)
- pk ``APIKEYID#{key_id}``, sk ``APIKEYID``: the key id a person sees, pointing at the hash, so a key
  can be revoked without its plaintext

A key is ``gf_`` followed by 43 URL-safe characters (256 random bits), so the lookup by hash needs no
constant-time comparison: an attacker cannot learn anything from timing a hash they cannot invert.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from goflow.errors import ConflictError, ErrorDetail, NotFoundError, ValidationError
from goflow.ports import Clock, utcnow
from goflow.store.items import iso_utc, serialize_item
from goflow.store.table import DynamoDBClient, Table, TransactionCancelled

KEY_PREFIX = "gf_"
KEY_PATTERN = re.compile(r"^gf_[A-Za-z0-9_-]{43}$")
KEY_ID_PATTERN = re.compile(r"^key_[0-9a-f]{20}$")
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_LABEL_LENGTH = 256
APIKEY_SK = "APIKEY"
APIKEYID_SK = "APIKEYID"


class ApiKeyNotFoundError(NotFoundError):
    code = "api_key_not_found"


@dataclass(frozen=True)
class ApiKey:
    """What GoFlow knows about a key (never the key itself)."""

    key_id: str
    tenant_id: str
    label: str | None
    created_at: str
    revoked: bool = False


def new_api_key() -> str:
    """A fresh key: ``gf_`` and 256 random bits, URL-safe base64 (43 characters)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """The hex SHA-256 of a key: the only form in which a key is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_well_formed_key(key: str) -> bool:
    return bool(KEY_PATTERN.fullmatch(key))


class ApiKeyRepository:
    """Creates, resolves and revokes API keys; takes an injected boto3 DynamoDB client."""

    def __init__(self, client: DynamoDBClient, table_name: str, clock: Clock = utcnow) -> None:
        self._table = Table(client, table_name)
        self._clock = clock

    def create(self, tenant: str, label: str | None = None, key: str | None = None) -> tuple[str, str]:
        """Store a new key for ``tenant``; return ``(key_id, plaintext_key)``.

        The plaintext is returned once and never stored. ``key`` lets a caller (a test, a local
        stack) choose the key; it must look like a generated one. ``ValidationError`` for a bad
        tenant name, label or key.
        """
        _check_new_key(tenant, label, key)
        plaintext = key if key is not None else new_api_key()
        digest = key_hash(plaintext)
        key_id = f"key_{secrets.token_hex(10)}"
        created_at = iso_utc(self._clock())
        key_item: dict[str, Any] = {
            "pk": f"APIKEY#{digest}",
            "sk": APIKEY_SK,
            "entity": "api_key",
            "tenant_id": tenant,
            "key_id": key_id,
            "created_at": created_at,
            "revoked": False,
        }
        id_item: dict[str, Any] = {
            "pk": f"APIKEYID#{key_id}",
            "sk": APIKEYID_SK,
            "entity": "api_key_id",
            "tenant_id": tenant,
            "key_hash": digest,
            "created_at": created_at,
        }
        if label is not None:
            key_item["label"] = id_item["label"] = label
        try:
            self._table.call(
                "transact_write_items",
                TransactItems=[{"Put": self._put(key_item)}, {"Put": self._put(id_item)}],
            )
        except TransactionCancelled as cancelled:
            raise ConflictError(
                "that API key already exists; let GoFlow generate one"
            ) from cancelled.__cause__
        return key_id, plaintext

    def tenant_for(self, key: str) -> str | None:
        """The tenant ``key`` belongs to; None when it is malformed, unknown or revoked."""
        if not is_well_formed_key(key):
            return None
        item = self._table.get({"pk": f"APIKEY#{key_hash(key)}", "sk": APIKEY_SK})
        if item is None or item.get("revoked") is True:
            return None
        tenant = item.get("tenant_id")
        return tenant if isinstance(tenant, str) else None

    def describe(self, key_id: str) -> ApiKey:
        """The key's record; ``ApiKeyNotFoundError`` when there is none."""
        pointer = self._pointer(key_id)
        item = self._table.get({"pk": f"APIKEY#{pointer['key_hash']}", "sk": APIKEY_SK}) or {}
        return _api_key(key_id, pointer, revoked=item.get("revoked") is True or not item)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke the key with id ``key_id`` (revoking twice is fine); ``ApiKeyNotFoundError`` if none."""
        pointer = self._pointer(key_id)
        revoked_at = iso_utc(self._clock())
        try:
            self._revoke(key_id, pointer["key_hash"], revoked_at)
        except TransactionCancelled as cancelled:
            raise ApiKeyNotFoundError(f"API key {key_id} not found") from cancelled.__cause__
        return _api_key(key_id, pointer, revoked=True)

    def _revoke(self, key_id: str, digest: str, revoked_at: str) -> None:
        self._table.call(
            "transact_write_items",
            TransactItems=[
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": serialize_item({"pk": f"APIKEY#{digest}", "sk": APIKEY_SK}),
                        "UpdateExpression": "SET revoked = :yes, revoked_at = if_not_exists(revoked_at, :at)",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": serialize_item({":yes": True, ":at": revoked_at}),
                    }
                },
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": serialize_item({"pk": f"APIKEYID#{key_id}", "sk": APIKEYID_SK}),
                        "UpdateExpression": "SET revoked_at = if_not_exists(revoked_at, :now)",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": serialize_item({":now": revoked_at}),
                    }
                },
            ],
        )

    def _pointer(self, key_id: str) -> dict[str, Any]:
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise ApiKeyNotFoundError(f"API key {key_id} not found")
        pointer = self._table.get({"pk": f"APIKEYID#{key_id}", "sk": APIKEYID_SK})
        if pointer is None or not isinstance(pointer.get("key_hash"), str):
            raise ApiKeyNotFoundError(f"API key {key_id} not found")
        return pointer

    def _put(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "TableName": self._table.name,
            "Item": serialize_item(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }


def _api_key(key_id: str, pointer: Mapping[str, Any], revoked: bool) -> ApiKey:
    label = pointer.get("label")
    return ApiKey(
        key_id=key_id,
        tenant_id=str(pointer.get("tenant_id", "")),
        label=label if isinstance(label, str) else None,
        created_at=str(pointer.get("created_at", "")),
        revoked=revoked,
    )


def _check_new_key(tenant: str, label: str | None, key: str | None) -> None:
    details: list[ErrorDetail] = []
    if not TENANT_PATTERN.fullmatch(tenant):
        details.append(
            ErrorDetail(
                "tenant",
                "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            )
        )
    if label is not None and not 0 < len(label) <= MAX_LABEL_LENGTH:
        details.append(ErrorDetail("label", f"must be 1-{MAX_LABEL_LENGTH} characters long"))
    if key is not None and not is_well_formed_key(key):
        details.append(ErrorDetail("key", "must be 'gf_' followed by 43 URL-safe base64 characters"))
    if details:
        raise ValidationError("the API key cannot be created", details)
