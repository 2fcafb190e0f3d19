"""Runs: a workflow's history, one run with its step timeline, cancelling a run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from goflow import composition
from goflow.executions.model import Execution
from goflow.http.auth import SECURED
from goflow.http.links import (
    aws_location,
    base_url,
    default_log_groups,
    execution_log_window,
    logs_insights_url,
    xray_trace_url,
)
from goflow.http.models import (
    ExecutionLinks,
    ExecutionListResponse,
    ExecutionResponse,
    ExecutionSummaryResponse,
)
from goflow.http.routers.common import (
    Limit,
    NextToken,
    check_execution_id,
    check_workflow_id,
    documented,
    json_response,
    tenant_of,
)
from goflow.http.telemetry import count, logger
from goflow.pagination import DEFAULT_PAGE_SIZE
from goflow.settings import load_settings

router = APIGatewayHttpRouter()
TAGS = ["executions"]


@router.get(
    "/api/workflows/<workflow_id>/executions",
    security=SECURED,
    tags=TAGS,
    summary="A workflow's runs, newest first",
    operation_id="listExecutions",
    responses=documented(200, ExecutionListResponse, "A page of runs", (400, 401, 404)),
)
def list_executions(
    workflow_id: str, limit: Limit = DEFAULT_PAGE_SIZE, next_token: NextToken = None
) -> Response[Any]:
    check_workflow_id(workflow_id)
    tenant = tenant_of(router)
    composition.workflow_service().get(tenant, workflow_id)  # 404 for a missing or foreign workflow
    page = composition.execution_service().list_for_workflow(tenant, workflow_id, limit, next_token)
    items = [ExecutionSummaryResponse.from_execution(execution) for execution in page.items]
    return json_response(ExecutionListResponse(items=items, next_token=page.next_token))


@router.get(
    "/api/executions/<execution_id>",
    security=SECURED,
    tags=TAGS,
    summary="A run: status, parameters, timings, per-step timeline, trace links",
    operation_id="getExecution",
    responses=documented(200, ExecutionResponse, "The run", (401, 404)),
)
def get_execution(execution_id: str) -> Response[Any]:
    check_execution_id(execution_id)
    execution = composition.execution_service().get(tenant_of(router), execution_id)
    return json_response(ExecutionResponse.from_execution(execution, _links(execution)))


@router.post(
    "/api/executions/<execution_id>/cancel",
    security=SECURED,
    tags=TAGS,
    summary="Stop a running run (it ends ABORTED)",
    operation_id="cancelExecution",
    responses=documented(200, ExecutionResponse, "The cancelled run", (401, 404, 409)),
)
def cancel_execution(execution_id: str) -> Response[Any]:
    check_execution_id(execution_id)
    execution = composition.execution_service().cancel(tenant_of(router), execution_id)
    count("ExecutionCancelled")
    logger.info("execution cancelled", execution_id=execution.id, trace_id=execution.trace_id)
    return json_response(ExecutionResponse.from_execution(execution, _links(execution)))


def _links(execution: Execution) -> ExecutionLinks:
    base = base_url(router.current_event)
    links = ExecutionLinks(
        self_=f"{base}/api/executions/{execution.id}",
        workflow=f"{base}/api/workflows/{execution.workflow_id}",
    )
    context = router.lambda_context
    location = aws_location(getattr(context, "invoked_function_arn", None))
    if location is None:
        return links
    links.xray = xray_trace_url(location, execution.trace_id)
    configured = [name.strip() for name in load_settings().log_groups.split(",") if name.strip()]
    log_groups = configured or default_log_groups(getattr(context, "log_group_name", None))
    if log_groups:
        start, end = execution_log_window(execution, datetime.now(UTC))
        links.logs_insights = logs_insights_url(location, log_groups, execution.trace_id, start, end)
    return links
