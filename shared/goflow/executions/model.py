"""What GoFlow records about one run of a workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
StepStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "SKIPPED", "CONTINUED", "TIMED_OUT", "ABORTED"]


class StepError(BaseModel):
    error: str
    cause: str | None = None


class StepSummary(BaseModel):
    """One step of a run, as the execution history shows it.

    An express run has no history: its steps carry no attempts (None) and no timings.
    """

    step_id: str
    status: StepStatus
    attempts: int | None = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    output: Any = None
    error: StepError | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class ExecutionFailure(BaseModel):
    """Why a run did not succeed: the ASL error, its cause and the step it came from."""

    error: str
    cause: str | None = None
    step_id: str | None = None


class Execution(BaseModel):
    id: str
    tenant_id: str
    workflow_id: str
    workflow_version: int
    workflow_name: str = ""
    mode: Literal["standard", "express"] = "standard"
    status: ExecutionStatus = "RUNNING"
    parameters: dict[str, Any] = Field(default_factory=dict)
    trigger: dict[str, Any] = Field(default_factory=dict)
    trace_id: str
    state_machine_arn: str | None = None
    execution_arn: str | None = None
    started_at: datetime
    deadline: datetime
    finished_at: datetime | None = None
    failure: ExecutionFailure | None = None
    steps: list[StepSummary] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES
