"""Workflow use cases: save, change and delete a workflow together with its state machine."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from goflow.compiler import compile_workflow
from goflow.connectors.registry import ConnectorRegistry
from goflow.errors import WorkflowConflictError
from goflow.ids import new_workflow_id
from goflow.pagination import Page
from goflow.ports import Clock, StateMachineEngine, WorkflowRepository, utcnow
from goflow.workflows.model import Workflow, WorkflowSpec
from goflow.workflows.validation import parse_workflow

logger = logging.getLogger("goflow.workflows")


@dataclass
class WorkflowService:
    """Keeps each workflow and its compiled state machine in step."""

    workflows: WorkflowRepository
    engine: StateMachineEngine
    registry: ConnectorRegistry
    executor_arn: str
    clock: Clock = utcnow

    def create(self, tenant_id: str, document: Any) -> Workflow:
        """Validate, compile and deploy the state machine, then store the workflow."""
        spec = parse_workflow(document, self.registry)
        now = self.clock()
        workflow = Workflow(
            **spec.model_dump(), id=new_workflow_id(), tenant_id=tenant_id, created_at=now, updated_at=now
        )
        workflow.state_machine_arn = self.engine.deploy(workflow, self.compile(workflow))
        try:
            self.workflows.create(workflow)
        except Exception:
            self.engine.remove(workflow.state_machine_arn)
            raise
        return workflow

    def update(
        self, tenant_id: str, workflow_id: str, document: Any, expected_version: int | None = None
    ) -> Workflow:
        """Replace the workflow's definition and update its machine (optimistic versioning)."""
        current = self.workflows.get(tenant_id, workflow_id)
        if expected_version is not None and expected_version != current.version:
            raise WorkflowConflictError(
                f"workflow {workflow_id} is at version {current.version}, not {expected_version}"
            )
        spec = parse_workflow(document, self.registry)
        changed = current.model_copy(
            update={**_fields(spec), "version": current.version + 1, "updated_at": self.clock()}
        )
        changed.state_machine_arn = self.engine.deploy(changed, self.compile(changed))
        try:
            self.workflows.update(changed, expected_version=current.version)
        except WorkflowConflictError:
            # Someone else saved first: put their version's machine back.
            latest = self.workflows.get(tenant_id, workflow_id)
            self.engine.deploy(latest, self.compile(latest))
            raise
        return changed

    def delete(self, tenant_id: str, workflow_id: str) -> None:
        """Delete the workflow, then its state machine."""
        workflow = self.workflows.get(tenant_id, workflow_id)
        self.workflows.delete(tenant_id, workflow_id)
        if workflow.state_machine_arn:
            self.engine.remove(workflow.state_machine_arn)

    def get(self, tenant_id: str, workflow_id: str) -> Workflow:
        return self.workflows.get(tenant_id, workflow_id)

    def list(self, tenant_id: str, limit: int, next_token: str | None) -> Page[Workflow]:
        return self.workflows.list(tenant_id, limit, next_token)

    def compile(self, workflow: Workflow) -> str:
        return compile_workflow(workflow, self.executor_arn)


def _fields(spec: WorkflowSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in WorkflowSpec.model_fields}
