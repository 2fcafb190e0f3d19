"""Ctrl-C stops the local stack cleanly (runs after ``test_local_stack.py``: files run in name order)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e


def test_ctrl_c_stops_the_stack_cleanly(local_stack: LocalStackProcess) -> None:
    # When the stack gets SIGINT, as from Ctrl-C
    code = local_stack.stop()

    # Then it exits 0 after stopping everything
    assert code == 0, local_stack.output
    assert "goflow local stopped." in local_stack.output
