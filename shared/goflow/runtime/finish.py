"""The end of an express run, recorded by the run itself.

Express state machines send no status-change events and cannot be described, so the compiler ends
each one with a Task that invokes the executor with a *finish event* instead of a step event:
``{"finish": {"status": "SUCCEEDED"|"FAILED", "steps": [...], "continue_steps": [...]}, "state": {...}}``
(``steps``: every step id in workflow order; ``continue_steps``: those with ``on_error: continue``).
The run state's ``steps`` holds each step's ``{status, output}`` or the ``{Error, Cause}`` its Catch
stored, and that is all there is to know: attempts and timings need an execution history, which
express runs do not have, so they are left empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from goflow.connectors.errors import FatalStepError
from goflow.executions.history import readable_cause
from goflow.executions.model import Execution, ExecutionFailure, StepError, StepSummary
from goflow.runtime.event import RunState
from goflow.runtime.steps import StepLogger

FinishStatus = Literal["SUCCEEDED", "FAILED"]
UNNAMED_FAILURE = "GoFlow.StepFailed"


class FinishSpec(BaseModel):
    """How the run ended, as the compiled machine knows it."""

    model_config = ConfigDict(extra="ignore")

    status: FinishStatus
    steps: list[str] = Field(default_factory=list)
    continue_steps: list[str] = Field(default_factory=list)


class FinishEvent(BaseModel):
    """``{"finish": ..., "state": ...}`` as the compiler produces it."""

    finish: FinishSpec
    state: RunState


@dataclass(frozen=True)
class RunOutcome:
    """What the execution record says about an ended express run."""

    status: FinishStatus
    steps: list[StepSummary]
    failure: ExecutionFailure | None


class RunRecorder(Protocol):
    """Where an express run's end is written (``ExecutionService`` implements it)."""

    def record_finish(
        self,
        tenant_id: str,
        execution_id: str,
        status: FinishStatus,
        steps: list[StepSummary],
        failure: ExecutionFailure | None,
        finished_at: datetime,
    ) -> Execution: ...


def is_finish_event(event: Any) -> bool:
    """Whether the executor was invoked to record a run's end rather than to run a step."""
    return isinstance(event, Mapping) and "finish" in event


def parse_finish_event(event: Any) -> FinishEvent:
    """The parsed event; :class:`FatalStepError` naming every bad field when it is malformed."""
    try:
        parsed = FinishEvent.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise FatalStepError(f"malformed finish event: {problems}") from exc
    execution = parsed.state.execution
    if not (execution.tenant_id and execution.id):
        raise FatalStepError("malformed finish event: state.execution names no tenant_id and id")
    return parsed


def summarize_run(finish: FinishSpec, results: Mapping[str, Any]) -> RunOutcome:
    """The per-step summary and the failure, from the results the run state holds.

    A step whose result is an ``Error`` is CONTINUED, except, in a FAILED run, the last such step
    that is not ``on_error: continue``: that one failed the run. Steps after it never ran and are
    left out; a step without a result before it (or in a SUCCEEDED run) is a ``wait`` step that passed.
    """
    order = finish.steps or list(results)
    failed_id: str | None = None
    ran = order
    if finish.status == "FAILED":
        failed_id = next(
            (s for s in reversed(order) if _is_error(results.get(s)) and s not in finish.continue_steps),
            None,
        )
        reported = [index for index, step_id in enumerate(order) if step_id in results]
        end = order.index(failed_id) + 1 if failed_id is not None else (reported[-1] + 1 if reported else 0)
        ran = order[:end]
    steps = [_summary(step_id, results.get(step_id), step_id == failed_id) for step_id in ran]
    return RunOutcome(finish.status, steps, _failure(finish.status, failed_id, steps))


def finish_run(event: Any, *, recorder: RunRecorder, now: datetime, logger: StepLogger) -> Execution:
    """Record the end a finish event reports; returns the stored record (unchanged if already ended)."""
    try:
        parsed = parse_finish_event(event)
    except FatalStepError as malformed:
        logger.error("finish failed", error_type=type(malformed).__name__, error_message=malformed.message)
        raise
    execution = parsed.state.execution
    logger.append_keys(
        trace_id=execution.trace_id or None,
        tenant_id=execution.tenant_id,
        workflow_id=execution.workflow_id or None,
        execution_id=execution.id,
    )
    outcome = summarize_run(parsed.finish, parsed.state.steps)
    record = recorder.record_finish(
        execution.tenant_id, execution.id, outcome.status, outcome.steps, outcome.failure, now
    )
    logger.info(
        "execution outcome recorded",
        status=record.status,
        reported_status=outcome.status,
        duration_ms=record.duration_ms,
        steps=len(record.steps),
    )
    return record


def _is_error(result: Any) -> bool:
    return isinstance(result, Mapping) and "Error" in result


def _summary(step_id: str, result: Any, failed: bool) -> StepSummary:
    if _is_error(result):
        error = StepError(error=str(result["Error"]), cause=readable_cause(_text(result.get("Cause"))))
        return StepSummary(
            step_id=step_id, status="FAILED" if failed else "CONTINUED", attempts=None, error=error
        )
    if isinstance(result, Mapping) and result.get("status") == "SKIPPED":
        return StepSummary(step_id=step_id, status="SKIPPED", attempts=None)
    output = result.get("output") if isinstance(result, Mapping) else None
    return StepSummary(step_id=step_id, status="SUCCEEDED", attempts=None, output=output)


def _failure(
    status: FinishStatus, failed_id: str | None, steps: list[StepSummary]
) -> ExecutionFailure | None:
    if status == "SUCCEEDED":
        return None
    failed = next((s for s in steps if s.step_id == failed_id), None)
    if failed is None or failed.error is None:
        return ExecutionFailure(
            error=UNNAMED_FAILURE, cause="the run failed without a step reporting an error"
        )
    return ExecutionFailure(error=failed.error.error, cause=failed.error.cause, step_id=failed.step_id)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) or value is None else str(value)
