"""The artifacts `sam build` produces are complete: every handler loads from them.

CI runs `make build` before the tests, so `.aws-sam/build` is what `sam deploy` would ship. Without
it (a developer running `make test` alone), the same build targets `sam build` calls are run into a
temporary directory, so this check never silently disappears.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cfn import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
FUNCTIONS = {
    name: resource["Properties"]
    for name, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}
LAYER = "GoFlowLayer"


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    existing = ROOT / ".aws-sam" / "build"
    if all((existing / name).is_dir() for name in [*FUNCTIONS, LAYER]):
        yield existing
        return
    target = tmp_path_factory.mktemp("sam-build")
    for name in [*FUNCTIONS, LAYER]:
        subprocess.run(
            ["make", "--no-print-directory", f"build-{name}", f"ARTIFACTS_DIR={target / name}"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=600,
        )
    yield target


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version
    return pins


def test_the_layer_ships_exactly_the_runtime_dependencies_of_the_package(build_dir: Path) -> None:
    # Given the package's pinned runtime dependencies and the layer's requirements
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = _pins(project["project"]["dependencies"])
    layer_pins = _pins((ROOT / "layers" / "goflow" / "requirements.txt").read_text().splitlines())

    # Then they are the same pins, and each one is installed in the built layer next to goflow
    assert layer_pins == declared
    python_dir = build_dir / LAYER / "python"
    assert (python_dir / "goflow" / "__init__.py").is_file()
    installed = dict(
        p.name.removesuffix(".dist-info").lower().replace("_", "-").rsplit("-", 1)
        for p in python_dir.glob("*.dist-info")
    )
    for name, version in declared.items():
        assert installed.get(name) == version, f"{name}=={version} missing from the layer"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_function_handler_loads_from_its_build_output(
    build_dir: Path, logical_id: str, tmp_path: Path
) -> None:
    # Given the built function and the goflow package from the built layer (third-party packages
    # come from this interpreter: the layer's compiled wheels are for Lambda's platform)
    props = FUNCTIONS[logical_id]
    module, function = props["Handler"].rsplit(".", 1)
    function_dir = build_dir / logical_id
    assert (function_dir / f"{module}.py").is_file(), f"{logical_id}: {module}.py is not in the artifact"
    layer_goflow = tmp_path / "layer"
    shutil.copytree(build_dir / LAYER / "python" / "goflow", layer_goflow / "goflow")

    # When the handler module is imported in a clean interpreter that sees only those paths
    event = _health_event() if logical_id == "ApiFunction" else None
    result = _probe(function_dir, layer_goflow, module, function, event)

    # Then it loads from the artifact (and the API answers its health check)
    assert result["goflow_from"].startswith(str(layer_goflow)), result
    assert result["module_from"].startswith(str(function_dir)), result
    assert result["callable"] is True
    if logical_id == "ApiFunction":
        assert result["response"]["statusCode"] == 200, result["response"]


def _health_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "tests" / "events" / "http_api_event.json").read_text())
    event.update(rawPath="/api/health", rawQueryString="", body=None, isBase64Encoded=False)
    event["headers"] = {"host": "localhost"}
    event["requestContext"]["http"].update(method="GET", path="/api/health")
    return event


_PROBE = """
import importlib, json, sys
module_name, function_name, event = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
module = importlib.import_module(module_name)
import goflow
handler = getattr(module, function_name)
out = {"goflow_from": goflow.__file__, "module_from": module.__file__, "callable": callable(handler)}
if event:
    class Context:
        function_name = "api"; memory_limit_in_mb = 512; aws_request_id = "probe"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
        def get_remaining_time_in_millis(self): return 29000
    out["response"] = handler(event, Context())
print(json.dumps(out))
"""


def _probe(function_dir: Path, layer: Path, module: str, function: str, event: Any) -> dict[str, Any]:
    site = sysconfig.get_paths()["purelib"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(function_dir), str(layer), site]),
        "GOFLOW_TABLE_NAME": "probe",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    # -S: no site processing, so the editable install of goflow in this venv is not on the path.
    completed = subprocess.run(
        [sys.executable, "-S", "-c", _PROBE, module, function, json.dumps(event)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))
