"""EventBridge's side of the local stack: an event → the targets of every enabled rule it matches.

:class:`RuleRouter` reads the rules from moto and matches them with moto's own event-pattern matcher.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from goflow.local.lambdas import Invocation

# The name shows in the log lines; it is the one the router logged under before it had its own module.
logger = logging.getLogger("goflow.local.provision")

Invoker = Callable[[str, Any], Invocation]


@dataclass
class Delivery:
    """One event delivered (or not) to one rule target."""

    rule: str
    target: str
    ok: bool
    attempts: int
    error: str | None = None


class RuleRouter:
    """EventBridge's side of the local stack: events → the targets of the rules whose pattern matches.

    Rules and targets are read from moto at delivery time (so ``aws events disable-rule`` works) and
    matched with moto's own event-pattern matcher. A Lambda target is invoked asynchronously, as
    EventBridge does: a function error is retried twice (Lambda's asynchronous retries), a target that
    cannot be reached goes to the target's dead-letter queue when it has one.
    """

    def __init__(
        self,
        events: Any,
        invoke: Invoker,
        sqs: Any = None,
        *,
        buses: Iterable[str] = ("default",),
        retry_delays: tuple[float, ...] = (1.0, 2.0),
    ) -> None:
        self.events = events
        self.invoke = invoke
        self.sqs = sqs
        self.buses = tuple(buses)
        self.retry_delays = retry_delays
        self._lock = threading.Lock()
        self.deliveries: list[Delivery] = []

    def matching_rules(self, event: Mapping[str, Any], bus: str = "default") -> list[dict[str, Any]]:
        """The enabled rules of ``bus`` whose event pattern matches ``event``."""
        from moto.events.models import EventPattern

        rules: list[dict[str, Any]] = []
        for page in self.events.get_paginator("list_rules").paginate(EventBusName=bus):
            for rule in page.get("Rules", []):
                pattern = rule.get("EventPattern")
                if rule.get("State") != "ENABLED" or not pattern:
                    continue
                if EventPattern.load(pattern).matches_event(dict(event)):  # type: ignore[arg-type]
                    rules.append(rule)
        return rules

    def publish(self, event: Mapping[str, Any]) -> list[Delivery]:
        """Deliver ``event`` to every matching target; returns what happened to each."""
        out: list[Delivery] = []
        for bus in self.buses:
            for rule in self.matching_rules(event, bus):
                targets = self.events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus).get(
                    "Targets", []
                )
                for target in targets:
                    out.append(self._deliver(rule["Name"], target, event))
        with self._lock:
            self.deliveries.extend(out)
        return out

    def _deliver(self, rule: str, target: Mapping[str, Any], event: Mapping[str, Any]) -> Delivery:
        arn = str(target["Arn"])
        payload: Any = json.loads(target["Input"]) if target.get("Input") else dict(event)
        if ":lambda:" in arn:
            return self._to_function(rule, target, payload)
        if ":sqs:" in arn and self.sqs is not None:
            self._send_to_queue(arn, payload)
            return Delivery(rule, arn, True, 1)
        logger.warning("rule target not emulated", extra={"rule": rule, "target": arn})
        return Delivery(rule, arn, False, 0, "target type not emulated")

    def _to_function(self, rule: str, target: Mapping[str, Any], payload: Any) -> Delivery:
        arn = str(target["Arn"])
        attempts = 0
        error: str | None = None
        for delay in (0.0, *self.retry_delays):
            if delay:
                time.sleep(delay)
            attempts += 1
            result = self.invoke(arn, payload)
            if not result.failed:
                return Delivery(rule, arn, True, attempts)
            error = f"{result.error_type}: {_message(result.payload)}"
            if result.error_type == "ResourceNotFoundException":
                break
            logger.warning(
                "event target failed",
                extra={"rule": rule, "target": arn, "attempt": attempts, "error": error},
            )
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter and result.error_type == "ResourceNotFoundException" and self.sqs is not None:
            self._send_to_queue(str(dead_letter), payload, {"ERROR_CODE": "ResourceNotFoundException"})
        logger.error(
            "event not delivered", extra={"rule": rule, "target": arn, "attempts": attempts, "error": error}
        )
        return Delivery(rule, arn, False, attempts, error)

    def _send_to_queue(
        self, queue_arn: str, payload: Any, attributes: Mapping[str, str] | None = None
    ) -> None:
        account, name = queue_arn.split(":")[4], queue_arn.split(":")[5]
        url = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        message_attributes = {
            key: {"DataType": "String", "StringValue": value} for key, value in (attributes or {}).items()
        }
        self.sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps(payload), MessageAttributes=message_attributes
        )


def _message(payload: Any) -> str:
    if isinstance(payload, Mapping):
        return str(payload.get("errorMessage", ""))
    return str(payload)
