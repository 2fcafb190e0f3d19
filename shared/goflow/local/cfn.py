"""CloudFormation/SAM templates for the local stack: YAML with short-form tags, and intrinsic functions.

:func:`load_template` parses a template into its long form (``!Ref x`` becomes ``{"Ref": "x"}``,
``!GetAtt A.B`` becomes ``{"Fn::GetAtt": ["A", "B"]}``, ...). :class:`Resolver` evaluates the
intrinsic functions against parameter values (the template's defaults, overridable), pseudo
parameters and the resources the local stack provisioned, so everything the local stack creates
comes from the template itself.

Only PyYAML and the standard library.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_FILE = "template.yaml"
DEFAULT_ACCOUNT_ID = "123456789012"

# Short-form tag → long-form key. ``!Ref`` and ``!Condition`` have no ``Fn::`` prefix.
INTRINSIC_TAGS: dict[str, str] = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "ForEach",
            "GetAZs",
            "GetAtt",
            "If",
            "ImportValue",
            "Join",
            "Length",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
            "ToJsonString",
            "Transform",
        )
    },
}


# libyaml's parser when PyYAML has it (ten times faster on the template), the same safe constructors.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CloudFormationLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe YAML loader that turns CloudFormation's short-form tags into their long form."""


def _constructor(tag: str) -> Callable[[Any, yaml.Node], dict[str, Any]]:
    key = INTRINSIC_TAGS[tag]

    def construct(loader: Any, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if key == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {key: value}

    return construct


for _tag in INTRINSIC_TAGS:
    CloudFormationLoader.add_constructor(f"!{_tag}", _constructor(_tag))


def find_template(start: str | Path | None = None) -> Path:
    """The nearest ``template.yaml`` in ``start`` (default: the working directory) or its parents."""
    origin = Path(start) if start is not None else Path.cwd()
    for folder in (origin, *origin.parents):
        candidate = folder / TEMPLATE_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no {TEMPLATE_FILE} in {origin} or its parents")


def load_template(path: str | Path | None = None) -> dict[str, Any]:
    """The CloudFormation/SAM template at ``path`` (default: :func:`find_template`), in long form."""
    source = Path(path) if path is not None else find_template()
    template = yaml.load(source.read_text(encoding="utf-8"), Loader=CloudFormationLoader)  # noqa: S506
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValueError(f"{source}: not a CloudFormation template (no Resources)")
    return template


class UnresolvableError(ValueError):
    """An intrinsic function the local stack cannot evaluate (or a reference to nothing)."""


class _NoValue:
    """``AWS::NoValue``: the property it is the value of is removed."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

# (logical id, attribute or None for Ref) → value; raises KeyError when the resource is unknown.
ResourceLookup = Callable[[str, str | None], Any]

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_LIST_TYPES = ("CommaDelimitedList", "List<")


def _no_resources(logical_id: str, attribute: str | None) -> Any:
    raise KeyError(logical_id)


class Resolver:
    """Evaluates intrinsic functions for one stack: parameters, pseudo parameters, conditions, resources.

    ``parameters`` overrides the template's parameter defaults (values are validated against the
    parameter's constraints). ``resources`` answers ``Ref`` (attribute ``None``) and ``Fn::GetAtt``
    for the resources that exist; a reference it does not know raises :class:`UnresolvableError`.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        parameters: Mapping[str, Any] | None = None,
        region: str = "us-east-1",
        account_id: str = DEFAULT_ACCOUNT_ID,
        stack_name: str = "goflow",
        partition: str = "aws",
        url_suffix: str = "amazonaws.com",
        resources: ResourceLookup | None = None,
    ) -> None:
        self.template = template
        self.region = region
        self.account_id = account_id
        self.stack_name = stack_name
        self.partition = partition
        self.url_suffix = url_suffix
        self.resources: ResourceLookup = resources or _no_resources
        self.parameters = self._parameter_values(dict(parameters or {}))
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": self._not,
            "Fn::And": self._and,
            "Fn::Or": self._or,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": self._base64,
            "Fn::GetAZs": self._get_azs,
            "Fn::ToJsonString": self._to_json_string,
            "Fn::Length": self._length,
        }

    # ------------------------------------------------------------------ public
    @property
    def pseudo_parameters(self) -> dict[str, Any]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:"
                f"stack/{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::URLSuffix": self.url_suffix,
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated and ``AWS::NoValue`` entries removed."""
        if isinstance(value, Mapping):
            if len(value) == 1:
                key, argument = next(iter(value.items()))
                function = self._functions.get(key)
                if function is not None:
                    return function(argument)
                if isinstance(key, str) and key.startswith("Fn::"):
                    raise UnresolvableError(f"{key} is not supported by the local stack")
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        return value

    def condition(self, name: str) -> bool:
        """The value of the template's condition ``name``."""
        if name in self._conditions:
            return self._conditions[name]
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise UnresolvableError(f"no condition named {name}")
        if name in self._evaluating:
            raise UnresolvableError(f"condition {name} refers to itself")
        self._evaluating.add(name)
        try:
            value = self._condition_value(conditions[name])
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = value
        return value

    # ------------------------------------------------------------------ parameters
    def _parameter_values(self, overrides: dict[str, Any]) -> dict[str, Any]:
        declared: Mapping[str, Any] = self.template.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise ValueError(f"the template has no parameter {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in overrides:
                raw = overrides[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raise ValueError(f"parameter {name} has no default: give it a value")
            values[name] = _parameter_value(name, spec, raw)
        return values

    # ------------------------------------------------------------------ functions
    def _ref(self, name: Any) -> Any:
        name = self.resolve(name)
        if not isinstance(name, str):
            raise UnresolvableError(f"Ref needs a name, got {name!r}")
        if name in self.parameters:
            return self.parameters[name]
        pseudo = self.pseudo_parameters
        if name in pseudo:
            return pseudo[name]
        return self._resource(name, None)

    def _get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not isinstance(argument, list) or len(argument) != 2:
            raise UnresolvableError(f"Fn::GetAtt needs [resource, attribute], got {argument!r}")
        logical_id, attribute = (self.resolve(part) for part in argument)
        return self._resource(str(logical_id), str(attribute))

    def _resource(self, logical_id: str, attribute: str | None) -> Any:
        try:
            return self.resources(logical_id, attribute)
        except KeyError as exc:
            what = f"{logical_id}.{attribute}" if attribute else logical_id
            raise UnresolvableError(f"{what} is not a parameter or a provisioned resource") from exc

    def _sub(self, argument: Any) -> str:
        variables: dict[str, Any] = {}
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], Mapping):
                raise UnresolvableError(f"Fn::Sub needs a string or [string, variables], got {argument!r}")
            text, raw_variables = argument
            variables = {key: self.resolve(value) for key, value in raw_variables.items()}
        else:
            text = argument
        text = self.resolve(text)
        if not isinstance(text, str):
            raise UnresolvableError(f"Fn::Sub needs a string, got {text!r}")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and name.split(".", 1)[0] not in self.parameters:
                logical_id, attribute = name.split(".", 1)
                value = self._resource(logical_id, attribute)
            else:
                value = self._ref(name)
            return _scalar_text(value, f"${{{name}}}")

        return _SUB_VARIABLE.sub(substitute, text)

    def _join(self, argument: Any) -> str:
        delimiter, items = self._pair(argument, "Fn::Join")
        items = self.resolve(items)
        if not isinstance(items, list):
            raise UnresolvableError(f"Fn::Join needs a list, got {items!r}")
        return str(delimiter).join(_scalar_text(item, "Fn::Join") for item in items)

    def _if(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise UnresolvableError(
                f"Fn::If needs [condition, value if true, value if false], got {argument!r}"
            )
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(str(name)) else when_false)

    def _equals(self, argument: Any) -> bool:
        left, right = (self.resolve(part) for part in self._pair(argument, "Fn::Equals", resolve=False))
        return bool(_comparable(left) == _comparable(right))

    def _not(self, argument: Any) -> bool:
        if not isinstance(argument, list) or len(argument) != 1:
            raise UnresolvableError(f"Fn::Not needs one condition, got {argument!r}")
        return not self._condition_value(argument[0])

    def _and(self, argument: Any) -> bool:
        return all(self._condition_value(item) for item in self._conditions_list(argument, "Fn::And"))

    def _or(self, argument: Any) -> bool:
        return any(self._condition_value(item) for item in self._conditions_list(argument, "Fn::Or"))

    def _select(self, argument: Any) -> Any:
        index, items = self._pair(argument, "Fn::Select")
        items = self.resolve(items)
        try:
            return items[int(index)]
        except (IndexError, TypeError, ValueError) as exc:
            raise UnresolvableError(f"Fn::Select: no item {index!r} in {items!r}") from exc

    def _split(self, argument: Any) -> list[str]:
        delimiter, source = self._pair(argument, "Fn::Split")
        source = self.resolve(source)
        if not isinstance(source, str):
            raise UnresolvableError(f"Fn::Split needs a string, got {source!r}")
        return source.split(str(delimiter))

    def _find_in_map(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) not in (3, 4):
            raise UnresolvableError(f"Fn::FindInMap needs [map, key, key], got {argument!r}")
        name, top, second = (self.resolve(part) for part in argument[:3])
        mappings = self.template.get("Mappings") or {}
        try:
            return mappings[name][top][second]
        except (KeyError, TypeError) as exc:
            if len(argument) == 4 and isinstance(argument[3], Mapping) and "DefaultValue" in argument[3]:
                return self.resolve(argument[3]["DefaultValue"])
            raise UnresolvableError(f"Fn::FindInMap: no {name}.{top}.{second}") from exc

    def _base64(self, argument: Any) -> str:
        return base64.b64encode(str(self.resolve(argument)).encode()).decode()

    def _get_azs(self, argument: Any) -> list[str]:
        region = self.resolve(argument) or self.region
        return [f"{region}{zone}" for zone in "abc"]

    def _to_json_string(self, argument: Any) -> str:
        return json.dumps(self.resolve(argument), separators=(",", ":"))

    def _length(self, argument: Any) -> int:
        value = self.resolve(argument)
        if not isinstance(value, list):
            raise UnresolvableError(f"Fn::Length needs a list, got {value!r}")
        return len(value)

    # ------------------------------------------------------------------ helpers
    def _pair(self, argument: Any, function: str, resolve: bool = True) -> tuple[Any, Any]:
        if not isinstance(argument, list) or len(argument) != 2:
            raise UnresolvableError(f"{function} needs two arguments, got {argument!r}")
        first, second = argument
        return (self.resolve(first) if resolve else first), second

    def _conditions_list(self, argument: Any, function: str) -> list[Any]:
        if not isinstance(argument, list) or not argument:
            raise UnresolvableError(f"{function} needs a list of conditions, got {argument!r}")
        return argument

    def _condition_value(self, expression: Any) -> bool:
        if isinstance(expression, Mapping) and set(expression) == {"Condition"}:
            return self.condition(str(expression["Condition"]))
        value = self.resolve(expression)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise UnresolvableError(f"{expression!r} is not a condition")


