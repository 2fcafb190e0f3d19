"""Run one workflow step: the executor Lambda's whole job, as plain Python.

The event is the compiler's step contract: ``{"step": {...}, "state": {...}}``. The result is
``{"status": "SUCCEEDED", "output": {...}}`` or ``{"status": "SKIPPED", "output": None}``; any failure
is raised as a :class:`StepError` whose class name Step Functions matches in ``Retry``/``Catch``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from jmespath.exceptions import JMESPathError

from goflow import templating
from goflow.connectors.base import Logger, StepContext
from goflow.connectors.errors import (
    FatalStepError,
    RetryableStepError,
    StepConfigInvalid,
    StepDeadlineExceeded,
    StepError,
    StepOutputTooLarge,
)
from goflow.connectors.registry import ConnectorRegistry
from goflow.runtime.classify import classify
from goflow.runtime.deadline import Deadline, compute_deadline
from goflow.runtime.event import StepEvent, parse_event
from goflow.runtime.redact import RedactingLogger, Redactor

KB = 1024
MAX_OUTPUT_BYTES = 200 * KB
MAX_STATE_BYTES = 250 * KB  # Step Functions refuses a state over 256 KiB; keep room for its envelope
CANONICAL_ERRORS: tuple[type[StepError], ...] = (
    RetryableStepError,
    StepDeadlineExceeded,
    StepOutputTooLarge,
    StepConfigInvalid,
    FatalStepError,
)
_FALSY_TEXT = frozenset({"", "false", "0", "no", "null", "none"})


class StepLogger(Logger, Protocol):
    """A Powertools-like logger: levels plus ``append_keys`` for the step's correlation keys."""

    def append_keys(self, **additional_keys: Any) -> None: ...


SecretReader = Callable[[str, float], str]
"""``(name, remaining_seconds) -> value``: reads one secret within the time left."""


@dataclass(frozen=True)
class Clocks:
    """The clocks a step reads; tests replace them."""

    monotonic: Callable[[], float] = time.monotonic
    utc_now: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] = time.sleep


def run_step(
    event: Any,
    *,
    remaining_ms: int,
    registry: ConnectorRegistry,
    logger: StepLogger,
    secret_reader: SecretReader | None = None,
    client_factory: Callable[[str, float], Any] | None = None,
    margin_ms: int = 1500,
    clocks: Clocks | None = None,
) -> dict[str, Any]:
    """Run the step an executor event describes and return its result for the run state.

    Raises a :class:`StepError`: ``FatalStepError`` for a malformed event, ``StepDeadlineExceeded``
    when no time is left, ``StepConfigInvalid``, ``StepOutputTooLarge``, or whatever the connector's
    failure classifies as.
    """
    clocks = clocks or Clocks()
    try:
        parsed = parse_event(event)
    except FatalStepError as malformed:
        logger.error("step failed", error_type=type(malformed).__name__, error_message=malformed.message)
        raise
    step = parsed.step
    execution = parsed.state.execution
    logger.append_keys(
        step_id=step.id,
        action=step.action,
        trace_id=execution.trace_id or None,
        tenant_id=execution.tenant_id or None,
        workflow_id=execution.workflow_id or None,
        execution_id=execution.id or None,
    )
    started = clocks.monotonic()
    deadline = compute_deadline(
        started,
        remaining_ms,
        margin_ms,
        step.timeout_seconds,
        execution.deadline,
        clocks.utc_now(),
    )
    run = _StepRun(parsed, event, deadline, registry, logger, secret_reader, client_factory, clocks)
    logger.info("step started", remaining_seconds=round(deadline.at - started, 3))
    try:
        result = run.execute()
    except Exception as exc:
        error = run.finish_error(exc)
        logger.warning(
            "step failed",
            error_type=type(error).__name__,
            error_message=error.message,
            duration_ms=_ms_since(started, clocks),
        )
        raise error from exc
    logger.info("step finished", status=result["status"], duration_ms=_ms_since(started, clocks))
    return result


