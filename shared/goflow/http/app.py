"""The GoFlow HTTP API: a Powertools ``APIGatewayHttpResolver`` (payload 2.0) with one router per resource.

Request path, in order:

1. the route is matched (no match: 405 with ``Allow`` when the path exists for other methods, else 404);
2. the gate: body size (413) and encoding (400), then — for routes whose OpenAPI ``security``
   declares the API key — ``Authorization: Bearer`` → tenant (401), then a JSON body must be an
   object (400). It runs *before* Powertools' request validation, so an anonymous caller learns
   nothing about a route's input;
3. Powertools validates path, query, header and body against the route's pydantic models;
4. the route calls one domain function and returns a response model.

Every error on the way is turned into ``{"error": {...}}`` by :mod:`goflow.http.errors`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import BaseMiddlewareHandler, NextMiddleware
from aws_lambda_powertools.utilities.typing import LambdaContext

from goflow import composition
from goflow.http.auth import SECURITY_SCHEME, TenantLookup, authenticate
from goflow.http.body import check_body, check_json_object, parse_json
from goflow.http.errors import (
    MethodNotAllowedError,
    RouteNotFoundError,
    error_response,
    register_error_handlers,
)
from goflow.http.routers import connectors, executions, system, workflows
from goflow.http.routers.common import TENANT_CONTEXT_KEY
from goflow.http.telemetry import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

TITLE = "GoFlow API"
DESCRIPTION = "Workflows compiled to AWS Step Functions state machines, run with runtime parameters."
KEY_DESCRIPTION = "A key from `goflow keys create --tenant NAME`, sent as `Authorization: Bearer <key>`"
API_VERSION = "1.0.0"
_COMPONENTS = "#/components/schemas/"
_POWERTOOLS_422 = f"{_COMPONENTS}HTTPValidationError"


def _lookup_tenant(key: str) -> str | None:
    return composition.api_key_repository().tenant_for(key)


class _Gate(BaseMiddlewareHandler):
    """Body checks and API-key authentication, then Powertools' request validation."""

    def __init__(self, lookup: TenantLookup, validation: Any) -> None:
        super().__init__()
        self._lookup = lookup
        self._validation = validation

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Response[Any]:
        check_body(app.current_event)
        route = app.context.get("_route")
        if route is not None and route.security:
            tenant = authenticate(app.current_event.headers or {}, self._lookup)
            app.append_context(**{TENANT_CONTEXT_KEY: tenant})
            logger.append_keys(tenant_id=tenant)
        check_json_object(app.current_event)
        response: Response[Any] = self._validation(app, next_middleware)
        return response


class GoFlowResolver(APIGatewayHttpResolver):
    """``APIGatewayHttpResolver`` with the gate, JSON 404/405s, a tidy OpenAPI document and an access log."""

    def __init__(self, tenant_lookup: TenantLookup = _lookup_tenant) -> None:
        super().__init__(enable_validation=True, debug=False, json_body_deserializer=parse_json)
        # Powertools runs its request validation before any middleware; the gate must come first.
        self._request_validation_middleware = _Gate(  # type: ignore[assignment]
            tenant_lookup, self._request_validation_middleware
        )
        self._openapi_configured = False
        self._openapi_json: str | None = None
        self._swagger_html: str | None = None
        # Powertools keeps the current request in resolver-wide state; Lambda sends one event at a
        # time, but an in-process host (the local stack, tests) may not: never interleave two.
        self._one_at_a_time = threading.Lock()

    def allowed_methods(self, path: str) -> list[str]:
        """The methods some route accepts for ``path`` (empty: no route has this path)."""
        routes = [*self._static_routes, *self._dynamic_routes]
        return sorted({route.method for route in routes if route.rule.match(path)})

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> OpenAPI:
        """Powertools' document, titled and secured, without its generic 422 (GoFlow answers
        validation problems with 400 and the ErrorResponse every route declares)."""
        from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

        self._configure_openapi()
        document = (
            super()
            .get_openapi_schema(*args, **kwargs)
            .model_dump(mode="json", by_alias=True, exclude_none=True)
        )
        return OpenAPI.model_validate(_without_powertools_422(document))

    def openapi_json(self) -> str:
        """The OpenAPI 3.1 document as JSON, generated once per process."""
        if self._openapi_json is None:
            self._openapi_json = self.get_openapi_json_schema()
        return self._openapi_json

    def swagger_html(self) -> str:
        """Powertools' Swagger UI page (its bundled assets) around the same document.

        Built on the first request rather than with ``enable_swagger`` at import: Powertools' OpenAPI
        models cost ~0.3 s to import, which no API request but the docs should pay on a cold start.
        """
        from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

        if self._swagger_html is None:
            assets = Path(generate_swagger_html.__code__.co_filename).parent
            self._swagger_html = generate_swagger_html(
                self.openapi_json().replace("</", "<\\/"),
                (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
                (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
                "",
                None,
                False,
            )
        return self._swagger_html

    def _configure_openapi(self) -> None:
        if self._openapi_configured:
            return
        from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

        self.configure_openapi(
            title=TITLE,
            version=API_VERSION,
            description=DESCRIPTION,
            security_schemes={
                SECURITY_SCHEME: HTTPBearer(
                    description=KEY_DESCRIPTION,
                    bearerFormat="gf_<43 characters>",
                )
            },
        )
        self._openapi_configured = True

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        started = time.perf_counter()
        with self._one_at_a_time:
            response = super().resolve(event, context)
        request_context = event.get("requestContext") or {}
        if request_context.get("requestId"):
            # The id API Gateway logs the request under: what a client quotes to support.
            response.setdefault("headers", {})["X-Request-Id"] = str(request_context["requestId"])
        http = request_context.get("http") or {}
        logger.info(
            "request handled",
            method=http.get("method"),
            path=event.get("rawPath"),
            status=response.get("statusCode"),
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response


def _without_powertools_422(document: dict[str, Any]) -> dict[str, Any]:
    for operations in (document.get("paths") or {}).values():
        for operation in operations.values():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if not responses:
                continue
            for status in [s for s, r in responses.items() if _is_powertools_422(r)]:
                del responses[status]
    schemas = (document.get("components") or {}).get("schemas") or {}
    text = json.dumps(document.get("paths"))
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f'"{_COMPONENTS}{name}"' not in text:
            schemas.pop(name, None)
    return document


def _is_powertools_422(response: Any) -> bool:
    content = response.get("content", {}) if isinstance(response, dict) else {}
    return any((media.get("schema") or {}).get("$ref") == _POWERTOOLS_422 for media in content.values())


def create_app(tenant_lookup: TenantLookup = _lookup_tenant) -> GoFlowResolver:
    """A fully configured API: routes, error handlers, JSON 404/405 (OpenAPI and Swagger UI are built
    on their first request)."""
    app = GoFlowResolver(tenant_lookup)
    for resource in (workflows, executions, connectors, system):
        app.include_router(resource.router)
    register_error_handlers(app)

    @app.not_found
    def _no_route(_: NotFoundError) -> Response[Any]:
        event = app.current_event
        method, path = event.http_method.upper(), event.path
        allowed = app.allowed_methods(path)
        if allowed:
            return error_response(MethodNotAllowedError(method, allowed))
        return error_response(RouteNotFoundError(f"No route for {method} {path[:200]}"))

    return app


app = create_app()
