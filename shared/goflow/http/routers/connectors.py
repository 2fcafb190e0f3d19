"""``GET /api/connectors``: what steps can do, built-in and plugin, with each config's JSON Schema."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from goflow.connectors.registry import default_registry
from goflow.http.auth import SECURED
from goflow.http.models import ConnectorListResponse, ConnectorResponse, PluginProblemResponse
from goflow.http.routers.common import documented, json_response

router = APIGatewayHttpRouter()


@router.get(
    "/api/connectors",
    security=SECURED,
    tags=["connectors"],
    summary="Built-in and plugin connectors with their metadata and config JSON Schema",
    operation_id="listConnectors",
    responses=documented(
        200, ConnectorListResponse, "Every connector, and plugins that failed to load", (401,)
    ),
)
def list_connectors() -> Response[Any]:
    registry = default_registry()
    return json_response(
        ConnectorListResponse(
            connectors=[ConnectorResponse.model_validate(c.describe()) for c in registry.all()],
            problems=[PluginProblemResponse(plugin=p.plugin, error=p.error) for p in registry.problems],
        )
    )
