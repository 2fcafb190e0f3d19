"""Reading a Step Functions execution history into the per-step timeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from goflow.executions.history import describe_failure, readable_cause, summarize_steps

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def entered(name: str, t: float) -> dict[str, Any]:
    return {"type": "TaskStateEntered", "timestamp": at(t), "stateEnteredEventDetails": {"name": name}}


def scheduled(t: float) -> dict[str, Any]:
    return {"type": "TaskScheduled", "timestamp": at(t)}


def failed(t: float, error: str, message: str) -> dict[str, Any]:
    cause = json.dumps({"errorType": error, "errorMessage": message})
    return {
        "type": "TaskFailed",
        "timestamp": at(t),
        "taskFailedEventDetails": {"error": error, "cause": cause},
    }


def exited(name: str, t: float, steps: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "TaskStateExited",
        "timestamp": at(t),
        "stateExitedEventDetails": {"name": name, "output": json.dumps({"steps": steps})},
    }


def test_a_retried_step_counts_attempts_and_keeps_its_final_output() -> None:
    # Given a step that failed once, then succeeded
    events = [
        entered("call", 0),
        scheduled(0.1),
        failed(0.5, "RetryableStepError", "503"),
        scheduled(2.5),
        exited("call", 3.0, {"call": {"status": "SUCCEEDED", "output": {"ok": True}}}),
    ]

    # When summarised
    [call] = summarize_steps(events)

    # Then: two attempts, succeeded, its output and duration, no lingering error
    assert (call.status, call.attempts, call.output, call.error) == ("SUCCEEDED", 2, {"ok": True}, None)
    assert call.duration_ms == 3000


def test_a_failed_run_leaves_the_failing_step_failed_with_a_readable_cause() -> None:
    # Given a run whose only step failed
    events = [
        entered("boom", 0),
        scheduled(0.1),
        failed(0.2, "FatalStepError", "card declined"),
        {"type": "ExecutionFailed", "timestamp": at(0.3), "executionFailedEventDetails": {}},
    ]

    # When summarised and described
    steps = summarize_steps(events)
    failure = describe_failure("FAILED", "FatalStepError", None, steps, 300)

    # Then the step and the run name the error and its message
    assert steps[0].status == "FAILED" and steps[0].error is not None
    assert steps[0].error.cause == "card declined"
    assert failure is not None and (failure.step_id, failure.cause) == ("boom", "card declined")


def test_a_timed_out_run_names_the_running_step() -> None:
    # Given a run that timed out while a step was running
    events = [entered("slow", 0), scheduled(0.1), {"type": "ExecutionTimedOut", "timestamp": at(2)}]

    # When summarised and described
    steps = summarize_steps(events)
    failure = describe_failure("TIMED_OUT", None, None, steps, 2)

    # Then the step is TIMED_OUT and the failure says which deadline passed
    assert steps[0].status == "TIMED_OUT"
    assert failure is not None and failure.step_id == "slow"
    assert "execution_timeout of 2 s" in (failure.cause or "")


def test_internal_states_are_not_steps() -> None:
    events = [
        {
            "type": "SucceedStateEntered",
            "timestamp": at(0),
            "stateEnteredEventDetails": {"name": "goflow.done"},
        }
    ]
    assert summarize_steps(events) == []


def test_readable_cause_keeps_plain_text_and_unwraps_lambda_errors() -> None:
    assert readable_cause("plain") == "plain"
    assert readable_cause('{"errorMessage": "bad", "errorType": "X"}') == "bad"
    assert readable_cause(None) is None
