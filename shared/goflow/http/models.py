"""The HTTP API's request and response models: what the OpenAPI document is generated from.

Responses are built from the domain models by explicit mapping (``from_workflow``,
``from_execution``), so the wire format cannot drift from the document that describes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from goflow.examples import welcome_email_workflow
from goflow.executions.model import Execution, ExecutionFailure, ExecutionStatus, StepSummary
from goflow.workflows.model import Parameter, Step, Trigger, Workflow

COMPONENTS = "#/components/schemas/"

_CANONICAL_EXAMPLE: dict[str, Any] = {
    "name": "Send Welcome Email",
    "description": "Greets a new customer",
    "parameters": [
        {"name": "customer_name", "type": "string", "required": True},
        {"name": "email", "type": "string", "required": True},
        {"name": "plan", "type": "string", "default": "free", "enum": ["free", "pro"]},
    ],
    "trigger": {"type": "manual"},
    "steps": [
        {
            "id": "welcome",
            "action": "send_email",
            "config": {
                "to": "{{ params.email }}",
                "subject": "Welcome",
                "message": "Welcome {{ params.customer_name }}! Your {{ params.plan }} plan is ready.",
            },
            "retry": {"max_attempts": 3, "interval_seconds": 2, "backoff_rate": 2.0},
        }
    ],
    "execution_timeout": 300,
    "mode": "standard",
    "is_active": True,
}
_SEED_EXAMPLE: dict[str, Any] = welcome_email_workflow()


def _workflow_document_schema(schema: dict[str, Any]) -> None:
    """The request schema: the canonical document's fields plus the seed shapes GoFlow normalises.

    Validation is deliberately left to the domain (``parse_workflow``), which reports every problem
    with its field path; this schema documents the shape.
    """
    schema.clear()
    schema.update(
        {
            "title": "CreateWorkflowRequest",
            "description": (
                "A workflow document. The canonical shape is the one GET returns (without `id`, "
                "`version`, `created_at`, `updated_at`, which are ignored if sent back). Also accepted "
                "and normalised: a single `action` + `config` (or `action_type` + `config_json`) instead "
                "of `steps`, `action_chain` instead of `steps`, `trigger_type` instead of `trigger`, and a "
                "parameter's `default_value` instead of `default`. Every problem is reported at once, "
                "each with its field path."
            ),
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 128},
                "description": {"anyOf": [{"type": "string", "maxLength": 4096}, {"type": "null"}]},
                "parameters": {"type": "array", "items": {"$ref": f"{COMPONENTS}Parameter"}},
                "trigger": {"$ref": f"{COMPONENTS}Trigger"},
                "steps": {"type": "array", "items": {"$ref": f"{COMPONENTS}Step"}, "minItems": 1},
                "execution_timeout": {"type": "integer", "minimum": 1, "default": 300},
                "mode": {"enum": ["standard", "express"], "default": "standard"},
                "is_active": {"type": "boolean", "default": True},
                "action": {"type": "string", "description": "Seed shape: the one step's action"},
                "config": {"type": "object", "description": "Seed shape: the one step's config"},
                "action_chain": {"type": "array", "description": "Seed shape: the steps"},
                "trigger_type": {"type": "string", "description": "Seed shape: trigger.type"},
            },
            "required": ["name"],
            "examples": [_CANONICAL_EXAMPLE, _SEED_EXAMPLE],
        }
    )


class CreateWorkflowRequest(RootModel[dict[str, Any]]):
    """Any JSON object; :func:`goflow.workflows.validation.parse_workflow` validates it."""

    model_config = ConfigDict(json_schema_extra=lambda schema, _: _workflow_document_schema(schema))


class TriggerRequest(BaseModel):
    """The body of ``POST /api/workflows/{id}/trigger``."""

    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="The run's parameters, checked against the JSON Schema of the workflow's parameters",
        examples=[{"customer_name": "Alex", "email": "alex@example.com", "plan": "pro"}],
    )


class WorkflowResponse(BaseModel):
    """A saved workflow in its canonical form."""

    id: str = Field(examples=["wf_01j9zq6n3d8x4m2k7p5r9t1v0w"])
    name: str
    description: str | None = None
    parameters: list[Parameter]
    trigger: Trigger
    steps: list[Step]
    execution_timeout: int
    mode: Literal["standard", "express"]
    is_active: bool
    version: int = Field(description="Incremented by every update; send it as If-Match to update safely")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_workflow(cls, workflow: Workflow) -> WorkflowResponse:
        return cls.model_validate(workflow.document())


class WorkflowListResponse(BaseModel):
    items: list[WorkflowResponse]
    next_token: str | None = Field(
        None, description="Pass as `next_token` for the next page; absent at the end"
    )


class TriggerResponse(BaseModel):
    execution_id: str = Field(examples=["ex_01j9zq6n3d8x4m2k7p5r9t1v0w"])
    trace_id: str = Field(
        description="X-Ray trace id of the run", examples=["1-67a0c2f1-0123456789abcdef01234567"]
    )
    status: ExecutionStatus
    status_url: str = Field(description="Where to GET the execution")


class ExecutionLinks(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    self_: str = Field(alias="self", description="This execution")
    workflow: str = Field(description="The workflow it ran")
    xray: str | None = Field(None, description="The run's X-Ray trace in the AWS console (in AWS only)")
    logs_insights: str | None = Field(
        None, description="A CloudWatch Logs Insights query for the run's trace id (in AWS only)"
    )


class ExecutionResponse(BaseModel):
    """One run: status, parameters, timings and the per-step timeline."""

    id: str
    workflow_id: str
    workflow_version: int
    workflow_name: str
    mode: Literal["standard", "express"]
    status: ExecutionStatus
    parameters: dict[str, Any]
    trigger: dict[str, Any]
    trace_id: str
    started_at: datetime
    deadline: datetime
    finished_at: datetime | None
    duration_ms: int | None
    failure: ExecutionFailure | None
    steps: list[StepSummary]
    links: ExecutionLinks

    @classmethod
    def from_execution(cls, execution: Execution, links: ExecutionLinks) -> ExecutionResponse:
        return cls(
            id=execution.id,
            workflow_id=execution.workflow_id,
            workflow_version=execution.workflow_version,
            workflow_name=execution.workflow_name,
            mode=execution.mode,
            status=execution.status,
            parameters=execution.parameters,
            trigger=execution.trigger,
            trace_id=execution.trace_id,
            started_at=execution.started_at,
            deadline=execution.deadline,
            finished_at=execution.finished_at,
            duration_ms=execution.duration_ms,
            failure=execution.failure,
            steps=execution.steps,
            links=links,
        )


class ExecutionSummaryResponse(BaseModel):
    """One run in a list (no parameters or timeline: GET the execution for those)."""

    id: str
    workflow_id: str
    workflow_version: int
    status: ExecutionStatus
    trace_id: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    failure: ExecutionFailure | None

    @classmethod
    def from_execution(cls, execution: Execution) -> ExecutionSummaryResponse:
        return cls(
            id=execution.id,
            workflow_id=execution.workflow_id,
            workflow_version=execution.workflow_version,
            status=execution.status,
            trace_id=execution.trace_id,
            started_at=execution.started_at,
            finished_at=execution.finished_at,
            duration_ms=execution.duration_ms,
            failure=execution.failure,
        )


class ExecutionListResponse(BaseModel):
    items: list[ExecutionSummaryResponse] = Field(description="Newest first")
    next_token: str | None = None


class ConnectorResponse(BaseModel):
    name: str
    description: str
    version: str
    author: str
    source: str = Field(description='"builtin" or the distribution a plugin came from')
    config_schema: dict[str, Any] = Field(description="JSON Schema of the step config")


class PluginProblemResponse(BaseModel):
    plugin: str
    error: str


class ConnectorListResponse(BaseModel):
    connectors: list[ConnectorResponse]
    problems: list[PluginProblemResponse] = Field(description="Plugins that failed to load and were skipped")


class HealthResponse(BaseModel):
    status: Literal["ok"]
    service: str
    version: str


class ErrorDetailResponse(BaseModel):
    field: str = Field(
        description="Path of the offending field, e.g. `parameters.email` or `steps[0].config.to`"
    )
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable error code", examples=["validation_error"])
    message: str
    details: list[ErrorDetailResponse] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every error the API returns."""

    error: ErrorBody
