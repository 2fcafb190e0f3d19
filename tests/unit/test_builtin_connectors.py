"""The built-in connectors other than http_request: transform, log, mock, wait and send_email (moto SES)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from goflow.connectors.base import Connector, StepContext
from goflow.connectors.builtin import (
    HttpRequestConnector,
    LogConnector,
    MockConnector,
    SendEmailConnector,
    TransformConnector,
    WaitConnector,
    builtin_connectors,
)
from goflow.connectors.errors import (
    FatalStepError,
    RetryableStepError,
    StepConfigInvalid,
    StepDeadlineExceeded,
)
from goflow.runtime.clients import make_client_factory

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SENDER = "noreply@goflow.test"
REGION = "us-east-1"


@dataclass
class Clock:
    now: float = 500.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Logs:
    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.records.append(("debug", str(msg), kwargs))

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.records.append(("info", str(msg), kwargs))

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.records.append(("warning", str(msg), kwargs))

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.records.append(("error", str(msg), kwargs))


def context(
    clock: Clock, seconds_left: float = 30.0, logs: Logs | None = None, action: str = "x"
) -> StepContext:
    return StepContext(
        step_id="step1",
        action=action,
        deadline=clock.now + seconds_left,
        trace_id="1-a-b",
        logger=logs or Logs(),
        client_factory=make_client_factory(),
        clock=clock,
        sleeper=clock.sleep,
    )


def run(connector: Connector, config: dict[str, Any], ctx: StepContext, data: Any = None) -> dict[str, Any]:
    return connector.execute(ctx, connector.validate(config), data or {})


# --- registry and schemas ------------------------------------------------------------------------


def test_builtins_have_unique_names_and_described_schemas() -> None:
    # Given the built-in connectors
    connectors = builtin_connectors()

    # When their schemas are listed
    described = {c.name: c.describe() for c in connectors}

    # Then every field a user sees has a description, aliases are the public names
    assert sorted(described) == ["http_request", "log", "mock", "send_email", "transform", "wait"]
    for item in described.values():
        for name, prop in item["config_schema"]["properties"].items():
            assert prop.get("description"), f"{item['name']}.{name} has no description"
    assert "from" in described["send_email"]["config_schema"]["properties"]
    assert "json" in described["http_request"]["config_schema"]["properties"]


# --- transform and log ---------------------------------------------------------------------------


def test_transform_returns_its_value() -> None:
    # Given an already-rendered value / When transform runs / Then it is the output
    assert run(TransformConnector(), {"value": {"a": [1, 2]}}, context(Clock())) == {"value": {"a": [1, 2]}}


@pytest.mark.parametrize("level", ["info", "warning", "error"])
def test_log_writes_the_message_at_its_level(level: str) -> None:
    # Given a log step at a level
    logs = Logs()

    # When it runs
    output = run(LogConnector(), {"message": "order 7 shipped", "level": level}, context(Clock(), logs=logs))

    # Then it logged under step_message at that level and returned the message
    assert output == {"message": "order 7 shipped"}
    assert logs.records == [(level, "workflow log", {"step_message": "order 7 shipped"})]


def test_log_refuses_an_unknown_level() -> None:
    # Given a level that does not exist / When validated / Then the field is named
    with pytest.raises(StepConfigInvalid, match="config.level"):
        LogConnector().validate({"message": "x", "level": "loud"})


# --- mock ----------------------------------------------------------------------------------------


def test_mock_answers_after_its_delay() -> None:
    # Given a mock with a response and a 1.5 s delay
    clock = Clock()

    # When it runs
    output = run(MockConnector(), {"response": {"ok": True}, "delay_seconds": 1.5}, context(clock))

    # Then it slept 1.5 s and answered
    assert output == {"response": {"ok": True}}
    assert clock.slept == [1.5]


@pytest.mark.parametrize(
    ("fail_with", "error"), [("retryable", RetryableStepError), ("fatal", FatalStepError)]
)
def test_mock_fails_as_asked(fail_with: str, error: type[Exception]) -> None:
    # Given a mock told to fail / When it runs / Then it raises that class with the message
    with pytest.raises(error, match="card declined"):
        run(MockConnector(), {"fail_with": fail_with, "message": "card declined"}, context(Clock()))


def test_mock_delay_past_the_deadline_stops_at_the_deadline() -> None:
    # Given a mock delaying 10 s with 2 s left
    clock = Clock()

    # When it runs
    with pytest.raises(StepDeadlineExceeded, match="step 'step1'"):
        run(MockConnector(), {"delay_seconds": 10}, context(clock, seconds_left=2.0))

    # Then it slept only until the deadline
    assert clock.slept == [2.0]


def test_mock_defaults_to_an_empty_response() -> None:
    # Given an empty config / When it runs / Then it answers {}
    assert run(MockConnector(), {}, context(Clock())) == {"response": {}}


# --- wait ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [3, "3"])
def test_wait_sleeps_the_given_seconds(seconds: Any) -> None:
    # Given a wait of 3 s (a number or rendered text)
    clock = Clock()

    # When it runs
    output = run(WaitConnector(), {"seconds": seconds}, context(clock))

    # Then it slept 3 s
    assert output == {"waited_seconds": 3}
    assert clock.slept == [3]


def test_wait_until_a_timestamp_sleeps_the_difference() -> None:
    # Given a wait until 4 s from now (by the connector's UTC clock)
    clock = Clock()
    until = (NOW + timedelta(seconds=4)).isoformat()

    # When it runs
    output = run(WaitConnector(utc_now=lambda: NOW), {"until": until}, context(clock))

    # Then it slept those 4 s
    assert output == {"waited_seconds": 4.0}
    assert clock.slept == [4.0]


def test_wait_past_the_deadline_fails_at_the_deadline() -> None:
    # Given a wait of 60 s with 5 s left / When it runs / Then the deadline stops it
    clock = Clock()
    with pytest.raises(StepDeadlineExceeded):
        run(WaitConnector(), {"seconds": 60}, context(clock, seconds_left=5.0))
    assert clock.slept == [5.0]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"seconds": 1, "until": NOW.isoformat()},
        {"seconds": -1},
        {"seconds": 31_536_001},
        {"seconds": "x"},
    ],
)
def test_wait_refuses_an_invalid_config(config: dict[str, Any]) -> None:
    # Given an invalid wait config / When validated / Then it is refused
    with pytest.raises(StepConfigInvalid):
        WaitConnector().validate(config)


def test_wait_accepts_a_template_for_seconds_before_rendering() -> None:
    # Given a template (the workflow is being saved, not run) / When validated / Then it is accepted
    assert WaitConnector().validate({"seconds": "{{ params.delay }}"}).model_dump() == {
        "seconds": "{{ params.delay }}",
        "until": None,
    }


# --- http_request config (calls are tested against real servers in tests/integration) ---------


@pytest.mark.parametrize(
    "config",
    [
        {"url": "ftp://example.com/file"},
        {"url": "/relative"},
        {"url": "https://x.test", "json": {"a": 1}, "body": "text"},
        {"url": "https://x.test", "method": "TRACE"},
        {"url": "https://x.test", "timeout_seconds": 901},
        {"url": "https://x.test", "headers": {"a": ["list"]}},
    ],
)
def test_http_request_refuses_an_invalid_config(config: dict[str, Any]) -> None:
    # Given an invalid request config / When validated / Then it is refused
    with pytest.raises(StepConfigInvalid):
        HttpRequestConnector().validate(config)


def test_http_request_config_defaults() -> None:
    # Given only a URL / When validated / Then the documented defaults apply
    config = HttpRequestConnector().validate({"url": "https://x.test", "method": "post"})
    assert config.model_dump() == {
        "method": "POST",
        "url": "https://x.test",
        "headers": {},
        "query": {},
        "json_body": None,
        "body": None,
        "timeout_seconds": 10,
        "expected_status": None,
        "follow_redirects": True,
    }


# --- send_email on moto SES ----------------------------------------------------------------------


@pytest.fixture
def ses(aws: None) -> Any:
    """moto SES with the default sender verified."""
    client = boto3.client("ses", region_name=REGION)
    client.verify_email_identity(EmailAddress=SENDER)
    return client


def sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def test_send_email_sends_with_the_default_sender_and_workflow_name(ses: Any) -> None:
    # Given a step with only a recipient and a message, in a workflow named "Welcome"
    connector = SendEmailConnector(default_sender=SENDER)
    data = {"execution": {"workflow_name": "Welcome"}}

    # When it runs
    output = run(connector, {"to": "alex@example.com", "message": "Hi Alex"}, context(Clock()), data)

    # Then SES sent exactly that message, from the default sender, subject = workflow name
    [message] = sent()
    assert message.source == SENDER
    assert message.destinations["ToAddresses"] == ["alex@example.com"]
    assert (message.subject, message.body) == ("Welcome", "Hi Alex")
    assert output == {
        "message_id": message.id,
        "to": ["alex@example.com"],
        "subject": "Welcome",
        "message": "Hi Alex",
    }


def test_send_email_honours_from_subject_and_several_recipients(ses: Any) -> None:
    # Given another verified sender, an explicit subject and two recipients
    ses.verify_email_identity(EmailAddress="billing@goflow.test")
    config = {
        "to": ["a@example.com", "b@example.com"],
        "subject": "Invoice",
        "message": "Due",
        "from": "billing@goflow.test",
    }

    # When it runs
    output = run(SendEmailConnector(default_sender=SENDER), config, context(Clock()))

    # Then those were used
    [message] = sent()
    assert message.source == "billing@goflow.test"
    assert message.destinations["ToAddresses"] == ["a@example.com", "b@example.com"]
    assert output["subject"] == "Invoice"


def test_send_email_without_a_workflow_name_uses_the_generic_subject(ses: Any) -> None:
    # Given no workflow name in the run state / When it runs / Then the generic subject is used
    output = run(
        SendEmailConnector(default_sender=SENDER), {"to": "a@example.com", "message": "x"}, context(Clock())
    )
    assert output["subject"] == sent()[0].subject == "Message from GoFlow"


def test_send_email_from_an_unverified_sender_is_fatal_with_ses_reason(ses: Any) -> None:
    # Given a sender SES has not verified
    connector = SendEmailConnector(default_sender="stranger@elsewhere.test")

    # When it runs / Then SES's rejection is a fatal error carrying its message; nothing was sent
    with pytest.raises(FatalStepError, match="MessageRejected") as raised:
        run(connector, {"to": "a@example.com", "message": "x"}, context(Clock()))
    assert "not verified" in raised.value.message
    assert sent() == []


def test_send_email_throttled_by_ses_is_retryable() -> None:
    # Given SES answering Throttling (moto does not throttle, so a fake client stands in)
    class ThrottledSes:
        def send_email(self, **kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}}, "SendEmail"
            )

    ctx = context(Clock())
    ctx.client_factory = lambda service, remaining: ThrottledSes()

    # When it runs / Then the error is retryable
    with pytest.raises(RetryableStepError, match="Maximum sending rate exceeded"):
        run(SendEmailConnector(), {"to": "a@example.com", "message": "x"}, ctx)


@pytest.mark.parametrize(
    "config",
    [
        {"message": "x"},
        {"to": "a@example.com"},
        {"to": "not-an-address", "message": "x"},
        {"to": [], "message": "x"},
        {"to": "a@example.com", "message": "x", "from": "nobody"},
        {"to": "a@example.com", "message": "x", "cc": "b@example.com"},
    ],
)
def test_send_email_refuses_an_invalid_config(config: dict[str, Any]) -> None:
    # Given an invalid email config / When validated / Then it is refused
    with pytest.raises(StepConfigInvalid):
        SendEmailConnector().validate(config)
