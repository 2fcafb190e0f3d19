"""``{{ expr }}`` templates: rendering, checks at save time, secret discovery."""

from __future__ import annotations

import pytest

from goflow.errors import Problems
from goflow.templating import (
    TemplateSyntaxError,
    check_templates,
    is_single_placeholder,
    placeholders,
    render,
    secret_names,
)

RUN_STATE = {
    "params": {"count": 5, "name": "Alex", "tags": ["a", "b"], "flag": False, "nothing": None},
    "steps": {"fetch": {"status": 200, "body": {"id": 7, "items": [1, 2]}}},
    "trigger": {"type": "manual"},
    "execution": {"id": "exec-1"},
}


def _problems_for(value: object, **steps: set[str]) -> list[tuple[str, str]]:
    problems = Problems()
    check_templates(value, "steps[1].config", problems, **steps)
    return [(d.field, d.message) for d in problems.items]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ params.count }}", 5),
        ("{{params.count}}", 5),
        ("  {{ params.tags }}  ", ["a", "b"]),
        ("{{ params.flag }}", False),
        ("{{ params.nothing }}", None),
        ("{{ steps.fetch.body }}", {"id": 7, "items": [1, 2]}),
        ("{{ steps.fetch.body.items[1] }}", 2),
    ],
)
def test_a_single_placeholder_keeps_its_json_type(template: str, expected: object) -> None:
    # Given a value that is exactly one placeholder
    # When it is rendered
    rendered = render(template, RUN_STATE)
    # Then the expression's value comes back with its own type, not as text
    assert rendered == expected
    assert type(rendered) is type(expected)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hi {{ params.name }}, you have {{ params.count }}", "Hi Alex, you have 5"),
        ("body={{ steps.fetch.body }}", 'body={"id":7,"items":[1,2]}'),
        ("tags={{ params.tags }}", 'tags=["a","b"]'),
        ("[{{ params.nothing }}]", "[]"),
        ("flag={{ params.flag }} missing={{ params.unknown }}", "flag=false missing="),
        ("{{ params.name }}{{ params.count }}", "Alex5"),
    ],
)
def test_placeholders_inside_text_are_stringified(template: str, expected: str) -> None:
    # Given placeholders inside longer text (dicts, lists, null and booleans included)
    # When rendered
    rendered = render(template, RUN_STATE)
    # Then each is replaced by compact JSON text, null by nothing, strings as they are
    assert rendered == expected


def test_render_walks_nested_config_and_leaves_other_values_alone() -> None:
    # Given a config mixing templates, literals and non-string values
    config = {
        "to": "{{ params.name }}",
        "n": 3,
        "headers": {"X": "id-{{ steps.fetch.body.id }}"},
        "l": [True],
    }
    # When rendered
    rendered = render(config, RUN_STATE)
    # Then templates are replaced at every depth and the rest is unchanged
    assert rendered == {"to": "Alex", "n": 3, "headers": {"X": "id-7"}, "l": [True]}


def test_a_rendered_value_is_never_rendered_again() -> None:
    # Given a parameter whose value itself looks like a template reading a secret
    state = {"params": {"x": "{{ secrets.db_password }}"}, "secrets": {"db_password": "hunter2"}}
    # When it is used in a single placeholder and inside text
    single = render("{{ params.x }}", state)
    in_text = render("value: {{ params.x }}", state)
    # Then the value is used literally: the secret is not resolved and never leaks
    assert single == "{{ secrets.db_password }}"
    assert in_text == "value: {{ secrets.db_password }}"


def test_render_refuses_a_malformed_placeholder_in_text() -> None:
    # Given text with one good and one unclosed placeholder
    # When rendered / Then nothing is substituted and the syntax error says why
    with pytest.raises(TemplateSyntaxError, match="never closed"):
        render("{{ params.name }} and {{ params.count", RUN_STATE)


def test_is_single_placeholder_only_for_exactly_one() -> None:
    # Given values with one, two or no placeholders
    # When asked / Then only the lone placeholder counts
    assert is_single_placeholder("{{ params.a }}")
    assert not is_single_placeholder("{{ params.a }}{{ params.b }}")
    assert not is_single_placeholder("x {{ params.a }}")
    assert not is_single_placeholder(5)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ params. }}", "is not a valid JMESPath expression"),
        ("{{ }}", "empty placeholder"),
        ("Hello {{ params.name", "never closed"),
        ("{{ params.a[ }}", "is not a valid JMESPath expression"),
    ],
)
def test_syntax_errors_are_reported_at_the_field(text: str, fragment: str) -> None:
    # Given a config value with a malformed template
    # When checked
    problems = _problems_for({"message": text})
    # Then exactly one problem names the field and says what is wrong
    assert len(problems) == 1
    assert problems[0][0] == "steps[1].config.message"
    assert fragment in problems[0][1]
    with pytest.raises(TemplateSyntaxError):
        placeholders(text)


def test_unknown_roots_are_reported_with_the_allowed_ones() -> None:
    # Given templates reading roots that do not exist
    # When checked
    problems = _problems_for({"a": "{{ param.name }}", "b": ["ok {{ params.name }}", "{{ env.HOME }}"]})
    # Then each bad root is named, at its own path, with the list of roots
    assert problems == [
        (
            "steps[1].config.a",
            "'{{ param.name }}' reads 'param', which is not one of "
            "params, trigger, steps, execution, secrets",
        ),
        (
            "steps[1].config.b[1]",
            "'{{ env.HOME }}' reads 'env', which is not one of params, trigger, steps, execution, secrets",
        ),
    ]


def test_steps_must_run_earlier_and_exist() -> None:
    # Given a step that reads an earlier step, a later step and a missing one
    config = {
        "ok": "{{ steps.fetch.body }}",
        "later": "{{ steps.notify.status }}",
        "missing": "{{ length(steps.nope.items) }}",
    }
    # When checked with the ids of the steps before it and of all steps
    problems = _problems_for(config, earlier_steps={"fetch"}, all_steps={"fetch", "this", "notify"})
    # Then the later one "does not run earlier" and the missing one "does not exist"
    assert problems == [
        (
            "steps[1].config.later",
            "'{{ steps.notify.status }}' uses step 'notify', which does not run earlier",
        ),
        (
            "steps[1].config.missing",
            "'{{ length(steps.nope.items) }}' uses step 'nope', which does not exist",
        ),
    ]


def test_step_checks_are_skipped_without_step_ids() -> None:
    # Given a template reading a step, checked without step ids (e.g. outside a workflow)
    # When checked / Then no step problem is reported
    assert _problems_for({"a": "{{ steps.anything.x }}"}) == []


def test_secret_names_finds_every_secret_read() -> None:
    # Given a config reading secrets at several depths, plus other roots
    config = {
        "headers": {"Authorization": "Bearer {{ secrets.api_token }}"},
        "list": ["{{ secrets.db_password }}", "{{ params.secret }}"],
        "n": 1,
    }
    # When asked for the secret names
    names = secret_names(config)
    # Then exactly the secrets are listed, not parameters that merely mention "secret"
    assert names == {"api_token", "db_password"}
