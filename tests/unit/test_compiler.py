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


def test_express_machines_record_their_own_outcome_in_goflow_states() -> None:
    # Given an express workflow: a step that may fail the run, a wait, then a step that continues on error
    definition = build_definition(
        workflow(
            [
                {"id": "a", "action": "transform", "config": {"value": 1}},
                {"id": "pause", "action": "wait", "config": {"seconds": 1}},
                {"id": "b", "action": "transform", "config": {"value": 2}, "on_error": "continue"},
            ],
            mode="express",
            execution_timeout=60,
        ),
        EXECUTOR,
    )
    states = definition["States"]

    # Then the failing step catches into goflow.failed, keeping its error at $.steps.<id>
    assert states["a"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.steps.a", "Next": "goflow.failed"}
    ]
    assert states["a"]["Next"] == "pause" and "End" not in states["a"]
    assert "Catch" not in states["pause"]  # ASL allows no Catch on a Wait state
    # And the last step (even one that continues on error) goes on to goflow.succeeded, never End
    assert states["b"]["Next"] == "goflow.succeeded" and "End" not in states["b"]
    assert states["b"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.steps.b", "Next": "goflow.succeeded"}
    ]
    assert DONE_STATE not in states
    assert list(states) == ["a", "pause", "b", "goflow.succeeded", "goflow.failed", "goflow.fail"]
    assert all("." in name for name in states if name.startswith("goflow"))


def test_express_finish_states_invoke_the_executor_with_a_finish_event() -> None:
    # Given an express workflow whose first step continues on error and whose second may fail the run
    definition = build_definition(
        workflow(
            [
                {"id": "a", "action": "transform", "config": {"value": 1}, "on_error": "continue"},
                {"id": "b", "action": "transform", "config": {"value": 2}},
            ],
            mode="express",
        ),
        EXECUTOR,
    )
    states = definition["States"]
    service_retry = states["b"]["Retry"]

    # Then goflow.succeeded ends the machine after recording SUCCEEDED, leaving the state untouched
    assert states["goflow.succeeded"] == {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": EXECUTOR,
            "Payload": {"finish": {"status": "SUCCEEDED", "steps": ["a", "b"]}, "state.$": "$"},
        },
        "ResultPath": None,
        "Retry": service_retry,
        "End": True,
    }
    # And goflow.failed records FAILED (naming the steps that may continue) before failing the machine
    failed = states["goflow.failed"]
    assert failed["Parameters"]["Payload"] == {
        "finish": {"status": "FAILED", "steps": ["a", "b"], "continue_steps": ["a"]},
        "state.$": "$",
    }
    assert (failed["ResultPath"], failed["Retry"], failed["Next"]) == (None, service_retry, "goflow.fail")
    assert states["goflow.fail"] == {
        "Type": "Fail",
        "Error": "GoFlow.StepFailed",
        "Cause": "the run failed; see its execution record",
    }


def test_an_express_machine_with_no_step_that_can_fail_has_no_unreachable_failed_state() -> None:
    # Given an express workflow whose only step continues on error
    definition = build_definition(
        workflow(
            [{"id": "a", "action": "transform", "config": {"value": 1}, "on_error": "continue"}],
            mode="express",
        ),
        EXECUTOR,
    )

    # Then there is no goflow.failed (Step Functions rejects unreachable states)
    assert list(definition["States"]) == ["a", "goflow.succeeded"]


def test_express_asl_is_deterministic_and_standard_asl_has_no_finish_states() -> None:
    # Given the same steps as an express and as a standard workflow
    steps = [
        {"id": "a", "action": "transform", "config": {"value": {"x": 1, "y": 2}}},
        {"id": "b", "action": "transform", "config": {"value": 2}, "on_error": "continue"},
    ]
    reordered = [{"on_error": "continue", "config": {"value": 2}, "action": "transform", "id": "b"}]

    # When each is compiled
    express = compile_workflow(workflow(steps, mode="express"), EXECUTOR)
    express_again = compile_workflow(workflow([steps[0], *reordered], mode="express"), EXECUTOR)
    standard = build_definition(workflow(steps), EXECUTOR)

    # Then express compiles to identical bytes every time, and standard is as it always was
    assert express == express_again
    assert "goflow.succeeded" in json.loads(express)["States"]
    assert list(standard["States"]) == ["a", "b", DONE_STATE]
    assert "Catch" not in standard["States"]["a"] and standard["States"]["b"]["End"] is True
