"""Turning a client's workflow document into a valid :class:`WorkflowSpec`, reporting every problem.

Three passes, all of which run so a client sees every problem at once:

1. **Normalise** the seed shapes into the canonical document: a single ``action`` (or ``action_type``)
   with ``config`` (or ``config_json``, a JSON string) becomes one step; ``action_chain`` becomes
   ``steps`` (``action_chain[i]`` is ``steps[i]``); ``trigger_type`` becomes ``trigger.type``; a
   parameter's ``default_value`` (a string in the seed) becomes a typed ``default``;
   ``execution_timeout`` 0 or null means the default. Read-only fields a client may echo back from
   a GET (``id``, ``version``, ``created_at``, ``updated_at``) are dropped.
2. **Model**: strict pydantic validation of :class:`WorkflowSpec`, errors rephrased plainly.
3. **Semantics**: duplicate ids and names, unknown actions, each step's config against its
   connector's JSON Schema, parameter defaults and enums, timeouts, templates, triggers.

Field paths in the details name the canonical document (``steps[1].config.url``), except for
problems with a seed-only field, which name that field (``parameters[0].default_value``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError as SchemaValidationError
from pydantic import BaseModel
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
    json_path,
    path_sort_key,
    schema_error_details,
)
from goflow.templating import check_templates, is_template, walk_strings
from goflow.workflows.model import (
    DEFAULT_EXECUTION_TIMEOUT,
    MAX_EXPRESS_TIMEOUT,
    MAX_STANDARD_TIMEOUT,
    MAX_STEP_TIMEOUT,
    MAX_STEPS,
    Parameter,
    RetryPolicy,
    Step,
    Trigger,
    WorkflowSpec,
)

READ_ONLY_FIELDS = ("id", "version", "created_at", "updated_at")
WAIT_ACTION = "wait"
SCHEDULE_PREFIXES = ("cron(", "rate(", "at(")
DEFAULT_STEP_TIMEOUT: int = Step.model_fields["timeout_seconds"].default
_SINGLE_ACTION_FIELDS = ("action", "action_type", "config", "config_json")
# Config fields whose natural parameter has another name: a missing "to" is usually an email address.
_PARAMETER_NAME_HINTS: dict[str, tuple[str, ...]] = {"to": ("email", "recipient")}
_BOOLEAN_WORDS = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}


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


# ---------------------------------------------------------------------------------------------
# 1. Normalisation of the seed shapes
# ---------------------------------------------------------------------------------------------


def normalise_document(document: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    """The canonical form of a document written in any accepted shape; seed-field problems are recorded.

    A step without ``timeout_seconds`` gets the workflow's ``execution_timeout`` when that is shorter
    than the default step timeout, since no step can outlast its workflow.
    """
    doc = {key: copy.deepcopy(value) for key, value in document.items() if key not in READ_ONLY_FIELDS}
    _normalise_trigger(doc, problems)
    _normalise_steps(doc, problems)
    _normalise_parameters(doc, problems)
    _normalise_execution_timeout(doc)
    _fit_step_timeouts(doc)
    return doc


def _normalise_trigger(doc: dict[str, Any], problems: Problems) -> None:
    if "trigger_type" not in doc:
        return
    trigger_type = doc.pop("trigger_type")
    if "trigger" in doc:
        problems.add("trigger_type", "cannot be combined with 'trigger'; set 'trigger': {\"type\": ...} only")
        return
    # The Go seed's zero value (empty or missing) meant a manual trigger.
    doc["trigger"] = {"type": trigger_type if trigger_type not in (None, "") else "manual"}


def _normalise_steps(doc: dict[str, Any], problems: Problems) -> None:
    single = next((name for name in ("action", "action_type") if name in doc), None)
    shapes = [name for name in ("steps", "action_chain") if name in doc] + ([single] if single else [])
    for extra in shapes[1:]:
        problems.add(extra, f"cannot be combined with '{shapes[0]}': both define the workflow's steps")
    chosen = shapes[0] if shapes else None
    if chosen == "action_chain":
        doc["steps"] = _chain_steps(doc["action_chain"], problems)
    if single is not None and chosen == single:
        item = {name: doc[name] for name in _SINGLE_ACTION_FIELDS if name in doc}
        doc["steps"] = _assign_step_ids([_seed_step(item, "", problems)])
    elif single is None:
        _refuse_loose_config(doc, problems)
    for name in ("action_chain", *_SINGLE_ACTION_FIELDS):
        doc.pop(name, None)


def _refuse_loose_config(doc: dict[str, Any], problems: Problems) -> None:
    for name in ("config", "config_json"):
        if name in doc:
            problems.add(
                name, "is only allowed with 'action'; with 'steps', put each step's config inside it"
            )


def _chain_steps(chain: Any, problems: Problems) -> Any:
    if not isinstance(chain, list):
        problems.add("action_chain", f"must be a list of steps, got {describe_value(chain)}")
        return []
    steps = [
        _seed_step(item, f"action_chain[{index}].", problems) if isinstance(item, Mapping) else item
        for index, item in enumerate(chain)
    ]
    return _assign_step_ids(steps)


def _seed_step(item: Mapping[str, Any], prefix: str, problems: Problems) -> dict[str, Any]:
    step = {key: value for key, value in item.items() if key not in _SINGLE_ACTION_FIELDS}
    action = _pick_one(item, ("action", "action_type"), prefix, problems)
    if action is not None:
        step["action"] = action[1]
    config = _pick_one(item, ("config", "config_json"), prefix, problems)
    if config is not None:
        name, value = config
        parsed = _parse_config_json(value, prefix + name, problems) if name == "config_json" else value
        if parsed is not None:
            step["config"] = parsed
    return step


def _pick_one(
    item: Mapping[str, Any], names: tuple[str, str], prefix: str, problems: Problems
) -> tuple[str, Any] | None:
    present = [name for name in names if name in item]
    if len(present) > 1:
        problems.add(prefix + present[1], f"cannot be combined with '{present[0]}'; use one of them")
    return (present[0], item[present[0]]) if present else None


def _parse_config_json(value: Any, field: str, problems: Problems) -> Any:
    if value is None or value == "":
        return {}
    if not isinstance(value, str):
        return value  # already decoded; the model checks it is an object
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError as exc:
        problems.add(field, f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
        return None
    if decoded is None:
        return {}
    if not isinstance(decoded, dict):
        problems.add(field, f"must hold a JSON object, got {describe_value(decoded)}")
        return None
    return decoded


def _assign_step_ids(steps: list[Any]) -> list[Any]:
    """Give each step without an ``id`` its action's name, suffixed ``_2``, ``_3``... on repeats."""
    used = {step["id"] for step in steps if isinstance(step, dict) and isinstance(step.get("id"), str)}
    for step in steps:
        if not isinstance(step, dict) or "id" in step or not isinstance(step.get("action"), str):
            continue
        base, count = _id_from_action(step["action"]), 1
        candidate = base
        while candidate in used:
            count += 1
            candidate = f"{base}_{count}"
        step["id"] = candidate
        used.add(candidate)
    return steps


