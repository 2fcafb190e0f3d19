"""The step runtime: deadlines, conditions, secrets, output guards and error classification."""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from goflow.connectors.base import Connector, ConnectorConfig, ConnectorMetadata, StepContext
from goflow.connectors.builtin import builtin_connectors
from goflow.connectors.errors import (
    FatalStepError,
    RetryableStepError,
    StepConfigInvalid,
    StepDeadlineExceeded,
    StepError,
    StepOutputTooLarge,
)
from goflow.connectors.registry import ConnectorRegistry
from goflow.runtime import Clocks, DeadlineBound, classify, compute_deadline, run_step
from goflow.runtime.clients import make_client_factory, timeout_for
from goflow.runtime.secrets import SecretsManagerReader

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


# --- fakes ---------------------------------------------------------------------------------------


@dataclass
class FakeTime:
    """A monotonic and a UTC clock that move together; ``sleep`` advances both."""

    monotonic_now: float = 1000.0
    utc: datetime = NOW

    def monotonic(self) -> float:
        return self.monotonic_now

    def utc_now(self) -> datetime:
        return self.utc

    def sleep(self, seconds: float) -> None:
        self.monotonic_now += seconds
        self.utc += timedelta(seconds=seconds)

    def clocks(self) -> Clocks:
        return Clocks(monotonic=self.monotonic, utc_now=self.utc_now, sleep=self.sleep)


@dataclass
class RecordingLogger:
    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)

    def append_keys(self, **keys: Any) -> None:
        self.keys.update(keys)

    def _record(self, level: str, msg: object, kwargs: dict[str, Any]) -> None:
        self.records.append((level, str(msg), kwargs))

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self._record("debug", msg, kwargs)

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self._record("info", msg, kwargs)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self._record("warning", msg, kwargs)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self._record("error", msg, kwargs)

    def messages(self) -> list[str]:
        return [msg for _, msg, _ in self.records]

    def find(self, msg: str) -> dict[str, Any]:
        return next(kwargs for _, m, kwargs in self.records if m == msg)


class RaiseConfig(ConnectorConfig):
    pass


