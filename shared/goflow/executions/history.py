"""Read a Step Functions execution history into GoFlow's per-step timeline."""

from __future__ import annotations

import json
from typing import Any

from goflow.executions.model import ExecutionFailure, StepError, StepSummary

_ENTERED = {"TaskStateEntered", "WaitStateEntered"}
_EXITED = {"TaskStateExited", "WaitStateExited"}
_SCHEDULED = {"TaskScheduled", "LambdaFunctionScheduled"}
_FAILED = {
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "LambdaFunctionStartFailed": "lambdaFunctionStartFailedEventDetails",
    "LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
}
_RUN_ENDED = {
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


def readable_cause(cause: str | None) -> str | None:
    """A Lambda error's cause is the runtime's JSON payload; keep just its message."""
    if not cause:
        return cause
    try:
        payload = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(payload, dict) and isinstance(payload.get("errorMessage"), str):
        return str(payload["errorMessage"])
    return cause


def is_step_state(name: str) -> bool:
    """States compiled from steps are named by the step id; GoFlow's own states contain a dot."""
    return "." not in name


def summarize_steps(events: list[dict[str, Any]]) -> list[StepSummary]:
    """One summary per step that ran, in the order they ran (status, attempts, timings, output, error)."""
    summaries: dict[str, StepSummary] = {}
    current: StepSummary | None = None
    for event in events:
        kind = event["type"]
        if kind in _ENTERED:
            name = event["stateEnteredEventDetails"]["name"]
            current = None
            if is_step_state(name):
                current = StepSummary(step_id=name, status="RUNNING", started_at=event["timestamp"])
                summaries[name] = current
        elif current is None:
            continue
        elif kind in _SCHEDULED:
            current.attempts = (current.attempts or 0) + 1
        elif kind in _FAILED:
            details = event.get(_FAILED[kind], {})
            current.error = StepError(
                error=details.get("error") or kind, cause=readable_cause(details.get("cause"))
            )
        elif kind in _EXITED:
            _finish_step(current, event)
            current = None
    _close_unfinished(summaries.values(), events)
    return list(summaries.values())


def _finish_step(summary: StepSummary, event: dict[str, Any]) -> None:
    summary.finished_at = event["timestamp"]
    if event["type"] == "WaitStateExited":
        summary.status = "SUCCEEDED"
        return
    state = _parse(event["stateExitedEventDetails"].get("output"))
    result = (state.get("steps") or {}).get(summary.step_id) if isinstance(state, dict) else None
    if isinstance(result, dict) and "Error" in result:
        summary.status = "CONTINUED"
        summary.error = StepError(error=result["Error"], cause=readable_cause(result.get("Cause")))
    elif isinstance(result, dict) and result.get("status") == "SKIPPED":
        summary.status = "SKIPPED"
        summary.error = None
    else:
        summary.status = "SUCCEEDED"
        summary.error = None  # an earlier attempt failed, but the step succeeded in the end
        summary.output = result.get("output") if isinstance(result, dict) else None


def _close_unfinished(summaries: Any, events: list[dict[str, Any]]) -> None:
    ending = next((e for e in reversed(events) if e["type"] in _RUN_ENDED), None)
    for summary in summaries:
        if summary.status != "RUNNING" or ending is None:
            continue
        summary.status = "FAILED" if summary.error else _RUN_ENDED[ending["type"]]
        summary.finished_at = ending["timestamp"]


def failed_step(summaries: list[StepSummary]) -> StepSummary | None:
    """The step that ended the run: the last one that did not finish well."""
    for summary in reversed(summaries):
        if summary.status in {"FAILED", "TIMED_OUT", "ABORTED", "RUNNING"}:
            return summary
    return None


def describe_failure(
    status: str, error: str | None, cause: str | None, summaries: list[StepSummary], timeout_s: int
) -> ExecutionFailure | None:
    """Why the run ended as it did, naming the step where there is one."""
    if status == "SUCCEEDED":
        return None
    step = failed_step(summaries)
    step_id = step.step_id if step else None
    if status == "TIMED_OUT":
        where = f" while step '{step_id}' was running" if step_id else ""
        return ExecutionFailure(
            error=error or "States.Timeout",
            cause=f"the workflow's execution_timeout of {timeout_s} s passed{where}",
            step_id=step_id,
        )
    if status == "ABORTED":
        return ExecutionFailure(
            error=error or "GoFlow.Cancelled", cause=cause or "the run was cancelled", step_id=step_id
        )
    if step is not None and step.error is not None:
        return ExecutionFailure(error=step.error.error, cause=step.error.cause, step_id=step_id)
    return ExecutionFailure(error=error or "States.Runtime", cause=readable_cause(cause), step_id=step_id)


def _parse(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
