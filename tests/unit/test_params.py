"""Runtime parameters: the JSON Schema they define and the values a run gets."""

from __future__ import annotations

from typing import Any

import pytest

from goflow.errors import ErrorDetail, ParameterValidationError
from goflow.params import parameters_schema, resolve_parameters
from goflow.workflows.model import Parameter

# The seed's reference case (Send Welcome Email).
SEED_PARAMETERS = [
    Parameter(name="customer_name", type="string", required=True),
    Parameter(name="email", type="string", required=True),
    Parameter(name="plan", type="string", default="free"),
]


def _problems(parameters: list[Parameter], supplied: Any) -> list[tuple[str, str]]:
    with pytest.raises(ParameterValidationError) as caught:
        resolve_parameters(parameters, supplied)
    assert caught.value.status == 400
    return [(d.field, d.message) for d in caught.value.details]


def test_schema_of_the_seed_parameters() -> None:
    # Given the seed's parameters
    # When their schema is built
    schema = parameters_schema(SEED_PARAMETERS)
    # Then it is a closed draft 2020-12 object with the required ones listed
    assert schema == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "customer_name": {"type": "string"},
            "email": {"type": "string"},
            "plan": {"type": "string", "default": "free"},
        },
        "required": ["customer_name", "email"],
        "additionalProperties": False,
    }


def test_schema_carries_enum_and_description_and_treats_required_with_default_as_optional() -> None:
    # Given a required parameter that also has a default, with an enum and a description
    parameters = [
        Parameter(name="plan", required=True, default="free", enum=["free", "pro"], description="Tier")
    ]
    # When the schema is built
    schema = parameters_schema(parameters)
    # Then the default makes it optional at run time
    assert schema["properties"]["plan"] == {
        "type": "string",
        "enum": ["free", "pro"],
        "description": "Tier",
        "default": "free",
    }
    assert schema["required"] == []


def test_seed_case_with_plan_keeps_the_supplied_plan() -> None:
    # Given the seed's trigger body
    supplied = {"customer_name": "Alex", "email": "alex@example.com", "plan": "pro"}
    # When resolved
    resolved = resolve_parameters(SEED_PARAMETERS, supplied)
    # Then the values come back as supplied
    assert resolved == {"customer_name": "Alex", "email": "alex@example.com", "plan": "pro"}


def test_seed_case_without_plan_gets_the_default() -> None:
    # Given a trigger body without the optional plan
    supplied = {"customer_name": "Alex", "email": "alex@example.com"}
    # When resolved
    resolved = resolve_parameters(SEED_PARAMETERS, supplied)
    # Then the default fills it in, and the caller's dict is not modified
    assert resolved == {"customer_name": "Alex", "email": "alex@example.com", "plan": "free"}
    assert "plan" not in supplied


def test_missing_required_parameters_are_all_reported() -> None:
    # Given a body with neither required parameter
    # When resolved / Then both are reported as required, at their own path
    assert _problems(SEED_PARAMETERS, {"plan": "pro"}) == [
        ("parameters.customer_name", "is required"),
        ("parameters.email", "is required"),
    ]


@pytest.mark.parametrize("supplied", [None, {}])
def test_no_parameters_at_all_means_an_empty_object(supplied: Any) -> None:
    # Given a body without parameters (null) or with an empty object
    # When resolved against the seed's parameters
    # Then it is treated as {} (so the required ones are missing)
    assert _problems(SEED_PARAMETERS, supplied) == [
        ("parameters.customer_name", "is required"),
        ("parameters.email", "is required"),
    ]


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        (Parameter(name="p", type="string"), 5, "must be a string, got integer 5"),
        (Parameter(name="p", type="integer"), True, "must be an integer, got boolean true"),
        (Parameter(name="p", type="integer"), 1.5, "must be an integer, got number 1.5"),
        (Parameter(name="p", type="number"), False, "must be a number, got boolean false"),
        (Parameter(name="p", type="number"), "3", 'must be a number, got string "3"'),
        (Parameter(name="p", type="boolean"), "true", 'must be a boolean, got string "true"'),
        (Parameter(name="p", type="object"), [1], "must be an object, got array [1]"),
        (Parameter(name="p", type="array"), {"a": 1}, 'must be an array, got object {"a":1}'),
        (Parameter(name="p", type="string"), None, "must be a string, got null"),
    ],
)
def test_wrong_types_are_reported_plainly(parameter: Parameter, value: Any, message: str) -> None:
    # Given a value of the wrong JSON type (booleans are not numbers)
    # When resolved / Then the message says what was expected and what came
    assert _problems([parameter], {"p": value}) == [("parameters.p", message)]


