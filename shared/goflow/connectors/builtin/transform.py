"""``transform``: shape data with templates; the rendered ``value`` is the step's output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from goflow.connectors.base import Connector, ConnectorConfig, ConnectorMetadata, StepContext


class TransformConfig(ConnectorConfig):
    """A value built from templates; it becomes the step's output."""

    value: Any = Field(
        None,
        description="Any JSON value; templates inside it are rendered, e.g. "
        '{"id": "{{ steps.fetch.output.json.id }}"}.',
    )


class TransformConnector(Connector):
    """Returns its rendered ``value``: picks, renames and combines earlier steps' data."""

    name = "transform"
    metadata = ConnectorMetadata(description="Build a value from parameters and earlier steps' outputs.")
    config_model = TransformConfig

    def execute(self, ctx: StepContext, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        """``{"value": <rendered value>}``."""
        return {"value": config.value}
