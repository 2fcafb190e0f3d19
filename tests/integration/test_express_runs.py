"""Express workflows record their own outcome from inside their state machine.

In AWS, Express executions emit no EventBridge status-change events and support neither
DescribeExecution, GetExecutionHistory nor StopExecution. Each test here therefore uninstalls the
local status-change feed first, so the only thing that can write a run's end is the machine's own
``goflow.succeeded`` / ``goflow.failed`` states invoking the real executor handler.

moto (5.2.5) is more lenient than AWS: it runs EXPRESS machines asynchronously from
``start_execution`` (like STANDARD ones), and describes, lists, stops and keeps a history of them.
The tests only use that to wait for a machine to end, never to record anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from goflow.errors import ExecutionNotCancellableError
from goflow.executions.model import Execution, StepSummary
from goflow.executions.service import ExecutionService
from goflow.local.events import DETAIL_TYPE
from goflow.ports import RunDescription
from tests.integration.platform import Platform, running_platform


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    # Given the platform with no status-change events, as AWS has for express machines
    with running_platform(monkeypatch) as running:
        running.feed.uninstall()
        yield running


def express(name: str, steps: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"name": name, "mode": "express", "steps": steps, **fields}


def step(execution: Execution, step_id: str) -> StepSummary:
    return next(s for s in execution.steps if s.step_id == step_id)


def machine_status(platform: Platform, execution: Execution) -> dict[str, Any]:
    return dict(platform.sfn.describe_execution(executionArn=execution.execution_arn))


class NoExpressReads:
    """Step Functions as AWS serves express executions: no describe, no history, no stop."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def describe(self, execution_arn: str) -> RunDescription:
        self.calls.append("describe")
        raise AssertionError("DescribeExecution is not supported for express executions")

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        self.calls.append("history")
        raise AssertionError("GetExecutionHistory is not supported for express executions")

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        self.calls.append("stop")
        raise AssertionError("StopExecution is not supported for express executions")


def test_an_express_run_that_succeeds_is_recorded_by_its_own_machine(platform: Platform) -> None:
    # Given an express workflow of two steps, the second built from the first's output
    workflow = platform.create(
        express(
            "fast",
            [
                {"id": "greet", "action": "transform", "config": {"value": "Hello"}},
                {"id": "pause", "action": "wait", "config": {"seconds": 0}},
                {"id": "say", "action": "transform", "config": {"value": "{{ steps.greet.output.value }}!"}},
            ],
            execution_timeout=60,
        )
    )
    machine = platform.sfn.describe_state_machine(stateMachineArn=workflow.state_machine_arn)
    assert machine["type"] == "EXPRESS"

    # When it runs with no status-change event to tell anyone it ended
    execution = platform.run(workflow)

    # Then the record is SUCCEEDED with each step's status and output, in workflow order
    assert execution.status == "SUCCEEDED", execution.failure
    assert execution.failure is None and execution.finished_at is not None
    assert [(s.step_id, s.status) for s in execution.steps] == [
        ("greet", "SUCCEEDED"),
        ("pause", "SUCCEEDED"),
        ("say", "SUCCEEDED"),
    ]
    assert step(execution, "say").output == {"value": "Hello!"}
    assert all(s.attempts is None and s.duration_ms is None for s in execution.steps)
    # And the machine itself ended well, after passing through goflow.succeeded
    assert platform.wait_for_machine(execution.execution_arn)["status"] == "SUCCEEDED"
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in platform.history(execution) if "Entered" in e["type"]
    ]
    assert entered == ["greet", "pause", "say", "goflow.succeeded"]


def test_an_express_run_whose_step_fails_is_recorded_failed_naming_the_step(platform: Platform) -> None:
    # Given an express workflow whose first step fails permanently
    workflow = platform.create(
        express(
            "fails",
            [
                {
                    "id": "boom",
                    "action": "mock",
                    "config": {"fail_with": "fatal", "message": "card declined"},
                },
                {"id": "never", "action": "transform", "config": {"value": 1}},
            ],
        )
    )

    # When it runs
    execution = platform.run(workflow)

    # Then the record is FAILED with the step, its error and a readable cause; the next step never ran
    assert execution.status == "FAILED"
    assert execution.failure is not None
    assert (execution.failure.step_id, execution.failure.error) == ("boom", "FatalStepError")
    assert "card declined" in (execution.failure.cause or "")
    assert not (execution.failure.cause or "").startswith("{")  # the message, not the Lambda's JSON
    assert [(s.step_id, s.status) for s in execution.steps] == [("boom", "FAILED")]
    # And the machine failed too, pointing at the record
    described = platform.wait_for_machine(execution.execution_arn)
    assert (described["status"], described.get("error")) == ("FAILED", "GoFlow.StepFailed")


