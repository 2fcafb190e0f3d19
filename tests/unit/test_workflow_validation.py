"""parse_workflow: seed shapes normalised, every problem reported with its field path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from goflow.connectors.registry import ConnectorRegistry
from goflow.errors import WorkflowValidationError
from goflow.examples import seed_as_written
from goflow.workflows.model import Step, Trigger, WorkflowSpec
from goflow.workflows.normalise import coerce_default
from goflow.workflows.validation import parse_workflow

# The "Runtime Parameters" example of the seed's quick reference, exactly as a client sends it.
SEED_DOCUMENT: dict[str, Any] = seed_as_written()


def _problems(document: Any, registry: ConnectorRegistry) -> list[tuple[str, str]]:
    with pytest.raises(WorkflowValidationError) as caught:
        parse_workflow(document, registry)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_workflow"
    return [(d.field, d.message) for d in caught.value.details]


def _workflow(**fields: Any) -> dict[str, Any]:
    """A valid canonical document with one log step, overridden by ``fields``."""
    document: dict[str, Any] = {
        "name": "wf",
        "steps": [{"id": "say", "action": "log", "config": {"message": "hi"}}],
    }
    document.update(fields)
    return document


def _step(step_id: str, action: str = "log", **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "action": action, "config": {"message": "hi"}, **fields}


# --- the seed document --------------------------------------------------------------------------


def test_seed_document_without_recipient_gets_an_exact_hint(registry: ConnectorRegistry) -> None:
    # Given the seed's example, which never says where the email goes
    # When parsed
    problems = _problems(SEED_DOCUMENT, registry)
    # Then the one problem says exactly what to add, using the workflow's email parameter
    assert problems == [("steps[0].config.to", 'is required; add "to": "{{ params.email }}"')]


def test_seed_document_with_recipient_becomes_one_send_email_step(registry: ConnectorRegistry) -> None:
    # Given the seed's example with the hinted "to" added
    document = copy.deepcopy(SEED_DOCUMENT)
    document["config"]["to"] = "{{ params.email }}"
    # When parsed
    spec = parse_workflow(document, registry)
    # Then it is one send_email step named after its action, with the canonical defaults
    assert spec.steps == [
        Step(
            id="send_email",
            action="send_email",
            config={
                "message": "Welcome {{params.customer_name}}! Your {{params.plan}} plan is ready.",
                "to": "{{ params.email }}",
            },
        )
    ]
    assert [p.name for p in spec.parameters] == ["customer_name", "email", "plan"]
    assert spec.parameters[2].default == "free"
    assert spec.trigger == Trigger(type="manual")
    assert spec.execution_timeout == 300
    assert spec.mode == "standard"


def test_parsing_does_not_modify_the_clients_document(registry: ConnectorRegistry) -> None:
    # Given a seed-shaped document and a canonical one whose step timeouts get fitted
    seed = copy.deepcopy(SEED_DOCUMENT) | {"config": {"message": "m", "to": "a@example.com"}}
    canonical = _workflow(execution_timeout=30)
    before = copy.deepcopy([seed, canonical])
    # When both are parsed
    parse_workflow(seed, registry)
    spec = parse_workflow(canonical, registry)
    # Then the inputs are untouched, and the step's default timeout was fitted in the spec only
    assert [seed, canonical] == before
    assert spec.steps[0].timeout_seconds == 30


def test_go_seed_action_type_and_config_json(registry: ConnectorRegistry) -> None:
    # Given the Go seed's shape: action_type, config_json as text, trigger_type, timeout 0
    document = {
        "name": "Go seed",
        "action_type": "http_request",
        "config_json": '{"url": "https://example.com/hook", "method": "POST"}',
        "trigger_type": "manual",
        "execution_timeout": 0,
    }
    # When parsed
    spec = parse_workflow(document, registry)
    # Then it is the same canonical workflow
    assert spec.steps == [
        Step(
            id="http_request",
            action="http_request",
            config={"url": "https://example.com/hook", "method": "POST"},
        )
    ]
    assert spec.trigger.type == "manual"
    assert spec.execution_timeout == 300


@pytest.mark.parametrize("timeout", [0, None])
def test_zero_or_null_execution_timeout_means_the_default(registry: ConnectorRegistry, timeout: Any) -> None:
    # Given the seed's "no timeout" values
    # When parsed / Then the default 300 s applies
    assert parse_workflow(_workflow(execution_timeout=timeout), registry).execution_timeout == 300


@pytest.mark.parametrize(
    ("config_json", "message"),
    [
        ('{"url": ', "is not valid JSON: Expecting value (line 1, column 9)"),
        ("[1, 2]", "must hold a JSON object, got array [1,2]"),
    ],
)
def test_bad_config_json_is_reported_at_config_json(
    registry: ConnectorRegistry, config_json: str, message: str
) -> None:
    # Given a Go-seed document whose config_json is not a JSON object
    document = {"name": "wf", "action_type": "log", "config_json": config_json}
    # When parsed
    problems = _problems(document, registry)
    # Then the problem is named by the field the client wrote
    assert ("config_json", message) in problems


def test_read_only_fields_echoed_from_a_get_are_dropped(registry: ConnectorRegistry) -> None:
    # Given a document as GET returns it, including GoFlow-owned fields
    document = _workflow(id="wf_123", version=4, created_at="2026-01-13T00:00:00Z", updated_at="x")
    # When parsed / Then it is accepted
    assert isinstance(parse_workflow(document, registry), WorkflowSpec)


def test_unknown_top_level_fields_are_refused(registry: ConnectorRegistry) -> None:
    # Given a typo at the top level and an unknown field in a step
    document = _workflow(descripion="typo", steps=[_step("say", colour="red")])
    # When parsed / Then both are reported with the fields that do exist
    assert _problems(document, registry) == [
        (
            "descripion",
            "is not a known field; known fields: name, description, parameters, trigger, steps, "
            "execution_timeout, mode, is_active",
        ),
        (
            "steps[0].colour",
            "is not a known field; known fields: id, action, config, timeout_seconds, retry, when, on_error",
        ),
    ]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"action": "log", "config": {"message": "x"}}, "action"),
        ({"action_chain": [{"action": "log"}]}, "action_chain"),
    ],
)
def test_steps_cannot_be_mixed_with_seed_step_shapes(
    registry: ConnectorRegistry, extra: dict[str, Any], field: str
) -> None:
    # Given canonical steps plus a seed shape that also defines steps
    # When parsed / Then the problem names both fields
    assert _problems(_workflow(**extra), registry) == [
        (field, "cannot be combined with 'steps': both define the workflow's steps")
    ]


def test_action_and_action_chain_cannot_be_mixed(registry: ConnectorRegistry) -> None:
    # Given both seed shapes at once
    document = {
        "name": "wf",
        "action": "log",
        "action_chain": [{"action": "log", "config": {"message": "x"}}],
    }
    # When parsed / Then the problem names both
    assert (
        "action",
        "cannot be combined with 'action_chain': both define the workflow's steps",
    ) in _problems(document, registry)


def test_a_document_without_steps_says_so(registry: ConnectorRegistry) -> None:
    # Given a document with no steps in any shape
    # When parsed / Then "steps" is required
    assert _problems({"name": "wf"}, registry) == [("steps", "is required")]


def test_trigger_type_cannot_be_combined_with_trigger(registry: ConnectorRegistry) -> None:
    # Given both the seed's and the canonical trigger fields
    document = _workflow(trigger_type="manual", trigger={"type": "webhook"})
    # When parsed / Then the seed field is the one reported
    assert _problems(document, registry) == [
        ("trigger_type", "cannot be combined with 'trigger'; set 'trigger': {\"type\": ...} only")
    ]


def test_a_document_that_is_not_an_object_is_refused(registry: ConnectorRegistry) -> None:
    # Given a JSON array as the body
    # When parsed
    problems = _problems([SEED_DOCUMENT], registry)
    # Then the one problem says so, showing the start of what came
    assert len(problems) == 1
    assert problems[0][0] == "workflow"
    assert problems[0][1].startswith('must be a JSON object, got array [{"name":"Send Welcome Email"')


# --- action_chain -------------------------------------------------------------------------------


def test_action_chain_becomes_steps_with_suffixed_default_ids(registry: ConnectorRegistry) -> None:
    # Given a chain mixing action/action_type, config/config_json, a repeated action and an explicit id
    document = {
        "name": "chain",
        "action_chain": [
            {"action": "log", "config": {"message": "one"}},
            {"action_type": "log", "config_json": '{"message": "two"}'},
            {"action": "wait", "config": {"seconds": 5}, "id": "pause"},
            {"action": "log", "config": {"message": "{{ steps.log_2 }}"}, "timeout_seconds": 5},
        ],
    }
    # When parsed
    spec = parse_workflow(document, registry)
    # Then each item is a step; ids default to the action name with _2, _3 on repeats
    assert [(s.id, s.action) for s in spec.steps] == [
        ("log", "log"),
        ("log_2", "log"),
        ("pause", "wait"),
        ("log_3", "log"),
    ]
    assert spec.steps[1].config == {"message": "two"}
    assert spec.steps[3].timeout_seconds == 5


def test_generated_ids_avoid_explicit_ones(registry: ConnectorRegistry) -> None:
    # Given a chain whose explicit id equals the id a repeat would get
    chain = [
        {"action": "log", "config": {"message": "a"}, "id": "log_2"},
        *[{"action": "log", "config": {"message": "b"}}] * 2,
    ]
    # When parsed
    spec = parse_workflow({"name": "wf", "action_chain": chain}, registry)
    # Then generated ids skip it, so there are no duplicates
    assert [s.id for s in spec.steps] == ["log_2", "log", "log_3"]


def test_action_chain_problems(registry: ConnectorRegistry) -> None:
    # Given chain items with conflicting fields and an item that is not an object
    document = {
        "name": "chain",
        "action_chain": [
            {"action": "log", "action_type": "log", "config": {"message": "a"}},
            {"action": "log", "config": {"message": "a"}, "config_json": "{}"},
            "log",
        ],
    }
    # When parsed / Then each is named by the item's own field
    assert _problems(document, registry) == [
        ("action_chain[0].action_type", "cannot be combined with 'action'; use one of them"),
        ("action_chain[1].config_json", "cannot be combined with 'config'; use one of them"),
        ("steps[2]", 'must be an object, got string "log"'),
    ]


def test_action_chain_must_be_a_list(registry: ConnectorRegistry) -> None:
    # Given a chain that is an object
    # When parsed / Then that is the problem (and no misleading "steps is required")
    assert _problems({"name": "wf", "action_chain": {"action": "log"}}, registry) == [
        ("action_chain", 'must be a list of steps, got object {"action":"log"}'),
        ("steps", "must have at least one step"),
    ]


# --- default_value -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "text", "value"),
    [
        ("integer", "5", 5),
        ("integer", "-12", -12),
        ("number", "2.5", 2.5),
        ("number", "3", 3),
        ("boolean", "true", True),
        ("boolean", "FALSE", False),
        ("boolean", "1", True),
        ("object", '{"a": [1]}', {"a": [1]}),
        ("array", '["x", 2]', ["x", 2]),
        ("string", "5", "5"),
    ],
)
def test_default_value_text_is_coerced_to_the_parameter_type(
    registry: ConnectorRegistry, type_name: str, text: str, value: Any
) -> None:
    # Given a Go-seed parameter whose default_value is text
    document = _workflow(parameters=[{"name": "p", "type": type_name, "default_value": text}])
    # When parsed
    default = parse_workflow(document, registry).parameters[0].default
    # Then the default has the parameter's type
    assert default == value
    assert type(default) is type(value)


def test_coerce_default_keeps_values_that_are_already_typed() -> None:
    # Given a default_value that is already JSON-typed
    # When coerced / Then it is kept as it is
    assert coerce_default(7, "integer") == 7


@pytest.mark.parametrize(
    ("type_name", "text", "message"),
    [
        ("integer", "abc", '"abc" is not a valid integer'),
        ("integer", "5.5", '"5.5" is not a valid integer'),
        ("integer", "true", '"true" is not a valid integer'),
        ("number", "NaN", '"NaN" is not a valid number'),
        ("boolean", "yes please", '"yes please" is not a boolean; use true or false'),
        ("object", "[1]", '"[1]" is not a valid JSON object'),
        ("array", "{", '"{" is not a valid JSON array'),
    ],
)
def test_default_value_that_cannot_be_coerced_is_reported(
    registry: ConnectorRegistry, type_name: str, text: str, message: str
) -> None:
    # Given a default_value that does not read as the parameter's type
    document = _workflow(parameters=[{"name": "p", "type": type_name, "default_value": text}])
    # When parsed / Then the problem is at default_value, saying why
    assert _problems(document, registry) == [("parameters[0].default_value", message)]


def test_empty_default_value_means_no_default(registry: ConnectorRegistry) -> None:
    # Given the Go seed's zero value on a required parameter
    document = _workflow(parameters=[{"name": "n", "type": "integer", "required": True, "default_value": ""}])
    # When parsed
    parameter = parse_workflow(document, registry).parameters[0]
    # Then there is no default, so the parameter stays required
    assert parameter.default is None
    assert parameter.required is True


def test_default_value_and_default_cannot_both_be_given(registry: ConnectorRegistry) -> None:
    # Given both spellings of the default
    document = _workflow(parameters=[{"name": "n", "type": "integer", "default": 1, "default_value": "2"}])
    # When parsed / Then the seed spelling is reported
    assert _problems(document, registry) == [
        ("parameters[0].default_value", "cannot be combined with 'default'; use 'default' only")
    ]


# --- the model -----------------------------------------------------------------------------------


def test_model_errors_have_readable_paths_and_plain_messages(registry: ConnectorRegistry) -> None:
    # Given several fields that break the model's own rules
    document = _workflow(
        name="",
        mode="fast",
        steps=[
            _step("1st", timeout_seconds=901, retry={"max_attempts": 11}),
            _step("second", timeout_seconds="60", on_error="ignore"),
        ],
        parameters=[{"name": "bad-name", "type": "text"}],
    )
    # When parsed
    problems = _problems(document, registry)
    # Then each is at its own path, in plain words (strings are not numbers)
    assert problems == [
        ("mode", "must be one of 'standard' or 'express', got string \"fast\""),
        ("name", "must not be empty"),
        (
            "parameters[0].name",
            "must start with a letter or '_' and hold only letters, digits or '_' (at most 64 characters)",
        ),
        (
            "parameters[0].type",
            "must be one of 'string', 'number', 'integer', 'boolean', 'object' or 'array', "
            'got string "text"',
        ),
        (
            "steps[0].id",
            "must start with a letter and hold only letters, digits, '_' or '-' (at most 64 characters)",
        ),
        ("steps[0].retry.max_attempts", "must be at most 10"),
        (
            "steps[0].timeout_seconds",
            "must be at most 900 (a step runs in one Lambda invocation, which lasts at most 900 s)",
        ),
        ("steps[1].on_error", "must be one of 'fail' or 'continue', got string \"ignore\""),
        ("steps[1].timeout_seconds", 'must be an integer, got string "60"'),
    ]


def test_more_than_100_steps_is_refused_plainly(registry: ConnectorRegistry) -> None:
    # Given 101 distinct steps
    document = _workflow(steps=[_step(f"s{i}") for i in range(101)])
    # When parsed / Then the message says how many there are and the limit
    assert _problems(document, registry) == [("steps", "has 101 steps; a workflow may have at most 100")]


def test_exactly_100_steps_is_fine(registry: ConnectorRegistry) -> None:
    # Given the maximum number of steps
    # When parsed / Then it is accepted
    assert len(parse_workflow(_workflow(steps=[_step(f"s{i}") for i in range(100)]), registry).steps) == 100


# --- semantics -----------------------------------------------------------------------------------


def test_duplicate_step_ids_and_parameter_names(registry: ConnectorRegistry) -> None:
    # Given two steps and two parameters sharing a name
    document = _workflow(
        steps=[_step("a"), _step("b"), _step("a")],
        parameters=[{"name": "x"}, {"name": "x", "type": "integer"}],
    )
    # When parsed / Then the second of each pair is reported, naming the first
    assert _problems(document, registry) == [
        ("parameters[1].name", '"x" is already the name of parameters[0]'),
        ("steps[2].id", '"a" is already the id of steps[0]'),
    ]


def test_unknown_action_lists_the_known_ones(registry: ConnectorRegistry) -> None:
    # Given a step whose action no connector provides
    document = _workflow(steps=[{"id": "s", "action": "send_sms", "config": {}}])
    # When parsed / Then the message lists the actions that exist
    assert _problems(document, registry) == [
        ("steps[0].action", 'unknown action "send_sms"; known actions: http_request, log, send_email, wait')
    ]


def test_config_is_checked_against_the_connector_schema(registry: ConnectorRegistry) -> None:
    # Given configs with a wrong type, a bad enum, a bad nested value, a bad item and an unknown field
    document = _workflow(
        steps=[
            _step(
                "call", "http_request", config={"url": "https://x.test", "method": "FETCH", "timeout": "10"}
            ),
            _step(
                "call2",
                "http_request",
                config={"url": "https://x.test", "headers": {"X-Id": 5}, "verb": "GET"},
            ),
            _step("mail", "send_email", config={"to": ["a@x.test", 7], "message": "hi"}),
        ]
    )
    # When parsed
    problems = _problems(document, registry)
    # Then each is reported at its path inside the config, in plain words
    assert problems == [
        ("steps[0].config.method", 'is not one of ["GET","POST","PUT","DELETE"]'),
        ("steps[0].config.timeout", 'must be an integer, got string "10"'),
        ("steps[1].config.headers.X-Id", "must be a string, got integer 5"),
        (
            "steps[1].config.verb",
            "is not a config field of http_request; known fields: headers, method, timeout, url",
        ),
        ("steps[2].config.to[1]", "must be a string, got integer 7"),
    ]


def test_template_strings_are_accepted_wherever_another_type_is_expected(registry: ConnectorRegistry) -> None:
    # Given templates where the schema wants an integer, an enum value, an array and a URL
    document = _workflow(
        parameters=[{"name": "method"}, {"name": "limit", "type": "integer"}],
        steps=[
            _step(
                "call",
                "http_request",
                config={
                    "url": "https://{{ params.method }}.example.com",
                    "method": "{{ params.method }}",
                    "timeout": "{{ params.limit }}",
                },
            ),
            _step(
                "mail",
                "send_email",
                config={"to": ["{{ steps.call.body.owner }}"], "message": "{{ steps.call }}"},
            ),
            _step("pause", "wait", config={"seconds": "{{ params.limit }}"}),
        ],
    )
    # When parsed / Then it is accepted: templates render at run time
    spec = parse_workflow(document, registry)
    assert spec.steps[0].config["timeout"] == "{{ params.limit }}"


def test_a_literal_config_is_also_checked_by_the_connector_model(registry: ConnectorRegistry) -> None:
    # Given a literal URL the JSON Schema cannot judge but the connector's model refuses
    document = _workflow(steps=[_step("call", "http_request", config={"url": "ftp://files.example.com"})])
    # When parsed / Then the model's complaint is reported at the field
    assert _problems(document, registry) == [
        ("steps[0].config.url", "URL scheme should be 'http' or 'https'")
    ]


def test_missing_required_config_suggests_a_parameter_containing_the_name(
    registry: ConnectorRegistry,
) -> None:
    # Given a send_email step without "to" and a string parameter with "email" in its name
    document = _workflow(
        parameters=[{"name": "token"}, {"name": "customer_email"}],
        steps=[_step("mail", "send_email", config={"message": "hi"})],
    )
    # When parsed / Then that parameter is suggested ("token" does not count for "to")
    assert _problems(document, registry) == [
        ("steps[0].config.to", 'is required; add "to": "{{ params.customer_email }}"')
    ]


def test_missing_required_config_prefers_a_parameter_of_the_same_name(registry: ConnectorRegistry) -> None:
    # Given a log step without "message" and parameters "message" and "welcome_message"
    document = _workflow(
        parameters=[{"name": "welcome_message"}, {"name": "message"}],
        steps=[{"id": "say", "action": "log", "config": {}}],
    )
    # When parsed / Then the exact name wins
    assert _problems(document, registry) == [
        ("steps[0].config.message", 'is required; add "message": "{{ params.message }}"')
    ]


def test_missing_required_config_without_a_fitting_parameter_says_what_to_add(
    registry: ConnectorRegistry,
) -> None:
    # Given a send_email step with neither "to" nor "message" and no parameters
    document = _workflow(steps=[_step("mail", "send_email", config={})])
    # When parsed / Then both say exactly what to add
    assert _problems(document, registry) == [
        (
            "steps[0].config.message",
            'is required; add "message": <value> to this step\'s config, or declare a parameter "message" '
            'and add "message": "{{ params.message }}"',
        ),
        (
            "steps[0].config.to",
            'is required; add "to": <value> to this step\'s config, or declare a parameter "email" '
            'and add "to": "{{ params.email }}"',
        ),
    ]


def test_a_step_without_config_is_checked_as_an_empty_config(registry: ConnectorRegistry) -> None:
    # Given a log step that leaves config out entirely
    document = _workflow(steps=[{"id": "say", "action": "log"}])
    # When parsed / Then its required config field is still missing
    assert [field for field, _ in _problems(document, registry)] == ["steps[0].config.message"]


def test_parameter_defaults_and_enums_must_match_their_type(registry: ConnectorRegistry) -> None:
    # Given defaults of the wrong type or outside the enum, and enum values of the wrong type
    document = _workflow(
        parameters=[
            {"name": "count", "type": "integer", "default": "5"},
            {"name": "plan", "enum": ["free", "pro"], "default": "gold"},
            {"name": "level", "type": "integer", "enum": [1, "2"]},
            {"name": "flag", "type": "boolean", "default": 0},
        ]
    )
    # When parsed / Then each is reported at the value's path
    assert _problems(document, registry) == [
        ("parameters[0].default", 'must be an integer, got string "5"'),
        ("parameters[1].default", 'is not one of ["free","pro"]'),
        ("parameters[2].enum[1]", 'must be an integer, got string "2"'),
        ("parameters[3].default", "must be a boolean, got integer 0"),
    ]


def test_required_with_a_default_is_allowed(registry: ConnectorRegistry) -> None:
    # Given a required parameter that has a default
    document = _workflow(parameters=[{"name": "plan", "required": True, "default": "free"}])
    # When parsed / Then it is accepted
    assert parse_workflow(document, registry).parameters[0].default == "free"


def test_express_runs_are_capped_at_300_seconds(registry: ConnectorRegistry) -> None:
    # Given an express workflow asking for ten minutes
    document = _workflow(mode="express", execution_timeout=600)
    # When parsed / Then the cap is explained
    assert _problems(document, registry) == [
        (
            "execution_timeout",
            "must be at most 300 for mode 'express': express runs are capped at 300 s "
            "(use mode 'standard' for longer runs)",
        )
    ]


def test_express_at_300_seconds_is_fine(registry: ConnectorRegistry) -> None:
    # Given an express workflow at the cap
    # When parsed / Then it is accepted
    assert parse_workflow(_workflow(mode="express", execution_timeout=300), registry).mode == "express"


def test_a_step_timeout_cannot_exceed_the_workflow_timeout(registry: ConnectorRegistry) -> None:
    # Given a step allowed longer than its whole workflow
    document = _workflow(execution_timeout=120, steps=[_step("slow", timeout_seconds=600)])
    # When parsed / Then the step's timeout is reported
    assert _problems(document, registry) == [
        ("steps[0].timeout_seconds", "600 s exceeds the workflow's execution_timeout of 120 s")
    ]


def test_templates_in_config_and_when_are_checked_against_step_order(registry: ConnectorRegistry) -> None:
    # Given steps reading a later step, a missing step, an unknown root, and an earlier step (fine)
    document = _workflow(
        steps=[
            _step("first", config={"message": "{{ steps.second.output }}"}),
            _step(
                "second",
                config={"message": "{{ steps.first.output }} {{ env.HOME }}"},
                when="{{ steps.ghost }}",
            ),
        ]
    )
    # When parsed
    problems = _problems(document, registry)
    # Then each template problem is at its field
    assert problems == [
        (
            "steps[0].config.message",
            "'{{ steps.second.output }}' uses step 'second', which does not run earlier",
        ),
        (
            "steps[1].config.message",
            "'{{ env.HOME }}' reads 'env', which is not one of params, trigger, steps, execution, secrets",
        ),
        ("steps[1].when", "'{{ steps.ghost }}' uses step 'ghost', which does not exist"),
    ]


def test_a_wait_step_cannot_have_when(registry: ConnectorRegistry) -> None:
    # Given a wait step with a condition
    document = _workflow(
        steps=[{"id": "pause", "action": "wait", "config": {"seconds": 5}, "when": "{{ params.x }}"}]
    )
    # When parsed / Then the reason is the native Wait state
    assert _problems(document, registry) == [
        (
            "steps[0].when",
            "is not allowed on a wait step: it compiles to a native Step Functions Wait state, "
            "which cannot be skipped",
        )
    ]


@pytest.mark.parametrize(
    ("trigger", "problem"),
    [
        (
            {"type": "schedule"},
            (
                "trigger.expression",
                'is required for a schedule trigger, e.g. "rate(1 hour)" or "cron(0 9 * * ? *)"',
            ),
        ),
        (
            {"type": "schedule", "expression": "every day"},
            ("trigger.expression", 'must start with cron(, rate( or at(, got "every day"'),
        ),
        (
            {"type": "manual", "timezone": "Europe/Paris"},
            ("trigger.timezone", "only applies to schedule triggers"),
        ),
        (
            {"type": "webhook", "expression": "rate(1 hour)"},
            ("trigger.expression", "only applies to schedule triggers"),
        ),
    ],
)
def test_trigger_problems(
    registry: ConnectorRegistry, trigger: dict[str, Any], problem: tuple[str, str]
) -> None:
    # Given a trigger missing or misusing schedule fields
    # When parsed / Then the field is reported
    assert _problems(_workflow(trigger=trigger), registry) == [problem]


@pytest.mark.parametrize("expression", ["cron(0 9 * * ? *)", "rate(5 minutes)", "at(2026-01-13T09:00:00)"])
def test_schedule_triggers_accept_eventbridge_expressions(
    registry: ConnectorRegistry, expression: str
) -> None:
    # Given a schedule in each EventBridge syntax, with a timezone
    trigger = {"type": "schedule", "expression": expression, "timezone": "Europe/Paris"}
    # When parsed / Then it is accepted
    assert parse_workflow(_workflow(trigger=trigger), registry).trigger.expression == expression


def test_schedule_parameters_must_satisfy_the_workflow_parameters(registry: ConnectorRegistry) -> None:
    # Given a schedule whose runs would get an undefined, a mistyped and a missing parameter
    document = _workflow(
        parameters=[{"name": "email", "required": True}, {"name": "limit", "type": "integer"}],
        trigger={
            "type": "schedule",
            "expression": "rate(1 day)",
            "parameters": {"limit": "10", "emial": "x"},
        },
    )
    # When parsed / Then each is reported under trigger.parameters
    assert _problems(document, registry) == [
        ("trigger.parameters.email", "is required"),
        ("trigger.parameters.emial", "is not a defined parameter"),
        ("trigger.parameters.limit", 'must be an integer, got string "10"'),
    ]


def test_schedule_parameters_are_literal_values_not_templates(registry: ConnectorRegistry) -> None:
    # Given a schedule passing a value that looks like a template with an unknown root
    trigger = {"type": "schedule", "expression": "rate(1 day)", "parameters": {"note": "{{ nope.x }}"}}
    # When parsed
    spec = parse_workflow(_workflow(parameters=[{"name": "note"}], trigger=trigger), registry)
    # Then it is kept as the literal text a scheduled run gets
    assert spec.trigger.parameters == {"note": "{{ nope.x }}"}


def test_a_plugin_action_name_still_gives_a_valid_step_id(registry: ConnectorRegistry) -> None:
    # Given a single-action document whose action name is not a valid step id
    document = {"name": "wf", "action": "acme.crm-sync", "config": {}}
    # When parsed
    problems = _problems(document, registry)
    # Then only the unknown action is reported: the generated id itself is valid
    assert [field for field, _ in problems] == ["steps[0].action"]


def test_every_kind_of_problem_is_reported_at_once(registry: ConnectorRegistry) -> None:
    # Given a document breaking model, config, template, timeout and trigger rules together
    document = _workflow(
        mode="express",
        execution_timeout=900,
        trigger={"type": "schedule"},
        steps=[
            _step("a", timeout_seconds="slow"),
            _step("a", "send_sms"),
            _step("c", "send_email", config={"message": "{{ steps.d }}"}),
        ],
    )
    # When parsed
    fields = [field for field, _ in _problems(document, registry)]
    # Then every one of them is listed, not just the first
    assert fields == [
        "execution_timeout",
        "steps[0].timeout_seconds",
        "steps[1].action",
        "steps[1].id",
        "steps[2].config.message",
        "steps[2].config.to",
        "trigger.expression",
    ]


def test_a_broken_plugin_is_reported_not_raised(registry_with_broken_plugin: ConnectorRegistry) -> None:
    # Given a step using a plugin whose config schema cannot be built
    document = _workflow(steps=[{"id": "b", "action": "broken", "config": {"message": "x"}}])
    # When parsed / Then the workflow is refused with a problem, not a crash
    assert _problems(document, registry_with_broken_plugin) == [
        ("steps[0].action", 'connector "broken" has an invalid config schema')
    ]
