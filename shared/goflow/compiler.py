"""Workflow → Amazon States Language.

One ``Task`` per step (one state transition per step) invoking the executor Lambda, native
``Retry``/``Catch``/``TimeoutSeconds``, ``wait`` steps as native ``Wait`` states, each step's
result at ``$.steps.<step_id>``. The same workflow always compiles to byte-identical ASL.

Express machines emit no status-change events and cannot be described, so an express workflow's
machine records its own outcome: every step that may fail the run catches into ``goflow.failed``, the
last step goes on to ``goflow.succeeded``, and both invoke the executor with a finish event
(:mod:`goflow.runtime.finish`). Standard machines are left exactly as they were. GoFlow's own states
have a dot in their name; step ids cannot (the history reader tells them apart by it).
"""

from __future__ import annotations

import json
import re
from typing import Any

from goflow.connectors.errors import LAMBDA_SERVICE_ERRORS, RETRYABLE_ERROR
from goflow.errors import Problems, WorkflowValidationError
from goflow.templating import is_single_placeholder, is_template
from goflow.workflows.model import RetryPolicy, Step, Workflow

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
DONE_STATE = "goflow.done"
SUCCEEDED_STATE = "goflow.succeeded"
FAILED_STATE = "goflow.failed"
FAIL_STATE = "goflow.fail"
RUN_FAILED_ERROR = "GoFlow.StepFailed"
RUN_FAILED_CAUSE = "the run failed; see its execution record"
# The executor enforces each step's own deadline; the Task timeout is the backstop for a
# Lambda that never returns, so it allows a little longer than the step's timeout.
TASK_TIMEOUT_GRACE_SECONDS = 5
WAIT_ACTION = "wait"
_SIMPLE_PATH = re.compile(r"^(params|trigger)(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def compile_workflow(workflow: Workflow, executor_arn: str) -> str:
    """The workflow's state machine definition as canonical (sorted, compact) JSON."""
    return json.dumps(build_definition(workflow, executor_arn), sort_keys=True, separators=(",", ":"))


def build_definition(workflow: Workflow, executor_arn: str) -> dict[str, Any]:
    """The ASL document as a dict; raises ``WorkflowValidationError`` for a step ASL cannot express."""
    problems = Problems()
    steps = workflow.steps
    express = workflow.mode == "express"
    # Where the run goes after its last step (or a continuing failure of it): standard machines end.
    end_name = SUCCEEDED_STATE if express else None
    states: dict[str, Any] = {}
    needs_done = needs_failed = False
    for index, step in enumerate(steps):
        next_name = steps[index + 1].id if index + 1 < len(steps) else end_name
        if step.action == WAIT_ACTION:
            state = _wait_state(step, f"steps[{index}].config", problems)
        else:
            state = _task_state(step, executor_arn)
            if step.on_error == "continue":
                needs_done = needs_done or next_name is None
                state["Catch"] = [_catch(step, next_name or DONE_STATE)]
            elif express:
                needs_failed = True
                state["Catch"] = [_catch(step, FAILED_STATE)]
        if next_name is None:
            state["End"] = True
        else:
            state["Next"] = next_name
        states[step.id] = state
    if needs_done:
        states[DONE_STATE] = {"Type": "Succeed"}
    if express:
        states.update(_finish_states(steps, executor_arn, needs_failed))
    problems.raise_if_any(WorkflowValidationError, "the workflow cannot be compiled")
    return {
        "Comment": f"GoFlow workflow {workflow.id}: {workflow.name}",
        "StartAt": steps[0].id,
        "TimeoutSeconds": workflow.execution_timeout,
        "States": states,
    }


def _catch(step: Step, next_name: str) -> dict[str, Any]:
    return {"ErrorEquals": ["States.ALL"], "ResultPath": f"$.steps.{step.id}", "Next": next_name}


def _finish_states(steps: list[Step], executor_arn: str, needs_failed: bool) -> dict[str, Any]:
    """An express machine's own outcome recorder: ``goflow.succeeded``, and ``goflow.failed`` →
    ``goflow.fail`` when some step can fail the run (Step Functions rejects unreachable states)."""
    step_ids = [step.id for step in steps]
    states: dict[str, Any] = {
        SUCCEEDED_STATE: {
            **_finish_task(executor_arn, {"status": "SUCCEEDED", "steps": step_ids}),
            "End": True,
        }
    }
    if needs_failed:
        continue_steps = [step.id for step in steps if step.on_error == "continue"]
        finish = {"status": "FAILED", "steps": step_ids, "continue_steps": continue_steps}
        states[FAILED_STATE] = {**_finish_task(executor_arn, finish), "Next": FAIL_STATE}
        states[FAIL_STATE] = {"Type": "Fail", "Error": RUN_FAILED_ERROR, "Cause": RUN_FAILED_CAUSE}
    return states


def _finish_task(executor_arn: str, finish: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": executor_arn, "Payload": {"finish": finish, "state.$": "$"}},
        "ResultPath": None,
        "Retry": _retriers(None),
    }


def _task_state(step: Step, executor_arn: str) -> dict[str, Any]:
    payload_step = {
        "id": step.id,
        "action": step.action,
        # A JSON string, so keys a user writes (even ones ending in ".$") are never read as paths.
        "config": json.dumps(step.config, sort_keys=True, separators=(",", ":")),
        "timeout_seconds": step.timeout_seconds,
        "when": step.when,
        "on_error": step.on_error,
    }
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {
            "FunctionName": executor_arn,
            "Payload": {"step": payload_step, "state.$": "$"},
        },
        "ResultSelector": {"status.$": "$.Payload.status", "output.$": "$.Payload.output"},
        "ResultPath": f"$.steps.{step.id}",
        "TimeoutSeconds": step.timeout_seconds + TASK_TIMEOUT_GRACE_SECONDS,
        "Retry": _retriers(step.retry),
    }


