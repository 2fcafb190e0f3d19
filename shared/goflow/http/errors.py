"""The one place errors become HTTP responses: ``{"error": {"code", "message", "details"}}``.

- a :class:`~goflow.errors.GoFlowError` answers with its own ``status`` and ``code``;
- Powertools' ``RequestValidationError`` (body, query, path, header) answers 400 ``validation_error``
  with one detail per problem, each with its field path (Powertools' own 422 body drops ``msg``);
- a body of an unsupported content type answers 415;
- anything else answers 500 ``internal_error``: logged with its traceback, never described to the
  client. A 5xx ``GoFlowError``'s message (which may name tables or ARNs) is logged, not returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from goflow.errors import AuthenticationError, ErrorDetail, GoFlowError
from goflow.errors import ValidationError as GoFlowValidationError
from goflow.http.telemetry import logger
from goflow.params import describe_value, json_path

AUTH_CHALLENGE = 'Bearer realm="goflow"'
_MAX_DETAILS = 50


class RouteNotFoundError(GoFlowError):
    status = 404
    code = "route_not_found"


class MethodNotAllowedError(GoFlowError):
    status = 405
    code = "method_not_allowed"

    def __init__(self, method: str, allowed: Sequence[str]) -> None:
        super().__init__(f"{method} is not allowed here; use {', '.join(allowed)}")
        self.allowed = list(allowed)


class MalformedRequestError(GoFlowValidationError):
    """The body is not JSON GoFlow can read (syntax, encoding, nesting, numbers)."""

    code = "malformed_request"


class UnsupportedMediaTypeError(GoFlowError):
    status = 415
    code = "unsupported_media_type"


class InvalidApiKeyError(AuthenticationError):
    """A key was sent but it is unknown, malformed or revoked (RFC 6750 ``invalid_token``)."""

    code = "invalid_api_key"


def error_response(error: GoFlowError, headers: Mapping[str, str] | None = None) -> Response[Any]:
    """The response for ``error``; a 5xx keeps its message out of the body."""
    body = error.as_dict()
    if error.status >= 500:
        body["message"] = _SERVER_MESSAGES.get(error.status, "GoFlow failed to handle the request")
        body["details"] = []
    all_headers = dict(headers or {})
    if error.status == 401:
        challenge = AUTH_CHALLENGE
        if isinstance(error, InvalidApiKeyError):
            challenge += ', error="invalid_token"'
        all_headers["WWW-Authenticate"] = challenge
    if isinstance(error, MethodNotAllowedError):
        all_headers["Allow"] = ", ".join(error.allowed)
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": body},
        headers=all_headers,
    )


_SERVER_MESSAGES = {
    500: "GoFlow failed to handle the request; it has been logged",
    502: "A service GoFlow depends on failed; try again",
}


def validation_details(errors: Iterable[Mapping[str, Any]]) -> list[ErrorDetail]:
    """One detail per pydantic/Powertools error, named by the field's path in the request."""
    details: list[ErrorDetail] = []
    for error in errors:
        # A JSON syntax error's loc is ("body", <character offset>): the offset is not a field.
        loc = ("body",) if error.get("type") == "json_invalid" else error.get("loc", ())
        details.append(ErrorDetail(_field_path(loc), _message(error)))
        if len(details) >= _MAX_DETAILS:
            break
    return list(dict.fromkeys(details))


def _field_path(loc: Sequence[Any]) -> str:
    if not loc:
        return "body"
    where, rest = loc[0], list(loc[1:])
    if where == "body":
        return json_path("", [part for part in rest if isinstance(part, str | int)]) or "body"
    if where == "header" and rest:
        return "-".join(part.capitalize() for part in str(rest[0]).split("-"))
    if where in ("query", "path", "cookie") and rest:
        return str(rest[0])
    return json_path("", [part for part in loc if isinstance(part, str | int)])


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be an object, got {describe_value(value)}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be an integer, got {describe_value(value)}"
    if kind == "json_invalid":
        return f"is not valid JSON: {ctx.get('error', 'syntax error')}"
    if kind in ("greater_than_equal", "less_than_equal", "string_too_short", "string_too_long"):
        return _bound_message(kind, ctx)
    message = error.get("msg")
    return str(message) if message else "is invalid"


def _bound_message(kind: str, ctx: Mapping[str, Any]) -> str:
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters long"
    return f"must be at most {ctx.get('max_length')} characters long"


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Install the handlers above on ``app`` (most specific exception type wins)."""

    @app.exception_handler(GoFlowError)
    def _goflow_error(error: GoFlowError) -> Response[Any]:
        if error.status >= 500:
            logger.exception("request failed", error_code=error.code)
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response[Any]:
        details = validation_details(error.errors())
        count = len(details)
        problems = f"{count} problem{'s' if count != 1 else ''}"
        return error_response(GoFlowValidationError(f"The request has {problems}", details))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_: RequestUnsupportedContentType) -> Response[Any]:
        return error_response(UnsupportedMediaTypeError("Send the request body as application/json"))

    @app.exception_handler(Exception)
    def _unexpected(_: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        return error_response(GoFlowError(HTTPStatus.INTERNAL_SERVER_ERROR.phrase))
