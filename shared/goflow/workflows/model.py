"""The workflow document: the canonical model and the seed shapes it accepts.

``WorkflowSpec`` is what a client writes; ``Workflow`` adds what GoFlow owns (id, tenant, version,
timestamps). :func:`goflow.workflows.validation.parse_workflow` is the one entry point that turns a
client document into a valid spec (normalising seed shapes and reporting every problem at once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STEP_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
PARAMETER_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
MAX_STEPS = 100
MAX_STEP_TIMEOUT = 900  # a step runs inside one Lambda invocation, capped at 15 minutes
MAX_STANDARD_TIMEOUT = 31_536_000  # Standard workflows run up to a year
MAX_EXPRESS_TIMEOUT = 300  # Express workflows run up to five minutes
DEFAULT_EXECUTION_TIMEOUT = 300

ParameterType = Literal["string", "number", "integer", "boolean", "object", "array"]
StepId = Annotated[str, Field(pattern=STEP_ID_PATTERN, description="Unique, path-safe step id")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetryPolicy(_Model):
    """Native Step Functions ``Retry`` for the connector's retryable errors.

    ``max_attempts`` counts retries after the first attempt, as Step Functions does.
    """

    max_attempts: int = Field(3, ge=0, le=10)
    interval_seconds: int = Field(1, ge=1, le=3600)
    backoff_rate: float = Field(2.0, ge=1.0, le=10.0)
    max_delay_seconds: int | None = Field(None, ge=1, le=86_400)
    jitter: bool = False


class Step(_Model):
    id: StepId
    action: str = Field(min_length=1, max_length=128)
    config: dict[str, Any] = Field(default_factory=dict)
    timeout_seconds: int = Field(60, ge=1, le=MAX_STEP_TIMEOUT)
    retry: RetryPolicy | None = None
    when: str | None = Field(None, description="Template; the step is skipped when it renders falsy")
    on_error: Literal["fail", "continue"] = "fail"


class Parameter(_Model):
    name: str = Field(pattern=PARAMETER_NAME_PATTERN)
    type: ParameterType = "string"
    required: bool = False
    default: Any = None
    description: str | None = Field(None, max_length=1024)
    enum: list[Any] | None = Field(None, min_length=1)


class Trigger(_Model):
    type: Literal["manual", "webhook", "schedule"] = "manual"
    expression: str | None = Field(None, description="cron(...), rate(...) or at(...) for schedules")
    timezone: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class WorkflowSpec(_Model):
    """What a client defines; everything else about a workflow is GoFlow's."""

    name: str = Field(min_length=1, max_length=128)
    description: str | None = Field(None, max_length=4096)
    parameters: list[Parameter] = Field(default_factory=list)
    trigger: Trigger = Field(default_factory=Trigger)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    execution_timeout: int = Field(DEFAULT_EXECUTION_TIMEOUT, ge=1, le=MAX_STANDARD_TIMEOUT)
    mode: Literal["standard", "express"] = "standard"
    is_active: bool = True


class Workflow(WorkflowSpec):
    """A saved workflow."""

    id: str
    tenant_id: str
    version: int = 1
    created_at: datetime
    updated_at: datetime
    state_machine_arn: str | None = None

    def spec(self) -> WorkflowSpec:
        return WorkflowSpec.model_validate(self.model_dump(include=set(WorkflowSpec.model_fields)))

    def document(self) -> dict[str, Any]:
        """The canonical JSON document the API returns."""
        return self.model_dump(mode="json", exclude={"tenant_id", "state_machine_arn"})
