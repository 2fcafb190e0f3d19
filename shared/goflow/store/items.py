"""The DynamoDB item model of GoFlow's one table, and its explicit mapping to the domain models.

Every workflow and every execution is its own partition, so item access never concentrates a
tenant on one hot partition; the per-tenant and per-workflow lists go through the ``gsi1`` index.

- workflow: pk ``TENANT#{tenant}#WORKFLOW#{id}``, sk ``WORKFLOW``;
  gsi1pk ``TENANT#{tenant}#WORKFLOWS``, gsi1sk ``{created_at}#{id}``
- execution: pk ``TENANT#{tenant}#EXECUTION#{id}``, sk ``EXECUTION``;
  gsi1pk ``TENANT#{tenant}#WORKFLOW#{workflow_id}#EXECUTIONS``, gsi1sk ``{started_at}#{id}``;
  ``expires_at`` (epoch seconds) is the table's TTL attribute

Timestamps in sort keys are fixed-width ISO-8601 UTC so that string order is time order. The domain
document is stored as one JSON string attribute ``doc``; the other top-level attributes exist only for
keys, conditions and TTL, and never reach the domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import pydantic_core
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pydantic import BaseModel, ConfigDict

from goflow.executions.model import Execution, StepSummary
from goflow.workflows.model import Workflow

GSI1 = "gsi1"
WORKFLOW_SK = "WORKFLOW"
EXECUTION_SK = "EXECUTION"
KEY_ATTRIBUTES: tuple[str, ...] = ("pk", "sk", "gsi1pk", "gsi1sk")

MAX_ITEM_BYTES = 400 * 1024
"""DynamoDB's hard limit on one item (names and values), which also bounds the ``gsi1`` copy."""

MAX_EXECUTION_DOC_BYTES = 350_000
"""Budget for an execution's ``doc``: the item limit less room for keys and other attributes."""

