"""Normalising a client's workflow document: the seed shapes become the canonical document.

A single ``action`` (or ``action_type``) with ``config`` (or ``config_json``, a JSON string) becomes
one step; ``action_chain`` becomes ``steps`` (``action_chain[i]`` is ``steps[i]``); ``trigger_type``
becomes ``trigger.type``; a parameter's ``default_value`` (a string in the seed) becomes a typed
``default``; ``execution_timeout`` 0 or null means the default. Read-only fields a client may echo
back from a GET (``id``, ``version``, ``created_at``, ``updated_at``) are dropped.

Problems with a seed-only field are recorded under that field (``parameters[0].default_value``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from goflow.errors import Problems
from goflow.params import compact_json, describe_value
from goflow.workflows.model import DEFAULT_EXECUTION_TIMEOUT, MAX_STANDARD_TIMEOUT, Step

READ_ONLY_FIELDS = ("id", "version", "created_at", "updated_at")
DEFAULT_STEP_TIMEOUT: int = Step.model_fields["timeout_seconds"].default
_SINGLE_ACTION_FIELDS = ("action", "action_type", "config", "config_json")
_BOOLEAN_WORDS = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}


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
    timeout = int_within(doc.get("execution_timeout", DEFAULT_EXECUTION_TIMEOUT), 1, MAX_STANDARD_TIMEOUT)
    steps = doc.get("steps")
    if timeout is None or timeout >= DEFAULT_STEP_TIMEOUT or not isinstance(steps, list):
        return
    for step in steps:
        if isinstance(step, dict):
            step.setdefault("timeout_seconds", timeout)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def int_within(value: Any, low: int, high: int) -> int | None:
    """``value`` when it is an integer (not a boolean) from ``low`` to ``high``, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high else None
