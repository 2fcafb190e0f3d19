"""Turning a client's workflow document into a valid :class:`WorkflowSpec`, reporting every problem.

Three passes, all of which run so a client sees every problem at once:

1. **Normalise** the seed shapes into the canonical document (:mod:`goflow.workflows.normalise`).
2. **Model**: strict pydantic validation of :class:`WorkflowSpec`, errors rephrased plainly
   (:mod:`goflow.workflows.messages`).
3. **Semantics**: duplicate ids and names, unknown actions, each step's config against its
   connector's JSON Schema, parameter defaults and enums, timeouts, templates, triggers.

Field paths in the details name the canonical document (``steps[1].config.url``), except for
problems with a seed-only field, which name that field (``parameters[0].default_value``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError as SchemaValidationError
from pydantic import ValidationError as PydanticValidationError

from goflow.connectors.base import Connector
from goflow.connectors.registry import ConnectorRegistry
from goflow.errors import Problems, WorkflowValidationError
from goflow.params import (
    check_parameters,
    compact_json,
    compiled_validator,
    describe_value,
    has_default,
    path_sort_key,
    schema_error_details,
)
from goflow.templating import check_templates, is_template, walk_strings
from goflow.workflows.hints import required_field_hint
from goflow.workflows.messages import add_model_errors
from goflow.workflows.model import (
    DEFAULT_EXECUTION_TIMEOUT,
    MAX_EXPRESS_TIMEOUT,
    MAX_STANDARD_TIMEOUT,
    MAX_STEP_TIMEOUT,
    Parameter,
    WorkflowSpec,
)
from goflow.workflows.normalise import DEFAULT_STEP_TIMEOUT, int_within, normalise_document

WAIT_ACTION = "wait"
SCHEDULE_PREFIXES = ("cron(", "rate(", "at(")


def parse_workflow(document: Any, registry: ConnectorRegistry) -> WorkflowSpec:
    """Turn a client's workflow document into a valid spec.

    Raise :class:`WorkflowValidationError` whose ``details`` list every problem found, each with
    the path of the field it concerns and a plain message.
    """
    problems = Problems()
    if not isinstance(document, Mapping):
        problems.add("workflow", f"must be a JSON object, got {describe_value(document)}")
        raise WorkflowValidationError("the workflow document is not a JSON object", problems.items)
    normalised = normalise_document(document, problems)
    spec = _validate_model(normalised, problems)
    _check_semantics(normalised, registry, problems)
    if problems or spec is None:
        details = sorted(dict.fromkeys(problems.items), key=lambda d: path_sort_key(d.field))
        count = len(details)
        raise WorkflowValidationError(f"the workflow has {count} problem{'s' if count != 1 else ''}", details)
    return spec


def _validate_model(doc: dict[str, Any], problems: Problems) -> WorkflowSpec | None:
    try:
        return WorkflowSpec.model_validate(doc, strict=True)
    except PydanticValidationError as exc:
        add_model_errors(exc, (), problems)
        return None


@dataclass(frozen=True)
class _StepView:
    """What can be read of one step even when other parts of it are invalid."""

    index: int
    id: str | None
    action: str | None
    config: Mapping[str, Any] | None
    when: str | None
    timeout_seconds: int | None

    @property
    def path(self) -> str:
        return f"steps[{self.index}]"


@dataclass(frozen=True)
class _Context:
    registry: ConnectorRegistry
    parameters: list[Parameter]
    all_ids: set[str]


def _check_semantics(doc: Mapping[str, Any], registry: ConnectorRegistry, problems: Problems) -> None:
    """Runs even when the model pass failed, so it reads only the parts of each field that are valid."""
    steps = _step_views(doc.get("steps"))
    raw_parameters: list[Any] = doc["parameters"] if isinstance(doc.get("parameters"), list) else []
    parameters = _valid_parameters(raw_parameters)
    _check_duplicates([(s.path, s.id) for s in steps], "id", "is already the id of {other}", problems)
    _check_duplicates(
        [(f"parameters[{i}]", _text(p, "name")) for i, p in enumerate(raw_parameters)],
        "name",
        "is already the name of {other}",
        problems,
    )
    for index, parameter in parameters:
        _check_parameter_values(index, parameter, problems)
    _check_timeouts(doc, steps, problems)
    all_valid = len(parameters) == len(raw_parameters)
    _check_trigger(doc.get("trigger"), [p for _, p in parameters] if all_valid else None, problems)
    context = _Context(registry, [p for _, p in parameters], {s.id for s in steps if s.id})
    earlier: set[str] = set()
    for step in steps:
        _check_step(step, earlier, context, problems)
        if step.id:
            earlier.add(step.id)


def _step_views(raw_steps: Any) -> list[_StepView]:
    if not isinstance(raw_steps, list):
        return []
    return [
        _StepView(
            index=index,
            id=_text(raw, "id"),
            action=_text(raw, "action"),
            config=_config_of(raw),
            when=_text(raw, "when"),
            timeout_seconds=int_within(raw.get("timeout_seconds", DEFAULT_STEP_TIMEOUT), 1, MAX_STEP_TIMEOUT),
        )
        for index, raw in enumerate(raw_steps)
        if isinstance(raw, Mapping)
    ]


def _config_of(raw: Mapping[str, Any]) -> Mapping[str, Any] | None:
    config = raw.get("config", {})  # an absent config is the empty one, which still has to be complete
    return config if isinstance(config, Mapping) else None


def _text(raw: Any, key: str) -> str | None:
    value = raw.get(key) if isinstance(raw, Mapping) else None
    return value if isinstance(value, str) and value else None


def _valid_parameters(raw_parameters: list[Any]) -> list[tuple[int, Parameter]]:
    valid = []
    for index, raw in enumerate(raw_parameters):
        try:
            valid.append((index, Parameter.model_validate(raw, strict=True)))
        except PydanticValidationError:
            continue  # already reported by the model pass
    return valid


def _check_duplicates(
    entries: Sequence[tuple[str, str | None]], key: str, message: str, problems: Problems
) -> None:
    first_seen: dict[str, str] = {}
    for path, value in entries:
        if value is None:
            continue
        if value in first_seen:
            problems.add(f"{path}.{key}", f"{compact_json(value)} " + message.format(other=first_seen[value]))
        else:
            first_seen[value] = path


def _check_parameter_values(index: int, parameter: Parameter, problems: Problems) -> None:
    path = f"parameters[{index}]"
    type_validator = compiled_validator({"type": parameter.type})
    for position, value in enumerate(parameter.enum or []):
        for detail in schema_error_details(type_validator.iter_errors(value), f"{path}.enum[{position}]"):
            problems.add(detail.field, detail.message)
    if has_default(parameter):
        schema: dict[str, Any] = {"type": parameter.type}
        if parameter.enum is not None:
            schema["enum"] = parameter.enum
        errors = compiled_validator(schema).iter_errors(parameter.default)
        for detail in schema_error_details(errors, f"{path}.default"):
            problems.add(detail.field, detail.message)


def _check_timeouts(doc: Mapping[str, Any], steps: Sequence[_StepView], problems: Problems) -> None:
    timeout = int_within(doc.get("execution_timeout", DEFAULT_EXECUTION_TIMEOUT), 1, MAX_STANDARD_TIMEOUT)
    if timeout is None:
        return
    if doc.get("mode") == "express" and timeout > MAX_EXPRESS_TIMEOUT:
        problems.add(
            "execution_timeout",
            f"must be at most {MAX_EXPRESS_TIMEOUT} for mode 'express': express runs are capped at "
            f"{MAX_EXPRESS_TIMEOUT} s (use mode 'standard' for longer runs)",
        )
    for step in steps:
        if step.timeout_seconds is not None and step.timeout_seconds > timeout:
            problems.add(
                f"{step.path}.timeout_seconds",
                f"{step.timeout_seconds} s exceeds the workflow's execution_timeout of {timeout} s",
            )


def _check_trigger(trigger: Any, parameters: list[Parameter] | None, problems: Problems) -> None:
    if not isinstance(trigger, Mapping):
        return
    is_schedule = trigger.get("type") == "schedule"
    expression = trigger.get("expression")
    if is_schedule and (expression is None or expression == ""):
        problems.add(
            "trigger.expression",
            'is required for a schedule trigger, e.g. "rate(1 hour)" or "cron(0 9 * * ? *)"',
        )
    elif is_schedule and isinstance(expression, str) and not expression.startswith(SCHEDULE_PREFIXES):
        problems.add(
            "trigger.expression", f"must start with cron(, rate( or at(, got {compact_json(expression)}"
        )
    for field in ("expression", "timezone"):
        if not is_schedule and trigger.get(field) is not None:
            problems.add(f"trigger.{field}", "only applies to schedule triggers")
    supplied = trigger.get("parameters", {})
    if is_schedule and parameters is not None and isinstance(supplied, Mapping):
        # A scheduled run gets exactly these values: they must satisfy the workflow's parameters.
        for detail in check_parameters(parameters, supplied, "trigger.parameters"):
            problems.add(detail.field, detail.message)


def _check_step(step: _StepView, earlier: set[str], context: _Context, problems: Problems) -> None:
    connector = context.registry.get(step.action) if step.action else None
    if step.action and connector is None:
        known = ", ".join(context.registry.names()) or "(none installed)"
        problems.add(
            f"{step.path}.action", f"unknown action {compact_json(step.action)}; known actions: {known}"
        )
    if step.action == WAIT_ACTION and step.when is not None:
        problems.add(
            f"{step.path}.when",
            "is not allowed on a wait step: it compiles to a native Step Functions Wait state, "
            "which cannot be skipped",
        )
    if connector is not None and step.config is not None:
        _check_config(step, connector, context.parameters, problems)
    for value, field in ((step.config, "config"), (step.when, "when")):
        if value is not None:
            check_templates(
                value, f"{step.path}.{field}", problems, earlier_steps=set(earlier), all_steps=context.all_ids
            )


def _check_config(
    step: _StepView, connector: Connector, parameters: Sequence[Parameter], problems: Problems
) -> None:
    try:
        schema = connector.config_schema()
        validator = compiled_validator(schema)
    except Exception:  # a broken plugin must never break validating the workflow
        problems.add(
            f"{step.path}.action", f"connector {compact_json(connector.name)} has an invalid config schema"
        )
        return
    known = ", ".join(sorted(schema.get("properties", {}))) or "(none)"
    details = schema_error_details(
        validator.iter_errors(dict(step.config or {})),
        f"{step.path}.config",
        unknown_field=f"is not a config field of {connector.name}; known fields: {known}",
        required_hint=lambda name, field_schema: required_field_hint(name, field_schema, parameters),
        ignore=_is_template_error,
    )
    for detail in details:
        problems.add(detail.field, detail.message)
    if not details and not _has_templates(step.config):
        _check_config_model(step, connector, problems)


def _has_templates(value: Any) -> bool:
    return any(is_template(text) for _, text in walk_strings(value))


def _check_config_model(step: _StepView, connector: Connector, problems: Problems) -> None:
    """A literal config can be checked by the connector's own model, which knows more than its schema."""
    try:
        connector.config_model.model_validate(dict(step.config or {}))
    except PydanticValidationError as exc:
        add_model_errors(exc, ("steps", step.index, "config"), problems)
    except Exception:  # a plugin's own validator may raise anything; it must not break validation
        problems.add(f"{step.path}.config", f"was refused by connector {compact_json(connector.name)}")


def _is_template_error(error: SchemaValidationError) -> bool:
    """A template string renders at run time, so no type, format or pattern applies to it yet."""
    return is_template(error.instance)