class RaisingConnector(Connector):
    """Raises whatever exception the test hands it."""

    name = "raises"
    metadata = ConnectorMetadata(description="raises for tests")
    config_model = RaiseConfig

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.advance: float = 0.0
        self.calls = 0

    def execute(self, ctx: StepContext, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        self.calls += 1
        ctx.sleeper(self.advance)
        assert self.error is not None
        raise self.error


class ReturnsConfig(ConnectorConfig):
    pass


class ReturnsConnector(Connector):
    """Returns whatever object the test hands it (even things that are not JSON)."""

    name = "returns"
    metadata = ConnectorMetadata(description="returns for tests")
    config_model = ReturnsConfig

    def __init__(self) -> None:
        self.output: Any = {}

    def execute(self, ctx: StepContext, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        return self.output


class QuotaHit(RetryableStepError):
    """A plugin's own retryable error class."""


@dataclass
class Harness:
    """Runs step events against the built-ins plus the fakes above, on a fake clock."""

    time: FakeTime = field(default_factory=FakeTime)
    logger: RecordingLogger = field(default_factory=RecordingLogger)
    secrets: dict[str, str] = field(default_factory=dict)
    secrets_read: list[str] = field(default_factory=list)
    raising: RaisingConnector = field(default_factory=RaisingConnector)
    returning: ReturnsConnector = field(default_factory=ReturnsConnector)

    def read_secret(self, name: str, remaining_seconds: float) -> str:
        self.secrets_read.append(name)
        return self.secrets[name]

    def run(self, event: Any, remaining_ms: int = 60_000, margin_ms: int = 1500) -> dict[str, Any]:
        registry = ConnectorRegistry.of([*builtin_connectors(), self.raising, self.returning])
        return run_step(
            event,
            remaining_ms=remaining_ms,
            registry=registry,
            logger=self.logger,
            secret_reader=self.read_secret,
            margin_ms=margin_ms,
            clocks=self.time.clocks(),
        )


def make_event(
    action: str = "transform",
    config: Any = None,
    *,
    step_id: str = "shape",
    when: str | None = None,
    timeout_seconds: int | None = 60,
    params: dict[str, Any] | None = None,
    steps: dict[str, Any] | None = None,
    deadline: datetime | None = NOW + timedelta(minutes=5),
) -> dict[str, Any]:
    return {
        "step": {
            "id": step_id,
            "action": action,
            "config": json.dumps(config if config is not None else {}),
            "timeout_seconds": timeout_seconds,
            "when": when,
            "on_error": "fail",
        },
        "state": {
            "params": params or {},
            "trigger": {"type": "manual"},
            "steps": steps or {},
            "execution": {
                "id": "ex_1",
                "workflow_id": "wf_1",
                "workflow_name": "Welcome",
                "tenant_id": "acme",
                "started_at": NOW.isoformat(),
                "deadline": deadline.isoformat() if deadline else None,
                "trace_id": "1-abc-def",
            },
        },
    }


@pytest.fixture
def harness() -> Harness:
    return Harness()


# --- deadline ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remaining_ms", "step_timeout", "workflow_left", "bound", "seconds"),
    [
        (900_000, 60, 300, DeadlineBound.STEP, 60.0),
        (900_000, 600, 30, DeadlineBound.WORKFLOW, 30.0),
        (10_000, 60, 300, DeadlineBound.LAMBDA, 8.5),
        (900_000, None, None, DeadlineBound.LAMBDA, 898.5),
    ],
)
def test_deadline_is_the_earliest_bound_and_says_which(
    remaining_ms: int,
    step_timeout: int | None,
    workflow_left: int | None,
    bound: DeadlineBound,
    seconds: float,
) -> None:
    # Given a Lambda with remaining_ms left (1.5 s margin), a step timeout and a workflow deadline
    workflow_deadline = NOW + timedelta(seconds=workflow_left) if workflow_left is not None else None

    # When the deadline is computed at monotonic 100
    deadline = compute_deadline(100.0, remaining_ms, 1500, step_timeout, workflow_deadline, NOW)

    # Then the earliest wins and is named
    assert deadline.bound is bound
    assert deadline.at == pytest.approx(100.0 + seconds)


def test_deadline_reads_a_naive_workflow_deadline_as_utc() -> None:
    # Given a workflow deadline without a zone, 20 s from now in UTC
    naive = (NOW + timedelta(seconds=20)).replace(tzinfo=None)

    # When the deadline is computed
    deadline = compute_deadline(0.0, 900_000, 1500, 60, naive, NOW)

    # Then it is 20 s away, set by the workflow
    assert (deadline.at, deadline.bound) == (pytest.approx(20.0), DeadlineBound.WORKFLOW)


def test_deadline_description_names_the_step_timeout() -> None:
    # Given a step timeout that is the tightest bound
    deadline = compute_deadline(0.0, 900_000, 1500, 45, None, NOW)

    # When it is described / Then the number of seconds is part of it
    assert deadline.describe() == "the step's timeout_seconds (45 s)"


@pytest.mark.parametrize(
    ("event_kwargs", "remaining_ms", "named"),
    [
        ({"deadline": NOW - timedelta(seconds=1)}, 60_000, "the workflow's execution_timeout"),
        ({}, 1_000, "the Lambda's remaining time"),
    ],
)
def test_a_step_with_no_time_left_is_not_started(
    harness: Harness, event_kwargs: dict[str, Any], remaining_ms: int, named: str
) -> None:
    # Given an event whose deadline has already passed
    event = make_event("mock", {}, step_id="fetch", **event_kwargs)

    # When it runs
    with pytest.raises(StepDeadlineExceeded) as raised:
        harness.run(event, remaining_ms=remaining_ms)

    # Then the error names the step and the bound that left no time
    assert "step 'fetch' (mock)" in raised.value.message
    assert named in raised.value.message


def test_a_connector_cut_by_the_step_timeout_names_it(harness: Harness) -> None:
    # Given a mock step that would sleep 5 s under a 2 s step timeout
    event = make_event("mock", {"delay_seconds": 5}, step_id="slow", timeout_seconds=2)

    # When it runs
    with pytest.raises(StepDeadlineExceeded) as raised:
        harness.run(event)

    # Then the sleep stopped at the deadline and the error names the step and its timeout
    assert harness.time.monotonic_now == pytest.approx(1002.0)
    assert "step 'slow' (mock)" in raised.value.message
    assert "the step's timeout_seconds (2 s)" in raised.value.message


# --- the happy path, logs and `when` -------------------------------------------------------------


def test_a_step_renders_its_config_from_earlier_steps_and_keeps_types(harness: Harness) -> None:
    # Given a transform reading an earlier step's output and a parameter
    event = make_event(
        config={"value": {"id": "{{ steps.fetch.output.json.id }}", "text": "Hi {{ params.name }}"}},
        params={"name": "Alex"},
        steps={"fetch": {"status": "SUCCEEDED", "output": {"json": {"id": 7}}}},
    )

    # When it runs
    result = harness.run(event)

    # Then the single placeholder kept its number type, the text was interpolated
    assert result == {"status": "SUCCEEDED", "output": {"value": {"id": 7, "text": "Hi Alex"}}}


def test_a_step_logs_structured_keys_start_and_finish(harness: Harness) -> None:
    # Given any step
    event = make_event(config={"value": 1})

    # When it runs
    harness.run(event)

    # Then the correlation keys come from the event, and start/finish are logged with a duration
    assert harness.logger.keys == {
        "step_id": "shape",
        "action": "transform",
        "trace_id": "1-abc-def",
        "tenant_id": "acme",
        "workflow_id": "wf_1",
        "execution_id": "ex_1",
    }
    assert harness.logger.messages() == ["step started", "step finished"]
    assert isinstance(harness.logger.find("step finished")["duration_ms"], int)


@pytest.mark.parametrize(
    ("when", "params", "runs"),
    [
        ("{{ params.plan == 'pro' }}", {"plan": "pro"}, True),
        ("{{ params.plan == 'pro' }}", {"plan": "free"}, False),
        ("{{ params.missing }}", {}, False),
        ("{{ params.count }}", {"count": 0}, False),
        ("{{ params.items }}", {"items": []}, False),
        ("plan is {{ params.plan }}", {"plan": "x"}, True),
        ("{{ params.flag }}", {"flag": "false"}, False),
    ],
)
def test_when_decides_whether_the_step_runs(
    harness: Harness, when: str, params: dict[str, Any], runs: bool
) -> None:
    # Given a step with a condition
    event = make_event("raises", {}, when=when, params=params)
    harness.raising.error = FatalStepError("ran")

    # When it runs
    if runs:
        with pytest.raises(FatalStepError):
            harness.run(event)
        # Then the connector was called
        assert harness.raising.calls == 1
    else:
        result = harness.run(event)
        # Then it was skipped without calling the connector
        assert result == {"status": "SKIPPED", "output": None}
        assert harness.raising.calls == 0


# --- secrets -------------------------------------------------------------------------------------


def test_only_referenced_secrets_are_read_and_their_values_are_redacted(harness: Harness) -> None:
    # Given two secrets in the store, one referenced by the config, and an output echoing it
    harness.secrets.update({"api_token": "tok-123456", "unused": "never-read"})
    event = make_event(
        config={"value": {"auth": "Bearer {{ secrets.api_token }}", "raw": "{{ secrets.api_token }}"}}
    )

    # When it runs
    result = harness.run(event)

    # Then only the referenced secret was read and its value never reaches the output
    assert harness.secrets_read == ["api_token"]
    assert result["output"] == {"value": {"auth": "Bearer ***", "raw": "***"}}
    assert "tok-123456" not in json.dumps(result)


def test_a_secret_never_reaches_the_logs_or_an_error_message(harness: Harness) -> None:
    # Given a log step and a failing step, both handed a secret
    harness.secrets["pw"] = "hunter2hunter2"
    log_event = make_event("log", {"message": "password is {{ secrets.pw }}"})
    fail_event = make_event("mock", {"fail_with": "fatal", "message": "rejected {{ secrets.pw }}"})

    # When both run
    harness.run(log_event)
    with pytest.raises(FatalStepError) as raised:
        harness.run(fail_event)

    # Then neither the logs nor the error carry the value
    assert "hunter2hunter2" not in repr(harness.logger.records)
    assert harness.logger.find("workflow log")["step_message"] == "password is ***"
    assert "hunter2hunter2" not in raised.value.message and "rejected ***" in raised.value.message


def test_a_secret_without_a_secret_store_is_a_config_error() -> None:
    # Given a step reading a secret, and no secret store
    event = make_event(config={"value": "{{ secrets.key }}"})
    registry = ConnectorRegistry.of(builtin_connectors())

    # When it runs
    with pytest.raises(StepConfigInvalid) as raised:
        run_step(event, remaining_ms=60_000, registry=registry, logger=RecordingLogger())

    # Then the error names the secret
    assert "secret 'key'" in raised.value.message


# --- output guards -------------------------------------------------------------------------------


def test_an_output_over_200_kb_is_refused_with_its_size(harness: Harness) -> None:
    # Given a step whose output would be about 210 KB
    event = make_event(config={"value": "x" * 210_000}, step_id="big")

    # When it runs
    with pytest.raises(StepOutputTooLarge) as raised:
        harness.run(event)

    # Then the message names the step, the size and the limit
    message = raised.value.message
    assert "step 'big' (transform)" in message and "205.1 KB" in message and "200.0 KB" in message


def test_an_output_that_would_overflow_the_run_state_is_refused(harness: Harness) -> None:
    # Given 150 KB of earlier outputs in the state and a 120 KB output
    earlier = {"first": {"status": "SUCCEEDED", "output": {"value": "y" * 150_000}}}
    event = make_event(config={"value": "x" * 120_000}, steps=earlier)

    # When it runs
    with pytest.raises(StepOutputTooLarge) as raised:
        harness.run(event)

    # Then it says the run's state would exceed Step Functions' limit
    assert "the run's state would exceed Step Functions' 256 KiB limit" in raised.value.message


@pytest.mark.parametrize("output", [{"at": datetime(2026, 1, 1)}, {"x": math.nan}, ["not", "an", "object"]])
def test_an_output_that_is_not_a_json_object_is_fatal(harness: Harness, output: Any) -> None:
    # Given a connector returning something Step Functions cannot carry
    harness.returning.output = output

    # When it runs / Then the step fails permanently, naming it
    with pytest.raises(FatalStepError) as raised:
        harness.run(make_event("returns", {}, step_id="odd"))
    assert "step 'odd' (returns)" in raised.value.message


# --- malformed events and configs ----------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        "not an object",
        {},
        {"step": {"id": "a"}, "state": {}},
        {"step": {"id": "a", "action": "transform", "config": "{not json"}, "state": {}},
        {"step": {"id": "a", "action": "transform", "config": "[1, 2]"}, "state": {}},
        {"step": {"id": "a", "action": "transform", "config": "{}"}, "state": {"params": "x"}},
    ],
)
def test_a_malformed_event_is_fatal(harness: Harness, event: Any) -> None:
    # Given a malformed event / When it runs / Then it fails permanently saying so
    with pytest.raises(FatalStepError) as raised:
        harness.run(event)
    assert raised.value.message.startswith("malformed step event")
    assert harness.logger.find("step failed")["error_type"] == "FatalStepError"


