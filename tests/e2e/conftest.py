"""The local stack as a user starts it: ``python -m goflow.cli local`` in a subprocess, on free ports.

One stack serves the whole e2e session (starting one takes seconds). It is stopped with SIGINT, as
Ctrl-C would, and must exit 0; ``test_shutdown.py`` asserts that explicitly, the fixture's teardown
checks it again for any run that skipped that test.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 90.0
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# The stack's own settings: never inherited from the developer's shell.
STACK_VARIABLES = ("GOFLOW_PORT", "GOFLOW_AWS_PORT", "GOFLOW_API_KEY", "GOFLOW_STATE_DIR", "GOFLOW_TEMPLATE")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalStackProcess:
    """A running ``goflow local``: its URLs, key, output, and how to stop it."""

    process: subprocess.Popen[bytes]
    api_url: str
    aws_endpoint: str
    api_key: str
    state_dir: Path
    output_path: Path
    startup_seconds: float
    exit_code: int | None = field(default=None)

    @property
    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8", errors="replace")

    def client(self, authenticated: bool = True) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.api_key}"} if authenticated else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=40.0)

    def stop(self, timeout: float = 30.0) -> int:
        """Ctrl-C (SIGINT), then the exit code; idempotent."""
        if self.exit_code is None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
            try:
                self.exit_code = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self.exit_code = -9
        return self.exit_code


def start_local_stack(state_dir: Path, api_key: str | None, cwd: Path = ROOT) -> LocalStackProcess:
    """Start ``goflow local`` on free ports; return once ``GET /api/health`` answers 200."""
    port, aws_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if key not in STACK_VARIABLES}
    env.pop("AWS_ENDPOINT_URL", None)
    env.update({"GOFLOW_STATE_DIR": str(state_dir), "PYTHONUNBUFFERED": "1"})
    if api_key is not None:
        env["GOFLOW_API_KEY"] = api_key
    output_path = state_dir / "console.txt"
    command = [sys.executable, "-m", "goflow.cli", "local", "--port", str(port), "--aws-port", str(aws_port)]
    started = time.monotonic()
    with output_path.open("wb") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
    api_url = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            raise AssertionError(f"goflow local exited {process.returncode}:\n{output_path.read_text()}")
        try:
            if httpx.get(f"{api_url}/api/health", timeout=2.0).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() - started > STARTUP_TIMEOUT_S:
            process.kill()
            raise AssertionError(
                f"goflow local not healthy after {STARTUP_TIMEOUT_S} s:\n{output_path.read_text()}"
            )
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    key = api_key or _banner_key(output_path)
    return LocalStackProcess(
        process, api_url, f"http://127.0.0.1:{aws_port}", key, state_dir, output_path, elapsed
    )


def _banner_key(output_path: Path) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in output_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip().startswith("API key"):
                return line.split()[2]
        time.sleep(0.1)
    raise AssertionError("the banner shows no API key")


@pytest.fixture(scope="session")
def api_key() -> str:
    return "gf_" + secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory, api_key: str) -> Iterator[LocalStackProcess]:
    """``goflow local`` for the e2e session, with ``GOFLOW_API_KEY`` set."""
    stack = start_local_stack(tmp_path_factory.mktemp("goflow-local"), api_key)
    try:
        yield stack
    finally:
        code = stack.stop()
        assert code == 0, f"goflow local exited {code} on SIGINT:\n{stack.output}"


@pytest.fixture
def api(local_stack: LocalStackProcess) -> Iterator[httpx.Client]:
    with local_stack.client() as client:
        yield client


def create_workflow(api: httpx.Client, document: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/workflows", json=document)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def trigger(api: httpx.Client, workflow_id: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.post(f"/api/workflows/{workflow_id}/trigger", json={"parameters": parameters or {}})
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


def wait_for_end(api: httpx.Client, execution_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll the run until its recorded status is terminal."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/api/executions/{execution_id}")
        assert response.status_code == 200, response.text
        execution: dict[str, Any] = response.json()
        if execution["status"] in TERMINAL:
            return execution
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {execution_id} still {execution['status']} after {timeout} s")
        time.sleep(0.2)
