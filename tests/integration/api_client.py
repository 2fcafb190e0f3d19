"""Drive the api function in-process with API Gateway HTTP API (payload 2.0) events.

Events are built from ``tests/events/http_api_event.json`` (a real event's shape); the handler is
loaded from ``template.yaml``'s ``ApiFunction`` (CodeUri + Handler) exactly as the local stack does.
"""

from __future__ import annotations

import base64
import copy
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from goflow.local.lambdas import LambdaContext, load_handler
from tests.support.cfn import load_template

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_EVENT = ROOT / "tests" / "events" / "http_api_event.json"
FUNCTION_NAME = "goflow-test-api"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"
_NO_BODY = object()


def api_handler() -> Any:
    """The api function's handler, loaded by file path from the template's CodeUri and Handler."""
    props = load_template(ROOT / "template.yaml")["Resources"]["ApiFunction"]["Properties"]
    return load_handler(ROOT / props["CodeUri"], props["Handler"], "goflow_fn_ApiFunction")


def lambda_context(arn: str = FUNCTION_ARN, name: str = FUNCTION_NAME) -> LambdaContext:
    return LambdaContext(
        function_name=name, memory_limit_in_mb=512, invoked_function_arn=arn, timeout_seconds=29
    )


def http_event(
    method: str,
    path: str,
    *,
    body: Any = _NO_BODY,
    raw_body: str | None = None,
    base64_body: bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A payload 2.0 event for ``method path`` (JSON ``body``, or a raw/base64 body as sent)."""
    event: dict[str, Any] = copy.deepcopy(json.loads(SAMPLE_EVENT.read_text()))
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["requestId"] = uuid.uuid4().hex[:16] + "="
    event["pathParameters"] = {"proxy": path.removeprefix("/api/")}
    event["rawQueryString"] = urlencode(query or {})
    event["queryStringParameters"] = dict(query) if query else None
    event["headers"] = {
        k: v for k, v in event["headers"].items() if k not in ("authorization", "content-length")
    }
    event["headers"].update({name.lower(): value for name, value in (headers or {}).items()})
    event.pop("body", None)
    if base64_body is not None:
        event["body"] = base64.b64encode(base64_body).decode()
        event["isBase64Encoded"] = True
    elif raw_body is not None:
        event["body"] = raw_body
    elif body is not _NO_BODY:
        event["body"] = json.dumps(body)
    if "body" in event:
        event["headers"]["content-length"] = str(len(event["body"]))
    return event


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class ApiClient:
    """Sends requests to the handler as one tenant (``key``); ``key=None`` sends none."""

    handler: Any
    key: str | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)

    def as_key(self, key: str | None) -> ApiClient:
        return ApiClient(self.handler, key)

    def request(self, method: str, path: str, **kwargs: Any) -> ApiResponse:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.key is not None:
            headers.setdefault("Authorization", f"Bearer {self.key}")
        event = http_event(method, path, headers=headers, **kwargs)
        self.sent.append(event)
        return self.send(event)

    def send(self, event: dict[str, Any], context: Any = None) -> ApiResponse:
        result = self.handler(event, context or lambda_context())
        return ApiResponse(result["statusCode"], dict(result.get("headers") or {}), result.get("body") or "")

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)


TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def tenant_client(tenant: str, label: str | None = None) -> ApiClient:
    """A client holding a fresh API key of ``tenant`` (created on the platform's table)."""
    from goflow import composition

    _, key = composition.api_key_repository().create(tenant, label=label)
    return ApiClient(api_handler(), key)


def wait_for_end(api: ApiClient, feed: Any, execution_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """GET the execution until the recorder has written a terminal status; return its body."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        feed.wait_idle()
        response = api.get(f"/api/executions/{execution_id}")
        assert response.status == 200, response.text
        if response.json["status"] in TERMINAL:
            return dict(response.json)
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} still running after {timeout} s")
