"""Runtime parameters: the JSON Schema a workflow's parameters define, and the values a run gets.

A trigger's ``{"parameters": {...}}`` is validated against :func:`parameters_schema` with JSON Schema
draft 2020-12; every problem is reported at once, each under the JSON path of the value it concerns
(``parameters.tags[2]``). The translation of ``jsonschema`` errors into plain messages lives here too
(:func:`schema_error_details`) so that workflow validation describes connector configs the same way.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaValidationError
from jsonschema.exceptions import best_match

from goflow.errors import ErrorDetail, ParameterValidationError
from goflow.workflows.model import Parameter

PARAMETERS_FIELD = "parameters"
UNDEFINED_PARAMETER = "is not a defined parameter"
_ARTICLES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
_MAX_SHOWN = 60

# Given a missing required property's name and schema, the advice appended to "is required".
RequiredHint = Callable[[str, Mapping[str, Any]], str]


def has_default(parameter: Parameter) -> bool:
    """True when the parameter declares a default (JSON ``null`` counts as no default)."""
    return parameter.default is not None


def parameters_schema(parameters: Sequence[Parameter]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the ``parameters`` object a run of the workflow accepts.

    A parameter that is ``required`` but has a ``default`` is not required at run time: the default
    fills it in when the caller leaves it out. Undeclared parameters are refused.
    """
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {p.name: _property_schema(p) for p in parameters},
        "required": [p.name for p in parameters if p.required and not has_default(p)],
        "additionalProperties": False,
    }


def _property_schema(parameter: Parameter) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": parameter.type}
    if parameter.enum is not None:
        schema["enum"] = parameter.enum
    if parameter.description is not None:
        schema["description"] = parameter.description
    if has_default(parameter):
        schema["default"] = parameter.default
    return schema


def resolve_parameters(parameters: Sequence[Parameter], supplied: Any) -> dict[str, Any]:
    """Validate the parameters a caller supplied and return them with defaults filled in.

    ``supplied`` may be ``None`` (no parameters). Raise :class:`ParameterValidationError` listing
    every problem, each at ``parameters.<name>`` (or deeper, e.g. ``parameters.tags[2]``).
    Defaults are deep-copied, so a run never shares a mutable default with another run.
    """
    values = {} if supplied is None else supplied
    details = check_parameters(parameters, values)
    if details:
        raise ParameterValidationError(_summary(details), details)
    resolved = dict(values)
    for parameter in parameters:
        if parameter.name not in resolved and has_default(parameter):
            resolved[parameter.name] = copy.deepcopy(parameter.default)
    return resolved


def check_parameters(
    parameters: Sequence[Parameter], supplied: Any, field_path: str = PARAMETERS_FIELD
) -> list[ErrorDetail]:
    """Every problem with ``supplied`` as the parameters of a run, each under ``field_path``."""
    if not isinstance(supplied, Mapping):
        return [ErrorDetail(field_path, f"must be an object, got {describe_value(supplied)}")]
    validator = compiled_validator(parameters_schema(parameters))
    return schema_error_details(
        validator.iter_errors(dict(supplied)), field_path, unknown_field=UNDEFINED_PARAMETER
    )


def _summary(details: Sequence[ErrorDetail]) -> str:
    count = len(details)
    return f"{count} parameter problem{'s' if count != 1 else ''}: " + "; ".join(
        f"{d.field} {d.message}" for d in details
    )