def test_an_unknown_action_is_fatal(harness: Harness) -> None:
    # Given a step whose connector is not installed / When it runs / Then it fails permanently, naming it
    with pytest.raises(FatalStepError) as raised:
        harness.run(make_event("teleport", {}))
    assert "no connector named 'teleport'" in raised.value.message


def test_an_invalid_rendered_config_names_the_step_and_field(harness: Harness) -> None:
    # Given a log step whose level renders to something the connector refuses
    event = make_event("log", {"message": "hi", "level": "{{ params.level }}"}, params={"level": "loud"})

    # When it runs
    with pytest.raises(StepConfigInvalid) as raised:
        harness.run(event)

    # Then the message names the step and the field
    assert "step 'shape' (log)" in raised.value.message and "config.level" in raised.value.message


def test_a_broken_template_is_a_config_error(harness: Harness) -> None:
    # Given a config with an unparsable expression / When it runs / Then it is a config error
    with pytest.raises(StepConfigInvalid) as raised:
        harness.run(make_event(config={"value": "{{ params.[ }}"}))
    assert "config" in raised.value.message


# --- classification ------------------------------------------------------------------------------


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail"
    )


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), RetryableStepError),
        (httpx.ReadTimeout("slow"), RetryableStepError),
        (httpx.UnsupportedProtocol("ftp"), FatalStepError),
        (ConnectionResetError("reset"), RetryableStepError),
        (TimeoutError("timed out"), RetryableStepError),
        (socket.gaierror("no such host"), RetryableStepError),
        (client_error("Throttling", 400), RetryableStepError),
        (client_error("TooManyRequestsException", 429), RetryableStepError),
        (client_error("InternalError", 500), RetryableStepError),
        (client_error("Whatever", 503), RetryableStepError),
        (client_error("AccessDeniedException", 403), FatalStepError),
        (client_error("MessageRejected", 400), FatalStepError),
        (EndpointConnectionError(endpoint_url="https://ses"), RetryableStepError),
        (ReadTimeoutError(endpoint_url="https://ses"), RetryableStepError),
        (ConnectTimeoutError(endpoint_url="https://ses"), RetryableStepError),
        (ValueError("bad value"), FatalStepError),
        (KeyError("missing"), FatalStepError),
    ],
)
def test_classification_table(exc: BaseException, expected: type[StepError]) -> None:
    # Given an exception / When it is classified
    error = classify(exc)

    # Then it is exactly the expected ASL error, described without a stack trace
    assert type(error) is expected
    assert "Traceback" not in error.message and error.message


