"""``log``: write a message to the execution's logs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from goflow.connectors.base import Connector, ConnectorConfig, ConnectorMetadata, StepContext


class LogConfig(ConnectorConfig):
    """A message to write to the run's logs."""

    message: str = Field(description="The text to log; templates are rendered.")
    level: Literal["info", "warning", "error"] = Field("info", description="Log level.")


class LogConnector(Connector):
    """Logs ``message`` (under the key ``step_message``) and returns it."""

    name = "log"
    metadata = ConnectorMetadata(description="Write a message to the run's logs.")
    config_model = LogConfig

    def execute(self, ctx: StepContext, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        """``{"message": message}``, after logging it at ``level``."""
        write = {"info": ctx.logger.info, "warning": ctx.logger.warning, "error": ctx.logger.error}
        write[config.level]("workflow log", step_message=config.message)
        return {"message": config.message}
