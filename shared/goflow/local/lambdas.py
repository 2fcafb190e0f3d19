"""In-process Lambda: the real handlers, invoked with a Lambda context that honours the function's timeout.

moto's Step Functions interpreter invokes Lambda through ``LambdaSimpleBackend.invoke``;
:meth:`LambdaDispatcher.install` routes those invocations to the registered handlers, reporting
errors exactly as the Lambda runtime does (``errorType`` = exception class name, which becomes
the ASL error name).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

Handler = Callable[[Any, Any], Any]
FUNCTION_ERROR_HEADER = "x-amz-function-error"


@dataclass
class LambdaContext:
    """The context object the Lambda runtime hands a handler."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass
class LocalFunction:
    name: str
    handler: Handler
    timeout_seconds: float = 3.0
    memory_mb: int = 128
    arn: str = ""


@dataclass
class Invocation:
    """What an invocation returned: the payload, or the runtime's error document."""

    payload: Any
    error_type: str | None = None

    @property
    def failed(self) -> bool:
        return self.error_type is not None


def load_handler(code_dir: Path, handler: str, module_alias: str) -> Handler:
    """Import ``module.function`` from ``code_dir`` under a unique module name (no sys.path changes)."""
    module_name, function_name = handler.rsplit(".", 1)
    path = Path(code_dir) / (module_name.replace(".", "/") + ".py")
    module = sys.modules.get(module_alias)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_alias, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load handler module {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_alias] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_alias]
            raise
    return _attribute(module, function_name, path)


def _attribute(module: ModuleType, name: str, path: Path) -> Handler:
    handler = getattr(module, name, None)
    if not callable(handler):
        raise ImportError(f"{path} has no callable '{name}'")
    return handler


class LambdaDispatcher:
    """Registered functions by name and ARN; invokes them in-process."""

    def __init__(self) -> None:
        self._functions: dict[str, LocalFunction] = {}
        self._restore: Callable[[], None] | None = None

    def register(self, function: LocalFunction) -> None:
        self._functions[function.name] = function
        if function.arn:
            self._functions[function.arn] = function

    def get(self, name_or_arn: str) -> LocalFunction | None:
        found = self._functions.get(name_or_arn)
        if found is None and ":function:" in name_or_arn:
            found = self._functions.get(name_or_arn.split(":function:", 1)[1].split(":", 1)[0])
        return found

    def invoke(self, name_or_arn: str, event: Any) -> Invocation:
        """Run the handler with a fresh context; a handler that outlives its timeout is reported timed out."""
        function = self.get(name_or_arn)
        if function is None:
            return Invocation(
                {"errorType": "ResourceNotFoundException", "errorMessage": f"no function {name_or_arn}"},
                "ResourceNotFoundException",
            )
        context = LambdaContext(
            function_name=function.name,
            memory_limit_in_mb=function.memory_mb,
            invoked_function_arn=function.arn or function.name,
            timeout_seconds=function.timeout_seconds,
        )
        outcome: list[Invocation] = []
        worker = threading.Thread(
            target=lambda: outcome.append(_run(function.handler, event, context)),
            name=f"lambda-{function.name}",
            daemon=True,
        )
        worker.start()
        worker.join(function.timeout_seconds)
        if not outcome:
            message = f"Task timed out after {function.timeout_seconds:.2f} seconds"
            return Invocation({"errorType": "Sandbox.Timedout", "errorMessage": message}, "Sandbox.Timedout")
        return outcome[0]

    def install(self) -> None:
        """Route moto's Lambda invocations (from Step Functions or the Lambda API) to this dispatcher."""
        from moto.awslambda_simple.models import LambdaSimpleBackend

        original = LambdaSimpleBackend.invoke
        dispatcher = self

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            event = json.loads(body) if body else {}
            result = dispatcher.invoke(function_name, event)
            if result.failed:
                response_headers[FUNCTION_ERROR_HEADER] = "Unhandled"
            return json.dumps(result.payload, default=str).encode()

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign,assignment]

        def restore() -> None:
            LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]

        self._restore = restore

    def uninstall(self) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None


def _run(handler: Handler, event: Any, context: LambdaContext) -> Invocation:
    try:
        return Invocation(handler(event, context))
    except Exception as exc:  # noqa: BLE001 - reported to the caller as the Lambda runtime would
        error_type = type(exc).__name__
        return Invocation(
            {
                "errorType": error_type,
                "errorMessage": str(exc),
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            },
            error_type,
        )
