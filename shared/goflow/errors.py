"""The one family of errors GoFlow raises.

Every domain error carries a stable ``code`` and the HTTP ``status`` it maps to, so the HTTP
adapter never picks a status by reading a message. ``details`` lists each problem with the path of
the field it concerns (``{"field": "parameters.email", "message": "is required"}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One problem with one field of a request or document."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class GoFlowError(Exception):
    """Base of every error GoFlow raises on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[ErrorDetail] = list(details or [])

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "details": [d.as_dict() for d in self.details],
        }


class ValidationError(GoFlowError):
    """A document or request is malformed; ``details`` names every bad field."""

    status = 400
    code = "validation_error"


class WorkflowValidationError(ValidationError):
    code = "invalid_workflow"


class ParameterValidationError(ValidationError):
    code = "invalid_parameters"


class TemplateError(ValidationError):
    code = "invalid_template"


class AuthenticationError(GoFlowError):
    status = 401
    code = "unauthorized"


class NotFoundError(GoFlowError):
    status = 404
    code = "not_found"


class WorkflowNotFoundError(NotFoundError):
    code = "workflow_not_found"


class ExecutionNotFoundError(NotFoundError):
    code = "execution_not_found"


class ConflictError(GoFlowError):
    status = 409
    code = "conflict"


class WorkflowConflictError(ConflictError):
    """A create collided with an existing id, or an update lost an optimistic-version race."""

    code = "workflow_conflict"


class WorkflowInactiveError(ConflictError):
    code = "workflow_inactive"


class ExecutionAlreadyExistsError(ConflictError):
    code = "execution_exists"


class ExecutionFinishedError(ConflictError):
    code = "execution_finished"


class ExecutionNotCancellableError(ConflictError):
    """Express runs have no StopExecution; they end on their own within their execution_timeout."""

    code = "execution_not_cancellable"


class IdempotencyConflictError(ConflictError):
    """The same Idempotency-Key was sent again with a different request body."""

    status = 422
    code = "idempotency_key_reused"


class InvalidPaginationTokenError(ValidationError):
    code = "invalid_next_token"


class PayloadTooLargeError(GoFlowError):
    status = 413
    code = "payload_too_large"


class EngineError(GoFlowError):
    """An AWS service the engine depends on failed; not the client's fault."""

    status = 502
    code = "engine_error"


@dataclass
class Problems:
    """Collects every problem before raising, so a client sees all of them at once."""

    items: list[ErrorDetail] = field(default_factory=list)

    def add(self, field_path: str, message: str) -> None:
        self.items.append(ErrorDetail(field_path, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, error_type: type[ValidationError], message: str) -> None:
        if self.items:
            raise error_type(message, self.items)
