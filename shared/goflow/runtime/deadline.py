"""A step's deadline: the earliest of the Lambda's remaining time, the step timeout and the run's deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum


class DeadlineBound(Enum):
    """Which limit set a step's deadline; the value is how an error message names it."""

    WORKFLOW = "the workflow's execution_timeout"
    STEP = "the step's timeout_seconds"
    LAMBDA = "the Lambda's remaining time"


@dataclass(frozen=True)
class Deadline:
    """A ``time.monotonic()`` instant and the limit that set it."""

    at: float
    bound: DeadlineBound
    step_timeout_s: float | None = None

    def describe(self) -> str:
        """The limit in words, e.g. "the step's timeout_seconds (60 s)"."""
        if self.bound is DeadlineBound.STEP and self.step_timeout_s is not None:
            return f"{self.bound.value} ({self.step_timeout_s:g} s)"
        return self.bound.value


def compute_deadline(
    now_monotonic: float,
    remaining_ms: int,
    margin_ms: int,
    step_timeout_s: float | None,
    workflow_deadline_utc: datetime | None,
    now_utc: datetime,
) -> Deadline:
    """The earliest of (Lambda remaining time − margin), the step timeout and the workflow deadline.

    ``now_monotonic`` and ``now_utc`` are the same instant on the two clocks; a naive
    ``workflow_deadline_utc`` is taken as UTC. On a tie the workflow, then the step, wins the name.
    """
    candidates: list[tuple[float, DeadlineBound]] = []
    if workflow_deadline_utc is not None:
        if workflow_deadline_utc.tzinfo is None:
            workflow_deadline_utc = workflow_deadline_utc.replace(tzinfo=UTC)
        left = (workflow_deadline_utc - now_utc).total_seconds()
        candidates.append((now_monotonic + left, DeadlineBound.WORKFLOW))
    if step_timeout_s is not None:
        candidates.append((now_monotonic + step_timeout_s, DeadlineBound.STEP))
    candidates.append((now_monotonic + (remaining_ms - margin_ms) / 1000.0, DeadlineBound.LAMBDA))
    at, bound = min(candidates, key=lambda candidate: candidate[0])  # min keeps the first of equals
    return Deadline(at=at, bound=bound, step_timeout_s=step_timeout_s)
