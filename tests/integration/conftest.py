"""Fixtures shared by the integration tests: the in-process platform and a scripted HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.platform import Platform, running_platform
from tests.support.http_server import ScriptedServer, scripted_server


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """A fresh GoFlow under moto for one test (its own table, machines and functions)."""
    with running_platform(monkeypatch) as running:
        yield running


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as running:
        yield running
