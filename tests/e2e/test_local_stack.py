"""GoFlow on the local stack, driven over real HTTP as a user would (see ``conftest.py``)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import httpx
import pytest

from goflow.examples import welcome_email_workflow
from tests.e2e.conftest import LocalStackProcess, create_workflow, trigger, wait_for_end

pytestmark = pytest.mark.e2e

SEED_WORKFLOW: dict[str, Any] = welcome_email_workflow()


def step(execution: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in execution["steps"] if s["step_id"] == step_id)


def test_health_needs_no_key_and_answers_like_api_gateway(local_stack: LocalStackProcess) -> None:
    # When the health route is called without a key
    response = httpx.get(f"{local_stack.api_url}/api/health")

    # Then it answers, with API Gateway's request id header
    assert response.status_code == 200
    assert response.headers["apigw-requestid"]


def test_startup_banner_says_where_everything_is(local_stack: LocalStackProcess) -> None:
    # Given the running stack's console output
    output = local_stack.output

    # Then it names the API, the AWS endpoint, the key, and that state is lost on exit
    assert f"{local_stack.api_url}/api" in output
    assert local_stack.aws_endpoint in output
    assert local_stack.api_key in output
    assert "in memory" in output
    assert "curl" in output


def test_seed_workflow_runs_to_succeeded_with_the_rendered_message(api: httpx.Client) -> None:
    # Given the seed's welcome-email workflow
    workflow = create_workflow(api, SEED_WORKFLOW)

    # When it is triggered with parameters
    accepted = trigger(
        api, workflow["id"], {"customer_name": "Alex", "email": "alex@example.com", "plan": "pro"}
    )
    execution = wait_for_end(api, accepted["execution_id"])

    # Then it succeeded, and the step's output carries the message rendered from the parameters
    assert execution["status"] == "SUCCEEDED", execution
    sent = step(execution, "send_email")
    assert sent["status"] == "SUCCEEDED"
    assert sent["output"]["to"] == ["alex@example.com"]
    assert "Welcome Alex! Your pro plan is ready." in json.dumps(sent["output"])
    assert sent["started_at"] and sent["finished_at"]


def test_failing_step_fails_the_run_with_its_error_recorded(api: httpx.Client) -> None:
    # Given a workflow whose second step fails for good
    workflow = create_workflow(
        api,
        {
            "name": "charge",
            "steps": [
                {"id": "prepare", "action": "transform", "config": {"value": "ok"}},
                {
                    "id": "charge",
                    "action": "mock",
                    "config": {"fail_with": "fatal", "message": "card declined"},
                },
            ],
        },
    )

    # When it runs
    execution = wait_for_end(api, trigger(api, workflow["id"])["execution_id"])

    # Then the run failed at that step, and the step's error says why
    assert execution["status"] == "FAILED", execution
    assert step(execution, "prepare")["status"] == "SUCCEEDED"
    failed = step(execution, "charge")
    assert failed["status"] == "FAILED"
    assert "card declined" in json.dumps(failed["error"])
    assert execution["failure"] and "card declined" in json.dumps(execution["failure"])


def test_cancelled_wait_ends_aborted(api: httpx.Client) -> None:
    # Given a run waiting an hour in a native Wait state
    workflow = create_workflow(
        api, {"name": "long wait", "steps": [{"id": "pause", "action": "wait", "config": {"seconds": 3600}}]}
    )
    execution_id = trigger(api, workflow["id"])["execution_id"]
    assert api.get(f"/api/executions/{execution_id}").json()["status"] == "RUNNING"

    # When it is cancelled
    response = api.post(f"/api/executions/{execution_id}/cancel")

    # Then it ends ABORTED, and stays so
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ABORTED"
    assert wait_for_end(api, execution_id)["status"] == "ABORTED"


def test_requests_without_a_valid_key_are_refused(local_stack: LocalStackProcess) -> None:
    # Given no API key, then a wrong one
    with local_stack.client(authenticated=False) as anonymous:
        missing = anonymous.get("/api/workflows")
        wrong = anonymous.get("/api/workflows", headers={"Authorization": "Bearer gf_" + "x" * 43})

    # Then both are 401
    assert missing.status_code == 401
    assert wrong.status_code == 401


def test_execution_history_is_readable_through_the_moto_endpoint(
    api: httpx.Client, local_stack: LocalStackProcess
) -> None:
    # Given a finished run
    workflow = create_workflow(
        api, {"name": "history", "steps": [{"id": "only", "action": "transform", "config": {"value": 1}}]}
    )
    execution_id = trigger(api, workflow["id"])["execution_id"]
    assert wait_for_end(api, execution_id)["status"] == "SUCCEEDED"

    # When Step Functions is asked through the local AWS endpoint, as with the AWS CLI
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=local_stack.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="any",
        aws_secret_access_key="any",
    )
    machine = next(
        m for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith(workflow["id"])
    )
    arn = next(
        e["executionArn"]
        for e in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
        if e["name"] == execution_id
    )
    events = sfn.get_execution_history(executionArn=arn)["events"]

    # Then the history shows the run: one Lambda task (lambda:invoke) per step
    types = [event["type"] for event in events]
    assert types[0] == "ExecutionStarted"
    assert types[-1] == "ExecutionSucceeded"
    assert types.count("TaskSucceeded") == 1
    scheduled = next(event for event in events if event["type"] == "TaskScheduled")
    assert scheduled["taskScheduledEventDetails"]["resource"] == "invoke"


def test_logs_are_written_as_json_lines(api: httpx.Client, local_stack: LocalStackProcess) -> None:
    # Given the stack has served requests
    api.get("/api/health")
    time.sleep(0.2)

    # Then its log file holds Powertools JSON lines from the functions
    lines = (local_stack.state_dir / "logs" / "goflow.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert any(r.get("service") == "goflow" and r.get("function_name") for r in records)
