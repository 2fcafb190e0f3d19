"""Dependency order of the template's resources: each after everything it refers to.

References are ``Ref``, ``Fn::GetAtt``, the variables of ``Fn::Sub`` and ``DependsOn``; a cycle is a
:class:`~goflow.local.provisioned.ProvisioningError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from goflow.local.provisioned import ProvisioningError
from goflow.local.sam import Resource


def references(value: Any, known: Iterable[str]) -> set[str]:
    """The logical ids among ``known`` that ``value`` refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    names = set(known)
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, item in node.items():
                if key == "Ref" and isinstance(item, str):
                    found.add(item)
                elif key == "Fn::GetAtt":
                    parts = item.split(".", 1) if isinstance(item, str) else item
                    if isinstance(parts, list) and parts and isinstance(parts[0], str):
                        found.add(parts[0])
                elif key == "Fn::Sub":
                    text = item[0] if isinstance(item, list) and item else item
                    if isinstance(text, str):
                        for variable in _sub_variables(text):
                            found.add(variable.split(".", 1)[0])
                visit(item)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(value)
    return found & names


def _sub_variables(text: str) -> list[str]:
    out: list[str] = []
    start = text.find("${")
    while start != -1:
        end = text.find("}", start)
        if end == -1:
            break
        name = text[start + 2 : end]
        if not name.startswith("!"):
            out.append(name)
        start = text.find("${", end)
    return out


def creation_order(resources: list[Resource]) -> list[Resource]:
    """``resources`` sorted so that each comes after everything it refers to (stable otherwise)."""
    by_id = {r.logical_id: r for r in resources}
    edges = {
        r.logical_id: (references(r.properties, by_id) | (r.depends_on & set(by_id))) - {r.logical_id}
        for r in resources
    }
    ordered: list[Resource] = []
    state: dict[str, int] = {}

    def visit(logical_id: str, path: list[str]) -> None:
        mark = state.get(logical_id)
        if mark == 2:
            return
        if mark == 1:
            cycle = " → ".join([*path[path.index(logical_id) :], logical_id])
            raise ProvisioningError(f"circular dependency between resources: {cycle}")
        state[logical_id] = 1
        for dependency in sorted(edges[logical_id]):
            visit(dependency, [*path, logical_id])
        state[logical_id] = 2
        ordered.append(by_id[logical_id])

    for resource in resources:
        visit(resource.logical_id, [])
    return ordered
