"""The compiler: workflow → ASL, deterministic, one Task per step, native Retry/Catch/Wait."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from goflow.compiler import DONE_STATE, build_definition, compile_workflow
from goflow.errors import WorkflowValidationError
from goflow.workflows.model import Workflow

EXECUTOR = "arn:aws:lambda:us-east-1:123456789012:function:executor"


def workflow(steps: list[dict[str, Any]], **fields: Any) -> Workflow:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    return Workflow.model_validate(
        {
            "name": "w",
            "steps": steps,
            "id": "wf_x",
            "tenant_id": "t",
            "created_at": now,
            "updated_at": now,
            **fields,
        }
    )


def test_same_workflow_compiles_to_byte_identical_asl() -> None:
    # Given the same workflow built twice with keys in different orders
    first = workflow([{"id": "a", "action": "transform", "config": {"value": {"x": 1, "y": 2}}}])
    second = workflow([{"config": {"value": {"y": 2, "x": 1}}, "action": "transform", "id": "a"}])

    # When both are compiled
    # Then the bytes are identical
    assert compile_workflow(first, EXECUTOR) == compile_workflow(second, EXECUTOR)


def test_each_step_is_one_task_invoking_the_executor_with_its_result_at_steps_id() -> None:
    # Given a two-step workflow with a 10 s step timeout and a 120 s execution timeout
    definition = build_definition(
        workflow(
            [
                {"id": "a", "action": "transform", "config": {"value": 1}, "timeout_seconds": 10},
                {"id": "b", "action": "log", "config": {"message": "hi"}},
            ],
            execution_timeout=120,
        ),
        EXECUTOR,
    )

    # Then: one Task per step, chained, results at $.steps.<id>, timeouts per step and machine
    assert definition["StartAt"] == "a" and definition["TimeoutSeconds"] == 120
    a, b = definition["States"]["a"], definition["States"]["b"]
    assert list(definition["States"]) == ["a", "b"]
    assert a["Type"] == "Task" and a["Next"] == "b" and b["End"] is True
    assert a["Parameters"]["FunctionName"] == EXECUTOR
    assert a["Parameters"]["Payload"]["state.$"] == "$"
    assert a["ResultPath"] == "$.steps.a"
    assert a["TimeoutSeconds"] > 10  # the executor's own deadline fires first; this is the backstop
    assert json.loads(a["Parameters"]["Payload"]["step"]["config"]) == {"value": 1}


def test_config_keys_ending_in_dollar_are_never_read_as_paths() -> None:
    # Given a config with a key that ASL would treat as a JSONPath
    definition = build_definition(
        workflow([{"id": "a", "action": "transform", "config": {"value": {"x.$": "$.secret"}}}]), EXECUTOR
    )

    # Then the config travels as an opaque JSON string
    payload_step = definition["States"]["a"]["Parameters"]["Payload"]["step"]
    assert isinstance(payload_step["config"], str)
    assert "x.$" not in payload_step


def test_retry_policy_becomes_native_retry_on_the_retryable_error() -> None:
    # Given a step with a retry policy
    definition = build_definition(
        workflow(
            [
                {
                    "id": "a",
                    "action": "http_request",
                    "config": {"url": "http://x"},
                    "retry": {
                        "max_attempts": 4,
                        "interval_seconds": 3,
                        "backoff_rate": 1.5,
                        "max_delay_seconds": 60,
                    },
                }
            ]
        ),
        EXECUTOR,
    )

    # Then Lambda service errors are always retried and the policy applies to RetryableStepError only
    service, policy = definition["States"]["a"]["Retry"]
    assert "Lambda.ServiceException" in service["ErrorEquals"]
    assert policy == {
        "ErrorEquals": ["RetryableStepError"],
        "IntervalSeconds": 3,
        "MaxAttempts": 4,
        "BackoffRate": 1.5,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "NONE",
    }


def test_without_retry_policy_only_lambda_service_errors_are_retried() -> None:
    definition = build_definition(
        workflow([{"id": "a", "action": "transform", "config": {"value": 1}}]), EXECUTOR
    )
    assert [r["ErrorEquals"][0] for r in definition["States"]["a"]["Retry"]] == ["Lambda.ServiceException"]


def test_on_error_continue_catches_into_the_next_step_and_after_the_last_into_done() -> None:
    # Given two steps that may both fail and continue
    definition = build_definition(
        workflow(
            [
                {"id": "a", "action": "transform", "config": {"value": 1}, "on_error": "continue"},
                {"id": "b", "action": "transform", "config": {"value": 2}, "on_error": "continue"},
            ]
        ),
        EXECUTOR,
    )

    # Then each Catch records the error at $.steps.<id> and moves on
    assert definition["States"]["a"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.steps.a", "Next": "b"}
    ]
    assert definition["States"]["b"]["Catch"][0]["Next"] == DONE_STATE
    assert definition["States"][DONE_STATE] == {"Type": "Succeed"}


def test_wait_steps_compile_to_native_wait_states() -> None:
    # Given literal, templated and timestamp waits
    definition = build_definition(
        workflow(
            [
                {"id": "w1", "action": "wait", "config": {"seconds": 5}},
                {"id": "w2", "action": "wait", "config": {"seconds": "{{ params.delay }}"}},
                {"id": "w3", "action": "wait", "config": {"until": "2030-01-01T00:00:00Z"}},
            ]
        ),
        EXECUTOR,
    )

    # Then no Lambda is involved
    states = definition["States"]
    assert states["w1"] == {"Type": "Wait", "Seconds": 5, "Next": "w2"}
    assert states["w2"] == {"Type": "Wait", "SecondsPath": "$.params.delay", "Next": "w3"}
    assert states["w3"] == {"Type": "Wait", "Timestamp": "2030-01-01T00:00:00Z", "End": True}


def test_a_wait_template_that_is_not_a_plain_reference_is_rejected_naming_the_field() -> None:
    # Given a wait whose seconds are computed
    bad = workflow([{"id": "w", "action": "wait", "config": {"seconds": "{{ params.a * `2` }}"}}])

    # When compiled
    with pytest.raises(WorkflowValidationError) as raised:
        build_definition(bad, EXECUTOR)

    # Then the error names the field
    assert raised.value.details[0].field == "steps[0].config.seconds"
