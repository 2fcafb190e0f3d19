"""Which connectors exist: the built-ins plus plugins found through the ``goflow.connectors`` entry points.

A plugin that fails to load is recorded in ``problems`` and skipped; it never takes the platform down.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata

from goflow.connectors.base import Connector

ENTRY_POINT_GROUP = "goflow.connectors"


@dataclass(frozen=True)
class PluginProblem:
    plugin: str
    error: str


@dataclass
class ConnectorRegistry:
    """Connectors by name."""

    _connectors: dict[str, Connector] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)

    @classmethod
    def of(cls, connectors: Iterable[Connector]) -> ConnectorRegistry:
        registry = cls()
        for connector in connectors:
            registry.register(connector)
        return registry

    def register(self, connector: Connector) -> None:
        if connector.name in self._connectors:
            raise ValueError(f"connector '{connector.name}' is already registered")
        self._connectors[connector.name] = connector

    def get(self, name: str) -> Connector | None:
        return self._connectors.get(name)

    def names(self) -> list[str]:
        return sorted(self._connectors)

    def all(self) -> list[Connector]:
        return [self._connectors[name] for name in self.names()]

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Register every connector an installed distribution exposes; record the broken ones."""
        for entry_point in metadata.entry_points(group=group):
            try:
                loaded = entry_point.load()
                connector = loaded() if isinstance(loaded, type) else loaded
                if not isinstance(connector, Connector):
                    raise TypeError(f"{entry_point.value} is not a goflow Connector")
                self.register(connector)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must never stop the platform
                self.problems.append(PluginProblem(entry_point.name, f"{type(exc).__name__}: {exc}"))


def build_registry(**builtin_options: str) -> ConnectorRegistry:
    """The built-in connectors (configured with ``builtin_options``) and every installed plugin."""
    from goflow.connectors.builtin import builtin_connectors

    registry = ConnectorRegistry.of(builtin_connectors(**builtin_options))
    registry.load_entry_points()
    return registry


@lru_cache(maxsize=1)
def default_registry() -> ConnectorRegistry:
    """:func:`build_registry` with default options, loaded once per process (for validation, listing)."""
    return build_registry()
