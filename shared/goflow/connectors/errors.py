"""Errors a step raises to Step Functions.

The class name is the ASL error name (the Lambda runtime reports ``type(exc).__name__`` as
``errorType``), so these names are a contract: compiled ``Retry``/``Catch`` blocks match on them.
"""

from __future__ import annotations


class StepError(Exception):
    """Base of the errors a step reports; ``retryable`` decides whether ``Retry`` applies."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryableStepError(StepError):
    """Transient: network failure, a single call timing out, HTTP 429 or 5xx, AWS throttling."""

    retryable = True


class FatalStepError(StepError):
    """Permanent: HTTP 4xx, a rejected request, a connector that cannot do what it was asked."""


class StepConfigInvalid(FatalStepError):
    """The step's rendered config does not satisfy its connector's schema."""


class StepDeadlineExceeded(StepError):
    """The step's deadline (Lambda time, step timeout or workflow deadline) passed."""


class StepOutputTooLarge(FatalStepError):
    """The step's output would not fit in the Step Functions state (256 KiB)."""


# The names compiled into every state machine; see goflow.compiler.
RETRYABLE_ERROR = RetryableStepError.__name__
LAMBDA_SERVICE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
