"""Idempotent triggering with fakes: every interleaving of two requests with one key starts one run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from goflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    IdempotencyConflictError,
    ParameterValidationError,
    PayloadTooLargeError,
)
from goflow.executions.model import Execution
from goflow.http.triggering import Trigger, fingerprint
from goflow.store.idempotency import IdempotencyRecord
from goflow.workflows.model import Workflow

NOW = datetime(2025, 1, 31, 9, 30, tzinfo=UTC)
WORKFLOW = Workflow(
    id="wf_01j9zq6n3d8x4m2k7p5r9t1v0w",
    tenant_id="acme",
    name="w",
    steps=[{"id": "s", "action": "log", "config": {"message": "m"}}],  # type: ignore[list-item]
    created_at=NOW,
    updated_at=NOW,
    state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:w",
)


@dataclass
class FakeStore:
    records: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)

    def claim(
        self,
        tenant_id: str,
        key: str,
        *,
        fingerprint: str,
        workflow_id: str,
        execution_id: str,
        trace_id: str,
    ) -> tuple[IdempotencyRecord, bool]:
        existing = self.records.get((tenant_id, key))
        if existing is not None:
            return existing, False
        record = IdempotencyRecord(tenant_id, fingerprint, workflow_id, execution_id, trace_id, "now", 0)
        self.records[(tenant_id, key)] = record
        return record, True

    def release(self, tenant_id: str, key: str, execution_id: str) -> None:
        if (record := self.records.get((tenant_id, key))) and record.execution_id == execution_id:
            del self.records[(tenant_id, key)]
            self.released.append(key)


@dataclass
class FakeExecutions:
    """Create-once by id, like the real repository and Step Functions."""

    runs: dict[str, Execution] = field(default_factory=dict)
    starts: int = 0
    refuse: Exception | None = None

    def start(self, workflow: Workflow, parameters: Any, trigger: Any, **kwargs: Any) -> Execution:
        if self.refuse is not None:
            raise self.refuse
        execution_id = kwargs.get("execution_id") or f"ex_{len(self.runs):026d}"
        if execution_id in self.runs:
            raise ExecutionAlreadyExistsError(f"Execution {execution_id} already exists")
        self.starts += 1
        self.runs[execution_id] = Execution(
            id=execution_id,
            tenant_id=workflow.tenant_id,
            workflow_id=workflow.id,
            workflow_version=1,
            parameters=parameters,
            trace_id=kwargs.get("trace_id") or "1-00000000-000000000000000000000000",
            started_at=NOW,
            deadline=NOW + timedelta(minutes=5),
        )
        return self.runs[execution_id]

    def get(self, tenant_id: str, execution_id: str) -> Execution:
        if execution_id not in self.runs:
            raise ExecutionNotFoundError(f"Execution {execution_id} not found")
        return self.runs[execution_id]


@pytest.fixture
def executions() -> FakeExecutions:
    return FakeExecutions()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def trigger(executions: FakeExecutions, store: FakeStore) -> Trigger:
    return Trigger(load_workflow=lambda _t, _w: WORKFLOW, executions=executions, store=store)  # type: ignore[arg-type]


def test_a_retry_returns_the_first_run(trigger: Trigger, executions: FakeExecutions) -> None:
    # Given a run started with a key
    first = trigger.trigger("acme", WORKFLOW.id, {"a": 1}, {}, idempotency_key="k")

    # When the request is repeated
    second = trigger.trigger("acme", WORKFLOW.id, {"a": 1}, {}, idempotency_key="k")

    # Then the same run comes back, marked replayed, and only one started
    assert (second.execution_id, second.trace_id) == (first.execution_id, first.trace_id)
    assert not first.replayed and second.replayed
    assert executions.starts == 1


def test_a_retry_after_the_run_ended_reports_its_current_status(
    trigger: Trigger, executions: FakeExecutions
) -> None:
    # Given a keyed run that has since succeeded
    first = trigger.trigger("acme", WORKFLOW.id, {"a": 1}, {}, idempotency_key="k")
    executions.runs[first.execution_id].status = "SUCCEEDED"

    # When the request is repeated
    second = trigger.trigger("acme", WORKFLOW.id, {"a": 1}, {}, idempotency_key="k")

    # Then the replay says how that run stands now
    assert (second.execution_id, second.status, second.replayed) == (first.execution_id, "SUCCEEDED", True)


def test_a_request_whose_first_attempt_died_after_claiming_starts_the_claimed_run(
    trigger: Trigger, executions: FakeExecutions, store: FakeStore
) -> None:
    # Given a key claimed by a request that died before starting anything
    store.claim(
        "acme",
        "k",
        fingerprint=fingerprint(WORKFLOW.id, {"a": 1}),
        workflow_id=WORKFLOW.id,
        execution_id="ex_claimed",
        trace_id="1-claimed",
    )

    # When the client retries
    started = trigger.trigger("acme", WORKFLOW.id, {"a": 1}, {}, idempotency_key="k")

    # Then the claimed run is started, under the claimed ids
    assert (started.execution_id, started.trace_id) == ("ex_claimed", "1-claimed")
    assert executions.starts == 1


def test_a_request_racing_the_first_one_gets_its_run(
    trigger: Trigger, executions: FakeExecutions, store: FakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first request that claimed the key, and will create the run between the second
    # request's check and its start
    store.claim(
        "acme",
        "k",
        fingerprint=fingerprint(WORKFLOW.id, {}),
        workflow_id=WORKFLOW.id,
        execution_id="ex_raced",
        trace_id="1-raced",
    )
    real_get = executions.get

    def get_then_lose_the_race(tenant_id: str, execution_id: str) -> Execution:
        try:
            return real_get(tenant_id, execution_id)
        finally:
            executions.start(WORKFLOW, {}, {}, execution_id="ex_raced", trace_id="1-raced")

    monkeypatch.setattr(executions, "get", get_then_lose_the_race)

    # When the second request runs
    started = trigger.trigger("acme", WORKFLOW.id, {}, {}, idempotency_key="k")

    # Then it answers the first request's run, and one run exists
    assert started.execution_id == "ex_raced" and started.replayed
    assert executions.starts == 1


def test_another_body_with_the_same_key_is_refused(trigger: Trigger, executions: FakeExecutions) -> None:
    # Given a run started with a key
    trigger.trigger("acme", WORKFLOW.id, {"a": 1}, {}, idempotency_key="k")

    # When the key comes with other parameters
    # Then it is refused and nothing else starts
    with pytest.raises(IdempotencyConflictError):
        trigger.trigger("acme", WORKFLOW.id, {"a": 2}, {}, idempotency_key="k")
    assert executions.starts == 1


def test_a_refused_request_releases_its_key(
    trigger: Trigger, executions: FakeExecutions, store: FakeStore
) -> None:
    # Given a request the engine refuses for its parameters
    executions.refuse = ParameterValidationError("bad")
    with pytest.raises(ParameterValidationError):
        trigger.trigger("acme", WORKFLOW.id, {"a": "bad"}, {}, idempotency_key="k")

    # When the corrected request comes with the same key
    executions.refuse = None
    started = trigger.trigger("acme", WORKFLOW.id, {"a": 1}, {}, idempotency_key="k")

    # Then it starts, as a first request
    assert store.released == ["k"]
    assert not started.replayed and executions.starts == 1


def test_the_fingerprint_ignores_key_order_but_not_values() -> None:
    # Given the same parameters in another order, and different ones
    # When they are fingerprinted
    # Then order does not matter, values and workflow do
    assert fingerprint("wf", {"a": 1, "b": [1, 2]}) == fingerprint("wf", {"b": [1, 2], "a": 1})
    assert fingerprint("wf", {"a": 1}) != fingerprint("wf", {"a": 2})
    assert fingerprint("wf", {"a": 1}) != fingerprint("wf2", {"a": 1})


def test_oversized_parameters_are_refused_before_anything(trigger: Trigger, store: FakeStore) -> None:
    # Given parameters larger than a run's state can carry
    # When they are triggered
    # Then 413, and the key was not even claimed
    with pytest.raises(PayloadTooLargeError):
        trigger.trigger("acme", WORKFLOW.id, {"a": "x" * 200_000}, {}, idempotency_key="k")
    assert store.records == {}
