"""URLs the API hands out: the request's own base URL, and AWS console links for a run.

Console URL formats (the console documents no stable deep-link API; checked against the X-Ray
developer guide's "Deep linking" page and the widely used Logs Insights encoding):

- X-Ray trace: ``https://{region}.console.aws.amazon.com/xray/home?region={region}#/traces/{trace_id}``
  (the console redirects it to CloudWatch's trace view);
- Logs Insights: ``https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}
  #logsV2:logs-insights`` + ``?queryDetail=<details>``, where the details object is written in the
  console's JSURL-like notation (``~(key~value~...)``, strings as ``'`` + percent-encoding with ``*``
  for ``%``, arrays as ``(~item~item)``), then JavaScript-``escape``d, then the whole fragment
  percent-encoded once more with ``$`` for ``%``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from goflow.executions.model import Execution
from goflow.store.items import iso_utc

_CONSOLE_DOMAINS = {
    "aws": "console.aws.amazon.com",
    "aws-us-gov": "console.amazonaws-us-gov.com",
    "aws-cn": "console.amazonaws.cn",
}
_FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):lambda:(?P<region>[\w-]+):(?P<account>\d{12}):function:"
)
_QUERY_MARGIN = timedelta(minutes=5)
_ENCODE_URI_COMPONENT_SAFE = "-_.!~*'()"
_JS_ESCAPE_SAFE = "@*_+-./"


@dataclass(frozen=True)
class AwsLocation:
    """Where the function runs, read from its invoked ARN."""

    partition: str
    region: str
    account: str

    @property
    def console(self) -> str:
        domain = _CONSOLE_DOMAINS.get(self.partition, _CONSOLE_DOMAINS["aws"])
        return f"https://{self.region}.{domain}"


def aws_location(invoked_function_arn: str | None) -> AwsLocation | None:
    """The partition, region and account of a Lambda function ARN; None outside AWS-shaped ARNs."""
    match = _FUNCTION_ARN.match(invoked_function_arn or "")
    if match is None:
        return None
    return AwsLocation(match["partition"], match["region"], match["account"])


def base_url(event: APIGatewayProxyEventV2) -> str:
    """``scheme://host[/stage]`` of the request, or "" when the host is unknown (relative links)."""
    context = event.request_context
    host = context.domain_name or _header(event, "host")
    if not host:
        return ""
    scheme = (_header(event, "x-forwarded-proto") or "https").split(",")[0].strip()
    stage = context.stage
    prefix = f"/{stage}" if stage and stage != "$default" and event.raw_path.startswith(f"/{stage}/") else ""
    return f"{scheme}://{host}{prefix}"


def _header(event: APIGatewayProxyEventV2, name: str) -> str | None:
    for key, value in (event.headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def xray_trace_url(location: AwsLocation, trace_id: str) -> str:
    return f"{location.console}/xray/home?region={location.region}#/traces/{quote(trace_id, safe='-')}"


def logs_insights_url(
    location: AwsLocation, log_groups: Sequence[str], trace_id: str, start: datetime, end: datetime
) -> str:
    """A Logs Insights console link whose query filters ``trace_id = "<trace_id>"`` in ``log_groups``."""
    query = (
        "fields @timestamp, level, message, step_id, execution_id, @log\n"
        f'| filter trace_id = "{trace_id}"\n'
        "| sort @timestamp asc\n"
        "| limit 1000"
    )
    detail = _jsurl(
        {
            "end": _console_time(end),
            "start": _console_time(start),
            "timeType": "ABSOLUTE",
            "tz": "UTC",
            "editorString": query,
            "isLiveTail": False,
            "source": list(log_groups),
        }
    )
    fragment = "?queryDetail=" + _js_escape(detail)
    encoded = quote(fragment, safe=_ENCODE_URI_COMPONENT_SAFE).replace("%", "$")
    return f"{location.console}/cloudwatch/home?region={location.region}#logsV2:logs-insights{encoded}"


def execution_log_window(execution: Execution, now: datetime) -> tuple[datetime, datetime]:
    """The time range a run's logs fall in, with a margin on both sides."""
    end = execution.finished_at or min(execution.deadline, now)
    return execution.started_at - _QUERY_MARGIN, end + _QUERY_MARGIN


def default_log_groups(api_log_group: str | None) -> list[str]:
    """The api, executor and outcome log groups, derived from the api function's own log group
    (``/aws/lambda/goflow-<stage>-api``) when GOFLOW_LOG_GROUPS is not set."""
    if not api_log_group:
        return []
    if api_log_group.endswith("-api"):
        stem = api_log_group[: -len("-api")]
        return [api_log_group, f"{stem}-executor", f"{stem}-outcome"]
    return [api_log_group]


def _console_time(value: datetime) -> str:
    """``2025-01-31T09:30:00.000Z``: ISO-8601 UTC with milliseconds, as the console writes it."""
    return iso_utc(value)[:-4] + "Z"


def _jsurl(value: Any) -> str:
    return "~" + _jsurl_value(value)


def _jsurl_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return "'" + quote(value, safe=_ENCODE_URI_COMPONENT_SAFE).replace("%", "*")
    if isinstance(value, list):
        return "(" + "".join("~" + _jsurl_value(item) for item in value) + ")"
    if isinstance(value, dict):
        return "(" + "~".join(f"{key}~{_jsurl_value(item)}" for key, item in value.items()) + ")"
    raise TypeError(f"cannot encode {type(value).__name__}")


def _js_escape(text: str) -> str:
    """JavaScript's ``escape()`` for the ASCII text :func:`_jsurl` produces (it escapes ``~``, which
    Python's ``quote`` never does)."""
    return quote(text, safe=_JS_ESCAPE_SAFE).replace("~", "%7E")
