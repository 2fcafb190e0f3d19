"""The README's quick start works exactly as written, against a freshly started `goflow local`.

The shell blocks of the "Quick start (local)" section are run in order in one bash session. Only the
ports (the test picks free ones) and the state directory (a temporary one, instead of `.goflow/`)
differ from what a user types.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, LocalStackProcess, start_local_stack, wait_for_end

pytestmark = pytest.mark.e2e


def quick_start_script() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start (local)", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    assert len(blocks) >= 4, "the quick start lost its shell blocks"
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    # No GOFLOW_API_KEY: the stack generates one and keeps it in <state dir>/local.env, as on a fresh clone.
    stack = start_local_stack(tmp_path_factory.mktemp("readme-stack"), api_key=None)
    try:
        yield stack
    finally:
        assert stack.stop() == 0, stack.output


def test_the_readme_quick_start_runs_as_written(fresh_stack: LocalStackProcess) -> None:
    # Given the README's commands, pointed at this stack's ports and state directory
    port = fresh_stack.api_url.rsplit(":", 1)[1]
    script = (
        quick_start_script()
        .replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        .replace(".goflow/local.env", str(Path(fresh_stack.state_dir) / "local.env"))
    )
    assert "GOFLOW_API_KEY" in script and "cancel" in script

    # When they run one after another in bash
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script + '\necho "WF=$WORKFLOW_ID EX=$EXECUTION_ID"'],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )

    # Then every command succeeded, the seed run SUCCEEDED with its message and the wait was cancelled
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    ids = re.search(r"WF=(wf_\w+) EX=(ex_\w+)", out)
    assert ids, out
    with httpx.Client(
        base_url=fresh_stack.api_url, headers={"Authorization": f"Bearer {fresh_stack.api_key}"}, timeout=30
    ) as api:
        execution = wait_for_end(api, ids.group(2))
    assert execution["status"] == "SUCCEEDED", execution
    assert "Welcome Alex! Your pro plan is ready." in json.dumps(execution)
    assert out.rstrip().splitlines()[-2] == "ABORTED", out
