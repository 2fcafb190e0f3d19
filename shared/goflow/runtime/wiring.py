"""What the executor builds once per cold start: the connectors, AWS clients and the step runner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from goflow.connectors.builtin import builtin_connectors
from goflow.connectors.registry import ConnectorRegistry
from goflow.runtime.clients import ClientFactory, make_client_factory
from goflow.runtime.secrets import SecretsManagerReader
from goflow.runtime.steps import StepLogger, run_step
from goflow.settings import Settings


@dataclass(frozen=True)
class StepRuntime:
    """The executor's long-lived parts; :meth:`run` handles one step event."""

    settings: Settings
    registry: ConnectorRegistry
    client_factory: ClientFactory

    @classmethod
    def build(cls, settings: Settings, client_factory: ClientFactory | None = None) -> StepRuntime:
        """Built-in connectors (send_email's sender from settings), installed plugins and a client factory."""
        registry = ConnectorRegistry.of(builtin_connectors(default_sender=settings.default_sender))
        registry.load_entry_points()
        return cls(settings, registry, client_factory or make_client_factory())

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