def test_numbers_accept_integers_and_integers_accept_whole_numbers() -> None:
    # Given a number parameter given an integer
    # When resolved / Then it is accepted
    assert resolve_parameters([Parameter(name="p", type="number")], {"p": 3}) == {"p": 3}


def test_every_problem_is_reported_at_once() -> None:
    # Given a body with a wrong type, a missing required parameter, a bad enum value and two extras
    parameters = [*SEED_PARAMETERS[:2], Parameter(name="tier", enum=["free", "pro"])]
    supplied = {"customer_name": 42, "tier": "gold", "nickname": "Al", "age": 3}
    # When resolved
    problems = _problems(parameters, supplied)
    # Then all five are listed together, sorted by field
    assert problems == [
        ("parameters.age", "is not a defined parameter"),
        ("parameters.customer_name", "must be a string, got integer 42"),
        ("parameters.email", "is required"),
        ("parameters.nickname", "is not a defined parameter"),
        ("parameters.tier", 'is not one of ["free","pro"]'),
    ]


def test_error_message_summarises_every_problem() -> None:
    # Given a body with two problems
    # When resolved
    with pytest.raises(ParameterValidationError) as caught:
        resolve_parameters(SEED_PARAMETERS, {"customer_name": "A", "extra": 1})
    # Then the error is the 400 "invalid_parameters" one and its message names both
    error = caught.value
    assert error.code == "invalid_parameters"
    assert "parameters.email is required" in error.message
    assert "parameters.extra is not a defined parameter" in error.message
    assert error.as_dict()["details"] == [
        {"field": "parameters.email", "message": "is required"},
        {"field": "parameters.extra", "message": "is not a defined parameter"},
    ]


def test_extras_are_refused_even_without_declared_parameters() -> None:
    # Given a workflow with no parameters
    # When called with one / Then it is not a defined parameter
    assert _problems([], {"x": 1}) == [("parameters.x", "is not a defined parameter")]


@pytest.mark.parametrize(
    ("supplied", "shown"), [([1, 2], "array [1,2]"), ("x", 'string "x"'), (3, "integer 3")]
)
def test_parameters_that_are_not_an_object_are_refused(supplied: Any, shown: str) -> None:
    # Given parameters that are not a JSON object
    # When resolved / Then the problem is at "parameters" itself
    assert _problems(SEED_PARAMETERS, supplied) == [("parameters", f"must be an object, got {shown}")]


def test_enum_of_integers() -> None:
    # Given an integer parameter restricted to a few values
    parameters = [Parameter(name="retries", type="integer", enum=[1, 3, 5])]
    # When resolved with an allowed and a disallowed value
    # Then the first passes and the second names the allowed values
    assert resolve_parameters(parameters, {"retries": 3}) == {"retries": 3}
    assert _problems(parameters, {"retries": 4}) == [("parameters.retries", "is not one of [1,3,5]")]


def test_array_and_object_parameters_hold_anything_inside() -> None:
    # Given an array and an object parameter (only their own type is declared)
    parameters = [Parameter(name="tags", type="array"), Parameter(name="meta", type="object")]
    # When given well-typed containers holding anything
    resolved = resolve_parameters(parameters, {"tags": ["a", 1, None], "meta": {"k": [1]}})
    # Then they are accepted as they are
    assert resolved == {"tags": ["a", 1, None], "meta": {"k": [1]}}


def test_defaults_are_not_shared_between_runs() -> None:
    # Given parameters with mutable defaults
    parameters = [
        Parameter(name="tags", type="array", default=["a"]),
        Parameter(name="meta", type="object", default={"k": {"n": 1}}),
    ]
    # When one run mutates the values it got
    first = resolve_parameters(parameters, None)
    first["tags"].append("b")
    first["meta"]["k"]["n"] = 2
    second = resolve_parameters(parameters, {})
    # Then the next run and the parameter itself still see the declared defaults
    assert second == {"tags": ["a"], "meta": {"k": {"n": 1}}}
    assert parameters[0].default == ["a"]
    assert parameters[1].default == {"k": {"n": 1}}


def test_a_supplied_value_wins_over_the_default_even_when_falsy() -> None:
    # Given defaults, and supplied values that are falsy
    parameters = [
        Parameter(name="n", type="integer", default=5),
        Parameter(name="b", type="boolean", default=True),
    ]
    # When resolved / Then the supplied 0 and false are kept
    assert resolve_parameters(parameters, {"n": 0, "b": False}) == {"n": 0, "b": False}


def test_details_are_error_details() -> None:
    # Given a missing required parameter
    # When resolved
    with pytest.raises(ParameterValidationError) as caught:
        resolve_parameters(SEED_PARAMETERS[:1], {})
    # Then each detail is an ErrorDetail the HTTP layer can serialise
    assert caught.value.details == [ErrorDetail("parameters.customer_name", "is required")]