class _StepRun:
    """One attempt of one step; holds what its phases share (data, secrets, deadline)."""

    def __init__(
        self,
        parsed: StepEvent,
        raw_event: Mapping[str, Any],
        deadline: Deadline,
        registry: ConnectorRegistry,
        logger: StepLogger,
        secret_reader: SecretReader | None,
        client_factory: Callable[[str, float], Any] | None,
        clocks: Clocks,
    ) -> None:
        self.step = parsed.step
        self.raw_state = raw_event.get("state") or {}
        self.deadline = deadline
        self.registry = registry
        self.logger = logger
        self.secret_reader = secret_reader
        self.client_factory = client_factory
        self.clocks = clocks
        self.secrets: dict[str, str] = {}
        self.redactor = Redactor()
        raw_execution = self.raw_state.get("execution")
        self.data: dict[str, Any] = {
            "params": parsed.state.params,
            "trigger": parsed.state.trigger,
            "steps": parsed.state.steps,
            "execution": raw_execution if isinstance(raw_execution, dict) else {},
        }

    @property
    def label(self) -> str:
        return f"step '{self.step.id}' ({self.step.action})"

    def remaining(self) -> float:
        return max(0.0, self.deadline.at - self.clocks.monotonic())

    def execute(self) -> dict[str, Any]:
        if self.remaining() <= 0:
            raise StepDeadlineExceeded(
                f"{self.label} has no time left to start: its deadline, set by {self.deadline.describe()}, "
                "has passed"
            )
        if self.step.when is not None and not self._condition_holds(self.step.when):
            self.logger.info("step skipped", when=self.step.when)
            return {"status": "SKIPPED", "output": None}
        connector = self.registry.get(self.step.action)
        if connector is None:
            raise FatalStepError(f"{self.label}: no connector named '{self.step.action}' is installed")
        rendered = self._render(self.step.config, "config")
        config = connector.validate(rendered)
        output = connector.execute(self._context(), config, self.data)
        return {"status": "SUCCEEDED", "output": self._guard_output(output)}

    def finish_error(self, exc: Exception) -> StepError:
        """The error to raise: classified, named after the deadline when that is what cut it, redacted."""
        error = classify(exc)
        if isinstance(error, RetryableStepError) and not isinstance(exc, StepError) and self.remaining() <= 0:
            # A timeout sized to the remaining time fired: the deadline, not the remote, is the cause.
            error = StepDeadlineExceeded(f"{self.label} ran past its deadline: {error.message}")
        message = error.message
        if not message.startswith(f"step '{self.step.id}'"):
            message = f"{self.label}: {message}"
        if isinstance(error, StepDeadlineExceeded) and "set by" not in message:
            message = f"{message} (deadline set by {self.deadline.describe()})"
        return _canonical(error, self.redactor.text(message))

    def _condition_holds(self, when: str) -> bool:
        value = self._render(when, "when")
        if isinstance(value, str):
            return value.strip().lower() not in _FALSY_TEXT
        return bool(value)

    def _render(self, template: Any, field: str) -> Any:
        try:
            self._resolve_secrets(templating.secret_names(template))
            return templating.render(template, {**self.data, "secrets": self.secrets})
        except (templating.TemplateSyntaxError, JMESPathError) as exc:
            raise StepConfigInvalid(f"{self.label}: {field}: {exc}") from exc

    def _resolve_secrets(self, names: set[str]) -> None:
        missing = sorted(names - self.secrets.keys())
        if not missing:
            return
        if self.secret_reader is None:
            raise StepConfigInvalid(f"{self.label} reads secret '{missing[0]}' but no secret store is set")
        for name in missing:
            self.secrets[name] = self.secret_reader(name, self.remaining())
        self.redactor = Redactor(self.secrets.values())

    def _secret(self, name: str) -> str:
        self._resolve_secrets({name})
        return self.secrets[name]

    def _context(self) -> StepContext:
        execution = self.data["execution"]
        return StepContext(
            step_id=self.step.id,
            action=self.step.action,
            deadline=self.deadline.at,
            trace_id=str(execution.get("trace_id") or ""),
            logger=RedactingLogger(self.logger, lambda: self.redactor),
            execution=execution,
            secret_reader=self._secret,
            client_factory=self.client_factory,
            clock=self.clocks.monotonic,
            sleeper=self.clocks.sleep,
        )

    def _guard_output(self, output: Any) -> Any:
        if not isinstance(output, Mapping):
            raise FatalStepError(f"{self.label} returned {type(output).__name__}, not an object")
        output = self.redactor.value(output)
        try:
            encoded = json.dumps(output, ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise FatalStepError(f"{self.label} returned an output that is not JSON: {exc}") from exc
        if len(encoded) > MAX_OUTPUT_BYTES:
            raise StepOutputTooLarge(
                f"{self.label} returned {_kb(len(encoded))} of output; a step's output is limited to "
                f"{_kb(MAX_OUTPUT_BYTES)}: make the step return less"
            )
        state_size = len(json.dumps(self.raw_state, ensure_ascii=False, default=str).encode())
        total = state_size + len(encoded) + len(self.step.id.encode()) + 40  # + the {"status": ...} wrapper
        if total > MAX_STATE_BYTES:
            raise StepOutputTooLarge(
                f"{self.label} returned {_kb(len(encoded))} of output; with the run's {_kb(state_size)} of "
                f"state so far the run's state would exceed Step Functions' 256 KiB limit"
            )
        return output


def _canonical(error: StepError, message: str) -> StepError:
    """``error`` as the nearest error class the compiled machines match on, carrying ``message``.

    A plugin's own subclass (``class QuotaHit(RetryableStepError)``) would reach Step Functions under
    its own name and miss the compiled ``Retry``; it is reported as its canonical base instead.
    """
    fallback = RetryableStepError if error.retryable else FatalStepError
    cls = next((c for c in type(error).__mro__ if c in CANONICAL_ERRORS), fallback)
    if cls is type(error) and message == error.message:
        return error
    return cls(message)


def _kb(size: int) -> str:
    return f"{size / KB:.1f} KB"


def _ms_since(start: float, clocks: Clocks) -> int:
    return int((clocks.monotonic() - start) * 1000)
