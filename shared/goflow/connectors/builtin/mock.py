"""``mock``: a stand-in step for tests and demos (the original GoFlow's "testing" action)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from goflow.connectors.base import Connector, ConnectorConfig, ConnectorMetadata, StepContext
from goflow.connectors.errors import FatalStepError, RetryableStepError


class MockConfig(ConnectorConfig):
    """A fixed answer, an optional delay, or a failure on demand (for tests and demos)."""

    response: Any = Field(default_factory=dict, description="Returned as the output's `response`.")
    delay_seconds: float = Field(
        0, ge=0, description="Seconds to wait first; a wait past the step's deadline fails the step."
    )
    fail_with: Literal["retryable", "fatal"] | None = Field(
        None, description="Fail instead of answering: `retryable` (retried) or `fatal`."
    )
    message: str = Field("mock failure", description="The error message when `fail_with` is set.")


class MockConnector(Connector):
    """Waits ``delay_seconds``, then answers ``response`` or fails as asked."""

    name = "mock"
    metadata = ConnectorMetadata(description="Return a fixed response, after an optional delay, or fail.")
    config_model = MockConfig

    def execute(self, ctx: StepContext, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        """``{"response": response}``; raises the requested error when ``fail_with`` is set."""
        if config.delay_seconds:
            ctx.sleep(config.delay_seconds)
        if config.fail_with == "retryable":
            raise RetryableStepError(config.message)
        if config.fail_with == "fatal":
            raise FatalStepError(config.message)
        return {"response": config.response}
