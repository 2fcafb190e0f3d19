"""boto3 clients whose timeouts fit inside the time a step has left."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

# Total attempts, initial call included. botocore's ``max_attempts`` counts *retries* (2 → 3 calls);
# ``total_max_attempts`` counts calls, which is what the timeout split below assumes.
MAX_ATTEMPTS = 2
MAX_CONNECT_TIMEOUT = 5.0
# Timeouts are rounded down to one of these steps so clients can be reused across invocations.
TIMEOUT_STEPS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 450.0)

ClientFactory = Callable[[str, float], Any]


def timeout_for(remaining_seconds: float) -> float:
    """The per-attempt timeout for a call that must finish within ``remaining_seconds``.

    Each of the ``MAX_ATTEMPTS`` attempts gets an equal share, rounded down to a step of
    ``TIMEOUT_STEPS`` (at least the smallest step).
    """
    share = remaining_seconds / MAX_ATTEMPTS
    fitting = [step for step in TIMEOUT_STEPS if step <= share]
    return fitting[-1] if fitting else TIMEOUT_STEPS[0]


def make_client_factory(session: boto3.session.Session | None = None) -> ClientFactory:
    """A ``(service, remaining_seconds) -> client`` factory that caches one client per timeout step.

    The session is created on first use (never at import time); endpoints come from boto3's own
    configuration, so ``AWS_ENDPOINT_URL`` (the local stack) is honoured.
    """
    clients: dict[tuple[str, float], Any] = {}
    lock = threading.Lock()
    state: dict[str, boto3.session.Session] = {}

    def client_for(service: str, remaining_seconds: float) -> Any:
        timeout = timeout_for(remaining_seconds)
        key = (service, timeout)
        with lock:  # boto3 sessions are not thread-safe; the local stack may run steps in threads
            if key not in clients:
                current = state.setdefault("session", session or boto3.session.Session())
                config = Config(
                    connect_timeout=min(timeout, MAX_CONNECT_TIMEOUT),
                    read_timeout=timeout,
                    retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
                )
                clients[key] = current.client(service, config=config)
            return clients[key]

    return client_for
