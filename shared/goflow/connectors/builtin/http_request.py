"""``http_request``: one HTTP call, bounded by its own timeout and by the step's deadline."""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import ConfigDict, Field, field_validator, model_validator

from goflow.connectors.base import Connector, ConnectorConfig, ConnectorMetadata, StepContext
from goflow.connectors.errors import FatalStepError, RetryableStepError, StepDeadlineExceeded

MAX_BODY_BYTES = 5 * 1024 * 1024
RETRYABLE_STATUSES = frozenset({408, 429})
USER_AGENT = "GoFlow/0.1 (+http_request)"
_SNIPPET_CHARS = 300

QueryValue = str | int | float | bool | None


class HttpRequestConfig(ConnectorConfig):
    """An HTTP request; `json` or `body` carries the payload."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, coerce_numbers_to_str=True)

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = Field(
        "GET", description="HTTP method."
    )
    url: str = Field(description="Absolute http:// or https:// URL.", json_schema_extra={"format": "uri"})
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    query: dict[str, QueryValue | list[QueryValue]] = Field(
        default_factory=dict, description="Query-string parameters, added to any already in the URL."
    )
    json_body: Any = Field(None, alias="json", description="JSON request body (not with `body`).")
    body: str | None = Field(None, description="Raw text request body (not with `json`).")
    timeout_seconds: float = Field(
        10, gt=0, le=900, description="Timeout of this call; the step's deadline may cut it shorter."
    )
    expected_status: list[int] | None = Field(
        None, description="Statuses that count as success; default: any 2xx.", min_length=1
    )
    follow_redirects: bool = Field(True, description="Follow 3xx redirects.")

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> HttpRequestConfig:
        if "json_body" in self.model_fields_set and self.body is not None:
            raise ValueError("set either `json` or `body`, not both")
        return self


class HttpRequestConnector(Connector):
    """Calls an HTTP endpoint and returns its status, headers and body."""

    name = "http_request"
    metadata = ConnectorMetadata(description="Make an HTTP request and return the response.")
    config_model = HttpRequestConfig

    def execute(self, ctx: StepContext, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        """Send the request; classify failures as retryable, fatal or past the step's deadline."""
        call = _Call(ctx, config)
        return call.run()


class _Call:
    """One request: its time budget and how each way of failing is reported."""

    def __init__(self, ctx: StepContext, config: HttpRequestConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.target = f"{config.method} {config.url}"
        self.deadline_bound = False
        self.timeout = config.timeout_seconds
        self.started = ctx.clock()

    def _start_clock(self) -> None:
        """Size the call's timeouts to what is left, right before sending."""
        budget = self.ctx.remaining_seconds()
        if budget <= 0:
            self.ctx.check_deadline()
        # When the step's deadline is nearer than the call's own timeout, a timeout means "deadline".
        self.deadline_bound = budget < self.config.timeout_seconds
        self.timeout = min(self.config.timeout_seconds, budget)
        self.started = self.ctx.clock()

    def run(self) -> dict[str, Any]:
        config = self.config
        try:
            with httpx.Client(verify=_ssl_context(), follow_redirects=config.follow_redirects) as client:
                self._start_clock()
                with client.stream(config.method, **self._request_args()) as response:
                    content = self._read_body(response)
        except httpx.TimeoutException as exc:
            if self.deadline_bound:
                raise self._past_deadline("did not answer") from exc
            raise RetryableStepError(
                f"{self.target} timed out after {self.config.timeout_seconds:g} s ({type(exc).__name__})"
            ) from exc
        except httpx.UnsupportedProtocol as exc:
            raise FatalStepError(f"{self.target} failed: {exc}") from exc
        except httpx.TransportError as exc:
            raise RetryableStepError(f"{self.target} failed: {type(exc).__name__}: {exc}") from exc
        except httpx.TooManyRedirects as exc:
            raise FatalStepError(f"{self.target} redirected too many times") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FatalStepError(f"{self.target} failed: {type(exc).__name__}: {exc}") from exc
        elapsed_ms = int((self.ctx.clock() - self.started) * 1000)
        self._check_status(response, content)
        self.ctx.logger.info(
            "http request finished",
            method=config.method,
            host=response.url.host,
            http_status=response.status_code,
            elapsed_ms=elapsed_ms,
        )
        return _result(response, content, elapsed_ms)

    def _request_args(self) -> dict[str, Any]:
        config = self.config
        headers = {"User-Agent": USER_AGENT, **config.headers}
        # Merged, not replaced: httpx's `params=` would drop a query string already in the URL.
        url = httpx.URL(config.url).copy_merge_params(config.query) if config.query else config.url
        args: dict[str, Any] = {"url": url, "headers": headers, "timeout": self.timeout}
        if "json_body" in config.model_fields_set:
            args["json"] = config.json_body
        elif config.body is not None:
            args["content"] = config.body.encode()
        return args

    def _read_body(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise self._too_large(response)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise self._too_large(response)
            chunks.append(chunk)
            self._check_time()
        self._check_time()
        return b"".join(chunks)

    def _check_time(self) -> None:
        """Between chunks: the socket read timeout alone cannot bound a slowly dripping body."""
        if self.ctx.remaining_seconds() <= 0:
            raise self._past_deadline("did not finish sending its response")
        if self.ctx.clock() - self.started > self.config.timeout_seconds:
            raise RetryableStepError(
                f"{self.target} timed out after {self.config.timeout_seconds:g} s while sending its response"
            )

    def _check_status(self, response: httpx.Response, content: bytes) -> None:
        status = response.status_code
        expected = self.config.expected_status
        if (status in expected) if expected else 200 <= status < 300:
            return
        reason = f"{status} {response.reason_phrase}".strip()
        snippet = content[:_SNIPPET_CHARS].decode("utf-8", errors="replace").strip()
        message = f"{self.target} answered {reason}" + (f": {snippet}" if snippet else "")
        if status in RETRYABLE_STATUSES or status >= 500:
            raise RetryableStepError(message)
        raise FatalStepError(message)

    def _past_deadline(self, what: str) -> StepDeadlineExceeded:
        elapsed = self.ctx.clock() - self.started
        return StepDeadlineExceeded(
            f"step '{self.ctx.step_id}' ({self.ctx.action}) ran past its deadline after {elapsed:.1f} s: "
            f"{self.target} {what}"
        )

    def _too_large(self, response: httpx.Response) -> FatalStepError:
        return FatalStepError(
            f"{self.target} answered {response.status_code} with a body over "
            f"{MAX_BODY_BYTES // (1024 * 1024)} MB, more than a step can hold"
        )


def _result(response: httpx.Response, content: bytes, elapsed_ms: int) -> dict[str, Any]:
    parsed: Any = None
    text: str | None = None
    is_json = False
    content_type = response.headers.get("content-type", "").lower()
    if content and ("/json" in content_type or "+json" in content_type):
        try:
            parsed = json.loads(content)
            is_json = True
        except ValueError:
            pass
    if content and not is_json:
        text = _decode(content, response.charset_encoding)
    return {
        "status": response.status_code,
        "headers": {key.lower(): value for key, value in response.headers.items()},
        "json": parsed,
        "text": text,
        "url": str(response.url),
        "elapsed_ms": elapsed_ms,
    }


def _decode(content: bytes, charset: str | None) -> str:
    try:
        return content.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return content.decode("utf-8", errors="replace")


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """Built once per process: loading the CA bundle costs tens of milliseconds per client."""
    return httpx.create_ssl_context()
