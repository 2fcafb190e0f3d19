"""What the executor builds once per cold start: the connectors, AWS clients and the step runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from goflow.connectors.errors import FatalStepError
from goflow.connectors.registry import ConnectorRegistry, build_registry
from goflow.executions.model import Execution
from goflow.runtime.clients import ClientFactory, make_client_factory
from goflow.runtime.finish import RunRecorder, finish_run
from goflow.runtime.secrets import SecretsManagerReader
from goflow.runtime.steps import StepLogger, run_step
from goflow.settings import Settings


@dataclass(frozen=True)
class StepRuntime:
    """The executor's long-lived parts; :meth:`run` handles one step event, :meth:`finish` one
    finish event (the end of an express run); ``recorder`` is built on the first finish event."""

    settings: Settings
    registry: ConnectorRegistry
    client_factory: ClientFactory
    recorder: Callable[[], RunRecorder] | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        client_factory: ClientFactory | None = None,
        recorder: Callable[[], RunRecorder] | None = None,
    ) -> StepRuntime:
        """Built-in connectors (send_email's sender from settings), installed plugins and a client factory."""
        registry = build_registry(default_sender=settings.default_sender)
        return cls(settings, registry, client_factory or make_client_factory(), recorder)

    def run(self, event: Any, remaining_ms: int, logger: StepLogger) -> dict[str, Any]:
        """Run one step event; secrets are read (and cached) for this invocation only."""
        return run_step(
            event,
            remaining_ms=remaining_ms,
            registry=self.registry,
            logger=logger,
            secret_reader=SecretsManagerReader(self.client_factory, self.settings.secrets_prefix),
            client_factory=self.client_factory,
            margin_ms=self.settings.deadline_margin_ms,
        )

    def finish(self, event: Any, logger: StepLogger) -> Execution:
        """Record the end of the express run a finish event reports; returns the stored record."""
        if self.recorder is None:
            raise FatalStepError("this executor has no execution store to record the run's end in")
        return finish_run(event, recorder=self.recorder(), now=datetime.now(UTC), logger=logger)
