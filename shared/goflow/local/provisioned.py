"""What provisioning created from the template, as the rest of the local stack sees it.

:class:`ProvisionedStack` describes the result: the physical id and attributes of every resource, the
functions the in-process dispatcher runs, the HTTP APIs the gateway serves, the EventBridge rules,
the outputs, and what was skipped or only partly emulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ProvisioningError(RuntimeError):
    """A resource the local stack emulates could not be created."""


@dataclass
class Physical:
    """What ``Ref`` and ``Fn::GetAtt`` of a created resource return."""

    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class FunctionSpec:
    """A Lambda function of the template, as the in-process dispatcher runs it."""

    logical_id: str
    name: str
    arn: str
    handler: str | None
    code_dir: Path | None
    runtime: str
    timeout_seconds: float
    memory_mb: int
    environment: dict[str, str]


@dataclass
class Route:
    """An HTTP API route: ``routeKey`` (``"ANY /api/{proxy+}"`` or ``"$default"``) → a function."""

    route_key: str
    method: str
    path: str | None
    function: str
    payload_format_version: str = "2.0"
    timeout_ms: int = 30_000


@dataclass
class HttpApiSpec:
    logical_id: str
    api_id: str
    cors: dict[str, Any] | None
    routes: list[Route] = field(default_factory=list)


@dataclass
class RuleSpec:
    logical_id: str
    name: str
    arn: str
    event_bus: str


@dataclass
class NotEmulated:
    logical_id: str
    type: str
    reason: str


@dataclass
class ProvisionedStack:
    """Everything the local stack created from the template."""

    region: str
    account_id: str
    stack_name: str
    parameters: dict[str, Any]
    resources: dict[str, Physical] = field(default_factory=dict)
    functions: list[FunctionSpec] = field(default_factory=list)
    apis: list[HttpApiSpec] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    not_emulated: list[NotEmulated] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ses_identities: list[str] = field(default_factory=list)

    def function(self, logical_id: str) -> FunctionSpec:
        for spec in self.functions:
            if spec.logical_id == logical_id:
                return spec
        raise KeyError(logical_id)
