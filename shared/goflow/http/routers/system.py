"""Unauthenticated routes: health, the OpenAPI document and its Swagger UI."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from goflow.http.models import HealthResponse
from goflow.http.routers.common import documented, json_response
from goflow.http.telemetry import SERVICE

router = APIGatewayHttpRouter()
OPENAPI_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"


def _version() -> str:
    try:
        return metadata.version("goflow")
    except metadata.PackageNotFoundError:  # running from a Lambda layer without dist-info
        return "unknown"


@router.get(
    "/api/health",
    tags=["system"],
    summary="Liveness (no API key; touches no AWS service)",
    operation_id="health",
    responses=documented(200, HealthResponse, "GoFlow is up", ()),
)
def health() -> Response[Any]:
    return json_response(HealthResponse(status="ok", service=SERVICE, version=_version()))


@router.get(DOCS_PATH, include_in_schema=False)
def docs() -> Response[Any]:
    resolver: Any = router.api_resolver
    return Response(
        status_code=200,
        content_type="text/html",
        body=resolver.swagger_html(),
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get(OPENAPI_PATH, include_in_schema=False)
def openapi_document() -> Response[Any]:
    resolver: Any = router.api_resolver
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=resolver.openapi_json(),
        headers={"Cache-Control": "public, max-age=300"},
    )
