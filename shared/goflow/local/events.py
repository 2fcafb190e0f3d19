"""EventBridge's "Step Functions Execution Status Change" events, emitted when moto ends an execution.

AWS sends these to the outcome recorder through an EventBridge rule; moto does not emit them, so the
local stack (and the integration tests) hook the end of every execution and deliver the same event.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

DETAIL_TYPE = "Step Functions Execution Status Change"
Listener = Callable[[dict[str, Any]], None]


def _millis(value: Any) -> int | None:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return None


def status_change_event(execution: Any) -> dict[str, Any]:
    """The EventBridge event AWS emits for a moto execution (parser backend) that has ended."""
    arn: str = execution.exec_arn
    parts = arn.split(":")
    output = execution.output
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws.states",
        "account": parts[4],
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": parts[3],
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": execution.state_machine.arn,
            "name": execution.name,
            "status": execution.exec_status.value,
            "startDate": _millis(execution.start_date),
            "stopDate": _millis(execution.stop_date),
            "input": execution.input_data
            if isinstance(execution.input_data, str)
            else _dump(execution.input_data),
            "output": output if isinstance(output, str) or output is None else _dump(output),
            "inputDetails": {"included": True},
            "outputDetails": {"included": True},
            "error": execution.error,
            "cause": execution.cause,
        },
    }


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class StatusChangeFeed:
    """Delivers a status-change event to ``listener`` (asynchronously, as EventBridge does) per ended run."""

    def __init__(self, listener: Listener) -> None:
        self._listener = listener
        self._pending: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._restore: Callable[[], None] | None = None

    def install(self) -> None:
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

        original = BaseExecutionWorkerCommunication.terminated
        feed = self

        def terminated(comm: Any) -> None:
            original(comm)
            feed.publish(status_change_event(comm.execution))

        BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign,assignment]

        def restore() -> None:
            BaseExecutionWorkerCommunication.terminated = original  # type: ignore[method-assign]

        self._restore = restore

    def uninstall(self) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None

    def publish(self, event: dict[str, Any]) -> None:
        thread = threading.Thread(target=self._listener, args=(event,), name="status-change", daemon=True)
        with self._lock:
            self._pending = [t for t in self._pending if t.is_alive()]
            self._pending.append(thread)
            thread.start()  # inside the lock, so wait_idle never joins a thread not yet started

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until every event published so far has been delivered (tests use this)."""
        with self._lock:
            pending = list(self._pending)
        for thread in pending:
            thread.join(timeout)
