"""Advice for a missing required config field: which parameter to use, or which to declare."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from goflow.workflows.model import Parameter

# Config fields whose natural parameter has another name: a missing "to" is usually an email address.
_PARAMETER_NAME_HINTS: dict[str, tuple[str, ...]] = {"to": ("email", "recipient")}


def required_field_hint(name: str, field_schema: Mapping[str, Any], parameters: Sequence[Parameter]) -> str:
    """Exactly what to add for a missing required config field, using a fitting parameter if any."""
    parameter = suggest_parameter(name, field_schema, parameters)
    if parameter is not None:
        return f'add "{name}": "{{{{ params.{parameter.name} }}}}"'
    declare = next(iter(_keywords(name, field_schema)[1:]), name)
    return (
        f'add "{name}": <value> to this step\'s config, or declare a parameter "{declare}" '
        f'and add "{name}": "{{{{ params.{declare} }}}}"'
    )


def suggest_parameter(
    name: str, field_schema: Mapping[str, Any], parameters: Sequence[Parameter]
) -> Parameter | None:
    """The workflow parameter that most likely supplies config field ``name``, if one does.

    A parameter with the field's name (or a name the field usually takes, such as ``email`` for
    ``to``) wins; otherwise a string parameter whose name contains one of those words.
    """
    keywords = _keywords(name, field_schema)
    for keyword in keywords:
        for parameter in parameters:
            if parameter.name.lower() == keyword:
                return parameter
    for keyword in keywords:
        for parameter in parameters:
            if parameter.type == "string" and _name_mentions(parameter.name, keyword):
                return parameter
    return None


def _keywords(name: str, field_schema: Mapping[str, Any]) -> list[str]:
    words = [name.lower(), *_PARAMETER_NAME_HINTS.get(name.lower(), ())]
    if "email" in _formats(field_schema) and "email" not in words:
        words.append("email")
    return words


def _formats(schema: Any) -> set[str]:
    if not isinstance(schema, Mapping):
        return set()
    found = {schema["format"]} if isinstance(schema.get("format"), str) else set()
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            found |= _formats(branch)
    return found | _formats(schema.get("items"))


def _name_mentions(parameter_name: str, keyword: str) -> bool:
    lowered = parameter_name.lower()
    # Whole words only for short keywords, so "to" does not match "token".
    return keyword in lowered.split("_") or (len(keyword) >= 4 and keyword in lowered)
