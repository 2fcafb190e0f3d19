"""Fakes for unit tests: small connectors of our own, so tests never depend on the built-ins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pytest
from pydantic import Field, HttpUrl

from goflow.connectors.base import Connector, ConnectorConfig, ConnectorMetadata, StepContext
from goflow.connectors.registry import ConnectorRegistry


class _FakeConnector(Connector):
    metadata = ConnectorMetadata(description="fake connector for tests", source="tests")

    def execute(self, ctx: StepContext, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"config": config.model_dump(by_alias=True)}


class SendEmailConfig(ConnectorConfig):
    to: str | list[str]
    message: str
    subject: str | None = None
    sender: str | None = Field(None, alias="from")


class HttpRequestConfig(ConnectorConfig):
    url: HttpUrl
    method: Literal["GET", "POST", "PUT", "DELETE"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: int = Field(10, ge=1, le=60)


class WaitConfig(ConnectorConfig):
    seconds: int = Field(ge=1)


class LogConfig(ConnectorConfig):
    message: str


class FakeSendEmail(_FakeConnector):
    name = "send_email"
    config_model = SendEmailConfig


class FakeHttpRequest(_FakeConnector):
    name = "http_request"
    config_model = HttpRequestConfig


class FakeWait(_FakeConnector):
    name = "wait"
    config_model = WaitConfig


class FakeLog(_FakeConnector):
    name = "log"
    config_model = LogConfig


class BrokenSchemaConnector(_FakeConnector):
    """A plugin whose config schema cannot even be produced."""

    name = "broken"
    config_model = LogConfig

    def config_schema(self) -> dict[str, Any]:
        raise RuntimeError("plugin bug")


@pytest.fixture
def registry() -> ConnectorRegistry:
    """send_email, http_request, wait and log, as small fakes."""
    return ConnectorRegistry.of([FakeSendEmail(), FakeHttpRequest(), FakeWait(), FakeLog()])


@pytest.fixture
def registry_with_broken_plugin() -> ConnectorRegistry:
    return ConnectorRegistry.of([FakeLog(), BrokenSchemaConnector()])
