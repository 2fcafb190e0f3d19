"""The template's functions in one process: handlers imported on first use, one shared environment."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from goflow.local.lambdas import load_handler
from goflow.local.provisioned import FunctionSpec

logger = logging.getLogger("goflow.local")


class _ImportModuleError(Exception):
    pass


_ImportModuleError.__name__ = "Runtime.ImportModuleError"


def _broken_handler(message: str) -> Any:
    def handler(event: Any, context: Any) -> Any:
        raise _ImportModuleError(message)

    return handler


class LazyHandler:
    """A function's handler, imported on its first invocation (a cold start) or by the warm-up.

    A handler that cannot be imported fails every invocation with ``Runtime.ImportModuleError``,
    as in Lambda, and is reported once in the log.
    """

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._handler: Any = None
        self._lock = threading.Lock()
        self.error: str | None = None

    def load(self) -> Any:
        with self._lock:
            if self._handler is None:
                spec = self.spec
                assert spec.code_dir is not None and spec.handler is not None
                alias = "goflow_local_fn_" + re.sub(r"\W", "_", spec.logical_id)
                try:
                    self._handler = load_handler(spec.code_dir, spec.handler, alias)
                except Exception as exc:  # noqa: BLE001 - reported, and the function fails as Lambda's would
                    message = f"Unable to import module '{spec.handler}': {type(exc).__name__}: {exc}"
                    self.error = message
                    logger.error(
                        "handler import failed", extra={"function": spec.logical_id, "error": message}
                    )
                    self._handler = _broken_handler(message)
            return self._handler

    def __call__(self, event: Any, context: Any) -> Any:
        return self.load()(event, context)


def shared_environment(functions: list[FunctionSpec]) -> tuple[dict[str, str], list[str]]:
    """The union of the functions' environments, and a warning per variable they disagree on.

    In AWS each function has its own environment; in-process they share one, so where two
    functions disagree the first one's value (template order) is used.
    """
    merged: dict[str, str] = {}
    owners: dict[str, list[tuple[str, str]]] = {}
    for spec in functions:
        for key, value in spec.environment.items():
            owners.setdefault(key, []).append((spec.logical_id, value))
            merged.setdefault(key, value)
    warnings = [
        f"{key} differs between functions ({', '.join(f'{fn}={value!r}' for fn, value in values)}); "
        f"all use {merged[key]!r} locally"
        for key, values in owners.items()
        if len({value for _, value in values}) > 1
    ]
    return merged, warnings