def _retriers(policy: RetryPolicy | None) -> list[dict[str, Any]]:
    retriers: list[dict[str, Any]] = [
        {
            "ErrorEquals": list(LAMBDA_SERVICE_ERRORS),
            "IntervalSeconds": 1,
            "MaxAttempts": 3,
            "BackoffRate": 2.0,
        }
    ]
    if policy is not None and policy.max_attempts > 0:
        retrier: dict[str, Any] = {
            "ErrorEquals": [RETRYABLE_ERROR],
            "IntervalSeconds": policy.interval_seconds,
            "MaxAttempts": policy.max_attempts,
            "BackoffRate": policy.backoff_rate,
            "JitterStrategy": "FULL" if policy.jitter else "NONE",
        }
        if policy.max_delay_seconds is not None:
            retrier["MaxDelaySeconds"] = policy.max_delay_seconds
        retriers.append(retrier)
    return retriers


def _wait_state(step: Step, field: str, problems: Problems) -> dict[str, Any]:
    config = step.config
    state: dict[str, Any] = {"Type": "Wait"}
    if ("seconds" in config) == ("until" in config):
        problems.add(field, "a wait step needs exactly one of 'seconds' or 'until'")
        state["Seconds"] = 0
        return state
    key, literal_key, path_key = (
        ("seconds", "Seconds", "SecondsPath")
        if "seconds" in config
        else ("until", "Timestamp", "TimestampPath")
    )
    value = config[key]
    if is_template(value):
        path = _state_path(value)
        if path is None:
            problems.add(
                f"{field}.{key}",
                "a wait step's template must be a single reference such as '{{ params.delay_seconds }}'",
            )
            state[literal_key] = 0
        else:
            state[path_key] = path
    else:
        state[literal_key] = value
    return state


def _state_path(template: str) -> str | None:
    """``{{ params.a.b }}`` → ``$.params.a.b``; None when the template is not a plain reference."""
    if not is_single_placeholder(template):
        return None
    expression = template.strip()[2:-2].strip()
    return f"$.{expression}" if _SIMPLE_PATH.match(expression) else None