# Derived values are recomputed by the models on load; storing them would only let them go stale.
_EXECUTION_DOC_EXCLUDE: dict[str, Any] = {"duration_ms": True, "steps": {"__all__": {"duration_ms"}}}

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def iso_utc(value: datetime) -> str:
    """``value`` as fixed-width ISO-8601 UTC (``2025-01-31T09:30:00.000000Z``); naive means UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_seconds(value: datetime) -> int:
    """``value`` as whole seconds since the Unix epoch (the unit DynamoDB's TTL reads); naive means UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def is_key_part(value: str) -> bool:
    """Whether ``value`` can sit between ``#`` separators without colliding with another key."""
    return bool(value) and "#" not in value


def workflow_pk(tenant_id: str, workflow_id: str) -> str:
    return f"TENANT#{tenant_id}#WORKFLOW#{workflow_id}"


def workflows_gsi1pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#WORKFLOWS"


def execution_pk(tenant_id: str, execution_id: str) -> str:
    return f"TENANT#{tenant_id}#EXECUTION#{execution_id}"


def executions_gsi1pk(tenant_id: str, workflow_id: str) -> str:
    return f"TENANT#{tenant_id}#WORKFLOW#{workflow_id}#EXECUTIONS"


def workflow_key(tenant_id: str, workflow_id: str) -> dict[str, str]:
    """The primary key of a workflow item."""
    return {"pk": workflow_pk(tenant_id, workflow_id), "sk": WORKFLOW_SK}


def execution_key(tenant_id: str, execution_id: str) -> dict[str, str]:
    """The primary key of an execution item."""
    return {"pk": execution_pk(tenant_id, execution_id), "sk": EXECUTION_SK}


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    pk: str
    sk: str
    gsi1pk: str
    gsi1sk: str

    def to_attributes(self) -> dict[str, Any]:
        """The item as plain Python attribute values (see :func:`serialize_item` for the wire form)."""
        return self.model_dump()


class WorkflowItem(_Item):
    """How a workflow is stored: keys, a few attributes for conditions, and the document in ``doc``."""

    sk: str = WORKFLOW_SK
    entity: Literal["workflow"] = "workflow"
    tenant_id: str
    workflow_id: str
    version: int
    updated_at: str
    doc: str

    @classmethod
    def from_workflow(cls, workflow: Workflow) -> WorkflowItem:
        """The item that stores ``workflow``."""
        return cls(
            pk=workflow_pk(workflow.tenant_id, workflow.id),
            gsi1pk=workflows_gsi1pk(workflow.tenant_id),
            gsi1sk=f"{iso_utc(workflow.created_at)}#{workflow.id}",
            tenant_id=workflow.tenant_id,
            workflow_id=workflow.id,
            version=workflow.version,
            updated_at=iso_utc(workflow.updated_at),
            doc=workflow.model_dump_json(),
        )

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> WorkflowItem:
        """Parse plain attribute values (as :func:`deserialize_item` returns them)."""
        return cls.model_validate(dict(attributes))

    def to_workflow(self) -> Workflow:
        """The domain workflow this item stores."""
        return Workflow.model_validate_json(self.doc)


class ExecutionItem(_Item):
    """How an execution is stored: keys, ``status`` for conditions, ``expires_at`` for TTL, ``doc``."""

    sk: str = EXECUTION_SK
    entity: Literal["execution"] = "execution"
    tenant_id: str
    execution_id: str
    workflow_id: str
    status: str
    started_at: str
    expires_at: int
    doc: str

    @classmethod
    def from_execution(cls, execution: Execution, expires_at: int) -> ExecutionItem:
        """The item that stores ``execution``, its step outputs shrunk by :func:`fit_execution`."""
        return cls(
            pk=execution_pk(execution.tenant_id, execution.id),
            gsi1pk=executions_gsi1pk(execution.tenant_id, execution.workflow_id),
            gsi1sk=f"{iso_utc(execution.started_at)}#{execution.id}",
            tenant_id=execution.tenant_id,
            execution_id=execution.id,
            workflow_id=execution.workflow_id,
            status=execution.status,
            started_at=iso_utc(execution.started_at),
            expires_at=expires_at,
            doc=execution_json(fit_execution(execution)),
        )

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> ExecutionItem:
        """Parse plain attribute values (as :func:`deserialize_item` returns them)."""
        return cls.model_validate(dict(attributes))

    def to_execution(self) -> Execution:
        """The domain execution this item stores."""
        return Execution.model_validate_json(self.doc)


def execution_json(execution: Execution) -> str:
    """The JSON document an execution is stored as."""
    return execution.model_dump_json(exclude=_EXECUTION_DOC_EXCLUDE)


def truncation_marker(size_bytes: int) -> dict[str, Any]:
    """What replaces a step output that was too large to keep."""
    return {"truncated": True, "size_bytes": size_bytes}


def _is_marker(output: Any) -> bool:
    return (
        isinstance(output, dict)
        and output.get("truncated") is True
        and set(output)
        == {
            "truncated",
            "size_bytes",
        }
    )


def fit_execution(execution: Execution, max_bytes: int = MAX_EXECUTION_DOC_BYTES) -> Execution:
    """``execution`` with its largest step outputs replaced by a truncation marker until it fits.

    The stored document must fit in ``max_bytes`` (UTF-8); outputs are the only part GoFlow may
    drop, largest first, each becoming ``{"truncated": true, "size_bytes": n}``. Returns the same
    object when it already fits. If it still does not fit once every output is gone, the result is
    returned anyway and the caller decides (see :func:`fits_in_item`).
    """
    size = len(execution_json(execution).encode())
    if size <= max_bytes:
        return execution
    candidates = sorted(
        (
            (len(pydantic_core.to_json(step.output)), index)
            for index, step in enumerate(execution.steps)
            if step.output is not None and not _is_marker(step.output)
        ),
        reverse=True,
    )
    steps: list[StepSummary] = list(execution.steps)
    for output_size, index in candidates:
        marker = truncation_marker(output_size)
        steps[index] = steps[index].model_copy(update={"output": marker})
        size -= output_size - len(pydantic_core.to_json(marker))
        if size <= max_bytes:
            break
    return execution.model_copy(update={"steps": steps})


def item_size(attributes: Mapping[str, Any]) -> int:
    """DynamoDB's size of an item of flat string/number attributes, in bytes (an upper bound)."""
    total = 0
    for name, value in attributes.items():
        total += len(name.encode())
        # A number is stored in at most 21 bytes.
        total += 21 if isinstance(value, int | Decimal) else len(str(value).encode())
    return total


def fits_in_item(attributes: Mapping[str, Any]) -> bool:
    """Whether the item is within DynamoDB's item size limit."""
    return item_size(attributes) <= MAX_ITEM_BYTES


def serialize_item(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Plain Python attribute values → DynamoDB's wire form (``{"S": ...}``, ``{"N": ...}``)."""
    return {name: _serializer.serialize(value) for name, value in attributes.items()}


def deserialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB's wire form → plain Python attribute values (numbers become ``Decimal``)."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}
