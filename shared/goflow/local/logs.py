"""Where the local stack's logs go: JSON lines to a file, a compact human line to the console.

:class:`LogSink` takes the handlers' stdout (Powertools' JSON logs, EMF metrics, prints);
:func:`configure_logging` sends the local stack's and the libraries' log records to it as JSON; and
:func:`isolate_powertools_log_keys` keeps the log keys of invocations running at once apart.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

HIDDEN_KEYS = {
    "level", "location", "message", "timestamp", "service", "cold_start", "function_arn",
    "function_memory_size", "function_request_id", "function_name", "sampling_rate", "xray_trace_id",
    "exception", "exception_name", "stack_trace", "logger",
}  # fmt: skip
LEVEL_COLOURS = {"DEBUG": "\033[2m", "WARNING": "\033[33m", "ERROR": "\033[31m", "CRITICAL": "\033[31m"}


class LogSink:
    """Where every log line goes: JSON lines to a file, a compact human line to the console.

    Installed as ``sys.stdout`` (Lambda's stdout goes to CloudWatch Logs; here, to this sink), so
    Powertools' JSON logs, EMF metrics and plain prints of the handlers all land in it. EMF metric
    documents go to the file only.
    """

    def __init__(self, console: TextIO, path: Path | None, prefix: str = "") -> None:
        self.console = console
        self.path = path
        self.prefix = prefix
        self._file = path.open("a", encoding="utf-8") if path else None
        self._lock = threading.Lock()
        self._pending = ""
        self._colour = bool(getattr(console, "isatty", lambda: False)())
        self.encoding = "utf-8"

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                if line.strip():
                    self._line(line)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._file:
                self._file.flush()
            self.console.flush()

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        with self._lock:
            if self._file:
                self._file.close()
                self._file = None

    def _line(self, line: str) -> None:
        record: Any = None
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                record = json.loads(line)
        if not isinstance(record, dict):
            record = {"level": "INFO", "message": line, "timestamp": _now(), "source": "stdout"}
            line = json.dumps(record)
        if self._file:
            self._file.write(line + "\n")
            self._file.flush()
        if "_aws" in record:  # an EMF metrics document
            return
        self.console.write(self.render(record) + "\n")
        self.console.flush()

    def render(self, record: Mapping[str, Any]) -> str:
        """One compact console line: ``12:00:01.234 INFO  api  message  key=value ...``."""
        level = str(record.get("level", "INFO"))
        stamp = str(record.get("timestamp", ""))
        clock = stamp[11:23].replace(",", ".") if len(stamp) >= 23 else stamp
        source = str(record.get("function_name") or record.get("logger") or "")
        if self.prefix and source.startswith(self.prefix):
            source = source[len(self.prefix) :]
        source = source or _module(record.get("location"))
        extras = " ".join(
            f"{key}={_compact(value)}"
            for key, value in record.items()
            if key not in HIDDEN_KEYS and value is not None
        )
        text = f"{clock} {level:<5} {source:<9} {record.get('message', '')}" + (
            f"  {extras}" if extras else ""
        )
        if record.get("exception"):
            text += "\n" + str(record["exception"])
        if record.get("stack_trace") and isinstance(record["stack_trace"], str):
            text += "\n" + record["stack_trace"].rstrip()
        if self._colour and level in LEVEL_COLOURS:
            text = f"{LEVEL_COLOURS[level]}{text}\033[0m"
        return text


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def _module(location: Any) -> str:
    if not isinstance(location, str):
        return ""
    return location.split(":", 1)[0].rsplit(".", 1)[0]


def _compact(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= 120 else text[:117] + "..."


class _JsonFormatter(logging.Formatter):
    """Powertools-shaped JSON for the records of libraries (moto, botocore) and of the local stack."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": datetime.fromtimestamp(record.created)
            .astimezone()
            .isoformat(timespec="milliseconds"),
            "service": "goflow-local",
            "logger": record.name.removeprefix("goflow.local.").removeprefix("goflow."),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def configure_logging(sink: Any, level: str = "INFO") -> list[logging.Handler]:
    """Send the local stack's and the libraries' log records to ``sink`` as JSON lines.

    Two handlers: Powertools filters every root handler against its service's records (they have
    their own handler on the same sink), so the local stack's records need one of their own.
    """
    handlers: list[logging.Handler] = []
    for name, logger_level in (("", logging.WARNING), ("goflow.local", level)):
        handler = logging.StreamHandler(sink)
        handler.setFormatter(_JsonFormatter())
        target = logging.getLogger(name)
        if not name:
            handler.addFilter(_not_handled_by_powertools)
        target.addHandler(handler)
        target.setLevel(logger_level)
        handlers.append(handler)
    logging.getLogger("goflow.local").propagate = False
    for noisy in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR if noisy == "werkzeug" else logging.WARNING)
    return handlers


def _not_handled_by_powertools(record: logging.LogRecord) -> bool:
    """False for records of the ``goflow`` logger tree once Powertools gave it its own handler."""
    top = record.name.split(".", 1)[0]
    return not (top == "goflow" and logging.getLogger(top).handlers)


class _PerThreadLogKeys:
    """``LambdaPowertoolsFormatter.log_format``, one copy per thread.

    In Lambda one process runs one invocation at a time, so Powertools keeps the keys of the
    current invocation (``function_name``, ``correlation_id``, appended keys) on the formatter.
    In-process, invocations of several functions run at once on their own threads (the
    dispatcher starts one per invocation) and would stamp each other's log lines. Each thread
    starts from the keys the formatter had when it was built (at import).
    """

    def __get__(self, formatter: Any, owner: Any = None) -> Any:
        if formatter is None:
            return self
        state = formatter.__dict__.setdefault("_goflow_keys", threading.local())
        if not hasattr(state, "value"):
            # Formatters built before the patch keep their keys in the instance's own dict.
            base = formatter.__dict__.get("_goflow_base_keys", formatter.__dict__.get("log_format"))
            state.value = dict(base or {})
        return state.value

    def __set__(self, formatter: Any, value: Any) -> None:
        formatter.__dict__.setdefault("_goflow_base_keys", value)
        formatter.__dict__.setdefault("_goflow_keys", threading.local()).value = value


def isolate_powertools_log_keys() -> None:
    """Give every thread its own Powertools log keys (see :class:`_PerThreadLogKeys`)."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    if not isinstance(LambdaPowertoolsFormatter.__dict__.get("log_format"), _PerThreadLogKeys):
        LambdaPowertoolsFormatter.log_format = _PerThreadLogKeys()  # type: ignore[assignment]