def test_an_express_run_continues_past_steps_marked_on_error_continue(platform: Platform) -> None:
    # Given an express workflow whose first and last steps fail but may continue
    workflow = platform.create(
        express(
            "continue",
            [
                {"id": "lookup", "action": "mock", "config": {"fail_with": "fatal"}, "on_error": "continue"},
                {"id": "after", "action": "transform", "config": {"value": "{{ steps.lookup.Error }}"}},
                {"id": "tail", "action": "mock", "config": {"fail_with": "fatal"}, "on_error": "continue"},
            ],
        )
    )

    # When it runs
    execution = platform.run(workflow)

    # Then it SUCCEEDED, both failing steps are CONTINUED with their error, and the middle step read it
    assert execution.status == "SUCCEEDED", execution.failure
    assert [(s.step_id, s.status) for s in execution.steps] == [
        ("lookup", "CONTINUED"),
        ("after", "SUCCEEDED"),
        ("tail", "CONTINUED"),
    ]
    lookup = step(execution, "lookup")
    assert lookup.error is not None and lookup.error.error == "FatalStepError"
    assert step(execution, "after").output == {"value": "FatalStepError"}


def test_an_express_run_its_machine_timed_out_is_recorded_timed_out_when_read(platform: Platform) -> None:
    # Given an express run whose machine timeout (1 s) fires while it waits, so goflow.* never runs
    workflow = platform.create(
        express(
            "too slow",
            [
                {"id": "pause", "action": "wait", "config": {"seconds": 5}},
                {"id": "later", "action": "transform", "config": {"value": 1}},
            ],
            execution_timeout=1,
        )
    )
    execution = platform.start(workflow)
    assert platform.wait_for_machine(execution.execution_arn)["status"] == "TIMED_OUT"
    engine = NoExpressReads(platform.executions.engine)

    def reader_at(seconds_after_deadline: int) -> ExecutionService:
        now = execution.deadline + timedelta(seconds=seconds_after_deadline)
        return ExecutionService(platform.executions.executions, engine, clock=lambda: now)

    # When it is read within a minute of its deadline, and then after
    early = reader_at(59).get(platform.tenant, execution.id)
    late = reader_at(61).get(platform.tenant, execution.id)

    # Then it stays RUNNING at first (the machine may still be recording), then ends TIMED_OUT
    assert early.status == "RUNNING"
    assert late.status == "TIMED_OUT"
    assert late.failure is not None
    assert (late.failure.error, late.failure.cause) == (
        "States.Timeout",
        "the workflow's execution_timeout of 1 s passed",
    )
    assert late.finished_at == execution.deadline
    # And without asking Step Functions anything AWS would refuse for an express execution
    assert engine.calls == []
    assert platform.executions.get(platform.tenant, execution.id).status == "TIMED_OUT"


def test_cancelling_an_express_run_is_refused(platform: Platform) -> None:
    # Given a running express run (waiting 30 s)
    workflow = platform.create(
        express(
            "long",
            [
                {"id": "pause", "action": "wait", "config": {"seconds": 30}},
                {"id": "later", "action": "transform", "config": {"value": 1}},
            ],
        )
    )
    execution = platform.start(workflow)
    engine = NoExpressReads(platform.executions.engine)
    service = ExecutionService(platform.executions.executions, engine, clock=platform.executions.clock)

    # When it is cancelled
    with pytest.raises(ExecutionNotCancellableError) as raised:
        service.cancel(platform.tenant, execution.id)

    # Then a 409 says why, nothing was asked of Step Functions, and the run goes on
    assert (raised.value.status, raised.value.code) == (409, "execution_not_cancellable")
    assert "express runs cannot be cancelled" in raised.value.message
    assert engine.calls == []
    assert machine_status(platform, execution)["status"] == "RUNNING"
    assert platform.executions.get(platform.tenant, execution.id).status == "RUNNING"


def test_the_outcome_recorder_leaves_express_runs_to_their_machine(platform: Platform) -> None:
    # Given an express run that recorded its own success
    workflow = platform.create(express("ok", [{"id": "a", "action": "transform", "config": {"value": 1}}]))
    execution = platform.run(workflow)
    assert execution.status == "SUCCEEDED"
    run_input = machine_status(platform, execution)["input"]

    # When a status-change event (which AWS never sends for express) contradicts it
    event = {
        "detail-type": DETAIL_TYPE,
        "source": "aws.states",
        "detail": {"name": execution.id, "status": "FAILED", "input": run_input, "stopDate": 0},
    }
    result = platform.dispatcher.invoke("OutcomeFunction", event)

    # Then the recorder declines it and the record is exactly as the machine wrote it
    assert not result.failed, result.payload
    assert result.payload == {"recorded": False}
    record = platform.executions.get(platform.tenant, execution.id)
    assert (record.status, record.finished_at) == ("SUCCEEDED", execution.finished_at)