def _id_from_action(action: str) -> str:
    """A valid step id made from an action name (plugin names may hold dots or start with a digit)."""
    base = re.sub(r"[^A-Za-z0-9_-]", "_", action)[:56]
    return base if base[:1].isalpha() else f"step_{base}"


def _normalise_parameters(doc: dict[str, Any], problems: Problems) -> None:
    parameters = doc.get("parameters")
    if parameters is None:
        doc.pop("parameters", None)  # the Go seed serialised "no parameters" as null
        return
    if not isinstance(parameters, list):
        return
    for index, item in enumerate(parameters):
        if isinstance(item, dict) and "default_value" in item:
            parameters[index] = _normalise_default_value(dict(item), f"parameters[{index}]", problems)


def _normalise_default_value(item: dict[str, Any], prefix: str, problems: Problems) -> dict[str, Any]:
    raw = item.pop("default_value")
    field = f"{prefix}.default_value"
    if "default" in item:
        problems.add(field, "cannot be combined with 'default'; use 'default' only")
    elif raw is not None and raw != "":  # the Go seed's empty string meant "no default"
        try:
            item["default"] = coerce_default(raw, item.get("type", "string"))
        except ValueError as exc:
            problems.add(field, str(exc))
    return item


def coerce_default(value: Any, type_name: Any) -> Any:
    """Read a seed ``default_value`` (text) as a value of the parameter's type.

    ``"5"`` for ``integer`` gives 5, ``"true"`` for ``boolean`` gives True, JSON text for ``object``
    and ``array``. Non-text values and text for ``string`` are kept. Raise ``ValueError`` saying why
    the text cannot be read as the type.
    """
    if not isinstance(value, str) or type_name not in ("integer", "number", "boolean", "object", "array"):
        return value
    if type_name == "boolean":
        if value.strip().lower() in _BOOLEAN_WORDS:
            return _BOOLEAN_WORDS[value.strip().lower()]
        raise ValueError(f"{compact_json(value)} is not a boolean; use true or false")
    decoded = _decode_json(value)
    checks = {
        "integer": lambda v: isinstance(v, int) or (isinstance(v, float) and v.is_integer()),
        "number": lambda v: isinstance(v, int | float),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
    }
    if decoded is _NOT_JSON or isinstance(decoded, bool) or not checks[type_name](decoded):
        raise ValueError(f"{compact_json(value)} is not a valid {_TYPE_WORDS[type_name]}")
    return int(decoded) if type_name == "integer" else decoded


