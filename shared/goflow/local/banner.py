"""What ``goflow local`` prints once it is up: where everything is, and a copy-paste quick start."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from goflow.local.devkey import DEV_TENANT

if TYPE_CHECKING:
    from goflow.local.stack import LocalStack


def render_banner(stack: LocalStack) -> str:
    """What ``goflow local`` prints once it is up."""
    assert stack.provisioned is not None
    api = stack.api_url
    key_origin = _key_origin(stack.api_key_source)
    lines = [
        "",
        f"GoFlow is running locally (started in {stack.startup_seconds:.1f} s).",
        "",
        f"  API           {api}/api   (no auth: {api}/api/health, {api}/api/openapi.json)",
        f"  AWS endpoint  {stack.aws_endpoint}   region {stack.config.region}, any credentials",
        f"  API key       {stack.api_key}   (tenant '{DEV_TENANT}'; from {key_origin})",
        f"  Logs          {_display(stack.log_path)} (JSON lines); readable here",
        "  State         in memory only: every workflow, run and key is lost when this process exits",
    ]
    if stack.provisioned.not_emulated:
        lines += ["", "Not emulated (created in AWS, skipped locally):"]
        lines += [
            f"  - {item.logical_id} ({item.type}): {item.reason}" for item in stack.provisioned.not_emulated
        ]
    if stack.warnings:
        lines += ["", "Warnings:"] + [f"  - {warning}" for warning in stack.warnings]
    lines += ["", "Quick start (in another terminal; more in docs/local-stack.md):", ""]
    lines += ["  " + line for line in quick_start(api, stack.api_key).splitlines()]
    lines += ["", "Inspect AWS with the usual tools, e.g.:",
              f"  aws --endpoint-url {stack.aws_endpoint} stepfunctions list-state-machines",
              "", "Press Ctrl-C to stop.", ""]  # fmt: skip
    return "\n".join(lines)


def _key_origin(source: str) -> str:
    if source == "GOFLOW_API_KEY":
        return "GOFLOW_API_KEY"
    return _display(Path(source))


def _display(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


QUICK_START = r"""export GOFLOW_URL=@URL@ GOFLOW_API_KEY=@KEY@
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

# 1. create the seed "Send Welcome Email" workflow
WORKFLOW_ID=$(curl -s -X POST "$GOFLOW_URL/api/workflows" \
  -H "Authorization: Bearer $GOFLOW_API_KEY" -H 'Content-Type: application/json' \
  -d '{"name": "Send Welcome Email",
       "parameters": [{"name": "customer_name", "type": "string", "required": true},
                      {"name": "email", "type": "string", "required": true},
                      {"name": "plan", "type": "string", "default": "free"}],
       "action": "send_email",
       "config": {"to": "{{ params.email }}",
                  "message": "Welcome {{params.customer_name}}! Your {{params.plan}} plan is ready."}}' \
  | json '["id"]')

# 2. trigger it with parameters
EXECUTION_ID=$(curl -s -X POST "$GOFLOW_URL/api/workflows/$WORKFLOW_ID/trigger" \
  -H "Authorization: Bearer $GOFLOW_API_KEY" -H 'Content-Type: application/json' \
  -d '{"parameters": {"customer_name": "Alex", "email": "alex@example.com", "plan": "pro"}}' \
  | json '["execution_id"]')

# 3. a second later, read the run: status, per-step timeline and output
sleep 1
curl -s "$GOFLOW_URL/api/executions/$EXECUTION_ID" -H "Authorization: Bearer $GOFLOW_API_KEY" \
  | python3 -m json.tool
"""


def quick_start(api: str, key: str) -> str:
    """Copy-paste shell commands: create the seed workflow, trigger it, read the run (docs/local-stack.md
    has the same and more)."""
    return QUICK_START.replace("@URL@", api).replace("@KEY@", key)
