"""Plain messages for pydantic's errors about a workflow document, each under its field path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from goflow.errors import Problems
from goflow.params import describe_value, json_path
from goflow.workflows.model import (
    MAX_STEP_TIMEOUT,
    MAX_STEPS,
    Parameter,
    RetryPolicy,
    Step,
    Trigger,
    WorkflowSpec,
)

_TYPE_ERRORS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
}
_STEP_ID_RULE = "must start with a letter and hold only letters, digits, '_' or '-' (at most 64 characters)"
_PARAMETER_NAME_RULE = (
    "must start with a letter or '_' and hold only letters, digits or '_' (at most 64 characters)"
)
_PATTERN_MESSAGES: dict[tuple[str, ...], str] = {
    ("steps", "id"): _STEP_ID_RULE,
    ("parameters", "name"): _PARAMETER_NAME_RULE,
}
_LIMIT_REASONS: dict[tuple[str, ...], str] = {
    ("steps", "timeout_seconds"): (
        f"a step runs in one Lambda invocation, which lasts at most {MAX_STEP_TIMEOUT} s"
    ),
    ("execution_timeout",): "a standard workflow runs for at most a year",
}
_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): WorkflowSpec,
    ("steps",): Step,
    ("steps", "retry"): RetryPolicy,
    ("parameters",): Parameter,
    ("trigger",): Trigger,
}


def add_model_errors(exc: PydanticValidationError, prefix: tuple[Any, ...], problems: Problems) -> None:
    """Record each of ``exc``'s errors plainly, at its path in the document below ``prefix``."""
    for error in exc.errors():
        loc = (*prefix, *error["loc"])
        problems.add(json_path("", loc), _model_message(loc, error))


def _model_message(loc: tuple[Any, ...], error: Any) -> str:
    """A plain message for one pydantic error; ``loc`` is the full location in the document."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    names = tuple(part for part in loc if isinstance(part, str))  # the field, whatever the indices
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return _unknown_field_message(names[:-1])
    if kind in _TYPE_ERRORS:
        return f"must be {_TYPE_ERRORS[kind]}, got {describe_value(value)}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}, got {describe_value(value)}"
    if kind == "string_pattern_mismatch":
        return _PATTERN_MESSAGES.get(names, f"must match the pattern {ctx.get('pattern')}")
    if kind in ("too_long", "too_short"):
        return _length_message(names, kind, ctx)
    if kind in ("string_too_short", "string_too_long"):
        return _string_length_message(kind, ctx)
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _limit_message(names, kind, ctx)
    message = str(error["msg"])
    return message[:1].lower() + message[1:] if message[1:2].islower() else message


def _unknown_field_message(parent: tuple[str, ...]) -> str:
    model = _MODELS.get(parent)
    if model is None:
        return "is not a known field"
    return f"is not a known field; known fields: {', '.join(model.model_fields)}"


def _length_message(names: tuple[str, ...], kind: str, ctx: Mapping[str, Any]) -> str:
    if names == ("steps",) and kind == "too_long":
        return f"has {ctx.get('actual_length')} steps; a workflow may have at most {MAX_STEPS}"
    if names == ("steps",):
        return "must have at least one step"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    return f"must have at least {ctx.get('min_length')} item{'s' if ctx.get('min_length') != 1 else ''}"


def _string_length_message(kind: str, ctx: Mapping[str, Any]) -> str:
    if kind == "string_too_short":
        minimum = ctx.get("min_length")
        return "must not be empty" if minimum == 1 else f"must be at least {minimum} characters long"
    return f"must be at most {ctx.get('max_length')} characters long"


def _limit_message(names: tuple[str, ...], kind: str, ctx: Mapping[str, Any]) -> str:
    words = {
        "greater_than_equal": ("must be at least", "ge"),
        "greater_than": ("must be greater than", "gt"),
        "less_than_equal": ("must be at most", "le"),
        "less_than": ("must be less than", "lt"),
    }
    phrase, key = words[kind]
    reason = _LIMIT_REASONS.get(names) if kind.startswith("less") else None
    return f"{phrase} {ctx.get(key)}" + (f" ({reason})" if reason else "")