def compiled_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A draft 2020-12 validator (with format checks) for ``schema``, compiled once per schema.

    Raise :class:`jsonschema.exceptions.SchemaError` when ``schema`` is not a valid schema.
    """
    return _compiled(json.dumps(schema, sort_keys=True, default=str))


@lru_cache(maxsize=512)
def _compiled(schema_json: str) -> Draft202012Validator:
    schema = json.loads(schema_json)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass(frozen=True)
class _Wording:
    unknown_field: str
    required_hint: RequiredHint | None
    ignore: Callable[[SchemaValidationError], bool] | None


def schema_error_details(
    errors: Iterable[SchemaValidationError],
    field_path: str,
    *,
    unknown_field: str = "is not a known field",
    required_hint: RequiredHint | None = None,
    ignore: Callable[[SchemaValidationError], bool] | None = None,
) -> list[ErrorDetail]:
    """Translate ``jsonschema`` errors into details with JSON paths under ``field_path``.

    ``unknown_field`` is the message for a property the schema does not allow; ``required_hint``,
    given the name and schema of a missing required property, returns text appended to
    ``is required``. ``ignore`` drops errors (an ``anyOf``/``oneOf`` is dropped when one of its
    alternatives fails only with ignored errors). Details come out sorted by path, deduplicated.
    """
    wording = _Wording(unknown_field, required_hint, ignore)
    details: list[ErrorDetail] = []
    for error in errors:
        if not _ignored(error, wording):
            details.extend(_details_for(error, field_path, wording))
    return sorted(dict.fromkeys(details), key=lambda d: path_sort_key(d.field))


def path_sort_key(path: str) -> list[tuple[int, int, str]]:
    """Orders field paths naturally: ``tags[2]`` before ``tags[10]``."""
    return [
        (0, int(t), "") if t.isascii() and t.isdigit() else (1, 0, t) for t in re.findall(r"[^.\[\]]+", path)
    ]


def _ignored(error: SchemaValidationError, wording: _Wording) -> bool:
    if wording.ignore is None:
        return False
    if wording.ignore(error):
        return True
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return False
    branches: dict[Any, list[SchemaValidationError]] = {}
    for sub in error.context:
        branch = sub.relative_schema_path[0] if sub.relative_schema_path else None
        branches.setdefault(branch, []).append(sub)
    return any(all(_ignored(sub, wording) for sub in subs) for subs in branches.values())


def _details_for(error: SchemaValidationError, field_path: str, wording: _Wording) -> list[ErrorDetail]:
    path = json_path(field_path, error.absolute_path)
    instance, expected = error.instance, error.validator_value
    if error.validator == "required" and isinstance(instance, Mapping) and isinstance(expected, list):
        missing = [name for name in expected if name not in instance]
        properties = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        return [_required_detail(path, name, properties.get(name, {}), wording) for name in missing]
    if error.validator == "additionalProperties" and isinstance(instance, Mapping):
        extras = _extras(instance, error.schema)
        return [ErrorDetail(json_path(path, [name]), wording.unknown_field) for name in extras]
    if error.validator in ("anyOf", "oneOf") and error.context:
        return _details_for_alternatives(error, field_path, wording)
    return [ErrorDetail(path, describe_error(error))]


def _required_detail(path: str, name: str, schema: Mapping[str, Any], wording: _Wording) -> ErrorDetail:
    hint = wording.required_hint(name, schema) if wording.required_hint is not None else ""
    return ErrorDetail(json_path(path, [name]), "is required" + (f"; {hint}" if hint else ""))


def _extras(instance: Mapping[str, Any], schema: Any) -> list[str]:
    schema = schema if isinstance(schema, Mapping) else {}
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [
        str(name) for name in instance if name not in known and not any(p.search(str(name)) for p in patterns)
    ]


def _details_for_alternatives(
    error: SchemaValidationError, field_path: str, wording: _Wording
) -> list[ErrorDetail]:
    context = [e for e in error.context or [] if not _ignored(e, wording)]
    path = json_path(field_path, error.absolute_path)
    if not context:
        return [ErrorDetail(path, error.message)]
    deeper = [e for e in context if len(e.absolute_path) > len(error.absolute_path)]
    if deeper:
        return _details_for(best_match(deeper), field_path, wording)
    if all(e.validator == "type" for e in context):
        types = [t for e in context for t in _as_list(e.validator_value)]
        return [ErrorDetail(path, f"must be {_type_names(types)}, got {describe_value(error.instance)}")]
    return _details_for(best_match(context), field_path, wording)


def json_path(prefix: str, parts: Iterable[Any]) -> str:
    """``prefix`` followed by ``.key`` for each key and ``[i]`` for each index in ``parts``."""
    path = prefix
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def describe_error(error: SchemaValidationError) -> str:
    """A plain message for one ``jsonschema`` error about one value."""
    keyword = str(error.validator)
    expected = error.validator_value
    describer = _DESCRIBERS.get(keyword)
    if describer is not None:
        return describer(expected, error.instance)
    return error.message


def _type_message(expected: Any, instance: Any) -> str:
    return f"must be {_type_names(_as_list(expected))}, got {describe_value(instance)}"


def _type_names(types: Sequence[str]) -> str:
    names = [_ARTICLES.get(t, t) for t in dict.fromkeys(types)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


_DESCRIBERS: dict[str, Callable[[Any, Any], str]] = {
    "type": _type_message,
    "enum": lambda expected, _: f"is not one of {compact_json(expected)}",
    "const": lambda expected, _: f"must be {compact_json(expected)}",
    "minLength": lambda n, _: f"must be at least {n} character{'s' if n != 1 else ''} long",
    "maxLength": lambda n, _: f"must be at most {n} character{'s' if n != 1 else ''} long",
    "minItems": lambda n, _: f"must have at least {n} item{'s' if n != 1 else ''}",
    "maxItems": lambda n, _: f"must have at most {n} item{'s' if n != 1 else ''}",
    "minProperties": lambda n, _: f"must have at least {n} field{'s' if n != 1 else ''}",
    "maxProperties": lambda n, _: f"must have at most {n} field{'s' if n != 1 else ''}",
    "minimum": lambda n, _: f"must be at least {n}",
    "maximum": lambda n, _: f"must be at most {n}",
    "exclusiveMinimum": lambda n, _: f"must be greater than {n}",
    "exclusiveMaximum": lambda n, _: f"must be less than {n}",
    "multipleOf": lambda n, _: f"must be a multiple of {n}",
    "pattern": lambda p, _: f"must match the pattern {p}",
    "format": lambda f, _: f"must be a valid {f}",
    "uniqueItems": lambda _, __: "must not contain duplicate items",
}


def describe_value(value: Any) -> str:
    """``integer 5``, ``string "abc"``, ``null``: a value's JSON type and a short rendering of it."""
    if value is None:
        return "null"
    return f"{json_type(value)} {compact_json(value, limit=_MAX_SHOWN)}"


def json_type(value: Any) -> str:
    """The JSON Schema type name of a Python value decoded from JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def compact_json(value: Any, limit: int | None = None) -> str:
    """``value`` as compact JSON, cut to ``limit`` characters with an ellipsis."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text