def test_a_step_error_passes_through_classification_unchanged() -> None:
    # Given a StepError / When it is classified / Then it is the same object
    error = StepConfigInvalid("bad")
    assert classify(error) is error


def test_an_unexpected_exception_is_fatal_with_its_type_and_message() -> None:
    # Given an arbitrary bug / When it is classified / Then its type and message are kept
    assert classify(ZeroDivisionError("division by zero")).message == "ZeroDivisionError: division by zero"


@pytest.mark.parametrize(
    ("exc", "advance", "expected"),
    [
        (ValueError("boom"), 0.0, FatalStepError),
        (ConnectionResetError("reset"), 0.0, RetryableStepError),
        (TimeoutError("read timed out"), 120.0, StepDeadlineExceeded),
        (QuotaHit("slow down"), 0.0, RetryableStepError),
    ],
)
def test_run_step_reports_each_failure_as_an_asl_error_and_logs_it(
    harness: Harness, exc: BaseException, advance: float, expected: type[StepError]
) -> None:
    # Given a connector raising exc after `advance` seconds (60 s step timeout)
    harness.raising.error = exc
    harness.raising.advance = advance

    # When it runs
    with pytest.raises(StepError) as raised:
        harness.run(make_event("raises", {}, step_id="call"))

    # Then Step Functions sees the canonical class (a timeout past the deadline is the deadline's)
    assert type(raised.value) is expected
    assert raised.value.message.startswith("step 'call' (raises)")
    assert harness.logger.find("step failed")["error_type"] == expected.__name__


