"""Workflows compiled to state machines and executed by moto's ASL interpreter, end to end.

Every run here goes through Step Functions: the compiled machine invokes the real executor handler
per step, and the real outcome recorder writes the result from the status-change event.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from moto.ses.models import ses_backends

from goflow.errors import ExecutionAlreadyExistsError, ExecutionFinishedError, ParameterValidationError
from goflow.examples import welcome_email_workflow
from goflow.local.events import DETAIL_TYPE
from tests.integration.platform import ACCOUNT, REGION, Platform
from tests.support.http_server import Reply, ScriptedServer

SEED_WORKFLOW: dict[str, Any] = welcome_email_workflow()


def sent_emails() -> list[Any]:
    return list(ses_backends[ACCOUNT][REGION].sent_messages)


def step(summary: Any, step_id: str) -> Any:
    return next(s for s in summary.steps if s.step_id == step_id)


def test_seed_example_sends_the_rendered_welcome_email(platform: Platform) -> None:
    # Given the seed's "Send Welcome Email" workflow (with the recipient it needs)
    workflow = platform.create(SEED_WORKFLOW)

    # When it is triggered with the seed's parameters
    execution = platform.run(workflow, {"customer_name": "Alex", "email": "alex@example.com", "plan": "pro"})

    # Then the run succeeded and SES sent exactly the promised message to the customer
    assert execution.status == "SUCCEEDED", execution.failure
    [email] = sent_emails()
    assert email.destinations["ToAddresses"] == ["alex@example.com"]
    assert email.body == "Welcome Alex! Your pro plan is ready."
    assert step(execution, "send_email").output["to"] == ["alex@example.com"]
    assert step(execution, "send_email").output["message"] == "Welcome Alex! Your pro plan is ready."


def test_seed_example_without_plan_uses_the_default(platform: Platform) -> None:
    # Given the seed workflow
    workflow = platform.create(SEED_WORKFLOW)

    # When it is triggered without a plan
    execution = platform.run(workflow, {"customer_name": "Alex", "email": "alex@example.com"})

    # Then the default plan is rendered and recorded with the run's parameters
    assert execution.status == "SUCCEEDED", execution.failure
    assert sent_emails()[-1].body == "Welcome Alex! Your free plan is ready."
    assert execution.parameters["plan"] == "free"


def test_missing_required_parameter_is_rejected_before_anything_starts(platform: Platform) -> None:
    # Given the seed workflow
    workflow = platform.create(SEED_WORKFLOW)

    # When it is triggered without customer_name
    with pytest.raises(ParameterValidationError) as raised:
        platform.start(workflow, {"email": "alex@example.com"})

    # Then the error names the parameter, and no execution was started or recorded
    assert [d.field for d in raised.value.details] == ["parameters.customer_name"]
    assert platform.sfn.list_executions(stateMachineArn=workflow.state_machine_arn)["executions"] == []
    assert platform.executions.list_for_workflow(platform.tenant, workflow.id, 10, None).items == []


def test_third_step_uses_the_outputs_of_the_first_and_second(
    platform: Platform, server: ScriptedServer
) -> None:
    # Given a chain: fetch a customer over HTTP, transform a parameter, then combine both outputs
    url = server.script("/customers/7", Reply(200, {"id": 7, "name": "Alex"}))
    workflow = platform.create(
        {
            "name": "chain",
            "parameters": [{"name": "greeting", "type": "string", "default": "Hello"}],
            "steps": [
                {"id": "fetch", "action": "http_request", "config": {"url": url}},
                {"id": "greet", "action": "transform", "config": {"value": "{{ params.greeting }}"}},
                {
                    "id": "combine",
                    "action": "transform",
                    "config": {
                        "value": {
                            "text": "{{ steps.greet.output.value }}, {{ steps.fetch.output.json.name }}!",
                            "customer_id": "{{ steps.fetch.output.json.id }}",
                        }
                    },
                },
            ],
        }
    )

    # When it runs
    execution = platform.run(workflow)

    # Then step 3's output is built from step 1's and step 2's, with types kept for single placeholders
    assert execution.status == "SUCCEEDED", execution.failure
    assert step(execution, "combine").output == {"value": {"text": "Hello, Alex!", "customer_id": 7}}
    assert [s.status for s in execution.steps] == ["SUCCEEDED"] * 3


def test_retryable_failures_are_retried_with_the_configured_backoff(
    platform: Platform, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a server that answers 503 twice, then 200, and a step retrying with backoff 2 s × 3
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    intervals: list[float] = []

    class RecordingTime:
        @staticmethod
        def sleep(seconds: float) -> None:
            intervals.append(seconds)

    monkeypatch.setattr(retrier_decl, "time", RecordingTime)
    url = server.script(
        "/flaky", Reply(503, {"busy": True}), Reply(503, {"busy": True}), Reply(200, {"ok": True})
    )
    workflow = platform.create(
        {
            "name": "flaky",
            "steps": [
                {
                    "id": "call",
                    "action": "http_request",
                    "config": {"url": url},
                    "retry": {"max_attempts": 3, "interval_seconds": 2, "backoff_rate": 3.0},
                }
            ],
        }
    )

    # When it runs
    execution = platform.run(workflow)

    # Then the third attempt succeeded after waits of 2 s and 6 s
    assert execution.status == "SUCCEEDED", execution.failure
    assert intervals == [2, 6]
    assert step(execution, "call").attempts == 3
    assert step(execution, "call").output["json"] == {"ok": True}
    assert len(server.requests) == 3


def test_a_server_that_never_answers_is_cut_at_the_step_deadline(
    platform: Platform, server: ScriptedServer
) -> None:
    # Given a step with a 2 s timeout calling a server that never answers
    url = server.script("/hang", Reply(200, {}, hang_seconds=30))
    workflow = platform.create(
        {
            "name": "hang",
            "steps": [
                {"id": "fetch", "action": "http_request", "config": {"url": url}, "timeout_seconds": 2}
            ],
        }
    )

    # When it runs
    execution = platform.run(workflow, timeout=20)

    # Then the run ended (not RUNNING) with the step and the reason recorded
    assert execution.status in {"FAILED", "TIMED_OUT"}
    assert execution.failure is not None
    assert execution.failure.step_id == "fetch"
    assert execution.failure.error == "StepDeadlineExceeded"
    assert "fetch" in (execution.failure.cause or "")
    assert step(execution, "fetch").status == "FAILED"
    assert execution.duration_ms is not None and execution.duration_ms < 10_000


def test_a_workflow_whose_execution_timeout_passes_mid_run_ends_recorded(platform: Platform) -> None:
    # Given a 4 s workflow whose second step would still be running when the workflow deadline passes
    workflow = platform.create(
        {
            "name": "slow",
            "execution_timeout": 4,
            "steps": [
                {"id": "first", "action": "mock", "config": {"delay_seconds": 0.2}, "timeout_seconds": 4},
                {"id": "second", "action": "mock", "config": {"delay_seconds": 30}, "timeout_seconds": 4},
            ],
        }
    )

    # When it runs
    execution = platform.run(workflow, timeout=20)

    # Then it ended FAILED or TIMED_OUT, naming the step the deadline caught
    assert execution.status in {"FAILED", "TIMED_OUT"}
    assert execution.failure is not None and execution.failure.step_id == "second"
    assert step(execution, "first").status == "SUCCEEDED"
    assert step(execution, "second").status in {"FAILED", "TIMED_OUT"}


def test_on_error_continue_records_the_error_and_runs_the_next_step(
    platform: Platform, server: ScriptedServer
) -> None:
    # Given a first step that fails permanently (404) but may continue
    url = server.script("/missing", Reply(404, {"error": "no such thing"}))
    workflow = platform.create(
        {
            "name": "continue",
            "steps": [
                {"id": "lookup", "action": "http_request", "config": {"url": url}, "on_error": "continue"},
                {"id": "after", "action": "transform", "config": {"value": "{{ steps.lookup.Error }}"}},
            ],
        }
    )

    # When it runs
    execution = platform.run(workflow)

    # Then the run succeeded, the failed step's error is recorded and visible to the next step
    assert execution.status == "SUCCEEDED", execution.failure
    lookup = step(execution, "lookup")
    assert lookup.status == "CONTINUED"
    assert lookup.error is not None and lookup.error.error == "FatalStepError"
    assert "404" in (lookup.error.cause or "")
    assert step(execution, "after").output == {"value": "FatalStepError"}


def test_a_failing_step_fails_the_run_with_its_error(platform: Platform) -> None:
    # Given a step that fails permanently
    workflow = platform.create(
        {
            "name": "fails",
            "steps": [
                {
                    "id": "boom",
                    "action": "mock",
                    "config": {"fail_with": "fatal", "message": "card declined"},
                },
                {"id": "never", "action": "transform", "config": {"value": 1}},
            ],
        }
    )

    # When it runs
    execution = platform.run(workflow)

    # Then the run FAILED with the step's error; the next step never ran
    assert execution.status == "FAILED"
    assert execution.failure is not None
    assert (execution.failure.step_id, execution.failure.error) == ("boom", "FatalStepError")
    assert "card declined" in (execution.failure.cause or "")
    assert [s.step_id for s in execution.steps] == ["boom"]


def test_a_cancelled_run_ends_aborted(platform: Platform) -> None:
    # Given a run waiting for a minute in a native Wait state
    workflow = platform.create(
        {
            "name": "long",
            "steps": [
                {"id": "pause", "action": "wait", "config": {"seconds": 60}},
                {"id": "later", "action": "transform", "config": {"value": 1}},
            ],
        }
    )
    execution = platform.start(workflow)
    platform.wait_for_event(execution.execution_arn, "WaitStateEntered")

    # When it is cancelled
    cancelled = platform.executions.cancel(platform.tenant, execution.id)

    # Then it is recorded ABORTED, Step Functions agrees, and a second cancel is refused
    assert cancelled.status == "ABORTED"
    assert cancelled.failure is not None and cancelled.failure.error == "GoFlow.Cancelled"
    platform.wait_for_machine(execution.execution_arn)  # moto ends a stopped run on its worker thread
    platform.feed.wait_idle()
    described = platform.sfn.describe_execution(executionArn=execution.execution_arn)
    assert described["status"] == "ABORTED"
    assert platform.executions.get(platform.tenant, execution.id).status == "ABORTED"
    with pytest.raises(ExecutionFinishedError):
        platform.executions.cancel(platform.tenant, execution.id)


def test_duplicate_or_late_status_events_never_move_a_record_backwards(platform: Platform) -> None:
    # Given a run that succeeded and was recorded
    workflow = platform.create(
        {"name": "ok", "steps": [{"id": "a", "action": "transform", "config": {"value": 1}}]}
    )
    execution = platform.run(workflow)
    assert execution.status == "SUCCEEDED"
    described = platform.sfn.describe_execution(executionArn=execution.execution_arn)

    # When the recorder receives the same event twice and a contradicting late one
    for status in ("SUCCEEDED", "FAILED"):
        event = {
            "detail-type": DETAIL_TYPE,
            "source": "aws.states",
            "detail": {
                "executionArn": execution.execution_arn,
                "name": execution.id,
                "status": status,
                "input": described["input"],
                "stopDate": 0,
            },
        }
        result = platform.dispatcher.invoke("OutcomeFunction", event)
        assert not result.failed, result.payload

    # Then the record is exactly as first written
    record = platform.executions.get(platform.tenant, execution.id)
    assert record.status == "SUCCEEDED"
    assert record.finished_at == execution.finished_at


def test_a_record_whose_event_was_missed_is_reconciled_when_read(platform: Platform) -> None:
    # Given a run that ends while no status-change event reaches the recorder
    platform.feed.uninstall()
    workflow = platform.create(
        {"name": "quiet", "steps": [{"id": "a", "action": "transform", "config": {"value": 2}}]}
    )
    execution = platform.start(workflow)
    platform.wait_for_machine(execution.execution_arn)
    assert platform.executions.executions.get(platform.tenant, execution.id).status == "RUNNING"

    # When the execution is read
    record = platform.executions.get(platform.tenant, execution.id)

    # Then it is brought up to date from Step Functions
    assert record.status == "SUCCEEDED"
    assert step(record, "a").output == {"value": 2}


def test_starting_the_same_execution_id_twice_runs_once(platform: Platform) -> None:
    # Given a run started with an explicit execution id
    workflow = platform.create(
        {"name": "once", "steps": [{"id": "a", "action": "transform", "config": {"value": 1}}]}
    )
    first = platform.start(workflow, execution_id="ex_01jzzzzzzzzzzzzzzzzzzzzzzz")

    # When the same id is started again
    with pytest.raises(ExecutionAlreadyExistsError):
        platform.start(workflow, execution_id=first.id)

    # Then Step Functions ran it exactly once
    platform.wait_for_end(first)
    assert len(platform.sfn.list_executions(stateMachineArn=workflow.state_machine_arn)["executions"]) == 1


@pytest.mark.parametrize("count", [1, 4])
def test_an_n_step_run_enters_exactly_n_task_states(platform: Platform, count: int) -> None:
    # Given a workflow of N steps
    steps = [{"id": f"s{i}", "action": "transform", "config": {"value": i}} for i in range(count)]
    workflow = platform.create({"name": f"{count} steps", "steps": steps})

    # When it runs
    execution = platform.run(workflow)

    # Then the history shows exactly N task states entered and N Lambda invocations
    events = platform.history(execution)
    assert sum(e["type"] == "TaskStateEntered" for e in events) == count
    assert sum(e["type"] == "TaskScheduled" for e in events) == count
    assert (
        len(events) == 2 + 5 * count
    )  # started, N × (entered, scheduled, started, succeeded, exited), ended


def test_skipped_step_when_condition_is_false(platform: Platform) -> None:
    # Given a step that only runs for the pro plan
    workflow = platform.create(
        {
            "name": "conditional",
            "parameters": [{"name": "plan", "type": "string", "enum": ["free", "pro"]}],
            "steps": [
                {
                    "id": "upsell",
                    "action": "transform",
                    "config": {"value": 1},
                    "when": "{{ params.plan == 'free' }}",
                },
                {"id": "done", "action": "transform", "config": {"value": "{{ steps.upsell.status }}"}},
            ],
        }
    )

    # When it runs for a pro customer
    execution = platform.run(workflow, {"plan": "pro"})

    # Then the conditional step is recorded as skipped
    assert execution.status == "SUCCEEDED", execution.failure
    assert step(execution, "upsell").status == "SKIPPED"
    assert step(execution, "done").output == {"value": "SKIPPED"}


def test_state_machine_follows_the_workflow_lifecycle(platform: Platform) -> None:
    # Given a saved workflow
    workflow = platform.create(
        {"name": "life", "steps": [{"id": "a", "action": "transform", "config": {"value": 1}}]}
    )
    arn = workflow.state_machine_arn
    first = json.loads(platform.sfn.describe_state_machine(stateMachineArn=arn)["definition"])

    # When it is changed
    changed = platform.workflows.update(
        platform.tenant,
        workflow.id,
        {"name": "life", "steps": [{"id": "b", "action": "transform", "config": {"value": 2}}]},
    )

    # Then its machine carries the new definition
    second = json.loads(platform.sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    assert changed.version == 2 and first["StartAt"] == "a" and second["StartAt"] == "b"

    # When it is deleted, then so is its machine
    platform.workflows.delete(platform.tenant, workflow.id)
    machines = platform.sfn.list_state_machines()["stateMachines"]
    assert arn not in [m["stateMachineArn"] for m in machines]


def test_every_log_line_of_a_run_carries_its_identity(platform: Platform) -> None:
    # Given the JSON lines Powertools writes for every function, collected as they are formatted
    lines = io.StringIO()
    goflow_logger = logging.getLogger("goflow")
    collector = logging.StreamHandler(lines)
    collector.setFormatter(goflow_logger.handlers[0].formatter)
    goflow_logger.addHandler(collector)
    workflow = platform.create(
        {
            "name": "logs",
            "parameters": [{"name": "who", "type": "string", "default": "Alex"}],
            "steps": [{"id": "say", "action": "log", "config": {"message": "hello {{ params.who }}"}}],
        }
    )

    # When it runs
    try:
        execution = platform.run(workflow)
    finally:
        goflow_logger.removeHandler(collector)

    # Then every JSON line the step and the recorder wrote names the run (and the step inside it)
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    run_lines = [line for line in records if line.get("execution_id") == execution.id]
    step_lines = [line for line in run_lines if line.get("step_id") == "say"]
    assert step_lines, "the step wrote no log line"
    assert any("hello Alex" in json.dumps(line) for line in step_lines)
    for line in run_lines:
        assert line["trace_id"] == execution.trace_id
        assert line["tenant_id"] == platform.tenant
        assert line["workflow_id"] == workflow.id
    for line in step_lines:
        assert line["action"] == "log"
    assert {line.get("function_name") for line in run_lines} >= {"ExecutorFunction", "OutcomeFunction"}


def test_a_status_event_for_an_unknown_execution_is_ignored(platform: Platform) -> None:
    # Given a status event for a GoFlow-shaped run whose record does not exist (expired by TTL)
    state = {"execution": {"tenant_id": platform.tenant, "id": "ex_01jzzzzzzzzzzzzzzzzzzzzzzy"}}
    event = {
        "detail-type": DETAIL_TYPE,
        "source": "aws.states",
        "detail": {
            "name": "ex_01jzzzzzzzzzzzzzzzzzzzzzzy",
            "status": "SUCCEEDED",
            "input": json.dumps(state),
        },
    }

    # When the recorder receives it
    result = platform.dispatcher.invoke("OutcomeFunction", event)

    # Then it succeeds without recording anything (EventBridge would otherwise retry it into the DLQ)
    assert not result.failed, result.payload
    assert result.payload == {"recorded": False}
