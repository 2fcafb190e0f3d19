"""``/api/workflows``: create, list, read, replace, delete, trigger."""

from __future__ import annotations

import os
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from goflow import composition
from goflow.errors import ErrorDetail, ValidationError
from goflow.http.auth import SECURED
from goflow.http.body import check_workflow_size
from goflow.http.links import base_url
from goflow.http.models import (
    CreateWorkflowRequest,
    TriggerRequest,
    TriggerResponse,
    WorkflowListResponse,
    WorkflowResponse,
)
from goflow.http.routers.common import (
    Limit,
    NextToken,
    check_workflow_id,
    documented,
    json_response,
    tenant_of,
)
from goflow.http.telemetry import count, logger
from goflow.http.triggering import Trigger
from goflow.pagination import DEFAULT_PAGE_SIZE

router = APIGatewayHttpRouter()
TAGS = ["workflows"]

IfMatch = Annotated[
    str | None,
    Header(description="The version you read (as returned in `version` or the ETag); 409 if it changed"),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        description="Retrying with the same key and body returns the original execution (for 24 hours)",
    ),
]


@router.post(
    "/api/workflows",
    security=SECURED,
    tags=TAGS,
    summary="Create a workflow (and its state machine)",
    operation_id="createWorkflow",
    responses=documented(
        201, WorkflowResponse, "Created", (400, 401, 413, 415), {"Location": "The workflow"}
    ),
)
def create_workflow(document: Annotated[CreateWorkflowRequest, Body()]) -> Response[Any]:
    check_workflow_size(router.current_event)
    workflow = composition.workflow_service().create(tenant_of(router), document.root)
    count("WorkflowCreated")
    logger.info("workflow created", workflow_id=workflow.id, steps=len(workflow.steps))
    headers = {
        "Location": f"{base_url(router.current_event)}/api/workflows/{workflow.id}",
        **_etag(workflow.version),
    }
    return json_response(WorkflowResponse.from_workflow(workflow), 201, headers)


@router.get(
    "/api/workflows",
    security=SECURED,
    tags=TAGS,
    summary="List workflows, newest first",
    operation_id="listWorkflows",
    responses=documented(200, WorkflowListResponse, "A page of workflows", (400, 401)),
)
def list_workflows(limit: Limit = DEFAULT_PAGE_SIZE, next_token: NextToken = None) -> Response[Any]:
    page = composition.workflow_service().list(tenant_of(router), limit, next_token)
    items = [WorkflowResponse.from_workflow(workflow) for workflow in page.items]
    return json_response(WorkflowListResponse(items=items, next_token=page.next_token))


@router.get(
    "/api/workflows/<workflow_id>",
    security=SECURED,
    tags=TAGS,
    summary="Read a workflow",
    operation_id="getWorkflow",
    responses=documented(
        200, WorkflowResponse, "The workflow", (401, 404), {"ETag": "The workflow's version"}
    ),
)
def get_workflow(workflow_id: str) -> Response[Any]:
    check_workflow_id(workflow_id)
    workflow = composition.workflow_service().get(tenant_of(router), workflow_id)
    return json_response(WorkflowResponse.from_workflow(workflow), headers=_etag(workflow.version))


@router.put(
    "/api/workflows/<workflow_id>",
    security=SECURED,
    tags=TAGS,
    summary="Replace a workflow's definition (and update its state machine)",
    operation_id="updateWorkflow",
    responses=documented(
        200,
        WorkflowResponse,
        "The updated workflow",
        (400, 401, 404, 409, 413, 415),
        {"ETag": "The new version"},
    ),
)
def update_workflow(
    workflow_id: str, document: Annotated[CreateWorkflowRequest, Body()], if_match: IfMatch = None
) -> Response[Any]:
    check_workflow_id(workflow_id)
    check_workflow_size(router.current_event)
    expected = _expected_version(if_match)
    workflow = composition.workflow_service().update(tenant_of(router), workflow_id, document.root, expected)
    count("WorkflowUpdated")
    logger.info("workflow updated", workflow_id=workflow.id, version=workflow.version)
    return json_response(WorkflowResponse.from_workflow(workflow), headers=_etag(workflow.version))


@router.delete(
    "/api/workflows/<workflow_id>",
    security=SECURED,
    tags=TAGS,
    summary="Delete a workflow and its state machine",
    operation_id="deleteWorkflow",
    responses=documented(204, None, "Deleted", (401, 404)),
)
def delete_workflow(workflow_id: str) -> Response[Any]:
    check_workflow_id(workflow_id)
    composition.workflow_service().delete(tenant_of(router), workflow_id)
    count("WorkflowDeleted")
    logger.info("workflow deleted", workflow_id=workflow_id)
    return Response(status_code=204, body="")


@router.post(
    "/api/workflows/<workflow_id>/trigger",
    security=SECURED,
    tags=TAGS,
    summary="Start a run with runtime parameters",
    operation_id="triggerWorkflow",
    responses=documented(
        202,
        TriggerResponse,
        "The run started (or, with a repeated Idempotency-Key, the run the key started)",
        (400, 401, 404, 409, 413, 415, 422),
        {
            "Location": "The execution",
            "Idempotent-Replayed": "`true` when an earlier request's run is returned",
        },
    ),
)
def trigger_workflow(
    workflow_id: str,
    request: Annotated[TriggerRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[Any]:
    check_workflow_id(workflow_id)
    tenant = tenant_of(router)
    event = router.current_event
    trigger = {"type": "manual", "source": "api", "request_id": event.request_context.request_id}
    started = _trigger().trigger(
        tenant,
        workflow_id,
        (request or TriggerRequest()).parameters,
        trigger,
        idempotency_key=idempotency_key,
        trace_id=_lambda_trace_id(),
    )
    logger.append_keys(execution_id=started.execution_id, trace_id=started.trace_id)
    if started.replayed:
        count("TriggerReplayed")
        logger.info("trigger replayed", workflow_id=workflow_id)
    else:
        count("ExecutionStarted")
        logger.info("execution started", workflow_id=workflow_id)
    status_url = f"{base_url(event)}/api/executions/{started.execution_id}"
    headers = {"Location": status_url}
    if started.replayed:
        headers["Idempotent-Replayed"] = "true"
    body = TriggerResponse(
        execution_id=started.execution_id,
        trace_id=started.trace_id,
        status=started.status,
        status_url=status_url,
    )
    return json_response(body, 202, headers)


def _trigger() -> Trigger:
    workflows = composition.workflow_service()
    return Trigger(
        load_workflow=workflows.get,
        executions=composition.execution_service(),
        store=composition.idempotency_store(),
    )


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _expected_version(if_match: str | None) -> int | None:
    """``If-Match`` as a version: ``3``, ``"3"`` and ``W/"3"`` all mean 3; ``*`` means any."""
    if if_match is None or if_match.strip() == "*":
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise ValidationError(
            "If-Match must be the workflow's version",
            [ErrorDetail("If-Match", 'must be a version number such as 3 or "3"')],
        )
    return int(text)


def _lambda_trace_id() -> str | None:
    """The X-Ray trace of this invocation (``Root=`` of ``_X_AMZN_TRACE_ID``), so the run joins it."""
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    for part in header.split(";"):
        name, _, value = part.partition("=")
        if name.strip() == "Root" and value.startswith("1-"):
            return value.strip()
    return None
