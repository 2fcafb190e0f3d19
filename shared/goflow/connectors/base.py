"""The connector contract shared by built-in connectors and plugins.

A connector has a ``name``, metadata, a pydantic config model (which yields its JSON Schema),
``validate(config)`` and ``execute(ctx, config, data) -> dict``. ``ctx`` carries the deadline,
trace id, logger and secret access; every outbound call a connector makes must be bounded by
``ctx.remaining_seconds()``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from goflow.connectors.errors import StepConfigInvalid, StepDeadlineExceeded


class ConnectorConfig(BaseModel):
    """Base for connector config models: unknown keys are refused, so typos surface at save time."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ConnectorMetadata:
    description: str
    version: str = "1.0.0"
    author: str = "GoFlow"
    source: str = "builtin"  # "builtin" or the distribution a plugin came from


class Logger(Protocol):
    def info(self, msg: object, *args: Any, **kwargs: Any) -> Any: ...
    def warning(self, msg: object, *args: Any, **kwargs: Any) -> Any: ...
    def error(self, msg: object, *args: Any, **kwargs: Any) -> Any: ...
    def debug(self, msg: object, *args: Any, **kwargs: Any) -> Any: ...


@dataclass
class StepContext:
    """What a running step knows about itself and may use.

    ``deadline`` is a ``time.monotonic()`` instant: the earliest of the Lambda's remaining time
    less a safety margin, the step timeout and the workflow deadline.
    """

    step_id: str
    action: str
    deadline: float
    trace_id: str
    logger: Logger
    execution: Mapping[str, Any] = field(default_factory=dict)
    secret_reader: Callable[[str], str] | None = None
    client_factory: Callable[..., Any] | None = None
    clock: Callable[[], float] = time.monotonic
    sleeper: Callable[[float], None] = time.sleep

    def remaining_seconds(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def check_deadline(self) -> None:
        """Raise :class:`StepDeadlineExceeded` naming the step once the deadline has passed."""
        if self.clock() >= self.deadline:
            raise StepDeadlineExceeded(f"step '{self.step_id}' ({self.action}) ran past its deadline")

    def sleep(self, seconds: float) -> None:
        """Sleep, but never past the deadline; raise when the deadline cuts the sleep short."""
        remaining = self.remaining_seconds()
        self.sleeper(min(seconds, remaining))
        if seconds > remaining:
            self.check_deadline()

    def secret(self, name: str) -> str:
        if self.secret_reader is None:
            raise StepConfigInvalid(f"step '{self.step_id}' reads secret '{name}' but no secret store is set")
        return self.secret_reader(name)

    def aws_client(self, service: str) -> Any:
        """A boto3 client whose connect/read timeouts and retries fit inside the remaining time."""
        if self.client_factory is None:
            raise RuntimeError("no AWS client factory configured for this step")
        return self.client_factory(service, self.remaining_seconds())


class Connector(ABC):
    """Base class for connectors. Subclasses set ``name``, ``metadata``, ``config_model``."""

    name: ClassVar[str]
    metadata: ClassVar[ConnectorMetadata]
    config_model: ClassVar[type[ConnectorConfig]]

    def config_schema(self) -> dict[str, Any]:
        return self.config_model.model_json_schema()

    def validate(self, config: Mapping[str, Any]) -> ConnectorConfig:
        """Validate a *rendered* config; raise :class:`StepConfigInvalid` naming each bad field."""
        try:
            return self.config_model.model_validate(dict(config))
        except PydanticValidationError as exc:
            problems = "; ".join(
                f"config.{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise StepConfigInvalid(f"{self.name}: {problems}") from exc

    @abstractmethod
    def execute(self, ctx: StepContext, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        """Run the action with a validated config; ``data`` is the run state (params, steps, ...)."""

    def describe(self) -> dict[str, Any]:
        """Metadata and config schema, as ``GET /api/connectors`` lists them."""
        return {
            "name": self.name,
            "description": self.metadata.description,
            "version": self.metadata.version,
            "author": self.metadata.author,
            "source": self.metadata.source,
            "config_schema": self.config_schema(),
        }
