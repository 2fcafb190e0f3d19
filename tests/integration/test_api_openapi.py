"""The served OpenAPI document: complete, self-consistent, and true to what the API really answers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.integration.api_client import ApiClient, ApiResponse, api_handler, tenant_client, wait_for_end
from tests.integration.platform import Platform

# DESIGN.md's route table (webhooks come with a later issue), as OpenAPI path templates.
ROUTES = {
    ("post", "/api/workflows"),
    ("get", "/api/workflows"),
    ("get", "/api/workflows/{workflow_id}"),
    ("put", "/api/workflows/{workflow_id}"),
    ("delete", "/api/workflows/{workflow_id}"),
    ("post", "/api/workflows/{workflow_id}/trigger"),
    ("get", "/api/workflows/{workflow_id}/executions"),
    ("get", "/api/executions/{execution_id}"),
    ("post", "/api/executions/{execution_id}/cancel"),
    ("get", "/api/connectors"),
    ("get", "/api/health"),
}
PUBLIC = {("get", "/api/health")}
GREETING: dict[str, Any] = {
    "name": "Greeting",
    "parameters": [{"name": "who", "type": "string", "required": True}],
    "steps": [{"id": "greet", "action": "log", "config": {"message": "Hello {{ params.who }}!"}}],
}


pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture
def api(platform: Platform) -> ApiClient:
    return tenant_client("acme")


@pytest.fixture
def document(platform: Platform) -> dict[str, Any]:
    response = ApiClient(api_handler()).get("/api/openapi.json")
    assert response.status == 200
    return dict(response.json)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": document["components"]})


def response_schema(document: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The schema the document declares for ``method path`` answering ``status``."""
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            responses = item[method.lower()]["responses"]
            assert str(status) in responses, f"{method} {template} does not document {status}"
            return dict(responses[str(status)]["content"]["application/json"]["schema"])
    raise AssertionError(f"{method} {path} is not in the document")


def test_the_document_is_openapi_31_and_covers_the_route_table(document: dict[str, Any]) -> None:
    # Given the served document
    # When its operations are listed
    listed = {(method, path) for method, path, _ in operations(document)}

    # Then it is OpenAPI 3.1 with exactly DESIGN.md's routes and a bearer security scheme
    assert document["openapi"] == "3.1.0"
    assert listed == ROUTES
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "gf_<43 characters>",
        "description": document["components"]["securitySchemes"]["apiKey"]["description"],
    }


def test_every_reference_resolves_and_every_error_is_an_error_response(document: dict[str, Any]) -> None:
    # Given the served document
    schemas = document["components"]["schemas"]

    # When its references and its error responses are inspected
    dangling = {ref for ref in refs(document) if ref.removeprefix("#/components/schemas/") not in schemas}
    errors = {
        (method, path, status): response["content"]["application/json"]["schema"]
        for method, path, operation in operations(document)
        for status, response in operation["responses"].items()
        if int(status) >= 400
    }

    # Then nothing dangles, no Powertools 422 remains, and every error status is ErrorResponse
    assert dangling == set()
    assert "HTTPValidationError" not in json.dumps(document)
    assert errors and all(
        schema == {"$ref": "#/components/schemas/ErrorResponse"} for schema in errors.values()
    )
    for method, path, operation in operations(document):
        statuses = set(operation["responses"])
        if (method, path) not in PUBLIC:
            assert operation["security"] == [{"apiKey": []}], (method, path)
            assert "401" in statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if (
            method in ("post", "put")
            and path.endswith(("workflows", "}", "trigger"))
            and "cancel" not in path
        ):
            assert {"400", "413"} <= statuses, (method, path)
    trigger = document["paths"]["/api/workflows/{workflow_id}/trigger"]["post"]["responses"]
    assert {"202", "400", "404", "409", "422"} <= set(trigger)
    assert "409" in document["paths"]["/api/executions/{execution_id}/cancel"]["post"]["responses"]
    assert "409" in document["paths"]["/api/workflows/{workflow_id}"]["put"]["responses"]


