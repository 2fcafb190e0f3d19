"""Triggering a run through the API, exactly once per ``Idempotency-Key``.

The key is bound (one conditional put) to a fingerprint of the request and to the execution id and
trace id chosen for it *before* anything starts. Every request carrying the key then converges on
that one execution id, and the execution id is also the Step Functions execution name and the
execution record's key, both create-once: however requests race or a Lambda dies half-way, at most
one run starts. A request that could not start a run (bad parameters, inactive or missing workflow)
releases the key, so the client can correct the request and retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from goflow.errors import (
    ErrorDetail,
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    GoFlowError,
    IdempotencyConflictError,
    PayloadTooLargeError,
)
from goflow.executions.model import Execution, ExecutionStatus
from goflow.executions.service import ExecutionService
from goflow.ids import new_execution_id, new_trace_id
from goflow.store.idempotency import IdempotencyRecord
from goflow.workflows.model import Workflow

# A run's whole state travels as Step Functions input/output, capped at 256 KiB; leave room for the
# execution metadata and the steps' outputs.
MAX_PARAMETERS_BYTES = 128 * 1024


class IdempotencyStore(Protocol):
    def claim(
        self,
        tenant_id: str,
        key: str,
        *,
        fingerprint: str,
        workflow_id: str,
        execution_id: str,
        trace_id: str,
    ) -> tuple[IdempotencyRecord, bool]: ...

    def release(self, tenant_id: str, key: str, execution_id: str) -> None: ...


@dataclass(frozen=True)
class Started:
    """What a trigger request produced: the run, and whether it was an earlier request's run."""

    execution_id: str
    trace_id: str
    status: ExecutionStatus
    replayed: bool = False


@dataclass
class Trigger:
    """Starts runs for API requests, with optional idempotency."""

    load_workflow: Callable[[str, str], Workflow]
    executions: ExecutionService
    store: IdempotencyStore

    def trigger(
        self,
        tenant_id: str,
        workflow_id: str,
        parameters: dict[str, Any],
        trigger: dict[str, Any],
        idempotency_key: str | None = None,
        trace_id: str | None = None,
    ) -> Started:
        """Start a run of the tenant's workflow; with ``idempotency_key``, at most one per key."""
        _check_size(parameters)
        if idempotency_key is None:
            execution = self._start(tenant_id, workflow_id, parameters, trigger, None, trace_id)
            return Started(execution.id, execution.trace_id, execution.status)
        request = fingerprint(workflow_id, parameters)
        record, claimed = self.store.claim(
            tenant_id,
            idempotency_key,
            fingerprint=request,
            workflow_id=workflow_id,
            execution_id=new_execution_id(),
            trace_id=trace_id or new_trace_id(),
        )
        if record.fingerprint != request:
            raise IdempotencyConflictError(
                "This Idempotency-Key was already used with a different request; use a new key"
            )
        if not claimed:
            existing = self._existing(tenant_id, record)
            if existing is not None:
                return Started(existing.id, existing.trace_id, existing.status, replayed=True)
        try:
            execution = self._start(
                tenant_id, workflow_id, parameters, trigger, record.execution_id, record.trace_id
            )
        except ExecutionAlreadyExistsError:
            # A concurrent request with the same key created the run first.
            return Started(record.execution_id, record.trace_id, "RUNNING", replayed=True)
        except GoFlowError as error:
            if error.status < 500:
                self.store.release(tenant_id, idempotency_key, record.execution_id)
            raise
        return Started(execution.id, execution.trace_id, execution.status, replayed=not claimed)

    def _existing(self, tenant_id: str, record: IdempotencyRecord) -> Execution | None:
        try:
            return self.executions.get(tenant_id, record.execution_id)
        except ExecutionNotFoundError:
            return None  # the first request has not created it yet, or died before it did

    def _start(
        self,
        tenant_id: str,
        workflow_id: str,
        parameters: dict[str, Any],
        trigger: dict[str, Any],
        execution_id: str | None,
        trace_id: str | None,
    ) -> Execution:
        workflow = self.load_workflow(tenant_id, workflow_id)
        return self.executions.start(
            workflow, parameters, trigger, execution_id=execution_id, trace_id=trace_id
        )


def _check_size(parameters: dict[str, Any]) -> None:
    size = len(json.dumps(parameters, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_PARAMETERS_BYTES:
        limit = f"{MAX_PARAMETERS_BYTES // 1024} KiB"
        raise PayloadTooLargeError(
            f"The parameters take {size} bytes; a run's parameters are limited to {limit}",
            [ErrorDetail("parameters", f"must be at most {limit} as JSON")],
        )


def fingerprint(workflow_id: str, parameters: dict[str, Any]) -> str:
    """What makes two trigger requests "the same": the workflow and the parameters (canonical JSON)."""
    canonical = json.dumps(
        {"workflow_id": workflow_id, "parameters": parameters}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