def _parameter_value(name: str, spec: Mapping[str, Any], raw: Any) -> Any:
    """A parameter's value as CloudFormation hands it to ``Ref``, after checking its constraints."""
    kind = str(spec.get("Type", "String"))
    if kind.startswith(_LIST_TYPES):
        items = raw if isinstance(raw, list) else str(raw).split(",")
        values = [str(item).strip() for item in items]
        for value in values:
            _check_constraints(name, spec, value, allow_empty=True)
        return values
    text = _scalar_text(raw, name)
    _check_constraints(name, spec, text)
    return text


def _check_constraints(name: str, spec: Mapping[str, Any], value: str, allow_empty: bool = False) -> None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [_scalar_text(item, name) for item in allowed]:
        if not (allow_empty and value == ""):
            raise ValueError(f"parameter {name}: {value!r} is not one of {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        raise ValueError(f"parameter {name}: {value!r} does not match {pattern}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise ValueError(f"parameter {name}: shorter than {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise ValueError(f"parameter {name}: longer than {spec['MaxLength']}")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError as exc:
            raise ValueError(f"parameter {name}: {value!r} is not a number") from exc
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise ValueError(f"parameter {name}: {value} is below {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise ValueError(f"parameter {name}: {value} is above {spec['MaxValue']}")


def _scalar_text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise UnresolvableError(f"{where}: {value!r} is not a string")


def _comparable(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return _scalar_text(value, "Fn::Equals")
    return value