_NOT_JSON = object()
_TYPE_WORDS = {"integer": "integer", "number": "number", "object": "JSON object", "array": "JSON array"}


def _decode_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        return json.loads(text, parse_constant=refuse)
    except ValueError:
        return _NOT_JSON


def _normalise_execution_timeout(doc: dict[str, Any]) -> None:
    if "execution_timeout" not in doc:
        return
    value = doc["execution_timeout"]
    if value is None or (_is_number(value) and value == 0):
        doc["execution_timeout"] = DEFAULT_EXECUTION_TIMEOUT


def _fit_step_timeouts(doc: dict[str, Any]) -> None:
    timeout = _int_within(doc.get("execution_timeout", DEFAULT_EXECUTION_TIMEOUT), 1, MAX_STANDARD_TIMEOUT)
    steps = doc.get("steps")
    if timeout is None or timeout >= DEFAULT_STEP_TIMEOUT or not isinstance(steps, list):
        return
    for step in steps:
        if isinstance(step, dict):
            step.setdefault("timeout_seconds", timeout)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int_within(value: Any, low: int, high: int) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high else None


# ---------------------------------------------------------------------------------------------
# 2. The model
# ---------------------------------------------------------------------------------------------

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


def _validate_model(doc: dict[str, Any], problems: Problems) -> WorkflowSpec | None:
    try:
        return WorkflowSpec.model_validate(doc, strict=True)
    except PydanticValidationError as exc:
        _add_model_errors(exc, (), problems)
        return None


def _add_model_errors(exc: PydanticValidationError, prefix: tuple[Any, ...], problems: Problems) -> None:
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


# ---------------------------------------------------------------------------------------------
# 3. Semantics (run on the normalised document even when the model failed, skipping bad parts)
# ---------------------------------------------------------------------------------------------


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
            timeout_seconds=_int_within(
                raw.get("timeout_seconds", DEFAULT_STEP_TIMEOUT), 1, MAX_STEP_TIMEOUT
            ),
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
    timeout = _int_within(doc.get("execution_timeout", DEFAULT_EXECUTION_TIMEOUT), 1, MAX_STANDARD_TIMEOUT)
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
        _add_model_errors(exc, ("steps", step.index, "config"), problems)
    except Exception:  # a plugin's own validator may raise anything; it must not break validation
        problems.add(f"{step.path}.config", f"was refused by connector {compact_json(connector.name)}")


def _is_template_error(error: SchemaValidationError) -> bool:
    """A template string renders at run time, so no type, format or pattern applies to it yet."""
    return is_template(error.instance)


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
