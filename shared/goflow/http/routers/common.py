"""What every router shares: the caller's tenant, JSON responses, id checks, documented errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from goflow.errors import AuthenticationError, ExecutionNotFoundError, WorkflowNotFoundError
from goflow.http.models import ErrorResponse
from goflow.ids import is_execution_id, is_workflow_id
from goflow.pagination import MAX_PAGE_SIZE

TENANT_CONTEXT_KEY = "goflow_tenant_id"

# The query parameters of every paginated list.
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")]
NextToken = Annotated[
    str | None, Query(min_length=1, max_length=4096, description="`next_token` of the previous page")
]

_ERROR_DESCRIPTIONS = {
    400: "The request is invalid; `details` lists every problem with its field path",
    401: "The API key is missing or not valid",
    404: "No such resource for this tenant",
    405: "The method is not allowed on this path",
    409: "The resource's state does not allow this",
    413: "The request body is too large",
    415: "The request body is not JSON",
    422: "The Idempotency-Key was already used with a different request",
    500: "GoFlow failed; the error has been logged",
    502: "A service GoFlow depends on failed",
}


def tenant_of(router: Router) -> str:
    """The tenant the request's API key belongs to (set by the gate before the route runs)."""
    tenant = router.context.get(TENANT_CONTEXT_KEY)
    if not isinstance(tenant, str):
        raise AuthenticationError("An API key is required: send 'Authorization: Bearer <key>'")
    return tenant


def json_response(
    model: BaseModel, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump_json(by_alias=True),
        headers=dict(headers or {}),
    )


def documented(
    status: int,
    model: type[BaseModel] | None,
    description: str,
    errors: tuple[int, ...],
    headers: Mapping[str, str] | None = None,
) -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` for a route: its success and each error status, all as ``ErrorResponse``."""
    success: OpenAPIResponse = {"description": description}
    if model is not None:
        success["content"] = {"application/json": {"model": model}}
    if headers:
        success["headers"] = {
            name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
        }
    responses: dict[int, OpenAPIResponse] = {status: success}
    for code in (*errors, 500):
        responses[code] = {
            "description": _ERROR_DESCRIPTIONS[code],
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return responses


def check_workflow_id(workflow_id: str) -> None:
    """A malformed id answers exactly as a missing workflow does."""
    if not is_workflow_id(workflow_id):
        raise WorkflowNotFoundError(f"Workflow {workflow_id} not found")


def check_execution_id(execution_id: str) -> None:
    """A malformed id answers exactly as a missing execution does."""
    if not is_execution_id(execution_id):
        raise ExecutionNotFoundError(f"Execution {execution_id} not found")
