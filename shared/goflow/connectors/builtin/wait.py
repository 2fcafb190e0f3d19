"""``wait``: pause the run. Compiled to a native Wait state; this runs only if a Task invokes it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator, model_validator

from goflow import templating
from goflow.connectors.base import Connector, ConnectorConfig, ConnectorMetadata, StepContext
from goflow.connectors.errors import StepConfigInvalid

MAX_WAIT_SECONDS = 31_536_000  # one year, the longest a Standard execution lives


class WaitConfig(ConnectorConfig):
    """A pause: exactly one of `seconds` and `until`."""

    seconds: int | str | None = Field(
        None,
        description=f"Seconds to wait (0..{MAX_WAIT_SECONDS}), or a template that renders to them.",
    )
    until: datetime | None = Field(
        None, description="ISO-8601 timestamp to wait until (UTC unless it carries an offset)."
    )

    @field_validator("seconds")
    @classmethod
    def _seconds_in_range(cls, value: int | str | None) -> int | str | None:
        if value is None or templating.is_template(value):
            return value
        try:
            seconds = int(value)
        except ValueError as exc:
            raise ValueError("must be a whole number of seconds") from exc
        if not 0 <= seconds <= MAX_WAIT_SECONDS:
            raise ValueError(f"must be between 0 and {MAX_WAIT_SECONDS}")
        return seconds

    @model_validator(mode="after")
    def _exactly_one(self) -> WaitConfig:
        if (self.seconds is None) == (self.until is None):
            raise ValueError("set exactly one of `seconds` and `until`")
        return self


class WaitConnector(Connector):
    """Sleeps for ``seconds`` or until ``until``, never past the step's deadline."""

    name = "wait"
    metadata = ConnectorMetadata(description="Pause the run for a duration or until a time.")
    config_model = WaitConfig

    def __init__(self, utc_now: Callable[[], datetime] | None = None) -> None:
        self._utc_now = utc_now or (lambda: datetime.now(UTC))

    def execute(self, ctx: StepContext, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        """``{"waited_seconds": n}``; :class:`StepDeadlineExceeded` when the wait outlasts the deadline."""
        seconds = self._seconds(ctx, config)
        ctx.sleep(seconds)
        return {"waited_seconds": seconds}

    def _seconds(self, ctx: StepContext, config: WaitConfig) -> float:
        if config.until is not None:
            until = config.until if config.until.tzinfo else config.until.replace(tzinfo=UTC)
            return round(max(0.0, (until - self._utc_now()).total_seconds()), 3)
        if isinstance(config.seconds, str):  # still a template after rendering: cannot wait on it
            raise StepConfigInvalid(
                f"step '{ctx.step_id}' (wait): seconds '{config.seconds}' is not a number"
            )
        return config.seconds or 0
