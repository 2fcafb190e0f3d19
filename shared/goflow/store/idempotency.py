"""Idempotency records on the GoFlow table: an ``Idempotency-Key`` bound to the run it started.

One item per tenant and key: pk ``TENANT#{tenant}#IDEMPOTENCY#{sha256(key)}``, sk ``IDEMPOTENCY``,
holding the fingerprint of the request that first used the key and the execution id and trace id
chosen for it. ``expires_at`` (the table's TTL attribute) ends the binding 24 hours later; since
DynamoDB deletes expired items only eventually, an expired record is treated as absent.

The key itself is stored only as its hash: it is the client's secret-ish correlation value.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from goflow.errors import EngineError
from goflow.ports import Clock, utcnow
from goflow.store.items import epoch_seconds, iso_utc
from goflow.store.table import ConditionFailed, DynamoDBClient, Table

IDEMPOTENCY_SK = "IDEMPOTENCY"
DEFAULT_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class IdempotencyRecord:
    """A key's binding: the request it was first used with and the run chosen for it."""

    tenant_id: str
    fingerprint: str
    workflow_id: str
    execution_id: str
    trace_id: str
    created_at: str
    expires_at: int


def idempotency_pk(tenant_id: str, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"TENANT#{tenant_id}#IDEMPOTENCY#{digest}"


class DynamoIdempotencyStore:
    """Binds idempotency keys to runs with one conditional put; takes an injected DynamoDB client."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, ttl: timedelta = DEFAULT_TTL, clock: Clock = utcnow
    ) -> None:
        self._table = Table(client, table_name)
        self._ttl = ttl
        self._clock = clock

    def claim(
        self,
        tenant_id: str,
        key: str,
        *,
        fingerprint: str,
        workflow_id: str,
        execution_id: str,
        trace_id: str,
    ) -> tuple[IdempotencyRecord, bool]:
        """Bind ``key`` to this request (its ``fingerprint``) and the run chosen for it, unless an
        unexpired binding exists.

        Returns ``(record, claimed)``: the new record and True when this call bound the key, or the
        existing record and False when an earlier request bound it.
        """
        now = self._clock()
        record = IdempotencyRecord(
            tenant_id=tenant_id,
            fingerprint=fingerprint,
            workflow_id=workflow_id,
            execution_id=execution_id,
            trace_id=trace_id,
            created_at=iso_utc(now),
            expires_at=epoch_seconds(now + self._ttl),
        )
        item = {
            "pk": idempotency_pk(tenant_id, key),
            "sk": IDEMPOTENCY_SK,
            "entity": "idempotency",
            "tenant_id": record.tenant_id,
            "fingerprint": record.fingerprint,
            "workflow_id": record.workflow_id,
            "execution_id": record.execution_id,
            "trace_id": record.trace_id,
            "created_at": record.created_at,
            "expires_at": record.expires_at,
        }
        try:
            self._table.put(
                item,
                "attribute_not_exists(pk) OR expires_at < :now",
                values={":now": epoch_seconds(now)},
            )
        except ConditionFailed as failed:
            if failed.old_item is None:  # deleted between the check and now; let the client retry
                raise EngineError("the idempotency record changed while it was read; try again") from None
            return _record(failed.old_item), False
        return record, True

    def release(self, tenant_id: str, key: str, execution_id: str) -> None:
        """Forget the binding of ``key`` if it still names ``execution_id`` (a run that never started)."""
        try:
            self._table.delete(
                {"pk": idempotency_pk(tenant_id, key), "sk": IDEMPOTENCY_SK},
                "execution_id = :id",
                values={":id": execution_id},
            )
        except ConditionFailed:
            pass


def _record(item: dict[str, Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        tenant_id=str(item["tenant_id"]),
        fingerprint=str(item["fingerprint"]),
        workflow_id=str(item["workflow_id"]),
        execution_id=str(item["execution_id"]),
        trace_id=str(item["trace_id"]),
        created_at=str(item["created_at"]),
        expires_at=int(item["expires_at"]),
    )
