"""Runs: start one, record how it ended, read it (reconciling a stale record), cancel it."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from goflow.errors import (
    EngineError,
    ExecutionAlreadyExistsError,
    ExecutionFinishedError,
    ExecutionNotCancellableError,
    ExecutionNotFoundError,
    WorkflowInactiveError,
)
from goflow.executions.history import describe_failure, summarize_steps
from goflow.executions.model import (
    TERMINAL_STATUSES,
    Execution,
    ExecutionFailure,
    ExecutionStatus,
    StepSummary,
)
from goflow.ids import new_execution_id, new_trace_id
from goflow.pagination import Page
from goflow.params import resolve_parameters
from goflow.ports import Clock, ExecutionRepository, StateMachineEngine, utcnow
from goflow.stepfunctions import execution_arn_for
from goflow.workflows.model import Workflow

logger = logging.getLogger("goflow.executions")

# A record still RUNNING this long after it started, with no execution behind it, never started.
NEVER_STARTED_AFTER = timedelta(minutes=2)
CANCELLED_ERROR = "GoFlow.Cancelled"
# An express machine records its own end; one still RUNNING this long after its deadline was ended by
# the machine's TimeoutSeconds (which no state can catch) before it could.
EXPRESS_RECORD_GRACE = timedelta(seconds=60)
NOT_CANCELLABLE = "express runs cannot be cancelled; they end within their execution_timeout (≤ 300 s)"


@dataclass
class ExecutionService:
    """The use cases around runs; its ports are injected."""

    executions: ExecutionRepository
    engine: StateMachineEngine
    clock: Clock = utcnow

    def start(
        self,
        workflow: Workflow,
        supplied_parameters: Any,
        trigger: dict[str, Any],
        *,
        execution_id: str | None = None,
        trace_id: str | None = None,
    ) -> Execution:
        """Validate the parameters, record the run as RUNNING, then start its state machine.

        The execution is named by its id, so a repeated start cannot run twice. If the start
        fails, the record ends FAILED rather than staying RUNNING.
        """
        if not workflow.is_active:
            raise WorkflowInactiveError(f"workflow {workflow.id} is inactive; activate it to trigger runs")
        if workflow.state_machine_arn is None:
            raise EngineError(f"workflow {workflow.id} has no state machine")
        parameters = resolve_parameters(workflow.parameters, supplied_parameters)
        started_at = self.clock()
        execution = Execution(
            id=execution_id or new_execution_id(),
            tenant_id=workflow.tenant_id,
            workflow_id=workflow.id,
            workflow_version=workflow.version,
            workflow_name=workflow.name,
            mode=workflow.mode,
            parameters=parameters,
            trigger=trigger,
            trace_id=trace_id or new_trace_id(started_at.timestamp()),
            state_machine_arn=workflow.state_machine_arn,
            started_at=started_at,
            deadline=started_at + timedelta(seconds=workflow.execution_timeout),
        )
        execution.execution_arn = execution_arn_for(workflow.state_machine_arn, execution.id)
        self.executions.create(execution)
        try:
            self.engine.start(
                workflow.state_machine_arn, execution.id, run_input(execution), execution.trace_id
            )
        except ExecutionAlreadyExistsError:
            logger.info("execution already started", extra={"execution_id": execution.id})
        except Exception as exc:
            self._end_unstarted(execution, f"{type(exc).__name__}: {exc}")
            raise
        return execution

    def _end_unstarted(self, execution: Execution, cause: str) -> None:
        execution.status = "FAILED"
        execution.finished_at = self.clock()
        execution.failure = ExecutionFailure(error="GoFlow.StartFailed", cause=cause)
        self.executions.finish(execution)

    def get(self, tenant_id: str, execution_id: str) -> Execution:
        """The run; a record left RUNNING whose machine has ended is brought up to date first."""
        execution = self.executions.get(tenant_id, execution_id)
        if execution.is_terminal or execution.execution_arn is None:
            return execution
        return self._reconcile(execution)

    def _reconcile(self, execution: Execution) -> Execution:
        if execution.mode == "express":
            return self._reconcile_express(execution)
        assert execution.execution_arn is not None
        try:
            run = self.engine.describe(execution.execution_arn)
        except ExecutionNotFoundError:
            if self.clock() - execution.started_at > NEVER_STARTED_AFTER:
                self._end_unstarted(execution, "the state machine execution was never started")
            return execution
        if run.status not in TERMINAL_STATUSES:
            return execution
        self._finish(execution, run.status, run.stopped_at, run.error, run.cause)
        return self.executions.get(execution.tenant_id, execution.id)

    def _reconcile_express(self, execution: Execution) -> Execution:
        """Express executions cannot be described: a record still RUNNING well past its deadline was
        ended by the machine's own timeout before its in-machine recorder ran."""
        if self.clock() <= execution.deadline + EXPRESS_RECORD_GRACE:
            return execution
        timeout_s = _timeout_seconds(execution)
        execution.status = "TIMED_OUT"
        execution.finished_at = execution.deadline
        execution.failure = describe_failure("TIMED_OUT", "States.Timeout", None, [], timeout_s)
        if not self.executions.finish(execution):
            logger.info("outcome already recorded", extra={"execution_id": execution.id})
        return self.executions.get(execution.tenant_id, execution.id)

    def record_finish(
        self,
        tenant_id: str,
        execution_id: str,
        status: ExecutionStatus,
        steps: list[StepSummary],
        failure: ExecutionFailure | None,
        finished_at: datetime,
    ) -> Execution:
        """Record the end an express run reports from inside its own state machine.

        Like every terminal write it never moves a record backwards: a run already recorded (a
        repeated invocation, a reconcile that got there first) is returned unchanged.
        """
        execution = self.executions.get(tenant_id, execution_id)
        if execution.is_terminal:
            return execution
        execution.status = status
        execution.finished_at = finished_at
        execution.steps = steps
        execution.failure = failure
        if not self.executions.finish(execution):
            logger.info("outcome already recorded", extra={"execution_id": execution.id})
        return self.executions.get(tenant_id, execution_id)

    def record_outcome(self, detail: dict[str, Any]) -> Execution | None:
        """Record what an EventBridge "Step Functions Execution Status Change" event reports.

        Never moves a record backwards: a duplicate or late event for a finished run changes nothing.
        Returns the updated record, or None when the event is not about a GoFlow run (or its record is
        gone), or is about an express run: express machines record their own outcome
        (:meth:`record_finish`). AWS sends no such events for them; an emulator that does (the local
        stack) must not race that recorder.
        """
        status = detail.get("status")
        if status not in TERMINAL_STATUSES:
            return None
        tenant_id = _tenant_of(detail.get("input"))
        execution_id = detail.get("name")
        if tenant_id is None or not isinstance(execution_id, str):
            logger.warning(
                "status event is not about a GoFlow run", extra={"arn": detail.get("executionArn")}
            )
            return None
        try:
            execution = self.executions.get(tenant_id, execution_id)
        except ExecutionNotFoundError:
            # Its record expired (TTL) or was never GoFlow's: retrying the event cannot help.
            logger.warning("status event for an unknown execution", extra={"execution_id": execution_id})
            return None
        if execution.mode == "express":
            logger.info("express runs record their own outcome", extra={"execution_id": execution_id})
            return None
        if execution.is_terminal:
            return execution
        stopped = detail.get("stopDate")
        stopped_at = datetime.fromtimestamp(stopped / 1000, UTC) if isinstance(stopped, int | float) else None
        self._finish(execution, status, stopped_at, detail.get("error"), detail.get("cause"))
        return self.executions.get(tenant_id, execution_id)

    def _finish(
        self,
        execution: Execution,
        status: str,
        stopped_at: datetime | None,
        error: str | None,
        cause: str | None,
    ) -> None:
        assert execution.execution_arn is not None
        timeout_s = _timeout_seconds(execution)
        steps = summarize_steps(self.engine.history(execution.execution_arn))
        execution.status = status  # type: ignore[assignment]
        execution.finished_at = stopped_at or self.clock()
        execution.steps = steps
        execution.failure = describe_failure(status, error, cause, steps, timeout_s)
        if not self.executions.finish(execution):
            logger.info("outcome already recorded", extra={"execution_id": execution.id})

    def cancel(self, tenant_id: str, execution_id: str) -> Execution:
        """Stop a running execution; it ends ABORTED. 409 when it has already finished, or when it is
        an express run (Step Functions cannot stop those)."""
        execution = self.get(tenant_id, execution_id)
        if execution.is_terminal:
            raise ExecutionFinishedError(f"execution {execution_id} already ended {execution.status}")
        if execution.mode == "express":
            raise ExecutionNotCancellableError(NOT_CANCELLABLE)
        assert execution.execution_arn is not None
        self.engine.stop(execution.execution_arn, CANCELLED_ERROR, "cancelled through the GoFlow API")
        self._finish(execution, "ABORTED", self.clock(), CANCELLED_ERROR, "cancelled through the GoFlow API")
        return self.executions.get(tenant_id, execution_id)

    def list_for_workflow(
        self, tenant_id: str, workflow_id: str, limit: int, next_token: str | None
    ) -> Page[Execution]:
        return self.executions.list_for_workflow(tenant_id, workflow_id, limit, next_token)


def run_input(execution: Execution) -> dict[str, Any]:
    """The state a run starts with: what every step's templates can read."""
    return {
        "params": execution.parameters,
        "trigger": execution.trigger,
        "steps": {},
        "execution": {
            "id": execution.id,
            "workflow_id": execution.workflow_id,
            "workflow_name": execution.workflow_name,
            "tenant_id": execution.tenant_id,
            "started_at": execution.started_at.isoformat(),
            "deadline": execution.deadline.isoformat(),
            "trace_id": execution.trace_id,
        },
    }


def _timeout_seconds(execution: Execution) -> int:
    return int((execution.deadline - execution.started_at).total_seconds())


def _tenant_of(run_input_json: Any) -> str | None:
    try:
        state = json.loads(run_input_json) if isinstance(run_input_json, str) else None
    except ValueError:
        return None
    tenant = ((state or {}).get("execution") or {}).get("tenant_id") if isinstance(state, dict) else None
    return tenant if isinstance(tenant, str) else None
