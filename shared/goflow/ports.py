"""The ports the domain talks through. Adapters (goflow.store, goflow.engine) implement them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from goflow.executions.model import Execution
from goflow.pagination import Page
from goflow.workflows.model import Workflow

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The default clock: the current time in UTC."""
    return datetime.now(UTC)


class WorkflowRepository(Protocol):
    def create(self, workflow: Workflow) -> None:
        """Store a new workflow; ``WorkflowConflictError`` when the id exists."""

    def get(self, tenant_id: str, workflow_id: str) -> Workflow:
        """The tenant's workflow; ``WorkflowNotFoundError`` when missing or another tenant's."""

    def update(self, workflow: Workflow, expected_version: int) -> None:
        """Replace the workflow if its stored version is ``expected_version`` (else conflict)."""

    def delete(self, tenant_id: str, workflow_id: str) -> None:
        """Delete it; ``WorkflowNotFoundError`` when missing."""

    def list(self, tenant_id: str, limit: int, next_token: str | None) -> Page[Workflow]:
        """The tenant's workflows, newest first."""


class ExecutionRepository(Protocol):
    def create(self, execution: Execution) -> None:
        """Store a new RUNNING record; ``ExecutionAlreadyExistsError`` when the id exists."""

    def get(self, tenant_id: str, execution_id: str) -> Execution:
        """The tenant's execution; ``ExecutionNotFoundError`` when missing or another tenant's."""

    def finish(self, execution: Execution) -> bool:
        """Write a terminal record only while the stored one is RUNNING; False if already terminal."""

    def list_for_workflow(
        self, tenant_id: str, workflow_id: str, limit: int, next_token: str | None
    ) -> Page[Execution]:
        """The workflow's executions, newest first."""


@dataclass(frozen=True)
class RunDescription:
    """What Step Functions says about one execution."""

    status: str
    started_at: datetime
    stopped_at: datetime | None = None
    error: str | None = None
    cause: str | None = None
    output: str | None = None


class StateMachineEngine(Protocol):
    def deploy(self, workflow: Workflow, definition: str) -> str:
        """Create or update the workflow's state machine; return its ARN."""

    def remove(self, state_machine_arn: str) -> None:
        """Delete the state machine (missing is fine)."""

    def start(self, state_machine_arn: str, name: str, run_input: dict[str, Any], trace_id: str) -> str:
        """Start an execution named ``name``; ``ExecutionAlreadyExistsError`` on a repeat."""

    def describe(self, execution_arn: str) -> RunDescription:
        """The execution's current status."""

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every history event, oldest first."""

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        """Stop a running execution."""
