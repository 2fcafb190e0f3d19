"""DynamoDB adapters for the workflow and execution repositories (``goflow.ports``).

Both take an injected boto3 DynamoDB *client* and the table name, map explicitly between the domain
models and the item model of :mod:`goflow.store.items`, guard create-once and versioned writes with
condition expressions, and turn a failed condition (:mod:`goflow.store.table` translates the rest of
DynamoDB's errors) into the domain's conflict or not-found error.
"""

from __future__ import annotations

from datetime import timedelta

from goflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    WorkflowConflictError,
    WorkflowNotFoundError,
)
from goflow.executions.model import Execution
from goflow.pagination import Page
from goflow.ports import Clock, utcnow
from goflow.store.items import (
    ExecutionItem,
    WorkflowItem,
    epoch_seconds,
    execution_key,
    executions_gsi1pk,
    is_key_part,
    workflow_key,
    workflows_gsi1pk,
)
from goflow.store.table import ConditionFailed, DynamoDBClient, Table
from goflow.workflows.model import Workflow

# A record must outlive its run, however long a Standard run lasts, so the run's end can be recorded.
_TTL_GRACE = timedelta(days=1)


class DynamoWorkflowRepository:
    """``WorkflowRepository`` on the GoFlow table: one item per workflow, listed through ``gsi1``."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._table = Table(client, table_name)

    def create(self, workflow: Workflow) -> None:
        """Store a new workflow; ``WorkflowConflictError`` when its id is taken."""
        _require_key_parts(workflow.tenant_id, workflow.id)
        try:
            self._table.put(WorkflowItem.from_workflow(workflow).to_attributes(), "attribute_not_exists(pk)")
        except ConditionFailed as failed:
            raise WorkflowConflictError(f"Workflow {workflow.id} already exists") from failed.__cause__

    def get(self, tenant_id: str, workflow_id: str) -> Workflow:
        """The tenant's workflow; ``WorkflowNotFoundError`` when missing or another tenant's."""
        if not (is_key_part(tenant_id) and is_key_part(workflow_id)):
            raise _workflow_not_found(workflow_id)
        attributes = self._table.get(workflow_key(tenant_id, workflow_id))
        if attributes is None:
            raise _workflow_not_found(workflow_id)
        return WorkflowItem.from_attributes(attributes).to_workflow()

    def update(self, workflow: Workflow, expected_version: int) -> None:
        """Replace the stored workflow with ``workflow`` (written as given, version included) if the
        stored version is ``expected_version``; ``WorkflowConflictError`` if it is not,
        ``WorkflowNotFoundError`` if there is none."""
        if not (is_key_part(workflow.tenant_id) and is_key_part(workflow.id)):
            raise _workflow_not_found(workflow.id)
        try:
            self._table.put(
                WorkflowItem.from_workflow(workflow).to_attributes(),
                "attribute_exists(pk) AND #version = :expected",
                names={"#version": "version"},
                values={":expected": expected_version},
            )
        except ConditionFailed as failed:
            if failed.old_item is None:
                raise _workflow_not_found(workflow.id) from failed.__cause__
            stored = failed.old_item.get("version")
            raise WorkflowConflictError(
                f"Workflow {workflow.id} was changed by someone else (version {stored}); "
                f"reload it and apply your change again"
            ) from failed.__cause__

    def delete(self, tenant_id: str, workflow_id: str) -> None:
        """Delete the tenant's workflow; ``WorkflowNotFoundError`` when missing or another tenant's."""
        if not (is_key_part(tenant_id) and is_key_part(workflow_id)):
            raise _workflow_not_found(workflow_id)
        try:
            self._table.delete(workflow_key(tenant_id, workflow_id), "attribute_exists(pk)")
        except ConditionFailed as failed:
            raise _workflow_not_found(workflow_id) from failed.__cause__

    def list(self, tenant_id: str, limit: int, next_token: str | None) -> Page[Workflow]:
        """The tenant's workflows, newest first; ``InvalidPaginationTokenError`` for a token this
        listing did not issue. The index is eventually consistent: a workflow created a moment ago
        may be missing from the list."""
        if not is_key_part(tenant_id):
            return Page([])
        page = self._table.query_gsi1(workflows_gsi1pk(tenant_id), limit, next_token)
        workflows = [WorkflowItem.from_attributes(item).to_workflow() for item in page.items]
        return Page(workflows, page.next_token)


class DynamoExecutionRepository:
    """``ExecutionRepository`` on the GoFlow table: one item per execution, listed per workflow
    through ``gsi1``, removed by DynamoDB's TTL ``retention_days`` after the run started."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        retention_days: int = 90,
        clock: Clock = utcnow,
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self._table = Table(client, table_name)
        self._retention = timedelta(days=retention_days)
        self._clock = clock

    def create(self, execution: Execution) -> None:
        """Store a new record; ``ExecutionAlreadyExistsError`` when the id exists."""
        _require_key_parts(execution.tenant_id, execution.id, execution.workflow_id)
        try:
            self._table.put(self._item(execution).to_attributes(), "attribute_not_exists(pk)")
        except ConditionFailed as failed:
            raise ExecutionAlreadyExistsError(
                f"Execution {execution.id} already exists"
            ) from failed.__cause__

    def get(self, tenant_id: str, execution_id: str) -> Execution:
        """The tenant's execution; ``ExecutionNotFoundError`` when missing or another tenant's."""
        if not (is_key_part(tenant_id) and is_key_part(execution_id)):
            raise _execution_not_found(execution_id)
        attributes = self._table.get(execution_key(tenant_id, execution_id))
        if attributes is None:
            raise _execution_not_found(execution_id)
        return ExecutionItem.from_attributes(attributes).to_execution()

    def finish(self, execution: Execution) -> bool:
        """Write the terminal ``execution`` only while the stored record is RUNNING.

        Returns False (and writes nothing) when the stored record is already terminal, so a record
        never moves backwards; ``ExecutionNotFoundError`` when there is none. ``execution`` must be
        terminal (``ValueError`` otherwise).
        """
        if not execution.is_terminal:
            raise ValueError(f"finish needs a terminal execution, not {execution.status}")
        if not (is_key_part(execution.tenant_id) and is_key_part(execution.id)):
            raise _execution_not_found(execution.id)
        try:
            self._table.put(
                self._item(execution).to_attributes(),
                "#status = :running",
                names={"#status": "status"},
                values={":running": "RUNNING"},
            )
        except ConditionFailed as failed:
            if failed.old_item is None:
                raise _execution_not_found(execution.id) from failed.__cause__
            return False
        return True

    def list_for_workflow(
        self, tenant_id: str, workflow_id: str, limit: int, next_token: str | None
    ) -> Page[Execution]:
        """The workflow's executions, newest first; ``InvalidPaginationTokenError`` for a token this
        listing did not issue."""
        if not (is_key_part(tenant_id) and is_key_part(workflow_id)):
            return Page([])
        page = self._table.query_gsi1(executions_gsi1pk(tenant_id, workflow_id), limit, next_token)
        executions = [ExecutionItem.from_attributes(item).to_execution() for item in page.items]
        return Page(executions, page.next_token)

    def expires_at(self, execution: Execution) -> int:
        """When DynamoDB's TTL may remove the record (epoch seconds): ``retention_days`` after the
        run started, but never before a day after the run's deadline nor a day from now."""
        grace = int(_TTL_GRACE.total_seconds())
        return max(
            epoch_seconds(execution.started_at) + int(self._retention.total_seconds()),
            epoch_seconds(execution.deadline) + grace,
            epoch_seconds(self._clock()) + grace,
        )

    def _item(self, execution: Execution) -> ExecutionItem:
        return ExecutionItem.from_execution(execution, self.expires_at(execution))


def _require_key_parts(*parts: str) -> None:
    for part in parts:
        if not is_key_part(part):
            raise ValueError(f"{part!r} cannot be part of a key: it must be non-empty and free of '#'")


def _workflow_not_found(workflow_id: str) -> WorkflowNotFoundError:
    return WorkflowNotFoundError(f"Workflow {workflow_id} not found")


def _execution_not_found(execution_id: str) -> ExecutionNotFoundError:
    return ExecutionNotFoundError(f"Execution {execution_id} not found")
