"""API function: API Gateway HTTP API (payload 2.0) → the GoFlow HTTP API (``goflow.http``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from goflow.http.app import app
from goflow.http.telemetry import logger, metrics, tracer


# log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event carries the API key.
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True, log_event=False
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
