"""What the API answers to requests it cannot serve: 401, 404, 405, 413, 415, malformed input.

No input a client can send may produce a 5xx, and every error has the documented envelope.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from goflow import composition
from goflow.local.lambdas import load_handler
from goflow.store.apikeys import new_api_key
from goflow.workflows.service import WorkflowService
from tests.integration.api_client import ROOT, ApiClient, api_handler, http_event, tenant_client
from tests.integration.platform import Platform, running_platform

GREETING: dict[str, Any] = {
    "name": "Greeting",
    "parameters": [
        {"name": "who", "type": "string", "required": True},
        {"name": "count", "type": "integer", "default": 1},
    ],
    "steps": [{"id": "greet", "action": "log", "config": {"message": "Hello {{ params.who }}!"}}],
}
WELL_FORMED_WF = "wf_" + "0" * 26
WELL_FORMED_EX = "ex_" + "0" * 26


pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


# One platform for the module: these tests only read, or write what no other test looks at.
@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    with pytest.MonkeyPatch.context() as monkeypatch, running_platform(monkeypatch) as running:
        yield running


@pytest.fixture(scope="module")
def api(platform: Platform) -> ApiClient:
    return tenant_client("acme")


@pytest.fixture(scope="module")
def workflow_id(api: ApiClient) -> str:
    response = api.post("/api/workflows", body=GREETING)
    assert response.status == 201, response.text
    return str(response.json["id"])


@pytest.fixture(scope="module")
def scratch_workflow_id(api: ApiClient) -> str:
    """A workflow the malformed-document tests may overwrite (some odd documents are valid)."""
    response = api.post("/api/workflows", body=GREETING)
    assert response.status == 201, response.text
    return str(response.json["id"])


@pytest.fixture(scope="module")
def error_schema(api: ApiClient) -> Draft202012Validator:
    """The ErrorResponse schema from the served OpenAPI document."""
    document = api.get("/api/openapi.json").json
    return Draft202012Validator(
        {"$ref": "#/components/schemas/ErrorResponse", "components": document["components"]}
    )


def assert_error(response: Any, status: int, code: str, schema: Draft202012Validator) -> dict[str, Any]:
    assert response.status == status, response.text
    assert response.header("Content-Type") == "application/json"
    schema.validate(response.json)
    assert response.json["error"]["code"] == code, response.text
    return dict(response.json["error"])


# --------------------------------------------------------------------------------- 401


def test_a_request_without_a_key_is_a_401_with_a_bearer_challenge(
    api: ApiClient, error_schema: Draft202012Validator
) -> None:
    # Given no Authorization header
    anonymous = api.as_key(None)

    # When a workflow route is called
    response = anonymous.get("/api/workflows")

    # Then 401 with the challenge RFC 6750 asks for
    assert_error(response, 401, "unauthorized", error_schema)
    assert response.header("WWW-Authenticate") == 'Bearer realm="goflow"'


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer " + new_api_key(),  # well-formed but unknown
        "Bearer gf_short",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "gf_" + "a" * 43,
        "Bearer " + "x" * 10_000,
        "Bearer gf_" + "é" * 43,
    ],
)
def test_a_wrong_key_is_a_401_invalid_token(
    api: ApiClient, error_schema: Draft202012Validator, authorization: str
) -> None:
    # Given a wrong Authorization header
    # When a workflow route is called
    response = api.as_key(None).get("/api/workflows", headers={"Authorization": authorization})

    # Then 401, saying the token is invalid but not why
    error = assert_error(response, 401, "invalid_api_key", error_schema)
    assert error["message"] == "The API key is not valid"
    assert response.header("WWW-Authenticate") == 'Bearer realm="goflow", error="invalid_token"'


def test_a_revoked_key_stops_working_at_once(platform: Platform, error_schema: Draft202012Validator) -> None:
    # Given a key that works
    repository = composition.api_key_repository()
    key_id, key = repository.create("acme", label="laptop")
    client = ApiClient(api_handler(), key)
    assert client.get("/api/workflows").status == 200

    # When it is revoked
    repository.revoke(key_id)

    # Then it is refused like any wrong key
    assert_error(client.get("/api/workflows"), 401, "invalid_api_key", error_schema)


def test_the_scheme_is_case_insensitive(api: ApiClient) -> None:
    # Given a valid key sent with a lower-case scheme
    assert api.key is not None

    # When it is used
    response = api.as_key(None).get("/api/workflows", headers={"authorization": f"bearer {api.key}"})

    # Then it is accepted
    assert response.status == 200


def test_every_secured_route_refuses_an_anonymous_caller_before_reading_its_input(
    api: ApiClient, error_schema: Draft202012Validator
) -> None:
    # Given every operation the OpenAPI document declares as needing the API key
    document = api.get("/api/openapi.json").json
    secured = [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    ]
    assert len(secured) == 10

    # When each is called without a key, with an invalid body and query
    for method, template in secured:
        path = template.replace("{workflow_id}", WELL_FORMED_WF).replace("{execution_id}", WELL_FORMED_EX)
        response = api.as_key(None).request(method, path, raw_body="{not json", query={"limit": "0"})

        # Then 401, not 400 or 404
        assert_error(response, 401, "unauthorized", error_schema)


def test_the_key_is_never_logged(
    platform: Platform,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the handler loaded while Powertools is told to log events, a valid key and a wrong one
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    handler = load_handler(ROOT / "functions" / "api", "app.handler", "goflow_fn_api_log_event_on")
    sys.modules.pop("goflow_fn_api_log_event_on")  # loaded afresh, with this environment, every run
    _, key = composition.api_key_repository().create("acme")
    wrong = new_api_key()
    client = ApiClient(handler, key)

    # When requests succeed and fail with them
    client.post("/api/workflows", body=GREETING)
    client.get("/api/workflows")
    client.as_key(wrong).get("/api/workflows")
    client.get("/api/nope")

    # Then neither key appears in anything written or logged
    written = capfd.readouterr()
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "request handled" in written.out + logged
    for secret in (key, wrong, key[3:], wrong[3:]):
        assert secret not in written.out and secret not in written.err and secret not in logged


# --------------------------------------------------------------------------------- 404, 405


def test_an_unknown_route_is_a_json_404(api: ApiClient, error_schema: Draft202012Validator) -> None:
    # Given paths no route serves
    for path in ("/api/nope", "/api", "/", "/api/workflows/x/y/z", "/api/hooks/wf_x"):
        # When they are requested
        response = api.get(path)

        # Then a JSON 404
        assert_error(response, 404, "route_not_found", error_schema)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/api/workflows", "GET, POST"),
        ("DELETE", "/api/workflows", "GET, POST"),
        ("POST", f"/api/workflows/{WELL_FORMED_WF}", "DELETE, GET, PUT"),
        ("GET", f"/api/workflows/{WELL_FORMED_WF}/trigger", "POST"),
        ("DELETE", f"/api/executions/{WELL_FORMED_EX}", "GET"),
        ("GET", f"/api/executions/{WELL_FORMED_EX}/cancel", "POST"),
        ("POST", "/api/health", "GET"),
        ("HEAD", "/api/connectors", "GET"),
    ],
)
def test_a_wrong_method_is_a_json_405_with_allow(
    api: ApiClient, error_schema: Draft202012Validator, method: str, path: str, allowed: str
) -> None:
    # Given a path that exists for other methods
    # When it is called with this one
    response = api.request(method, path)

    # Then 405 names the methods that work
    assert_error(response, 405, "method_not_allowed", error_schema)
    assert response.header("Allow") == allowed


# --------------------------------------------------------------------------------- 413, 415


@pytest.mark.parametrize("as_base64", [False, True])
def test_a_body_over_one_megabyte_is_a_413(
    api: ApiClient, workflow_id: str, error_schema: Draft202012Validator, as_base64: bool
) -> None:
    # Given a body just over 1 MiB
    body = json.dumps({"parameters": {"who": "x" * (1024 * 1024)}})
    kwargs: dict[str, Any] = {"base64_body": body.encode()} if as_base64 else {"raw_body": body}

    # When it is posted to any route
    for path in ("/api/workflows", f"/api/workflows/{workflow_id}/trigger"):
        response = api.post(path, **kwargs)

        # Then 413
        assert_error(response, 413, "payload_too_large", error_schema)


def test_a_workflow_too_large_to_store_is_a_413_before_anything_is_deployed(
    api: ApiClient, platform: Platform, error_schema: Draft202012Validator
) -> None:
    # Given a workflow document of 500 KB (under the body limit, over what one item can hold)
    big = {
        **GREETING,
        "description": None,
        "steps": [dict(GREETING["steps"][0], config={"message": "x" * 500_000})],
    }

    machines = len(platform.sfn.list_state_machines()["stateMachines"])

    # When it is created
    response = api.post("/api/workflows", body=big)

    # Then 413 and no state machine was created
    assert_error(response, 413, "payload_too_large", error_schema)
    assert len(platform.sfn.list_state_machines()["stateMachines"]) == machines


def test_parameters_too_large_for_a_run_are_a_413(
    api: ApiClient, workflow_id: str, error_schema: Draft202012Validator
) -> None:
    # Given parameters of 300 KB (a run's whole state must fit Step Functions' 256 KiB)
    # When the workflow is triggered with them
    response = api.post(f"/api/workflows/{workflow_id}/trigger", body={"parameters": {"who": "x" * 300_000}})

    # Then 413 names the parameters
    error = assert_error(response, 413, "payload_too_large", error_schema)
    assert error["details"][0]["field"] == "parameters"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
    ],
)
@pytest.mark.parametrize("raw_body", ["name=x", None])
def test_a_body_that_is_not_json_is_a_415(
    api: ApiClient,
    workflow_id: str,
    error_schema: Draft202012Validator,
    content_type: str,
    raw_body: str | None,
) -> None:
    # Given a request declaring a media type other than JSON (with a body or none)
    # When it is sent to each route that takes a body
    for method, path in (
        ("POST", "/api/workflows"),
        ("PUT", f"/api/workflows/{workflow_id}"),
        ("POST", f"/api/workflows/{workflow_id}/trigger"),
    ):
        response = api.request(method, path, raw_body=raw_body, headers={"Content-Type": content_type})

        # Then 415 (Powertools' form and multipart parsers never see it)
        assert_error(response, 415, "unsupported_media_type", error_schema)


@pytest.mark.parametrize("body", [[GREETING], [{"parameters": {"who": "x"}}], None, "text"])
def test_a_body_must_be_a_json_object(
    api: ApiClient, workflow_id: str, error_schema: Draft202012Validator, body: Any
) -> None:
    # Given a JSON body that is not an object (Powertools alone would unwrap a one-element array)
    # When it is sent to each route that takes a body
    for method, path in (
        ("POST", "/api/workflows"),
        ("PUT", f"/api/workflows/{workflow_id}"),
        ("POST", f"/api/workflows/{workflow_id}/trigger"),
    ):
        response = api.request(method, path, body=body)

        # Then 400 about the body
        error = assert_error(response, 400, "malformed_request", error_schema)
        assert error["details"][0]["field"] == "body"


# --------------------------------------------------------------------------------- malformed input

_DEEP = "[" * 5000 + "]" * 5000
MALFORMED_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("syntax", {"raw_body": "{bad"}),
    ("truncated", {"raw_body": '{"name": "x", "steps": ['}),
    ("empty string", {"raw_body": ""}),
    ("whitespace", {"raw_body": "   "}),
    ("NaN", {"raw_body": '{"name": NaN}'}),
    ("Infinity", {"raw_body": '{"name": "x", "execution_timeout": Infinity}'}),
    ("overflowing float", {"raw_body": '{"name": "x", "execution_timeout": 1e999}'}),
    ("5000-digit integer", {"raw_body": '{"name": "x", "execution_timeout": ' + "9" * 5000 + "}"}),
    ("deep nesting", {"raw_body": '{"name": ' + _DEEP + "}"}),
    ("65 levels", {"raw_body": '{"name": "x", "description": ' + "[" * 65 + "]" * 65 + "}"}),
    ("lone surrogate value", {"raw_body": '{"name": "\\ud800"}'}),
    ("lone surrogate key", {"raw_body": '{"\\udfff": 1}'}),
    ("BOM", {"raw_body": '\ufeff{"name": "x"}'}),
    ("bad base64", {"raw_body": "!!!", "base64_body": None}),
    ("invalid UTF-8", {"base64_body": b'{"name": "\xff\xfe"}'}),
    ("array", {"body": []}),
    ("string", {"body": "a workflow"}),
    ("null", {"body": None}),
    ("number", {"body": 42}),
    ("wrong types", {"body": {"name": 5, "steps": "x", "parameters": {"a": 1}, "trigger": []}}),
    ("wrong nested types", {"body": {"name": "x", "steps": [{"id": 1, "action": ["log"], "config": "c"}]}}),
    (
        "huge numbers",
        {
            "body": {
                "name": "x",
                "execution_timeout": 10**30,
                "steps": [{"id": "s", "action": "wait", "config": {"seconds": 1e300}}],
            }
        },
    ),
    (
        "negative timeouts",
        {
            "body": {
                "name": "x",
                "execution_timeout": -5,
                "steps": [{"id": "s", "action": "log", "config": {"message": "m"}, "timeout_seconds": -1}],
            }
        },
    ),
    (
        "bad seed shapes",
        {
            "body": {
                "name": "x",
                "action": "log",
                "config_json": "{bad",
                "action_chain": "no",
                "trigger_type": 7,
            }
        },
    ),
    (
        "bad defaults",
        {
            "body": {
                "name": "x",
                "parameters": [{"name": "n", "type": "integer", "default_value": "ten"}],
                "action": "log",
                "config": {"message": "m"},
            }
        },
    ),
    (
        "bad schedule",
        {
            "body": {
                "name": "x",
                "trigger": {"type": "schedule", "expression": "cron(bad"},
                "action": "log",
                "config": {"message": "m"},
            }
        },
    ),
    ("bad template", {"body": {"name": "x", "action": "log", "config": {"message": "{{ params.[ }}"}}}),
    (
        "control characters",
        {"body": {"name": "\u0000\u0007", "action": "log", "config": {"message": "\u0000"}}},
    ),
    ("long name", {"body": {"name": "x" * 10_000, "action": "log", "config": {"message": "m"}}}),
    (
        "superscript-digit keys",
        {"body": {"name": "x", "¹": 1, "action": "log", "config": {"message": "m", "²": 2}}},
    ),
    (
        "many steps",
        {
            "body": {
                "name": "x",
                "steps": [{"id": f"s{n}", "action": "log", "config": {"message": "m"}} for n in range(500)],
            }
        },
    ),
    (
        "form encoded",
        {"raw_body": "name=x&steps=y", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ),
    ("xml", {"raw_body": "<workflow/>", "headers": {"Content-Type": "application/xml"}}),
]


@pytest.mark.parametrize(("label", "kwargs"), MALFORMED_BODIES, ids=[label for label, _ in MALFORMED_BODIES])
def test_malformed_workflow_documents_never_cause_a_5xx(
    api: ApiClient,
    scratch_workflow_id: str,
    error_schema: Draft202012Validator,
    label: str,
    kwargs: dict[str, Any],
) -> None:
    # Given a malformed body (bad base64 is sent as a raw body flagged as base64)
    flagged = kwargs.get("base64_body", b"") is None
    request = {k: v for k, v in kwargs.items() if k != "base64_body" or v is not None}
    request["headers"] = {**request.get("headers", {}), "Authorization": f"Bearer {api.key}"}

    # When it is sent to create and to replace a workflow
    for method, path in (("POST", "/api/workflows"), ("PUT", f"/api/workflows/{scratch_workflow_id}")):
        event = http_event(method, path, **request)
        if flagged:
            event["isBase64Encoded"] = True
        response = api.send(event)

        # Then never a 5xx, and any error is the documented envelope
        assert response.status < 500, (label, method, response.text)
        if response.status >= 400:
            error_schema.validate(response.json)


MALFORMED_TRIGGERS: list[tuple[str, dict[str, Any]]] = [
    ("parameters not an object", {"body": {"parameters": "who"}}),
    ("parameters a list", {"body": {"parameters": [1, 2]}}),
    ("unknown top-level field", {"body": {"parameters": {}, "extra": 1}}),
    ("wrong parameter types", {"body": {"parameters": {"who": 1e308, "count": "many"}}}),
    ("huge integer parameter", {"body": {"parameters": {"who": "x", "count": 10**4000}}}),
    ("float for integer", {"body": {"parameters": {"who": "x", "count": 1.5}}}),
    ("deep parameter", {"body": {"parameters": {"who": [[[[[[["x"]]]]]]]}}}),
    ("NUL in parameter", {"body": {"parameters": {"who": "\u0000"}}}),
    ("top-level array", {"body": [{"parameters": {"who": "x"}}]}),
    ("null", {"raw_body": "null"}),
    ("syntax", {"raw_body": '{"parameters": {'}),
    ("lone surrogate", {"raw_body": '{"parameters": {"who": "\\udc00"}}'}),
    # Found by schemathesis: a superscript digit is str.isdigit() but not int()-able (was a 500).
    ("superscript-digit names", {"body": {"parameters": {"who": "x", "³": 1, "¹": {"²": 2}}}}),
]


@pytest.mark.parametrize(
    ("label", "kwargs"), MALFORMED_TRIGGERS, ids=[label for label, _ in MALFORMED_TRIGGERS]
)
def test_malformed_trigger_requests_never_cause_a_5xx(
    api: ApiClient, workflow_id: str, error_schema: Draft202012Validator, label: str, kwargs: dict[str, Any]
) -> None:
    # Given a malformed trigger request
    # When it is sent
    response = api.post(f"/api/workflows/{workflow_id}/trigger", **kwargs)

    # Then never a 5xx; a valid-but-odd request (a huge integer, a NUL) starts a run
    if label in ("huge integer parameter", "NUL in parameter"):
        assert response.status == 202, response.text
        return
    assert 400 <= response.status < 500, (label, response.text)
    error_schema.validate(response.json)


MALFORMED_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/workflows/..", {}),
    ("GET", "/api/workflows/../executions", {}),
    ("GET", "/api/workflows/%2e%2e%2f%2e%2e%2fetc%2fpasswd", {}),
    ("GET", "/api/executions/..%2F..%2Fapi%2Fhealth", {}),
    ("GET", "/api/workflows/wf_ünïcødé", {}),
    ("GET", "/api/workflows/" + "w" * 5000, {}),
    ("DELETE", "/api/workflows/wf_%00", {}),
    ("GET", "/api/workflows", {"query": {"limit": "-1"}}),
    ("GET", "/api/workflows", {"query": {"limit": "1.5"}}),
    ("GET", "/api/workflows", {"query": {"limit": "１"}}),
    ("GET", "/api/workflows", {"query": {"next_token": "\u0000"}}),
    ("GET", "/api/workflows", {"query": {"next_token": "A" * 5000}}),
    ("GET", "/api/workflows", {"query": {"next_token": "eyJwayI6IDF9"}}),
    ("GET", "/api/workflows", {"query": {"next_token": "e30"}}),
    ("PUT", "/api/workflows/{wf}", {"body": GREETING, "headers": {"If-Match": "٣"}}),
    ("PUT", "/api/workflows/{wf}", {"body": GREETING, "headers": {"If-Match": "9" * 40}}),
    ("PUT", "/api/workflows/{wf}", {"body": GREETING, "headers": {"If-Match": 'W/"x"'}}),
    ("POST", "/api/workflows/{wf}/trigger", {"body": {}, "headers": {"Idempotency-Key": ""}}),
    ("POST", "/api/workflows/{wf}/trigger", {"body": {}, "headers": {"Idempotency-Key": "ключ"}}),
    ("OPTIONS", "/api/workflows", {}),
    ("TRACE", "/api/workflows", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), MALFORMED_REQUESTS)
def test_malformed_paths_queries_and_headers_never_cause_a_5xx(
    api: ApiClient,
    workflow_id: str,
    error_schema: Draft202012Validator,
    method: str,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    # Given a request with a malformed path, query or header
    # When it is sent
    response = api.request(method, path.replace("{wf}", workflow_id), **kwargs)

    # Then a documented 4xx (the non-ASCII Idempotency-Key is a valid key: parameters are missing)
    assert 400 <= response.status < 500, (method, path, response.text)
    error_schema.validate(response.json)


def test_an_unexpected_failure_is_a_500_that_reveals_nothing(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, error_schema: Draft202012Validator
) -> None:
    # Given a bug deep inside a use case
    def boom(*_: Any) -> Any:
        raise RuntimeError("secret table goflow-prod-xyz exploded at /var/task/goflow/store.py")

    monkeypatch.setattr(WorkflowService, "list", boom)

    # When a route reaches it
    response = api.get("/api/workflows")

    # Then 500 internal_error without the exception's text
    error = assert_error(response, 500, "internal_error", error_schema)
    assert "goflow-prod-xyz" not in response.text and "store.py" not in response.text
    assert error["details"] == []
