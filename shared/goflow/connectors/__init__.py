"""Connectors: the actions a workflow step can run."""

from goflow.connectors.base import Connector, ConnectorConfig, ConnectorMetadata, StepContext
from goflow.connectors.registry import ConnectorRegistry, default_registry

__all__ = [
    "Connector",
    "ConnectorConfig",
    "ConnectorMetadata",
    "ConnectorRegistry",
    "StepContext",
    "default_registry",
]
