"""The HTTP API end to end, in-process: payload 2.0 events → the api handler → moto (real executions).

Every route and its 4xx answers; tenants; idempotent triggering; cancelling; the seed's own example.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import unquote

import pytest
from moto.ses.models import ses_backends

from goflow import composition
from goflow.connectors.registry import ConnectorRegistry, PluginProblem
from goflow.examples import seed_as_written, welcome_email_workflow
from tests.integration.api_client import ApiClient, api_handler, lambda_context, tenant_client, wait_for_end
from tests.integration.platform import ACCOUNT, REGION, Platform

SEED_AS_WRITTEN: dict[str, Any] = seed_as_written()
SEED_WITH_RECIPIENT: dict[str, Any] = welcome_email_workflow()
SEED_PARAMETERS = {"customer_name": "Alex", "email": "alex@example.com", "plan": "pro"}
GREETING: dict[str, Any] = {
    "name": "Greeting",
    "parameters": [{"name": "who", "type": "string", "required": True}],
    "steps": [{"id": "greet", "action": "log", "config": {"message": "Hello {{ params.who }}!"}}],
}
PAUSE: dict[str, Any] = {
    "name": "Long pause",
    "steps": [
        {"id": "pause", "action": "wait", "config": {"seconds": 60}},
        {"id": "after", "action": "log", "config": {"message": "never"}},
    ],
}


pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture
def api(platform: Platform) -> ApiClient:
    return tenant_client("acme")


@pytest.fixture
def other_api(platform: Platform) -> ApiClient:
    return tenant_client("globex")


def create(api: ApiClient, document: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/workflows", body=document)
    assert response.status == 201, response.text
    return dict(response.json)


def trigger(api: ApiClient, workflow_id: str, parameters: Any = None, **kwargs: Any) -> Any:
    body = {} if parameters is None else {"parameters": parameters}
    return api.post(f"/api/workflows/{workflow_id}/trigger", body=body, **kwargs)


def sfn_executions(platform: Platform, workflow_id: str) -> list[dict[str, Any]]:
    arn = next(
        m["stateMachineArn"]
        for m in platform.sfn.list_state_machines()["stateMachines"]
        if workflow_id in m["name"]
    )
    return list(platform.sfn.list_executions(stateMachineArn=arn)["executions"])


# --------------------------------------------------------------------------------- the seed example


def test_seed_example_as_written_is_refused_with_exactly_what_to_add(api: ApiClient) -> None:
    # Given the seed's "Send Welcome Email" document, which names no recipient
    # When it is posted
    response = api.post("/api/workflows", body=SEED_AS_WRITTEN)

    # Then 400 names the field and the exact line to add, and nothing was created
    assert response.status == 400
    error = response.json["error"]
    assert error["code"] == "invalid_workflow"
    assert error["details"] == [
        {"field": "steps[0].config.to", "message": 'is required; add "to": "{{ params.email }}"'}
    ]
    assert api.get("/api/workflows").json["items"] == []


def test_seed_example_runs_end_to_end_through_the_api(api: ApiClient, platform: Platform) -> None:
    # Given the seed workflow with the recipient the 400 asked for
    created = api.post("/api/workflows", body=SEED_WITH_RECIPIENT)
    assert created.status == 201, created.text
    workflow = created.json
    assert created.header("Location").endswith(f"/api/workflows/{workflow['id']}")
    assert [step["action"] for step in workflow["steps"]] == ["send_email"]  # normalised to steps

    # When it is triggered with the seed's parameters
    triggered = trigger(api, workflow["id"], SEED_PARAMETERS)

    # Then 202 points at the run, which succeeds and sends the rendered message to the customer
    assert triggered.status == 202, triggered.text
    body = triggered.json
    assert body["status"] == "RUNNING"
    assert body["trace_id"].startswith("1-")
    assert body["status_url"].endswith(f"/api/executions/{body['execution_id']}")
    assert triggered.header("Location") == body["status_url"]
    assert triggered.header("X-Request-Id") == api.sent[-1]["requestContext"]["requestId"]
    execution = wait_for_end(api, platform.feed, body["execution_id"])
    assert execution["status"] == "SUCCEEDED", execution["failure"]
    assert execution["parameters"] == SEED_PARAMETERS
    assert execution["trace_id"] == body["trace_id"]
    [step] = execution["steps"]
    assert step["step_id"] == "send_email" and step["status"] == "SUCCEEDED" and step["attempts"] == 1
    assert step["output"]["to"] == ["alex@example.com"]
    assert step["output"]["message"] == "Welcome Alex! Your pro plan is ready."
    [email] = ses_backends[ACCOUNT][REGION].sent_messages
    assert email.body == "Welcome Alex! Your pro plan is ready."


def test_a_run_shows_the_rendered_message_in_its_step_output(api: ApiClient, platform: Platform) -> None:
    # Given the seed's message in a log step, in the seed's single-action shape
    workflow = create(api, {**SEED_AS_WRITTEN, "action": "log"})

    # When it is triggered without the optional plan
    execution_id = trigger(api, workflow["id"], {"customer_name": "Alex", "email": "a@example.com"}).json[
        "execution_id"
    ]

    # Then the step output holds the message rendered with the default plan, with timings
    execution = wait_for_end(api, platform.feed, execution_id)
    assert execution["status"] == "SUCCEEDED"
    [step] = execution["steps"]
    assert step["output"] == {"message": "Welcome Alex! Your free plan is ready."}
    assert step["duration_ms"] is not None and execution["duration_ms"] >= step["duration_ms"]
    assert execution["finished_at"] >= execution["started_at"]


# --------------------------------------------------------------------------------- workflows CRUD


def test_workflow_crud_with_versions(api: ApiClient) -> None:
    # Given a created workflow
    workflow = create(api, GREETING)
    path = f"/api/workflows/{workflow['id']}"

    # When it is read, replaced with the right If-Match, then with a stale one, then deleted
    read = api.get(path)
    changed = {**GREETING, "description": "now described"}
    updated = api.put(path, body=changed, headers={"If-Match": '"1"'})
    stale = api.put(path, body=changed, headers={"If-Match": "1"})
    deleted = api.delete(path)

    # Then each answers as HTTP says it should
    assert read.status == 200 and read.json == workflow and read.header("ETag") == '"1"'
    assert updated.status == 200, updated.text
    assert updated.json["version"] == 2 and updated.json["description"] == "now described"
    assert updated.header("ETag") == '"2"'
    assert stale.status == 409 and stale.json["error"]["code"] == "workflow_conflict"
    assert deleted.status == 204 and deleted.text == ""
    assert api.get(path).status == 404
    assert api.delete(path).status == 404


def test_put_without_if_match_updates_and_a_malformed_if_match_is_a_400(api: ApiClient) -> None:
    # Given a workflow
    workflow = create(api, GREETING)
    path = f"/api/workflows/{workflow['id']}"

    # When it is replaced without If-Match, and with a malformed one
    plain = api.put(path, body={**GREETING, "name": "Renamed"})
    malformed = api.put(path, body=GREETING, headers={"If-Match": "version-two"})

    # Then the first wins and the second names the header
    assert plain.status == 200 and plain.json["name"] == "Renamed"
    assert malformed.status == 400
    assert malformed.json["error"]["details"][0]["field"] == "If-Match"


def test_put_with_an_invalid_document_lists_every_problem(api: ApiClient) -> None:
    # Given a workflow
    workflow = create(api, GREETING)

    # When it is replaced by a document with two problems
    response = api.put(
        f"/api/workflows/{workflow['id']}",
        body={"name": "", "steps": [{"id": "x", "action": "no_such_action"}]},
    )

    # Then both are listed with their paths, and the workflow is unchanged
    assert response.status == 400
    fields = {detail["field"] for detail in response.json["error"]["details"]}
    assert {"name", "steps[0].action"} <= fields
    assert api.get(f"/api/workflows/{workflow['id']}").json["version"] == 1


def test_workflows_list_newest_first_in_pages(api: ApiClient) -> None:
    # Given three workflows
    ids = [create(api, {**GREETING, "name": f"wf {n}"})["id"] for n in range(3)]

    # When they are listed two at a time
    first = api.get("/api/workflows", query={"limit": "2"})
    second = api.get("/api/workflows", query={"limit": "2", "next_token": first.json["next_token"]})

    # Then the pages hold all three, newest first, and the last page has no token
    assert first.status == 200 and second.status == 200
    listed = [w["id"] for w in first.json["items"] + second.json["items"]]
    assert listed == list(reversed(ids))
    assert second.json["next_token"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "99999999999999999999999"}, "limit"),
        ({"next_token": "not-a-token"}, "next_token"),
        ({"next_token": "eyJwayI6IngifQ"}, "next_token"),
    ],
)
def test_bad_pagination_is_a_400_naming_the_parameter(
    api: ApiClient, query: dict[str, str], field: str
) -> None:
    # Given a tenant with a workflow (so an execution list exists too)
    workflow = create(api, GREETING)

    # When both lists are asked for with a bad page parameter
    for path in ("/api/workflows", f"/api/workflows/{workflow['id']}/executions"):
        response = api.get(path, query=query)

        # Then 400 names that parameter
        assert response.status == 400, (path, response.text)
        assert [d["field"] for d in response.json["error"]["details"]] == [field]


def test_a_next_token_from_another_tenant_is_refused(api: ApiClient, other_api: ApiClient) -> None:
    # Given a token from acme's listing
    for n in range(2):
        create(api, {**GREETING, "name": f"wf {n}"})
    token = api.get("/api/workflows", query={"limit": "1"}).json["next_token"]

    # When globex presents it
    response = other_api.get("/api/workflows", query={"next_token": token})

    # Then it does not page through acme's workflows
    assert response.status == 400
    assert response.json["error"]["details"][0]["field"] == "next_token"


# --------------------------------------------------------------------------------- triggering


def test_trigger_lists_every_parameter_problem(api: ApiClient) -> None:
    # Given the seed workflow
    workflow = create(api, SEED_WITH_RECIPIENT)

    # When it is triggered with a missing, a mistyped and an unknown parameter
    response = trigger(api, workflow["id"], {"email": 42, "colour": "red"})

    # Then one 400 names all three
    assert response.status == 400
    assert response.json["error"]["code"] == "invalid_parameters"
    assert {(d["field"], d["message"]) for d in response.json["error"]["details"]} == {
        ("parameters.customer_name", "is required"),
        ("parameters.email", "must be a string, got integer 42"),
        ("parameters.colour", "is not a defined parameter"),
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [({"parameters": 5}, "parameters"), ({"parameters": []}, "parameters"), ({"params": {}}, "params")],
)
def test_trigger_body_shape_problems_name_the_field(api: ApiClient, body: Any, field: str) -> None:
    # Given a workflow
    workflow = create(api, GREETING)

    # When the trigger body has the wrong shape
    response = api.post(f"/api/workflows/{workflow['id']}/trigger", body=body)

    # Then 400 names the field
    assert response.status == 400
    assert [d["field"] for d in response.json["error"]["details"]] == [field]


def test_trigger_without_a_body_runs_with_defaults(api: ApiClient, platform: Platform) -> None:
    # Given a workflow whose only parameter has a default
    workflow = create(
        api,
        {**GREETING, "parameters": [{"name": "who", "type": "string", "default": "world"}]},
    )

    # When it is triggered with no body at all
    response = api.post(f"/api/workflows/{workflow['id']}/trigger")

    # Then it runs with the default
    assert response.status == 202, response.text
    execution = wait_for_end(api, platform.feed, response.json["execution_id"])
    assert execution["steps"][0]["output"] == {"message": "Hello world!"}


def test_an_inactive_workflow_cannot_be_triggered(api: ApiClient) -> None:
    # Given an inactive workflow
    workflow = create(api, {**GREETING, "is_active": False})

    # When it is triggered
    response = trigger(api, workflow["id"], {"who": "x"})

    # Then 409 says why
    assert response.status == 409
    assert response.json["error"]["code"] == "workflow_inactive"


# --------------------------------------------------------------------------------- idempotency


def test_the_same_idempotency_key_and_body_start_one_run(api: ApiClient, platform: Platform) -> None:
    # Given a workflow
    workflow = create(api, GREETING)
    headers = {"Idempotency-Key": "order-42"}

    # When the same request is sent twice with the same key
    first = trigger(api, workflow["id"], {"who": "Ada"}, headers=headers)
    second = trigger(api, workflow["id"], {"who": "Ada"}, headers=headers)

    # Then both answer the same execution, the second marked as a replay, and one run exists
    assert first.status == 202 and second.status == 202, (first.text, second.text)
    assert second.json == first.json
    assert first.header("Idempotent-Replayed") is None
    assert second.header("Idempotent-Replayed") == "true"
    wait_for_end(api, platform.feed, first.json["execution_id"])
    assert len(sfn_executions(platform, workflow["id"])) == 1
    listed = api.get(f"/api/workflows/{workflow['id']}/executions").json["items"]
    assert [item["id"] for item in listed] == [first.json["execution_id"]]


def test_the_same_idempotency_key_with_another_body_is_refused(api: ApiClient, platform: Platform) -> None:
    # Given a run started with a key
    workflow = create(api, GREETING)
    headers = {"Idempotency-Key": "order-43"}
    first = trigger(api, workflow["id"], {"who": "Ada"}, headers=headers)

    # When the key is reused with different parameters
    reused = trigger(api, workflow["id"], {"who": "Grace"}, headers=headers)

    # Then 422, and still only the first run exists
    assert first.status == 202
    assert reused.status == 422
    assert reused.json["error"]["code"] == "idempotency_key_reused"
    wait_for_end(api, platform.feed, first.json["execution_id"])
    assert len(sfn_executions(platform, workflow["id"])) == 1


def test_a_rejected_request_does_not_use_up_its_idempotency_key(api: ApiClient) -> None:
    # Given a request refused for its parameters
    workflow = create(api, GREETING)
    headers = {"Idempotency-Key": "retry-me"}
    refused = trigger(api, workflow["id"], {"who": 7}, headers=headers)

    # When the corrected request is sent with the same key
    corrected = trigger(api, workflow["id"], {"who": "Ada"}, headers=headers)

    # Then it starts a run
    assert refused.status == 400
    assert corrected.status == 202 and corrected.header("Idempotent-Replayed") is None


def test_idempotency_keys_are_per_tenant(api: ApiClient, other_api: ApiClient) -> None:
    # Given two tenants with a workflow each
    mine, theirs = create(api, GREETING), create(other_api, GREETING)

    # When both use the same key
    a = trigger(api, mine["id"], {"who": "a"}, headers={"Idempotency-Key": "shared"})
    b = trigger(other_api, theirs["id"], {"who": "b"}, headers={"Idempotency-Key": "shared"})

    # Then each starts its own run
    assert a.status == 202 and b.status == 202
    assert a.json["execution_id"] != b.json["execution_id"]
    assert b.header("Idempotent-Replayed") is None


def test_an_overlong_idempotency_key_is_a_400(api: ApiClient) -> None:
    # Given a workflow
    workflow = create(api, GREETING)

    # When the key is longer than 255 characters
    response = trigger(api, workflow["id"], {"who": "a"}, headers={"Idempotency-Key": "k" * 256})

    # Then 400 names the header
    assert response.status == 400
    assert response.json["error"]["details"][0]["field"] == "Idempotency-Key"


# --------------------------------------------------------------------------------- executions


def test_cancel_stops_a_running_execution(api: ApiClient, platform: Platform) -> None:
    # Given a run waiting in a native Wait state
    workflow = create(api, PAUSE)
    execution_id = trigger(api, workflow["id"]).json["execution_id"]

    # When it is cancelled, then cancelled again
    cancelled = api.post(f"/api/executions/{execution_id}/cancel")
    again = api.post(f"/api/executions/{execution_id}/cancel")

    # Then it ended ABORTED (in Step Functions too) and the second cancel is a 409
    assert cancelled.status == 200, cancelled.text
    assert cancelled.json["status"] == "ABORTED"
    assert cancelled.json["failure"]["error"] == "GoFlow.Cancelled"
    [run] = sfn_executions(platform, workflow["id"])
    assert run["status"] == "ABORTED"
    assert again.status == 409 and again.json["error"]["code"] == "execution_finished"
    platform.feed.wait_idle()
    assert api.get(f"/api/executions/{execution_id}").json["status"] == "ABORTED"


def test_cancelling_a_finished_execution_is_a_409(api: ApiClient, platform: Platform) -> None:
    # Given a finished run
    workflow = create(api, GREETING)
    execution_id = trigger(api, workflow["id"], {"who": "x"}).json["execution_id"]
    wait_for_end(api, platform.feed, execution_id)

    # When it is cancelled
    response = api.post(f"/api/executions/{execution_id}/cancel")

    # Then 409 and its status is unchanged
    assert response.status == 409
    assert api.get(f"/api/executions/{execution_id}").json["status"] == "SUCCEEDED"


def test_a_workflows_executions_are_listed_newest_first(api: ApiClient, platform: Platform) -> None:
    # Given three runs of one workflow
    workflow = create(api, GREETING)
    ids = [trigger(api, workflow["id"], {"who": str(n)}).json["execution_id"] for n in range(3)]
    for execution_id in ids:
        wait_for_end(api, platform.feed, execution_id)

    # When they are listed two per page
    path = f"/api/workflows/{workflow['id']}/executions"
    first = api.get(path, query={"limit": "2"})
    second = api.get(path, query={"limit": "2", "next_token": first.json["next_token"]})

    # Then newest first, all three, finished
    listed = first.json["items"] + second.json["items"]
    assert [item["id"] for item in listed] == list(reversed(ids))
    assert {item["status"] for item in listed} == {"SUCCEEDED"}
    assert second.json["next_token"] is None


def test_an_execution_links_to_its_trace_and_logs_in_aws(api: ApiClient, platform: Platform) -> None:
    # Given a finished run
    workflow = create(api, GREETING)
    execution_id = trigger(api, workflow["id"], {"who": "x"}).json["execution_id"]
    execution = wait_for_end(api, platform.feed, execution_id)
    trace_id = execution["trace_id"]

    # When it is read by a function whose ARN places it in AWS, and by one whose ARN does not
    in_aws = api.get(f"/api/executions/{execution_id}").json["links"]
    event = copy.deepcopy(api.sent[-1])
    elsewhere = api.send(event, lambda_context(arn="local")).json["links"]

    # Then only the first has console links: the X-Ray trace, and a Logs Insights query for the trace id
    assert in_aws["self"].endswith(f"/api/executions/{execution_id}")
    assert in_aws["workflow"].endswith(f"/api/workflows/{workflow['id']}")
    assert in_aws["xray"] == (
        f"https://us-east-1.console.aws.amazon.com/xray/home?region=us-east-1#/traces/{trace_id}"
    )
    prefix = "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:logs-insights"
    assert in_aws["logs_insights"].startswith(prefix + "$3FqueryDetail$3D$257E$2528end$257E$2527")
    detail = unquote(unquote(in_aws["logs_insights"][len(prefix) :].replace("$", "%"))).replace("*", "%")
    assert f'filter trace_id = "{trace_id}"' in unquote(detail)
    assert "/aws/lambda/goflow-test-executor" in unquote(detail)
    assert elsewhere["xray"] is None and elsewhere["logs_insights"] is None


# --------------------------------------------------------------------------------- tenants


def test_another_tenants_ids_answer_exactly_like_missing_ones(
    api: ApiClient, other_api: ApiClient, platform: Platform
) -> None:
    # Given acme's workflow and run, and ids that exist nowhere
    workflow = create(api, PAUSE)
    execution_id = trigger(api, workflow["id"]).json["execution_id"]
    missing_workflow, missing_execution = "wf_" + "0" * 26, "ex_" + "0" * 26

    # When globex addresses acme's ids, and the missing ones
    def probes(wf: str, ex: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [
            ("GET", f"/api/workflows/{wf}", {}),
            ("PUT", f"/api/workflows/{wf}", {"body": GREETING}),
            ("DELETE", f"/api/workflows/{wf}", {}),
            ("POST", f"/api/workflows/{wf}/trigger", {"body": {}}),
            ("GET", f"/api/workflows/{wf}/executions", {}),
            ("GET", f"/api/executions/{ex}", {}),
            ("POST", f"/api/executions/{ex}/cancel", {}),
        ]

    foreign = [other_api.request(m, p, **kw) for m, p, kw in probes(workflow["id"], execution_id)]
    missing = [other_api.request(m, p, **kw) for m, p, kw in probes(missing_workflow, missing_execution)]

    # Then every answer is the same 404, with only the id differing
    for theirs, nothing in zip(foreign, missing, strict=True):
        assert theirs.status == nothing.status == 404
        normalised = theirs.text.replace(workflow["id"], missing_workflow).replace(
            execution_id, missing_execution
        )
        assert normalised == nothing.text
    # And acme's workflow and run are untouched, and globex lists nothing
    assert api.get(f"/api/workflows/{workflow['id']}").status == 200
    assert api.get(f"/api/executions/{execution_id}").json["status"] == "RUNNING"
    assert other_api.get("/api/workflows").json["items"] == []


def test_malformed_ids_answer_like_missing_ones(api: ApiClient) -> None:
    # Given ids that cannot be GoFlow ids
    malformed = ["wf_bad", "WF_" + "0" * 26, "..", "wf_" + "0" * 25 + "%2F", "%2e%2e%2fetc%2fpasswd", "ex_x"]

    # When they are used in every workflow and execution path
    for bad in malformed:
        workflow = api.get(f"/api/workflows/{bad}")
        execution = api.get(f"/api/executions/{bad}")

        # Then 404 in the same words as for a missing id
        assert workflow.status == 404 and workflow.json["error"] == {
            "code": "workflow_not_found",
            "message": f"Workflow {bad} not found",
            "details": [],
        }
        assert execution.status == 404 and execution.json["error"]["code"] == "execution_not_found"


# --------------------------------------------------------------------------------- connectors, system


def test_connectors_lists_builtins_with_schemas_and_plugin_problems(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the built-ins plus a plugin that failed to load
    registry = ConnectorRegistry.of(composition.default_registry().all())
    registry.problems.append(PluginProblem("broken-plugin", "ImportError: no module named broken"))
    monkeypatch.setattr("goflow.http.routers.connectors.default_registry", lambda: registry)

    # When the connectors are listed
    response = api.get("/api/connectors")

    # Then each built-in has metadata and a config JSON Schema, and the broken plugin is reported
    assert response.status == 200
    connectors = {c["name"]: c for c in response.json["connectors"]}
    assert {"send_email", "http_request", "log", "wait", "transform"} <= set(connectors)
    assert "to" in connectors["send_email"]["config_schema"]["properties"]
    assert connectors["log"]["source"] == "builtin"
    assert response.json["problems"] == [
        {"plugin": "broken-plugin", "error": "ImportError: no module named broken"}
    ]


def test_health_openapi_and_docs_need_no_key(platform: Platform) -> None:
    # Given a client without a key
    anonymous = ApiClient(api_handler())

    # When the public routes are read
    health = anonymous.get("/api/health")
    openapi = anonymous.get("/api/openapi.json")
    docs = anonymous.get("/api/docs")

    # Then all answer: health, the OpenAPI 3.1 document, and Swagger UI embedding it
    assert health.status == 200 and health.json["status"] == "ok"
    assert openapi.status == 200 and openapi.json["openapi"].startswith("3.1")
    assert docs.status == 200 and docs.header("Content-Type").startswith("text/html")
    assert "swagger-ui" in docs.text and "/api/workflows/{workflow_id}/trigger" in docs.text


def test_metrics_are_emitted_for_created_workflows_and_started_runs(
    api: ApiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a created workflow
    workflow = create(api, GREETING)

    # When it is triggered
    trigger(api, workflow["id"], {"who": "x"})

    # Then EMF metrics for both events were printed
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for doc in emitted for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"WorkflowCreated", "ExecutionStarted"} <= names
