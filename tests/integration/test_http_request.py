"""http_request against real HTTP servers on 127.0.0.1, through the step runtime and the real handler."""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from goflow import composition
from goflow.connectors.builtin import builtin_connectors
from goflow.connectors.errors import FatalStepError, RetryableStepError, StepDeadlineExceeded
from goflow.connectors.registry import ConnectorRegistry
from goflow.local.lambdas import LambdaContext, load_handler
from goflow.runtime import run_step
from tests.support.http_server import Reply, ScriptedServer, scripted_server

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
MODULE_ALIAS = "goflow_fn_ExecutorFunction"  # the name the platform fixture loads it under, so one copy


class QuietLogger:
    """A logger that keeps what it was told, for the assertions that need it."""

    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def append_keys(self, **keys: Any) -> None:
        return None

    def _log(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.records.append((str(msg), kwargs))

    debug = info = warning = error = _log


class Misbehaving:
    """A server that misbehaves on purpose: never answers, drips its body, or sends far too much.

    Every response it starts is abandoned quietly when the client hangs up, as a real server would.
    """

    def __init__(self) -> None:
        self.stopping = threading.Event()
        stopping = self.stopping

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path == "/hang":  # never answers (until the server stops)
                    stopping.wait(60)
                    return
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                if self.path == "/huge-declared":
                    self.send_header("content-length", str(6 * MB))
                self.end_headers()
                try:
                    if self.path == "/drip":  # a byte every 0.2 s for 20 s
                        for _ in range(100):
                            self.wfile.write(b".")
                            self.wfile.flush()
                            if stopping.wait(0.2):
                                return
                    else:  # /huge, /huge-declared: 6 MB (without a content-length, ended by closing)
                        for _ in range(6):
                            self.wfile.write(b"x" * MB)
                except OSError:  # the client hung up, as it should
                    return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> Misbehaving:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def shared_server() -> Iterator[ScriptedServer]:
    with scripted_server() as running:
        yield running


@pytest.fixture
def server(shared_server: ScriptedServer) -> ScriptedServer:
    """One server for the module (stopping one takes 0.5 s), with a clean script for each test."""
    shared_server.replies.clear()
    shared_server.requests.clear()
    return shared_server


@pytest.fixture(scope="module")
def misbehaving() -> Iterator[Misbehaving]:
    with Misbehaving() as running:
        yield running


def step_event(
    config: dict[str, Any], *, step_id: str = "fetch", timeout_seconds: float = 60
) -> dict[str, Any]:
    return {
        "step": {
            "id": step_id,
            "action": "http_request",
            "config": json.dumps(config),
            "timeout_seconds": timeout_seconds,
            "when": None,
            "on_error": "fail",
        },
        "state": {
            "params": {"customer": 7},
            "trigger": {},
            "steps": {},
            "execution": {
                "id": "ex_1",
                "workflow_name": "test",
                "deadline": "2099-01-01T00:00:00Z",
                "trace_id": "1-a-b",
            },
        },
    }


def fetch(config: dict[str, Any], *, timeout_seconds: float = 60) -> dict[str, Any]:
    """Run one http_request step through the runtime; return its output."""
    registry = ConnectorRegistry.of(builtin_connectors())
    event = step_event(config, timeout_seconds=timeout_seconds)
    result = run_step(event, remaining_ms=900_000, registry=registry, logger=QuietLogger())
    assert result["status"] == "SUCCEEDED"
    return result["output"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- answers -------------------------------------------------------------------------------------


def test_a_json_answer_is_parsed(server: ScriptedServer) -> None:
    # Given a server answering JSON with a custom header
    url = server.script("/customers/7", Reply(200, {"id": 7, "name": "Alex"}, headers={"X-Request-Id": "r1"}))

    # When the step fetches it (the URL rendered from a parameter)
    output = fetch({"url": url.replace("/7", "/{{ params.customer }}")})

    # Then the output carries status, lowercased headers, parsed JSON, final URL and timing
    assert output["status"] == 200
    assert output["json"] == {"id": 7, "name": "Alex"}
    assert output["text"] is None
    assert output["headers"]["x-request-id"] == "r1"
    assert output["url"] == url
    assert isinstance(output["elapsed_ms"], int)


def test_a_text_answer_is_returned_as_text(server: ScriptedServer) -> None:
    # Given a server answering plain text / When fetched / Then the text is returned, not JSON
    url = server.script("/hello", Reply(200, "hello, world"))
    output = fetch({"url": url})
    assert (output["json"], output["text"]) == (None, "hello, world")


def test_json_that_does_not_parse_is_returned_as_text(server: ScriptedServer) -> None:
    # Given a JSON content type with a broken body / When fetched / Then it is kept as text
    url = server.script("/broken", Reply(200, "{not json", headers={"content-type": "application/json"}))
    output = fetch({"url": url})
    assert (output["json"], output["text"]) == (None, "{not json")


def test_method_headers_query_and_json_body_are_sent(server: ScriptedServer) -> None:
    # Given an endpoint that accepts a POST
    url = server.script("/orders", Reply(201, {"created": True}))

    # When the step posts JSON with a header and query parameters
    output = fetch(
        {
            "method": "POST",
            "url": url + "?source=goflow",
            "headers": {"X-Api-Key": "k-1"},
            "query": {"page": 2, "q": "a b"},
            "json": {"customer": "{{ params.customer }}"},
        }
    )

    # Then the server saw exactly that request
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == "/orders?source=goflow&page=2&q=a+b"
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["x-api-key"] == "k-1"
    assert headers["content-type"] == "application/json"
    assert json.loads(request.body) == {"customer": 7}
    assert output["status"] == 201


def test_a_text_body_is_sent_as_is(server: ScriptedServer) -> None:
    # Given an endpoint / When the step PUTs a text body / Then the bytes arrive unchanged
    url = server.script("/note", Reply(200, {}))
    fetch({"method": "PUT", "url": url, "body": "line 1\nline 2", "headers": {"content-type": "text/plain"}})
    assert server.requests[0].method == "PUT" and server.requests[0].body == b"line 1\nline 2"


# --- statuses ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [503, 429, 408, 500])
def test_server_errors_and_throttling_are_retryable(server: ScriptedServer, status: int) -> None:
    # Given a server answering status
    url = server.script("/flaky", Reply(status, {"error": "busy"}))

    # When fetched / Then the error is retryable and says what was called and what came back
    with pytest.raises(RetryableStepError) as raised:
        fetch({"url": url})
    assert f"GET {url}" in raised.value.message and str(status) in raised.value.message


def test_not_found_is_fatal_and_shows_the_answer(server: ScriptedServer) -> None:
    # Given a server answering 404 / When fetched / Then it is fatal with the status and body snippet
    url = server.script("/missing", Reply(404, {"error": "no such customer"}))
    with pytest.raises(FatalStepError) as raised:
        fetch({"url": url})
    assert type(raised.value) is FatalStepError
    assert "step 'fetch' (http_request)" in raised.value.message
    assert "404" in raised.value.message and "no such customer" in raised.value.message


def test_expected_status_decides_success(server: ScriptedServer) -> None:
    # Given a 404 that the workflow expects, and a 200 where only 201 is expected
    missing = server.script("/missing", Reply(404, {"error": "none"}))
    plain = server.script("/plain", Reply(200, {}))

    # When both are fetched / Then the expected 404 succeeds and the unexpected 200 is fatal
    assert fetch({"url": missing, "expected_status": [404]})["status"] == 404
    with pytest.raises(FatalStepError, match="200"):
        fetch({"url": plain, "expected_status": [201]})


def test_redirects_are_followed_unless_disabled(server: ScriptedServer) -> None:
    # Given a redirect to a JSON endpoint
    target = server.script("/new", Reply(200, {"moved": True}))
    old = server.script("/old", Reply(302, None, headers={"location": target}))

    # When fetched with and without following
    followed = fetch({"url": old})
    kept = fetch({"url": old, "follow_redirects": False, "expected_status": [302]})

    # Then the followed call reports the final URL and body; the other the redirect itself
    assert (followed["url"], followed["json"]) == (target, {"moved": True})
    assert (kept["status"], kept["headers"]["location"]) == (302, target)


# --- time and size -------------------------------------------------------------------------------


def test_a_server_that_never_answers_is_cut_at_the_step_deadline(misbehaving: Misbehaving) -> None:
    # Given a server that never answers, and a step with a 1.5 s timeout
    url = f"{misbehaving.url}/hang"
    started = time.monotonic()

    # When the step calls it (its own call timeout is the default 10 s)
    with pytest.raises(StepDeadlineExceeded) as raised:
        fetch({"url": url}, timeout_seconds=1.5)

    # Then the step deadline cut it, and the message names the step, the call and the bound
    assert time.monotonic() - started < 1.5 + 1
    message = raised.value.message
    assert message.startswith("step 'fetch' (http_request) ran past its deadline after 1.5 s")
    assert f"GET {url} did not answer" in message
    assert "the step's timeout_seconds (1.5 s)" in message


def test_a_call_cut_by_its_own_timeout_is_retryable(misbehaving: Misbehaving) -> None:
    # Given a server that never answers, a call timeout of 0.5 s and a step with a minute left
    url = f"{misbehaving.url}/hang"
    started = time.monotonic()

    # When the step calls it / Then the call's own timeout is a retryable failure, not the deadline
    with pytest.raises(RetryableStepError, match="timed out after 0.5 s"):
        fetch({"url": url, "timeout_seconds": 0.5})
    assert time.monotonic() - started < 0.5 + 1


def test_a_body_dripping_past_the_deadline_is_cut(misbehaving: Misbehaving) -> None:
    # Given a server sending a byte every 0.2 s for 20 s, and a 1 s step
    started = time.monotonic()

    # When the step reads it / Then the deadline stops the read
    with pytest.raises(StepDeadlineExceeded, match="did not finish sending its response"):
        fetch({"url": f"{misbehaving.url}/drip"}, timeout_seconds=1)
    assert time.monotonic() - started < 1 + 1


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_over_5_mb_is_refused(misbehaving: Misbehaving, declared: bool) -> None:
    # Given a 6 MB answer, with or without a content-length
    url = f"{misbehaving.url}/huge-declared" if declared else f"{misbehaving.url}/huge"

    # When fetched / Then the step fails permanently instead of holding it
    with pytest.raises(FatalStepError, match="over 5 MB"):
        fetch({"url": url})


def test_a_refused_connection_is_retryable() -> None:
    # Given a port nothing listens on / When fetched / Then the failure is retryable and names the call
    url = f"http://127.0.0.1:{free_port()}/x"
    with pytest.raises(RetryableStepError, match=f"GET {url} failed"):
        fetch({"url": url})


# --- the Lambda handler --------------------------------------------------------------------------


@pytest.fixture
def step_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The real executor handler, loaded from its file as Lambda loads it, with fresh settings.

    Its JSON logs are collected in ``step_handler.logs``: the logger keeps the stream it found at
    import, so capsys cannot see them.
    """
    monkeypatch.setenv("GOFLOW_TABLE_NAME", "goflow-test")
    composition.reset()
    handler = load_handler(ROOT / "functions" / "executor", "step.handler", MODULE_ALIAS)
    logs = io.StringIO()
    monkeypatch.setattr(sys.modules[MODULE_ALIAS].logger.registered_handler, "stream", logs)
    monkeypatch.setattr(handler, "logs", logs, raising=False)
    yield handler
    composition.reset()


def lambda_context(timeout_seconds: float = 30) -> LambdaContext:
    return LambdaContext(
        "ExecutorFunction", 1024, "arn:aws:lambda:us-east-1:123456789012:function:x", timeout_seconds
    )


def emitted_metrics(stdout: str) -> list[str]:
    names: list[str] = []
    for line in stdout.splitlines():
        if line.startswith("{") and "_aws" in line:
            document = json.loads(line)
            names += [m["Name"] for d in document["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    return names


def test_the_handler_runs_a_step_and_counts_it(
    step_handler: Any, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a JSON endpoint and the compiler's event for a step calling it
    url = server.script("/ok", Reply(200, {"ok": True}))

    # When the Lambda handler is invoked
    result = step_handler(step_event({"url": url}), lambda_context())

    # Then the step succeeded, a StepSucceeded metric was emitted and the logs carry the step's keys
    assert result["status"] == "SUCCEEDED" and result["output"]["json"] == {"ok": True}
    out = capsys.readouterr().out
    assert "StepSucceeded" in emitted_metrics(out)
    logs = {r["message"]: r for r in map(json.loads, step_handler.logs.getvalue().splitlines())}
    finished = logs["step finished"]
    assert (finished["step_id"], finished["execution_id"], finished["correlation_id"]) == (
        "fetch",
        "ex_1",
        "ex_1",
    )
    assert logs["http request finished"]["location"].startswith(
        "run:"
    )  # the connector's line, not a wrapper's


def test_the_handler_raises_the_asl_error_and_counts_the_failure(
    step_handler: Any, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an endpoint answering 503
    url = server.script("/down", Reply(503, {}))

    # When the handler is invoked / Then it raises the class Step Functions retries on, and counts it
    with pytest.raises(RetryableStepError):
        step_handler(step_event({"url": url}), lambda_context())
    assert "StepFailed" in emitted_metrics(capsys.readouterr().out)


def test_the_handler_bounds_the_step_by_the_lambda_time_left(
    step_handler: Any, misbehaving: Misbehaving
) -> None:
    # Given a server that never answers and a Lambda with 3 s left (1.5 s margin → 1.5 s for the step)
    url = f"{misbehaving.url}/hang"
    started = time.monotonic()

    # When the handler is invoked
    with pytest.raises(StepDeadlineExceeded) as raised:
        step_handler(step_event({"url": url}), lambda_context(timeout_seconds=3))

    # Then the step stopped before the Lambda would have been killed, saying why
    assert time.monotonic() - started < 1.5 + 1
    assert "the Lambda's remaining time" in raised.value.message
