"""The step event the compiled state machine sends the executor, parsed and checked."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from goflow.connectors.errors import FatalStepError


class StepSpec(BaseModel):
    """The step to run: its id, action, config *template*, timeout, condition and error policy."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    action: str = Field(min_length=1)
    config: dict[str, Any] = Field(default_factory=dict)
    timeout_seconds: float | None = Field(None, gt=0)
    when: str | None = None
    on_error: Literal["fail", "continue"] = "fail"

    @field_validator("config", mode="before")
    @classmethod
    def _parse_config(cls, value: Any) -> Any:
        # The compiler sends the template as a JSON string so Step Functions never reads it as a path.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ValueError("is not valid JSON") from exc
        return value


class ExecutionInfo(BaseModel):
    """Who and what the run is; every field is optional so an older compiler's event still runs."""

    model_config = ConfigDict(extra="allow")

    id: str = ""
    workflow_id: str = ""
    workflow_name: str = ""
    tenant_id: str = ""
    started_at: datetime | None = None
    deadline: datetime | None = None
    trace_id: str = ""


class RunState(BaseModel):
    """The run state every step receives: parameters, trigger, earlier steps' results, execution."""

    model_config = ConfigDict(extra="allow")

    params: dict[str, Any] = Field(default_factory=dict)
    trigger: dict[str, Any] = Field(default_factory=dict)
    steps: dict[str, Any] = Field(default_factory=dict)
    execution: ExecutionInfo = Field(default_factory=ExecutionInfo)


class StepEvent(BaseModel):
    """``{"step": ..., "state": ...}`` as the compiler produces it."""

    step: StepSpec
    state: RunState


def parse_event(event: Any) -> StepEvent:
    """The parsed event; :class:`FatalStepError` naming every bad field when it is malformed."""
    if not isinstance(event, dict):
        raise FatalStepError(f"malformed step event: expected an object, got {type(event).__name__}")
    try:
        return StepEvent.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise FatalStepError(f"malformed step event: {problems}") from exc