# --- AWS adapters --------------------------------------------------------------------------------


def test_client_timeouts_fit_two_attempts_in_the_remaining_time() -> None:
    # Given various remaining times / When the per-attempt timeout is chosen / Then two attempts fit
    assert timeout_for(895.0) == 300.0
    assert timeout_for(25.0) == 10.0
    assert timeout_for(3.0) == 1.0
    assert timeout_for(0.2) == 0.5


def test_client_factory_reuses_a_client_per_service_and_timeout() -> None:
    # Given a factory over a session with explicit region and credentials (no network needed)
    session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    factory = make_client_factory(session)

    # When clients are asked for with similar and different remaining times
    first, same, shorter = factory("ses", 25.0), factory("ses", 29.0), factory("ses", 5.0)

    # Then similar budgets share a client and its timeouts fit the budget; standard retries, 2 attempts
    assert first is same and shorter is not first
    assert first.meta.config.read_timeout == 10.0
    assert shorter.meta.config.read_timeout == 2.0
    assert first.meta.config.retries == {"total_max_attempts": 2, "mode": "standard"}


def test_secrets_are_read_with_the_prefix_once_per_reader(aws: None) -> None:
    # Given a secret stored under the prefix in (moto) Secrets Manager
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    sm.create_secret(Name="goflow/api_key", SecretString="s3cr3t")
    calls: list[str] = []
    factory = make_client_factory()

    def counting_factory(service: str, remaining: float) -> Any:
        calls.append(service)
        return factory(service, remaining)

    reader = SecretsManagerReader(counting_factory, "goflow/")

    # When it is read twice
    values = [reader("api_key", 10.0), reader("api_key", 10.0)]

    # Then the value came from Secrets Manager once
    assert values == ["s3cr3t", "s3cr3t"]
    assert calls == ["secretsmanager"]


def test_a_missing_secret_is_fatal_and_named(aws: None) -> None:
    # Given no such secret
    reader = SecretsManagerReader(make_client_factory(), "goflow/")

    # When it is read / Then the error names the secret and where it was looked for
    with pytest.raises(FatalStepError) as raised:
        reader("nope", 10.0)
    assert "secret 'nope'" in raised.value.message and "goflow/nope" in raised.value.message
