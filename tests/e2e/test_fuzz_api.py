"""No request a client can send makes the API answer 5xx: schemathesis fuzzes every operation.

It reads the OpenAPI document the running local stack serves and sends generated requests (valid
and invalid) over real HTTP, authenticated, checking only `not_a_server_error`. Bounded in examples,
deterministic, so the run is repeatable and stays well under a minute.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

SCHEMATHESIS = Path(sys.executable).with_name("st")


def test_no_generated_request_gets_a_server_error(local_stack: LocalStackProcess) -> None:
    # Given the running stack's own OpenAPI document
    schema = f"{local_stack.api_url}/api/openapi.json"

    # When schemathesis sends generated requests to every operation
    completed = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            schema,
            "--url",
            local_stack.api_url,
            "--header",
            f"Authorization: Bearer {local_stack.api_key}",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            "20",
            "--generation-deterministic",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    # Then every operation was exercised and none answered 5xx
    report = completed.stdout + completed.stderr
    assert completed.returncode == 0, report[-4000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    tested = re.search(r"Tested: (\d+)", report)
    assert selected and tested, report[-2000:]
    assert int(tested.group(1)) == int(selected.group(2)) > 0, report[-2000:]
