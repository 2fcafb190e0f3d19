"""Turn any exception a step raises into one of the ASL error classes Step Functions matches on."""

from __future__ import annotations

import socket

import httpx
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from goflow.connectors.errors import FatalStepError, RetryableStepError, StepError

# Codes AWS services use for "slow down" or "try again": the throttled and transient codes botocore's
# standard retry mode recognises, minus LimitExceededException (usually a quota, not a transient).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
    }
)
MAX_MESSAGE_CHARS = 2000

_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    socket.herror,
    BotocoreConnectionError,  # EndpointConnectionError, ConnectTimeoutError, proxy and SSL failures
    HTTPClientError,  # ReadTimeoutError, ConnectionClosedError
)


def classify(exc: BaseException) -> StepError:
    """The :class:`StepError` Step Functions should see for ``exc``.

    A ``StepError`` passes through; network failures, timeouts, AWS throttling and AWS 5xx are
    retryable; everything else is fatal, described by its type and message (never a stack trace).
    """
    if isinstance(exc, StepError):
        return exc
    if isinstance(exc, ClientError):
        return classify_client_error(exc)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return FatalStepError(describe(exc))
    if isinstance(exc, (httpx.TransportError, *_NETWORK_ERRORS)):
        return RetryableStepError(describe(exc))
    return FatalStepError(describe(exc))


def classify_client_error(exc: ClientError, prefix: str = "") -> StepError:
    """Throttling codes and HTTP ≥ 500 are retryable; any other AWS error is fatal."""
    message = truncate(f"{prefix}{exc}")
    if is_transient_client_error(exc):
        return RetryableStepError(message)
    return FatalStepError(message)


def is_transient_client_error(exc: ClientError) -> bool:
    """True for throttling error codes and for HTTP statuses of 429 or 500 and above."""
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return error.get("Code", "") in THROTTLING_CODES or status == 429 or status >= 500


def describe(exc: BaseException) -> str:
    """``"TypeName: message"``, bounded in length."""
    text = str(exc)
    return truncate(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def truncate(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
