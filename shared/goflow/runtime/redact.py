"""Keep resolved secret values out of step outputs, error messages and logs."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MASK = "***"


class Redactor:
    """Replaces every occurrence of the given secret values with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def text(self, text: str) -> str:
        """``text`` with every secret value masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string (keys included) masked."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


class RedactingLogger:
    """Wraps a logger so a connector cannot log a secret value by accident.

    ``redactor`` is called at each log call, so secrets read while the step runs are masked too.
    """

    def __init__(self, inner: Any, redactor: Callable[[], Redactor]) -> None:
        self._inner = inner
        self._redactor = redactor
        # A logger that reports the caller's line (Powertools, stdlib) must skip this wrapper's frames.
        self._stacklevel = _stacklevel_param(inner)

    def _log(self, level: str, msg: object, *args: Any, **kwargs: Any) -> Any:
        redactor = self._redactor()
        if isinstance(msg, str):
            msg = redactor.text(msg)
        kwargs = {k: redactor.value(v) for k, v in kwargs.items()}
        if self._stacklevel is not None and "stacklevel" not in kwargs:
            kwargs["stacklevel"] = self._stacklevel + 2  # this wrapper's level method and _log
        return getattr(self._inner, level)(msg, *args, **kwargs)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> Any:
        return self._log("debug", msg, *args, **kwargs)

    def info(self, msg: object, *args: Any, **kwargs: Any) -> Any:
        return self._log("info", msg, *args, **kwargs)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> Any:
        return self._log("warning", msg, *args, **kwargs)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> Any:
        return self._log("error", msg, *args, **kwargs)


def _stacklevel_param(logger: Any) -> int | None:
    """The default ``stacklevel`` of ``logger.info`` when it declares one, else None."""
    try:
        parameter = inspect.signature(logger.info).parameters.get("stacklevel")
    except (TypeError, ValueError):
        return None
    if parameter is None or not isinstance(parameter.default, int):
        return None
    return parameter.default
