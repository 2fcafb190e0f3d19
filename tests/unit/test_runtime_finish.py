"""The end of an express run: the finish event, its per-step summary, and the record it writes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from goflow.connectors.errors import FatalStepError
from goflow.errors import ExecutionNotCancellableError
from goflow.executions.model import Execution, ExecutionFailure, StepSummary
from goflow.executions.service import ExecutionService
from goflow.pagination import Page
from goflow.ports import RunDescription
from goflow.runtime.finish import FinishSpec, finish_run, is_finish_event, summarize_run

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LAMBDA_CAUSE = json.dumps({"errorType": "FatalStepError", "errorMessage": "step 'charge': card declined"})


def succeeded(output: Any) -> dict[str, Any]:
    return {"status": "SUCCEEDED", "output": output}


def caught(error: str, cause: str) -> dict[str, Any]:
    return {"Error": error, "Cause": cause}


def statuses(summaries: list[StepSummary]) -> list[tuple[str, str]]:
    return [(s.step_id, s.status) for s in summaries]


def test_a_succeeded_run_lists_every_step_in_workflow_order_without_attempts_or_timings() -> None:
    # Given the results a succeeded express run holds (a wait step leaves none; one step was skipped)
    finish = FinishSpec(status="SUCCEEDED", steps=["fetch", "pause", "upsell", "lookup", "save"])
    results = {
        "save": succeeded({"saved": True}),
        "lookup": caught("FatalStepError", LAMBDA_CAUSE),
        "upsell": {"status": "SKIPPED", "output": None},
        "fetch": succeeded({"id": 7}),
    }

    # When it is summarised
    outcome = summarize_run(finish, results)

    # Then each step has its status in workflow order, outputs kept, a caught error is CONTINUED
    assert statuses(outcome.steps) == [
        ("fetch", "SUCCEEDED"),
        ("pause", "SUCCEEDED"),
        ("upsell", "SKIPPED"),
        ("lookup", "CONTINUED"),
        ("save", "SUCCEEDED"),
    ]
    assert outcome.steps[0].output == {"id": 7} and outcome.steps[4].output == {"saved": True}
    assert outcome.steps[3].error is not None
    assert (outcome.steps[3].error.error, outcome.steps[3].error.cause) == (
        "FatalStepError",
        "step 'charge': card declined",
    )
    assert outcome.failure is None
    # And nothing is invented: express runs have no history to count attempts or time steps from
    assert all(s.attempts is None and s.started_at is None and s.duration_ms is None for s in outcome.steps)


def test_a_failed_run_names_the_step_that_failed_it_and_leaves_out_the_steps_that_never_ran() -> None:
    # Given a failed run: "lookup" failed but continued, "charge" failed the run, "notify" never ran
    finish = FinishSpec(
        status="FAILED", steps=["lookup", "pause", "charge", "notify"], continue_steps=["lookup"]
    )
    results = {
        "lookup": caught("FatalStepError", "not found"),
        "charge": caught("FatalStepError", LAMBDA_CAUSE),
    }

    # When it is summarised
    outcome = summarize_run(finish, results)

    # Then the continuing step is CONTINUED, the failing one FAILED, and the failure names it readably
    assert statuses(outcome.steps) == [("lookup", "CONTINUED"), ("pause", "SUCCEEDED"), ("charge", "FAILED")]
    assert outcome.failure == ExecutionFailure(
        error="FatalStepError", cause="step 'charge': card declined", step_id="charge"
    )


def test_a_step_timeout_caught_by_the_machine_fails_the_run_with_states_timeout() -> None:
    # Given a step the Task's own TimeoutSeconds cut (no cause)
    finish = FinishSpec(status="FAILED", steps=["slow"])

    # When it is summarised
    outcome = summarize_run(finish, {"slow": {"Error": "States.Timeout"}})

    # Then that step failed the run with States.Timeout
    assert statuses(outcome.steps) == [("slow", "FAILED")]
    assert outcome.failure == ExecutionFailure(error="States.Timeout", cause=None, step_id="slow")


def test_a_failed_run_without_any_step_error_still_records_a_failure() -> None:
    # When a FAILED finish arrives with no step error in the state
    outcome = summarize_run(FinishSpec(status="FAILED", steps=["a", "b"]), {"a": succeeded({})})

    # Then the run still gets a failure, and only the steps that reported are listed
    assert statuses(outcome.steps) == [("a", "SUCCEEDED")]
    assert outcome.failure is not None and outcome.failure.error == "GoFlow.StepFailed"


def test_only_events_with_a_finish_key_are_finish_events() -> None:
    assert is_finish_event({"finish": {"status": "SUCCEEDED"}, "state": {}})
    assert not is_finish_event({"step": {"id": "a"}, "state": {}})
    assert not is_finish_event(["finish"])


# ----------------------------------------------------------------- recording it


@dataclass
class MemoryExecutions:
    """An in-memory ExecutionRepository with the same never-backwards rule as DynamoDB's."""

    items: dict[tuple[str, str], Execution] = field(default_factory=dict)
    writes: int = 0

    def create(self, execution: Execution) -> None:
        self.items[(execution.tenant_id, execution.id)] = execution.model_copy(deep=True)

    def get(self, tenant_id: str, execution_id: str) -> Execution:
        return self.items[(tenant_id, execution_id)].model_copy(deep=True)

    def finish(self, execution: Execution) -> bool:
        if self.items[(execution.tenant_id, execution.id)].is_terminal:
            return False
        self.writes += 1
        self.items[(execution.tenant_id, execution.id)] = execution.model_copy(deep=True)
        return True

    def list_for_workflow(
        self, tenant_id: str, workflow_id: str, limit: int, next_token: str | None
    ) -> Page[Execution]:
        return Page([e for e in self.items.values() if e.workflow_id == workflow_id])


