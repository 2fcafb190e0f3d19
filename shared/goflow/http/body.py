"""Reading a request body safely: size, encoding, JSON syntax, nesting and numbers.

Python's ``json`` accepts things GoFlow cannot store or pass on (``NaN``, ``1e999`` → infinity,
unpaired UTF-16 surrogates, integers past 4300 digits raise ``ValueError``, deep nesting raises
``RecursionError``); each becomes a 400 naming the problem instead of a 5xx later.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from goflow.errors import ErrorDetail, PayloadTooLargeError
from goflow.http.errors import MalformedRequestError, UnsupportedMediaTypeError
from goflow.params import describe_value

MAX_BODY_BYTES = 1024 * 1024
# A workflow is stored as one DynamoDB item (400 KB) and compiled into a state machine definition
# (1 MB): refuse a larger document before anything is deployed.
MAX_WORKFLOW_BYTES = 350_000
MAX_DEPTH = 64


def check_body(event: APIGatewayProxyEventV2) -> None:
    """413 for a body over :data:`MAX_BODY_BYTES`; 400 for one that is not valid base64 or UTF-8."""
    raw = event.body
    if not raw:
        return
    encoded_size = len(raw) * 3 // 4 if event.is_base64_encoded else len(raw.encode("utf-8", "surrogatepass"))
    if encoded_size > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB")
    if event.is_base64_encoded:
        try:
            base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise _malformed("is not valid UTF-8 text") from exc


def check_json_object(event: APIGatewayProxyEventV2) -> None:
    """Every GoFlow request body is a JSON object: 415 for another media type (before Powertools'
    form and multipart parsers, which fail on malformed input), 400 for JSON that is not an object
    (Powertools would unwrap a one-element array into its element, as it does for form fields)."""
    content_type = _header(event, "content-type").strip().lower()
    is_json = not content_type or content_type.startswith("application/json")
    if not is_json and (event.body or event.http_method.upper() in ("POST", "PUT", "PATCH")):
        raise UnsupportedMediaTypeError("Send the request body as application/json")
    if not event.body:
        return
    value = event.json_body  # parse_json: raises MalformedRequestError for what it cannot read
    if not isinstance(value, dict):
        message = f"must be a JSON object, got {describe_value(value)}"
        raise MalformedRequestError(f"The request body {message}", [ErrorDetail("body", message)])


def _header(event: APIGatewayProxyEventV2, name: str) -> str:
    for key, value in (event.headers or {}).items():
        if key.lower() == name:
            return str(value)
    return ""


def check_workflow_size(event: APIGatewayProxyEventV2) -> None:
    """413 for a workflow document over :data:`MAX_WORKFLOW_BYTES`."""
    size = len((event.decoded_body or "").encode("utf-8", "surrogatepass"))
    if size > MAX_WORKFLOW_BYTES:
        raise PayloadTooLargeError(
            f"The workflow document takes {size} bytes; a workflow is limited to {MAX_WORKFLOW_BYTES} bytes"
        )


def parse_json(text: str | bytes) -> Any:
    """Decode a request body; :class:`MalformedRequestError` for anything GoFlow cannot use."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise _malformed(f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise _malformed(f"is nested more than {MAX_DEPTH} levels deep") from exc
    except (ValueError, UnicodeError) as exc:
        raise _malformed(f"is not valid JSON: {exc}") from exc
    _check_value(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is too large")
    return number


def _check_value(root: Any) -> None:
    """Nesting depth and text that cannot be encoded as UTF-8 (unpaired surrogates)."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise _malformed(f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _malformed("contains an unpaired UTF-16 surrogate (\\ud800-\\udfff)") from exc


def _malformed(message: str) -> MalformedRequestError:
    return MalformedRequestError(f"The request body {message}", [ErrorDetail("body", message)])