def test_the_documented_request_examples_are_accepted(api: ApiClient, document: dict[str, Any]) -> None:
    # Given the examples the request schema documents (the canonical shape and the seed shape)
    examples = document["components"]["schemas"]["CreateWorkflowRequest"]["examples"]
    assert len(examples) == 2

    # When each is posted
    responses = [api.post("/api/workflows", body=example) for example in examples]

    # Then each is created and comes back in the canonical shape the document describes
    for response in responses:
        assert response.status == 201, response.text
        validator(document, response_schema(document, "POST", "/api/workflows", 201)).validate(response.json)


def test_real_responses_match_the_document(
    api: ApiClient, platform: Platform, document: dict[str, Any]
) -> None:
    # Given a workflow, a finished run and a running one
    created = api.post("/api/workflows", body=GREETING)
    workflow_id = created.json["id"]
    done = api.post(f"/api/workflows/{workflow_id}/trigger", body={"parameters": {"who": "a"}})
    wait_for_end(api, platform.feed, done.json["execution_id"])
    pause = api.post(
        "/api/workflows",
        body={"name": "p", "steps": [{"id": "p", "action": "wait", "config": {"seconds": 60}}]},
    )
    running = api.post(f"/api/workflows/{pause.json['id']}/trigger")
    wf, ex = f"/api/workflows/{workflow_id}", f"/api/executions/{done.json['execution_id']}"

    # When every route is exercised, successfully and unsuccessfully
    exchanges: list[tuple[str, str, ApiResponse]] = [
        ("POST", "/api/workflows", created),
        ("POST", f"{wf}/trigger", done),
        ("GET", "/api/workflows", api.get("/api/workflows", query={"limit": "1"})),
        ("GET", wf, api.get(wf)),
        ("PUT", wf, api.put(wf, body={**GREETING, "description": "d"}, headers={"If-Match": "1"})),
        ("GET", f"{wf}/executions", api.get(f"{wf}/executions")),
        ("GET", ex, api.get(ex)),
        (
            "POST",
            f"/api/executions/{running.json['execution_id']}/cancel",
            api.post(f"/api/executions/{running.json['execution_id']}/cancel"),
        ),
        ("GET", "/api/connectors", api.get("/api/connectors")),
        ("GET", "/api/health", api.get("/api/health")),
        ("POST", "/api/workflows", api.post("/api/workflows", body={"name": "x", "action": "send_email"})),
        ("GET", "/api/workflows", api.as_key(None).get("/api/workflows")),
        ("GET", "/api/workflows", api.get("/api/workflows", query={"next_token": "bad"})),
        ("GET", "/api/workflows/wf_missing", api.get("/api/workflows/wf_missing")),
        ("PUT", wf, api.put(wf, body=GREETING, headers={"If-Match": "1"})),
        ("POST", f"{wf}/trigger", api.post(f"{wf}/trigger", body={"parameters": {}})),
        (
            "POST",
            f"{wf}/trigger",
            api.post(f"{wf}/trigger", body={"parameters": {"who": "a"}}, headers={"Idempotency-Key": "k"}),
        ),
        (
            "POST",
            f"{wf}/trigger",
            api.post(f"{wf}/trigger", body={"parameters": {"who": "b"}}, headers={"Idempotency-Key": "k"}),
        ),
        ("POST", f"{ex}/cancel", api.post(f"{ex}/cancel")),
        ("POST", "/api/workflows", api.post("/api/workflows", raw_body="x" * (1024 * 1024 + 1))),
        (
            "POST",
            "/api/workflows",
            api.post("/api/workflows", raw_body="<x/>", headers={"Content-Type": "text/xml"}),
        ),
    ]
    api.delete(f"/api/workflows/{pause.json['id']}")

    # Then every answer has a status the route documents, and a body its schema accepts
    seen = set()
    for method, path, response in exchanges:
        validator(document, response_schema(document, method, path, response.status)).validate(response.json)
        seen.add(response.status)
    assert {200, 201, 202, 400, 401, 404, 409, 413, 415, 422} <= seen
