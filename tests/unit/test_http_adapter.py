"""Pure pieces of the HTTP adapter: body parsing, validation-error paths, console links, bearer tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

import pytest

from goflow.errors import AuthenticationError
from goflow.http.auth import authenticate, bearer_token
from goflow.http.body import MAX_DEPTH, parse_json
from goflow.http.errors import InvalidApiKeyError, MalformedRequestError, validation_details
from goflow.http.links import aws_location, default_log_groups, logs_insights_url, xray_trace_url

TRACE = "1-67a0c2f1-0123456789abcdef01234567"


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "[Infinity]",
        '{"a": -Infinity}',
        "1e999",
        "9" * 5000,
        "[" * 3000 + "]" * 3000,
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        '"\\ud800"',
        '{"\\udc00": 1}',
        "{",
        "",
    ],
)
def test_json_goflow_cannot_carry_is_refused(text: str) -> None:
    # Given a body Python's json would accept or choke on
    # When it is parsed
    # Then it is a MalformedRequestError about the body
    with pytest.raises(MalformedRequestError) as raised:
        parse_json(text)
    assert raised.value.details[0].field == "body"


def test_ordinary_json_is_parsed_as_is() -> None:
    # Given ordinary JSON at the depth limit, with big but finite numbers and paired surrogates
    text = (
        '{"n": 1e308, "i": ' + "9" * 100 + ', "emoji": "\\ud83d\\ude00", "deep": ' + "[" * 60 + "]" * 60 + "}"
    )

    # When it is parsed
    value = parse_json(text)

    # Then the values survive
    assert value["n"] == 1e308 and value["i"] == int("9" * 100) and value["emoji"] == "😀"


def test_validation_errors_name_fields_like_the_domain_does() -> None:
    # Given Powertools/pydantic errors from body, query, header and path
    errors = [
        {"type": "missing", "loc": ("body", "steps", 0, "id"), "msg": "Field required"},
        {"type": "dict_type", "loc": ("body", "parameters"), "msg": "x", "input": 5},
        {"type": "greater_than_equal", "loc": ("query", "limit"), "msg": "x", "ctx": {"ge": 1}},
        {"type": "string_too_long", "loc": ("header", "idempotency-key"), "ctx": {"max_length": 255}},
        {"type": "json_invalid", "loc": ("body", 3), "ctx": {"error": "Expecting value"}},
        {"type": "something_new", "loc": ("path", "workflow_id")},
    ]

    # When they are turned into details
    details = [(d.field, d.message) for d in validation_details(errors)]

    # Then each has a field path and a message (pydantic's own `msg` may be absent)
    assert details == [
        ("steps[0].id", "is required"),
        ("parameters", "must be an object, got integer 5"),
        ("limit", "must be at least 1"),
        ("Idempotency-Key", "must be at most 255 characters long"),
        ("body", "is not valid JSON: Expecting value"),
        ("workflow_id", "is invalid"),
    ]


def test_console_links_follow_the_consoles_formats() -> None:
    # Given a function in eu-west-1 and a run's time window
    location = aws_location("arn:aws:lambda:eu-west-1:123456789012:function:goflow-dev-api")
    assert location is not None
    start, end = datetime(2025, 1, 31, 9, 0, tzinfo=UTC), datetime(2025, 1, 31, 9, 10, 30, tzinfo=UTC)

    # When the X-Ray and Logs Insights links are built
    xray = xray_trace_url(location, TRACE)
    logs = logs_insights_url(location, default_log_groups("/aws/lambda/goflow-dev-api"), TRACE, start, end)

    # Then the X-Ray link is the documented deep link, and the Logs Insights detail decodes to the query
    assert xray == f"https://eu-west-1.console.aws.amazon.com/xray/home?region=eu-west-1#/traces/{TRACE}"
    prefix = "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:logs-insights"
    assert logs.startswith(prefix + "$3FqueryDetail$3D$257E$2528end$257E$25272025-01-31T09*3A10*3A30.000Z")
    jsurl = unquote(unquote(logs[len(prefix) :].replace("$", "%")))
    assert jsurl.startswith(
        "?queryDetail=~(end~'2025-01-31T09*3A10*3A30.000Z~start~'2025-01-31T09*3A00*3A00.000Z"
    )
    assert "~timeType~'ABSOLUTE~tz~'UTC~" in jsurl
    query = unquote(jsurl.split("~editorString~'")[1].split("~")[0].replace("*", "%"))
    assert f'| filter trace_id = "{TRACE}"' in query
    assert jsurl.endswith(
        "~isLiveTail~false~source~(~'*2Faws*2Flambda*2Fgoflow-dev-api"
        "~'*2Faws*2Flambda*2Fgoflow-dev-executor~'*2Faws*2Flambda*2Fgoflow-dev-outcome))"
    )


@pytest.mark.parametrize("arn", [None, "", "local", "arn:aws:states:us-east-1:123456789012:stateMachine:x"])
def test_no_console_location_outside_a_lambda_arn(arn: str | None) -> None:
    assert aws_location(arn) is None


def test_other_partitions_get_their_console() -> None:
    location = aws_location("arn:aws-cn:lambda:cn-north-1:123456789012:function:f")
    assert location is not None and location.console == "https://cn-north-1.console.amazonaws.cn"


def test_bearer_tokens() -> None:
    # Given Authorization headers of every shape
    # When the token is read
    # Then only a Bearer scheme (any case) yields one
    assert bearer_token({"authorization": "Bearer abc"}) == "abc"
    assert bearer_token({"Authorization": "bearer  abc "}) == "abc"
    assert bearer_token({"authorization": "Basic abc"}) is None
    assert bearer_token({"authorization": "Bearer"}) is None
    assert bearer_token({}) is None


def test_authentication_distinguishes_missing_from_invalid_but_never_says_why() -> None:
    # Given a lookup that knows one key
    def lookup(key: str) -> str | None:
        return "acme" if key == "good" else None

    # When requests authenticate
    # Then the known key yields its tenant; a missing header and a wrong key are told apart only by code
    assert authenticate({"authorization": "Bearer good"}, lookup) == "acme"
    with pytest.raises(AuthenticationError) as missing:
        authenticate({}, lookup)
    with pytest.raises(InvalidApiKeyError) as wrong:
        authenticate({"authorization": "Bearer bad"}, lookup)
    assert not isinstance(missing.value, InvalidApiKeyError)
    assert wrong.value.message == "The API key is not valid"
