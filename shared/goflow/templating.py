"""``{{ expr }}`` templates: JMESPath over ``params``, ``trigger``, ``steps``, ``execution``, ``secrets``.

A string that is exactly one placeholder renders to the expression's value with its JSON type; a
placeholder inside longer text is stringified. Rendering is a single pass over the original
template, so a rendered value is never rendered again (no template injection).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from goflow.errors import Problems

ROOTS = ("params", "trigger", "steps", "execution", "secrets")
_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
# Node types whose first child is evaluated against the current context and whose other
# children are evaluated against that child's result (so they are not root references).
_CHAINS = {"subexpression", "index_expression", "projection", "value_projection", "flatten", "pipe"}
_SCOPED = {"filter_projection"}


@dataclass(frozen=True)
class Reference:
    """One root the expression reads: ``root`` and, where the expression names one, its first key."""

    root: str
    key: str | None


@dataclass(frozen=True)
class Placeholder:
    expression: str
    parsed: ParsedResult
    references: tuple[Reference, ...]


class TemplateSyntaxError(ValueError):
    """A template that cannot be parsed; the message says why."""


@lru_cache(maxsize=4096)
def _compile(expression: str) -> Placeholder:
    if not expression:
        raise TemplateSyntaxError("empty placeholder '{{ }}'")
    try:
        parsed = jmespath.compile(expression)
    except JMESPathError as exc:
        raise TemplateSyntaxError(f"'{{{{ {expression} }}}}' is not a valid JMESPath expression") from exc
    refs: list[Reference] = []
    _collect(dict(parsed.parsed), refs)
    return Placeholder(expression, parsed, tuple(dict.fromkeys(refs)))


def _collect(node: dict[str, Any], out: list[Reference]) -> None:
    kind = node["type"]
    children = node.get("children", [])
    if kind == "field":
        out.append(Reference(node["value"], None))
    elif kind in _CHAINS:
        left = children[0]
        right = children[1] if len(children) > 1 else None
        if kind == "subexpression" and left["type"] == "field" and right and right["type"] == "field":
            out.append(Reference(left["value"], right["value"]))
        else:
            _collect(left, out)
    elif kind in _SCOPED:
        _collect(children[0], out)
    elif kind == "expref":
        return  # evaluated against each element of a sequence, not the root
    else:
        for child in children:
            if isinstance(child, dict):
                _collect(child, out)


def placeholders(text: str) -> list[Placeholder]:
    """Parse every placeholder in ``text``; raise :class:`TemplateSyntaxError` on a malformed one."""
    found = [_compile(m.group(1).strip()) for m in _PLACEHOLDER.finditer(text)]
    rest = _PLACEHOLDER.sub("", text)
    if "{{" in rest:
        raise TemplateSyntaxError("'{{' opens a placeholder that is never closed with '}}'")
    return found


def is_template(value: Any) -> bool:
    """True when ``value`` is a string holding at least one placeholder."""
    return isinstance(value, str) and "{{" in value


def is_single_placeholder(value: Any) -> bool:
    """True when ``value`` is exactly one placeholder (so it renders with its JSON type)."""
    if not isinstance(value, str):
        return False
    match = _PLACEHOLDER.fullmatch(value.strip())
    return match is not None and "{{" not in match.group(1)


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(field_path, string)`` for every string inside a JSON-like value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")


def check_templates(
    value: Any,
    field_path: str,
    problems: Problems,
    *,
    earlier_steps: set[str] | None = None,
    all_steps: set[str] | None = None,
) -> None:
    """Record every template problem inside ``value``: syntax, unknown roots, steps not run earlier.

    ``earlier_steps`` are the ids of steps that run before this one; ``all_steps`` every id in the
    workflow, used to say "runs later" rather than "unknown". ``None`` skips step checks.
    """
    for path, text in walk_strings(value, field_path):
        if "{{" not in text:
            continue
        try:
            found = placeholders(text)
        except TemplateSyntaxError as exc:
            problems.add(path, str(exc))
            continue
        for placeholder in found:
            for ref in placeholder.references:
                _check_reference(ref, placeholder.expression, path, problems, earlier_steps, all_steps)


def _check_reference(
    ref: Reference,
    expression: str,
    path: str,
    problems: Problems,
    earlier_steps: set[str] | None,
    all_steps: set[str] | None,
) -> None:
    if ref.root not in ROOTS:
        problems.add(
            path,
            f"'{{{{ {expression} }}}}' reads '{ref.root}', which is not one of {', '.join(ROOTS)}",
        )
        return
    if ref.root != "steps" or ref.key is None or earlier_steps is None:
        return
    if ref.key in earlier_steps:
        return
    if all_steps is not None and ref.key in all_steps:
        problems.add(path, f"'{{{{ {expression} }}}}' uses step '{ref.key}', which does not run earlier")
    else:
        problems.add(path, f"'{{{{ {expression} }}}}' uses step '{ref.key}', which does not exist")


def secret_names(value: Any) -> set[str]:
    """The names of every ``secrets.<name>`` a value's templates read (resolved before rendering)."""
    names: set[str] = set()
    for _, text in walk_strings(value):
        if "{{" not in text:
            continue
        for placeholder in placeholders(text):
            names.update(r.key for r in placeholder.references if r.root == "secrets" and r.key)
    return names


def stringify(value: Any) -> str:
    """How a value reads inside longer text: strings as they are, the rest as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def render(value: Any, data: Mapping[str, Any]) -> Any:
    """Render every template inside ``value`` against ``data`` (a mapping of the roots)."""
    if isinstance(value, str):
        return _render_string(value, data)
    if isinstance(value, Mapping):
        return {key: render(item, data) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, data) for item in value]
    return value


def _render_string(text: str, data: Mapping[str, Any]) -> Any:
    if "{{" not in text:
        return text
    if is_single_placeholder(text):
        expression = _PLACEHOLDER.fullmatch(text.strip()).group(1).strip()  # type: ignore[union-attr]
        return _compile(expression).parsed.search(data)
    placeholders(text)  # raise on a malformed placeholder before substituting anything

    def substitute(match: re.Match[str]) -> str:
        return stringify(_compile(match.group(1).strip()).parsed.search(data))

    return _PLACEHOLDER.sub(substitute, text)