class ExpressEngine:
    """AWS's Step Functions as an express run sees it: nothing can be described, read or stopped."""

    def deploy(self, workflow: Any, definition: str) -> str:
        raise NotImplementedError

    def remove(self, state_machine_arn: str) -> None:
        raise NotImplementedError

    def start(self, state_machine_arn: str, name: str, run_input: dict[str, Any], trace_id: str) -> str:
        raise NotImplementedError

    def describe(self, execution_arn: str) -> RunDescription:
        raise AssertionError("express executions cannot be described")

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        raise AssertionError("express executions have no history")

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        raise AssertionError("express executions cannot be stopped")


class QuietLogger:
    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def append_keys(self, **keys: Any) -> None:
        self.keys.update(keys)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None: ...

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.lines.append((str(msg), kwargs))

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None: ...

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None: ...


def express_record(timeout_s: int = 30) -> Execution:
    return Execution(
        id="ex_1",
        tenant_id="acme",
        workflow_id="wf_1",
        workflow_version=1,
        mode="express",
        trace_id="1-abc",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:m",
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:m:ex_1",
        started_at=T0,
        deadline=T0 + timedelta(seconds=timeout_s),
    )


def service_at(now: datetime, repository: MemoryExecutions) -> ExecutionService:
    return ExecutionService(executions=repository, engine=ExpressEngine(), clock=lambda: now)


def finish_event(status: str, steps: dict[str, Any], **finish: Any) -> dict[str, Any]:
    return {
        "finish": {"status": status, "steps": list(steps), **finish},
        "state": {"params": {}, "steps": steps, "execution": {"id": "ex_1", "tenant_id": "acme"}},
    }


def test_a_finish_event_writes_the_terminal_record_once_and_never_moves_it_backwards() -> None:
    # Given a RUNNING express record
    repository = MemoryExecutions()
    repository.create(express_record())
    service = service_at(T0, repository)
    logger = QuietLogger()

    # When its machine reports SUCCEEDED, and then (a stray repeat) FAILED
    done = finish_run(
        finish_event("SUCCEEDED", {"a": succeeded({"v": 1})}),
        recorder=service,
        now=T0 + timedelta(seconds=2),
        logger=logger,
    )
    again = finish_run(
        finish_event("FAILED", {"a": caught("FatalStepError", "x")}),
        recorder=service,
        now=T0 + timedelta(seconds=3),
        logger=logger,
    )

    # Then the first end is recorded with its steps and time, and the second changes nothing
    assert (done.status, done.finished_at, done.duration_ms) == ("SUCCEEDED", T0 + timedelta(seconds=2), 2000)
    assert done.steps[0].output == {"v": 1}
    assert again == done and repository.writes == 1
    assert logger.keys["execution_id"] == "ex_1" and logger.keys["tenant_id"] == "acme"


def test_a_finish_event_that_names_no_run_is_a_fatal_error() -> None:
    # Given a finish event whose state lost its execution
    event = {"finish": {"status": "SUCCEEDED"}, "state": {"steps": {}}}

    # When it is handled
    with pytest.raises(FatalStepError) as raised:
        finish_run(event, recorder=service_at(T0, MemoryExecutions()), now=T0, logger=QuietLogger())

    # Then the error says what is missing
    assert "state.execution" in raised.value.message


@pytest.mark.parametrize(("after_deadline", "status"), [(59, "RUNNING"), (61, "TIMED_OUT")])
def test_a_running_express_record_is_timed_out_only_after_deadline_plus_a_minute(
    after_deadline: int, status: str
) -> None:
    # Given a RUNNING express record of a 30 s workflow, read some seconds after its deadline
    repository = MemoryExecutions()
    repository.create(express_record(timeout_s=30))
    now = T0 + timedelta(seconds=30 + after_deadline)

    # When it is read (the engine refuses describe/history, as AWS does for express runs)
    record = service_at(now, repository).get("acme", "ex_1")

    # Then it stays RUNNING within the grace minute, and past it ends TIMED_OUT at its deadline
    assert record.status == status
    if status == "TIMED_OUT":
        assert record.finished_at == T0 + timedelta(seconds=30)
        assert record.failure == ExecutionFailure(
            error="States.Timeout", cause="the workflow's execution_timeout of 30 s passed"
        )


def test_an_express_run_cannot_be_cancelled() -> None:
    # Given a RUNNING express record
    repository = MemoryExecutions()
    repository.create(express_record())

    # When it is cancelled
    with pytest.raises(ExecutionNotCancellableError) as raised:
        service_at(T0, repository).cancel("acme", "ex_1")

    # Then a 409 explains why, and the record is untouched
    assert (raised.value.status, raised.value.code) == (409, "execution_not_cancellable")
    assert raised.value.message == (
        "express runs cannot be cancelled; they end within their execution_timeout (≤ 300 s)"
    )
    assert repository.get("acme", "ex_1").status == "RUNNING"


def test_the_status_change_recorder_ignores_express_runs() -> None:
    # Given a RUNNING express record
    repository = MemoryExecutions()
    repository.create(express_record())
    run_input = json.dumps({"execution": {"id": "ex_1", "tenant_id": "acme"}})

    # When a status-change event arrives for it (AWS sends none; an emulator might)
    result = service_at(T0, repository).record_outcome(
        {"status": "SUCCEEDED", "name": "ex_1", "input": run_input, "stopDate": 0}
    )

    # Then it is not recorded: the machine records its own end
    assert result is None
    assert repository.get("acme", "ex_1").status == "RUNNING" and repository.writes == 0
