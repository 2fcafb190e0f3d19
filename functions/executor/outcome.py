"""Outcome recorder: EventBridge "Step Functions Execution Status Change" → the execution record."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from goflow.composition import execution_service

logger = Logger(service="goflow")
tracer = Tracer(service="goflow")
metrics = Metrics(namespace="GoFlow", service="goflow")


@logger.inject_lambda_context(clear_state=True, correlation_id_path="detail.name")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = event.get("detail") or {}
    logger.append_keys(execution_id=detail.get("name"), status=detail.get("status"))
    execution = execution_service().record_outcome(detail)
    if execution is None:
        metrics.add_metric(name="StatusEventIgnored", unit=MetricUnit.Count, value=1)
        return {"recorded": False}
    logger.append_keys(
        tenant_id=execution.tenant_id, workflow_id=execution.workflow_id, trace_id=execution.trace_id
    )
    metrics.add_metric(
        name=f"Execution{execution.status.title().replace('_', '')}", unit=MetricUnit.Count, value=1
    )
    logger.info("execution outcome recorded", duration_ms=execution.duration_ms, steps=len(execution.steps))
    return {"recorded": True, "status": execution.status}
