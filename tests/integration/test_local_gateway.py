"""The local API Gateway (``goflow.local.gateway``) over real HTTP, with small handlers of our own."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from goflow.local.gateway import Gateway
from goflow.local.lambdas import LambdaDispatcher, LocalFunction
from goflow.local.provisioned import HttpApiSpec, Route

FUNCTION = "goflow-test-api"
Handler = Callable[[dict[str, Any], Any], Any]


class Recorder:
    """A handler that records the events it gets and answers what the test asks."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.reply: Any = {"statusCode": 200, "body": "ok", "headers": {"content-type": "text/plain"}}
        self.delay = 0.0

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        if self.delay:
            time.sleep(self.delay)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply

    @property
    def last(self) -> dict[str, Any]:
        return self.events[-1]


@pytest.fixture
def handler() -> Recorder:
    return Recorder()


@pytest.fixture
def gateway(handler: Recorder) -> Iterator[Gateway]:
    dispatcher = LambdaDispatcher()
    dispatcher.register(LocalFunction(name=FUNCTION, handler=handler, timeout_seconds=5))
    api = HttpApiSpec(
        logical_id="Api",
        api_id="abc123defg",
        cors={
            "AllowOrigins": ["https://app.example"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["Authorization"],
        },
        routes=[
            Route("ANY /api/{proxy+}", "ANY", "/api/{proxy+}", FUNCTION),
            Route("GET /api/items/{id}", "GET", "/api/items/{id}", FUNCTION),
        ],
    )
    server = Gateway(api, dispatcher.invoke, port=0, integration_timeout=1.0, max_body_bytes=1024)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_request_becomes_a_payload_2_event(gateway: Gateway, handler: Recorder) -> None:
    # When a request with duplicate headers, cookies and a query string arrives
    httpx.post(
        f"{gateway.url}/api/workflows/wf_1/trigger?a=1&a=2&b=",
        headers=[
            ("X-Custom", "one"),
            ("x-custom", "two"),
            ("Cookie", "s=1; t=2"),
            ("Content-Type", "application/json"),
        ],
        content=b'{"parameters": {}}',
    )

    # Then the function gets API Gateway's event
    event = handler.last
    assert event["version"] == "2.0"
    assert event["routeKey"] == "ANY /api/{proxy+}"
    assert event["rawPath"] == "/api/workflows/wf_1/trigger"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["x-custom"] == "one,two"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["pathParameters"] == {"proxy": "workflows/wf_1/trigger"}
    assert event["body"] == '{"parameters": {}}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"]["method"] == "POST"
    assert context["http"]["path"] == "/api/workflows/wf_1/trigger"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["stage"] == "$default"
    assert context["apiId"] == "abc123defg"
    assert context["requestId"] and context["timeEpoch"] > 0
    assert event["headers"]["x-forwarded-proto"] == "http"


def test_the_most_specific_route_wins(gateway: Gateway, handler: Recorder) -> None:
    httpx.get(f"{gateway.url}/api/items/42")
    assert handler.last["routeKey"] == "GET /api/items/{id}"
    assert handler.last["pathParameters"] == {"id": "42"}

    httpx.delete(f"{gateway.url}/api/items/42")
    assert handler.last["routeKey"] == "ANY /api/{proxy+}"


def test_binary_bodies_are_base64_encoded(gateway: Gateway, handler: Recorder) -> None:
    httpx.post(
        f"{gateway.url}/api/upload", content=b"\x00\xff", headers={"Content-Type": "application/octet-stream"}
    )

    assert handler.last["isBase64Encoded"] is True
    assert base64.b64decode(handler.last["body"]) == b"\x00\xff"


def test_structured_response(gateway: Gateway, handler: Recorder) -> None:
    # Given a function answering with headers, cookies and a base64 body
    handler.reply = {
        "statusCode": 201,
        "headers": {"Location": "/api/x", "X-Request-Id": "r1"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": base64.b64encode(b"\x01\x02").decode(),
        "isBase64Encoded": True,
    }

    # When it is called
    response = httpx.post(f"{gateway.url}/api/x")

    # Then the HTTP response is what API Gateway makes of it
    assert response.status_code == 201
    assert response.headers["location"] == "/api/x"
    assert response.headers.get_list("x-multi") == ["a", "b"]
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2"]
    assert response.content == b"\x01\x02"
    assert response.headers["apigw-requestid"]


@pytest.mark.parametrize(("reply", "body"), [({"ok": True}, b'{"ok": true}'), ("hello", b'"hello"')])
def test_bare_results_are_json_200(gateway: Gateway, handler: Recorder, reply: Any, body: bytes) -> None:
    handler.reply = reply

    response = httpx.get(f"{gateway.url}/api/x")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == body


def test_function_error_is_500(gateway: Gateway, handler: Recorder) -> None:
    handler.reply = RuntimeError("boom")

    response = httpx.get(f"{gateway.url}/api/x")

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_slow_integration_is_503(gateway: Gateway, handler: Recorder) -> None:
    handler.delay = 1.5

    response = httpx.get(f"{gateway.url}/api/x")

    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}


def test_too_large_body_is_413(gateway: Gateway, handler: Recorder) -> None:
    response = httpx.post(f"{gateway.url}/api/x", content=b"x" * 2048)

    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}
    assert handler.events == []


def test_unrouted_path_is_404(gateway: Gateway, handler: Recorder) -> None:
    response = httpx.get(f"{gateway.url}/elsewhere")

    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}
    assert handler.events == []


def test_cors_preflight_and_response_headers(gateway: Gateway, handler: Recorder) -> None:
    # When a browser sends a preflight, then the request, from an allowed origin
    preflight = httpx.options(
        f"{gateway.url}/api/x",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    response = httpx.get(f"{gateway.url}/api/x", headers={"Origin": "https://app.example"})
    other = httpx.get(f"{gateway.url}/api/x", headers={"Origin": "https://evil.example"})

    # Then API Gateway answers the preflight itself and adds the CORS headers
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers
    assert len(handler.events) == 2


def test_an_empty_response_gets_no_invented_content_type(gateway: Gateway, handler: Recorder) -> None:
    # Given a handler answering 204 with no body and no headers (as DELETE does)
    handler.reply = {"statusCode": 204}

    # When it is called through the gateway
    response = httpx.delete(f"{gateway.url}/api/workflows/wf_1")

    # Then the 204 carries no content-type, while a bodied answer without one defaults to JSON
    assert response.status_code == 204 and "content-type" not in response.headers
    handler.reply = {"statusCode": 200, "body": "{}"}
    assert httpx.get(f"{gateway.url}/api/x").headers["content-type"] == "application/json"
