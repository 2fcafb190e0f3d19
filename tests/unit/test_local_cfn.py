"""CloudFormation YAML and intrinsic functions for the local stack (``goflow.local.cfn``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from goflow.local.cfn import NO_VALUE, CloudFormationLoader, Resolver, UnresolvableError, load_template

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "dev", "AllowedPattern": "^[a-z][a-z0-9-]{0,15}$"},
        "Days": {"Type": "Number", "Default": 90, "MinValue": 1},
        "Sender": {"Type": "String", "Default": ""},
        "Layers": {"Type": "CommaDelimitedList", "Default": ""},
        "Level": {"Type": "String", "Default": "INFO", "AllowedValues": ["DEBUG", "INFO"]},
    },
    "Mappings": {"Sizes": {"dev": {"Memory": 256}}},
    "Conditions": {
        "HasSender": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Sender"}, ""]}]},
        "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
        "DevWithSender": {"Fn::And": [{"Condition": "IsDev"}, {"Condition": "HasSender"}]},
        "DevOrSender": {"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "HasSender"}]},
    },
    "Resources": {"Table": {"Type": "AWS::DynamoDB::Table"}},
}


def resources(logical_id: str, attribute: str | None) -> Any:
    known = {"Table": ("goflow-Table", {"Arn": "arn:aws:dynamodb:us-east-1:123456789012:table/goflow-Table"})}
    ref, attributes = known[logical_id]
    return ref if attribute is None else attributes[attribute]


@pytest.fixture
def resolver() -> Resolver:
    return Resolver(TEMPLATE, resources=resources)


def test_short_form_tags_load_as_their_long_form() -> None:
    # Given YAML with every kind of short-form tag
    text = """
    a: !Ref Stage
    b: !GetAtt Table.Arn
    c: !Sub "x-${Stage}"
    d: !Join ["", [!Ref A, !Ref B]]
    e: !If [IsDev, 1, 2]
    f: !Select [0, !Split [",", "a,b"]]
    g: !Not [!Equals [!Ref A, ""]]
    h: !Condition IsDev
    """

    # When it is loaded
    loaded = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - a safe loader subclass

    # Then each tag became its long form
    assert loaded["a"] == {"Ref": "Stage"}
    assert loaded["b"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert loaded["c"] == {"Fn::Sub": "x-${Stage}"}
    assert loaded["d"] == {"Fn::Join": ["", [{"Ref": "A"}, {"Ref": "B"}]]}
    assert loaded["e"] == {"Fn::If": ["IsDev", 1, 2]}
    assert loaded["f"] == {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
    assert loaded["g"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "A"}, ""]}]}
    assert loaded["h"] == {"Condition": "IsDev"}


def test_the_project_template_loads() -> None:
    template = load_template(ROOT / "template.yaml")

    assert template["Resources"]["GoFlowTable"]["Type"] == "AWS::DynamoDB::Table"


def test_refs_to_parameters_use_defaults_and_overrides(resolver: Resolver) -> None:
    overridden = Resolver(TEMPLATE, parameters={"Stage": "local"})

    assert resolver.resolve({"Ref": "Stage"}) == "dev"
    assert overridden.resolve({"Ref": "Stage"}) == "local"
    assert resolver.resolve({"Ref": "Days"}) == "90"
    assert resolver.resolve({"Ref": "Layers"}) == [""]


def test_pseudo_parameters(resolver: Resolver) -> None:
    value = resolver.resolve(
        {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:x/${AWS::StackName}"}
    )

    assert value == "arn:aws:states:us-east-1:123456789012:x/goflow"
    assert resolver.resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"


def test_no_value_removes_the_property(resolver: Resolver) -> None:
    value = resolver.resolve(
        {
            "A": "1",
            "B": {"Fn::If": ["HasSender", {"Ref": "Sender"}, {"Ref": "AWS::NoValue"}]},
            "C": [{"Ref": "AWS::NoValue"}],
        }
    )

    assert value == {"A": "1", "C": []}
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_sub_with_variables_attributes_and_escapes(resolver: Resolver) -> None:
    assert (
        resolver.resolve({"Fn::Sub": ["${Name}-${Stage}", {"Name": {"Ref": "Table"}}]}) == "goflow-Table-dev"
    )
    assert resolver.resolve({"Fn::Sub": "${Table.Arn}:*"}).endswith("table/goflow-Table:*")
    assert resolver.resolve({"Fn::Sub": "${!Literal}-${Stage}"}) == "${Literal}-dev"


def test_join_select_split_and_find_in_map(resolver: Resolver) -> None:
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}) == "a-dev"
    assert resolver.resolve({"Fn::Select": ["1", {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolver.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}) == 256


def test_conditions(resolver: Resolver) -> None:
    with_sender = Resolver(TEMPLATE, parameters={"Sender": "a@b.c"})

    assert resolver.condition("IsDev") is True
    assert resolver.condition("HasSender") is False
    assert resolver.condition("DevWithSender") is False
    assert resolver.condition("DevOrSender") is True
    assert with_sender.condition("DevWithSender") is True
    assert with_sender.resolve({"Fn::If": ["HasSender", {"Ref": "Sender"}, "none"]}) == "a@b.c"


def test_getatt_of_resources(resolver: Resolver) -> None:
    assert resolver.resolve({"Fn::GetAtt": ["Table", "Arn"]}).startswith("arn:aws:dynamodb:")
    assert resolver.resolve({"Ref": "Table"}) == "goflow-Table"


def test_unknown_references_and_functions_are_reported(resolver: Resolver) -> None:
    with pytest.raises(UnresolvableError, match="Missing"):
        resolver.resolve({"Ref": "Missing"})
    with pytest.raises(UnresolvableError, match="Fn::ImportValue"):
        resolver.resolve({"Fn::ImportValue": "shared-vpc"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Stage": "Not Valid"}, "does not match"),
        ({"Days": "0"}, "below"),
        ({"Level": "TRACE"}, "not one of"),
        ({"Unknown": "x"}, "no parameter Unknown"),
    ],
)
def test_parameter_values_are_checked(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Resolver(TEMPLATE, parameters=overrides)


def test_the_project_templates_function_environment_resolves() -> None:
    # Given the project's template and the names the local stack gives its resources
    template = load_template(ROOT / "template.yaml")

    def lookup(logical_id: str, attribute: str | None) -> str:
        return f"{logical_id}.{attribute}" if attribute else f"goflow-local-{logical_id}"

    resolver = Resolver(template, parameters={"Stage": "local"}, resources=lookup)

    # When the Globals environment is resolved
    environment = resolver.resolve(template["Globals"]["Function"]["Environment"]["Variables"])

    # Then every variable has a plain value, and the empty sender parameter leaves its variable out
    assert environment["GOFLOW_TABLE_NAME"] == "goflow-local-GoFlowTable"
    assert environment["GOFLOW_STATE_MACHINE_PREFIX"] == "goflow-local"
    assert "GOFLOW_DEFAULT_SENDER" not in environment
    assert all(isinstance(value, str) for value in environment.values())
