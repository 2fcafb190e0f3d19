"""Pieces of ``goflow local`` (``goflow.local.stack``) that need no running stack."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from goflow.local.banner import quick_start
from goflow.local.config import LocalConfig, StartupError, require_free_port
from goflow.local.devkey import dev_api_key
from goflow.local.functions import shared_environment
from goflow.local.logs import LogSink, isolate_powertools_log_keys
from goflow.local.provisioned import FunctionSpec


def spec(logical_id: str, environment: dict[str, str]) -> FunctionSpec:
    return FunctionSpec(
        logical_id, logical_id.lower(), "arn", "app.handler", None, "python3.13", 3, 128, environment
    )


def test_config_from_the_environment() -> None:
    config = LocalConfig.from_env(
        {"GOFLOW_PORT": "9000", "GOFLOW_AWS_PORT": "9001", "AWS_DEFAULT_REGION": "eu-west-1"}
    )

    assert (config.port, config.aws_port, config.region) == (9000, 9001, "eu-west-1")
    assert (LocalConfig.from_env({}).port, LocalConfig.from_env({}).aws_port) == (8080, 4566)
    assert config.parameters == {"Stage": "local"}


def test_shared_environment_is_the_union_and_names_disagreements() -> None:
    environment, warnings = shared_environment(
        [spec("Api", {"A": "1", "B": "x"}), spec("Executor", {"A": "1", "B": "y", "C": "2"})]
    )

    assert environment == {"A": "1", "B": "x", "C": "2"}
    assert len(warnings) == 1 and "B differs" in warnings[0] and "Executor='y'" in warnings[0]


def test_the_dev_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    key_file = tmp_path / ".goflow" / "local.env"

    first, source = dev_api_key(None, key_file)
    again, _ = dev_api_key(None, key_file)
    explicit, explicit_source = dev_api_key("gf_" + "a" * 43, key_file)

    assert first.startswith("gf_") and len(first) == 46
    assert again == first and source == str(key_file)
    assert f"GOFLOW_API_KEY={first}" in key_file.read_text()
    assert (explicit, explicit_source) == ("gf_" + "a" * 43, "GOFLOW_API_KEY")
    with pytest.raises(StartupError, match="GOFLOW_API_KEY"):
        dev_api_key("not-a-key", key_file)


def test_a_taken_port_is_reported_before_anything_starts() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError, match=f"API port {port} is in use.*GOFLOW_PORT"):
            require_free_port("127.0.0.1", port, "API", "GOFLOW_PORT")


def test_log_sink_writes_json_lines_and_a_compact_console_line(tmp_path: Path) -> None:
    # Given a sink, and a Powertools line of the api function, a plain print and an EMF document
    console = io.StringIO()
    sink = LogSink(console, tmp_path / "goflow.jsonl", prefix="goflow-local-")
    record = {
        "level": "INFO",
        "location": "handler:12",
        "message": "workflow created",
        "timestamp": "2026-11-22 06:49:31,805+0000",
        "service": "goflow",
        "function_name": "goflow-local-api",
        "workflow_id": "wf_1",
    }

    # When they are written (in pieces, as streams do)
    line = json.dumps(record) + "\n"
    sink.write(line[:20])
    sink.write(line[20:] + "plain text\n")
    sink.write(json.dumps({"_aws": {"CloudWatchMetrics": []}, "StepSucceeded": 1}) + "\n")
    sink.close()

    # Then the file has all three as JSON, the console the readable two
    lines = [json.loads(x) for x in (tmp_path / "goflow.jsonl").read_text().splitlines()]
    assert [x.get("message") for x in lines] == ["workflow created", "plain text", None]
    shown = console.getvalue().splitlines()
    assert shown[0].startswith("06:49:31.805 INFO  api")
    assert "workflow created" in shown[0] and "workflow_id=wf_1" in shown[0]
    assert "plain text" in shown[1]
    assert len(shown) == 2


@pytest.fixture
def per_thread_log_keys() -> Iterator[None]:
    """The local stack's Powertools patch, undone afterwards (it is process-wide)."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    patched_before = "log_format" in LambdaPowertoolsFormatter.__dict__
    isolate_powertools_log_keys()
    yield
    if not patched_before:
        delattr(LambdaPowertoolsFormatter, "log_format")


def test_powertools_keys_do_not_leak_between_threads(per_thread_log_keys: None) -> None:
    # Given Powertools loggers after the local stack's patch
    from aws_lambda_powertools import Logger

    stream = io.StringIO()
    logger = Logger(service="goflow-keys-test", stream=stream)
    logger.append_keys(component="shared")

    # When two "invocations" append their own keys and log concurrently
    ready = threading.Barrier(2)

    def invocation(name: str) -> None:
        logger.append_keys(function_name=name)
        ready.wait()
        logger.info("hello")

    threads = [threading.Thread(target=invocation, args=(name,)) for name in ("api", "outcome")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each line carries its own function's name, and the keys set at import
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted(r["function_name"] for r in records) == ["api", "outcome"]
    assert all(r["component"] == "shared" and r["service"] == "goflow-keys-test" for r in records)


def test_moto_batch_loads_on_first_use() -> None:
    # In a fresh interpreter: the ASL interpreter imports without moto's EC2, Batch still works
    code = """
import sys
from goflow.local.moto_server import defer_moto_batch
defer_moto_batch()
import moto.stepfunctions.parser.backend.execution
assert "moto.ec2" not in sys.modules
from moto.backends import get_backend
assert type(get_backend("batch")).__name__ == "BackendDict"
import moto.batch
assert moto.batch.batch_backends is not None
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr


def test_quick_start_uses_the_stacks_url_and_key() -> None:
    text = quick_start("http://127.0.0.1:9999", "gf_KEY")

    assert "GOFLOW_URL=http://127.0.0.1:9999 GOFLOW_API_KEY=gf_KEY" in text
    assert '"to": "{{ params.email }}"' in text
