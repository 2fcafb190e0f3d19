"""``goflow local``: the whole platform on one machine, no AWS account, no Docker.

Start-up, in order: fake credentials and the region in the environment; moto as a server on
``127.0.0.1:<aws port>`` with state machine execution on; every resource of ``template.yaml``
created in it; the functions' environment (the union of what the template gives each function) in
``os.environ``; the real handlers registered with the in-process Lambda dispatcher; the
EventBridge status-change events routed through the template's rules; a dev API key; the API
Gateway emulation on ``127.0.0.1:<port>``. State lives in moto's memory and is lost on exit.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from goflow.local.cfn import TEMPLATE_FILE
from goflow.local.events import StatusChangeFeed
from goflow.local.gateway import Gateway
from goflow.local.lambdas import LambdaDispatcher, LocalFunction, load_handler
from goflow.local.provision import FunctionSpec, ProvisionedStack, Provisioner, RuleRouter

logger = logging.getLogger("goflow.local")

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
DEFAULT_PARAMETERS = {"Stage": "local"}
DEV_TENANT = "dev"
ACCOUNT_ID = "123456789012"
KEY_FILE = "local.env"
LOG_FILE = "goflow.jsonl"


class StartupError(RuntimeError):
    """The local stack could not start (a port is taken, the template is broken, ...)."""


@dataclass
class LocalConfig:
    """How to run the local stack; :meth:`from_env` reads ``GOFLOW_*`` and ``AWS_DEFAULT_REGION``."""

    host: str = "127.0.0.1"
    port: int = 8080
    aws_port: int = 4566
    region: str = "us-east-1"
    template: Path | None = None
    state_dir: Path | None = None
    api_key: str | None = None
    stack_name: str = "goflow-local"
    parameters: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PARAMETERS))
    capture_output: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LocalConfig:
        env = os.environ if environ is None else environ
        return cls(
            port=int(env.get("GOFLOW_PORT") or 8080),
            aws_port=int(env.get("GOFLOW_AWS_PORT") or 4566),
            region=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1",
            api_key=env.get("GOFLOW_API_KEY") or None,
            state_dir=Path(env["GOFLOW_STATE_DIR"]) if env.get("GOFLOW_STATE_DIR") else None,
            template=Path(env["GOFLOW_TEMPLATE"]) if env.get("GOFLOW_TEMPLATE") else None,
        )


def locate_template(explicit: Path | None = None) -> Path:
    """``explicit``, else the nearest ``template.yaml`` from the working directory up, else the one
    of the source tree this package was installed from."""
    if explicit is not None:
        if not explicit.is_file():
            raise StartupError(f"no template at {explicit}")
        return explicit.resolve()
    here = Path(__file__).resolve()
    for folder in (Path.cwd(), *Path.cwd().parents, *here.parents):
        candidate = folder / TEMPLATE_FILE
        if candidate.is_file():
            return candidate
    raise StartupError(f"no {TEMPLATE_FILE} in the working directory or its parents")


# ---------------------------------------------------------------------------------------------- logs
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


# ---------------------------------------------------------------------------------------------- moto
def share_botocore_data() -> None:
    """One botocore data loader for the whole process: moto, the stack's clients and the handlers'.

    Every botocore session builds its own loader, and moto builds a new one for every service
    model it reads; each parses the same JSON again (service models, the 1 MB endpoints file) and
    lists botocore's hundreds of data directories again. The loader only reads botocore's packaged
    data, so sharing it is safe; it saves more than a second of start-up and of first requests.
    """
    import botocore.loaders
    import botocore.session
    import moto.core.utils as moto_utils

    if getattr(botocore.session.create_loader, "goflow_shared", False):
        return
    cached = functools.cache(botocore.loaders.create_loader)

    def create_loader(search_path_string: str | None = None) -> Any:
        return cached(search_path_string)

    create_loader.goflow_shared = True  # type: ignore[attr-defined]
    setattr(botocore.session, "create_loader", create_loader)  # noqa: B010 - patching botocore
    setattr(moto_utils, "create_loader", create_loader)  # noqa: B010 - patching moto


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


def cache_moto_module_list() -> None:
    """moto's server lists its own package directory (and stats each entry) on every request to
    find the service; the list cannot change while the process runs."""
    import moto.backends

    if not getattr(moto.backends.list_of_moto_modules, "goflow_cached", False):
        modules = tuple(moto.backends.list_of_moto_modules())

        def list_of_moto_modules() -> tuple[str, ...]:
            return modules

        list_of_moto_modules.goflow_cached = True  # type: ignore[attr-defined]
        setattr(moto.backends, "list_of_moto_modules", list_of_moto_modules)  # noqa: B010 - patching moto


def defer_moto_batch() -> None:
    """Load the body of the ``moto.batch`` package on first use rather than at import.

    moto's ASL interpreter imports ``moto.batch.utils`` for its Batch integration's status names;
    importing the package runs ``moto/batch/__init__.py``, which loads Batch's, ECS's and EC2's
    models: about two seconds before the first state machine can be created. Submodules import as
    usual; the package's own names (``batch_backends``) load the whole package when first read.
    """
    if "moto.batch" in sys.modules:
        return
    spec = importlib.util.find_spec("moto.batch")
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    lock = threading.RLock()
    loaded = False

    def load_package(name: str) -> Any:
        nonlocal loaded
        with lock:
            if not loaded:
                loaded = True
                del package.__getattr__
                assert spec.loader is not None
                spec.loader.exec_module(package)
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module 'moto.batch' has no attribute {name!r}") from None

    package.__getattr__ = load_package  # type: ignore[method-assign]
    sys.modules["moto.batch"] = package
    setattr(sys.modules["moto"], "batch", package)  # noqa: B010 - what importing a submodule does


class MotoServer:
    """moto's ``ThreadedMotoServer``, bound synchronously so that a taken port fails fast."""

    def __init__(self, host: str, port: int) -> None:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{'127.0.0.1' if self.host in ('0.0.0.0', '') else self.host}:{self.port}"

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self.port = int(server.server_address[1])
        self._server._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="moto-server", daemon=True
        )
        self._thread.start()

    def configure(self, config: Mapping[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/config", data=json.dumps(config).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own server
            response.read()

    def stop(self) -> None:
        server = self._server._server
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)


# ---------------------------------------------------------------------------------------------- the stack
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


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, sep, value = line.strip().partition("=")
            if sep and not name.startswith("#"):
                values[name.strip()] = value.strip().strip("'\"")
    return values


def dev_api_key(explicit: str | None, key_file: Path) -> tuple[str, str]:
    """The dev API key and where it came from: ``explicit`` (``GOFLOW_API_KEY``), else the key kept
    in ``key_file``, else a new one written there (so it survives restarts; the store does not)."""
    from goflow.store.apikeys import is_well_formed_key, new_api_key

    if explicit:
        if not is_well_formed_key(explicit):
            raise StartupError("GOFLOW_API_KEY must be 'gf_' followed by 43 URL-safe base64 characters")
        return explicit, "GOFLOW_API_KEY"
    key = read_env_file(key_file).get("GOFLOW_API_KEY", "")
    if not is_well_formed_key(key):
        key = new_api_key()
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(
            "# The local stack's dev API key (tenant 'dev'); re-created in the store at every start.\n"
            f"GOFLOW_API_KEY={key}\n",
            encoding="utf-8",
        )
        with contextlib.suppress(OSError):
            key_file.chmod(0o600)
    return key, str(key_file)


def require_free_port(host: str, port: int, what: str, variable: str) -> None:
    """:class:`StartupError` now, rather than after seconds of start-up, when ``port`` is taken."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host or "0.0.0.0", port))
        except OSError as exc:
            raise StartupError(
                f"the {what} port {port} is in use ({exc.strerror}): stop what uses it, or set {variable}"
            ) from exc


class LocalStack:
    """The running platform: moto server, provisioned resources, dispatcher, rules, gateway."""

    def __init__(self, config: LocalConfig, console: TextIO | None = None) -> None:
        self.config = config
        self.console: TextIO = console or sys.stdout
        self.template = locate_template(config.template)
        self.root = self.template.parent
        self.state_dir = (config.state_dir or self.root / ".goflow").resolve()
        self.started_at = time.monotonic()
        self.startup_seconds = 0.0
        self.moto: MotoServer | None = None
        self.dispatcher = LambdaDispatcher()
        self.feed: StatusChangeFeed | None = None
        self.router: RuleRouter | None = None
        self.gateway: Gateway | None = None
        self.provisioned: ProvisionedStack | None = None
        self.api_key = ""
        self.api_key_source = ""
        self.warnings: list[str] = []
        self.timings: dict[str, float] = {}
        self.warm = threading.Event()
        self._stopping = threading.Event()
        self._lazy_handlers: list[LazyHandler] = []
        self._warm_up_thread: threading.Thread | None = None
        self._session: Any = None
        self.sink: LogSink | None = None
        self._log_handlers: list[logging.Handler] = []
        self._saved_stdout: TextIO | None = None
        self._saved_warning_filters: list[Any] = []
        self._saved_environ: dict[str, str] | None = None

    # ------------------------------------------------------------------ properties
    @property
    def api_url(self) -> str:
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "") else self.config.host
        return f"http://{host}:{self.gateway.port if self.gateway else self.config.port}"

    @property
    def aws_endpoint(self) -> str:
        return self.moto.endpoint if self.moto else f"http://127.0.0.1:{self.config.aws_port}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "logs" / LOG_FILE

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalStack:
        """Bring everything up; :class:`StartupError` (with everything started so far stopped) if it fails."""
        try:
            self._start()
        except Exception:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - self.started_at
        logger.info("local stack ready", extra={"startup_s": round(self.startup_seconds, 2), **self.timings})
        return self

    def _start(self) -> None:
        moto_host = "0.0.0.0" if self.config.host == "0.0.0.0" else "127.0.0.1"
        require_free_port(self.config.host, self.config.port, "API", "GOFLOW_PORT")
        require_free_port(moto_host, self.config.aws_port, "AWS", "GOFLOW_AWS_PORT")
        self._saved_environ = dict(os.environ)
        self._prepare_environment()
        self._open_logs()
        with self._phase("moto"):
            self._start_moto()
        isolate_powertools_log_keys()
        with self._phase("provision"):
            from goflow import composition

            composition.reset()
            self.provisioned = self._provision()
        environment, conflicts = shared_environment(self.provisioned.functions)
        self.warnings.extend(self.provisioned.warnings + conflicts)
        os.environ.update(environment)
        self._register_functions()
        self.dispatcher.install()
        self.router = RuleRouter(
            self._client("events"),
            self.dispatcher.invoke,
            self._client("sqs"),
            buses=sorted({rule.event_bus for rule in self.provisioned.rules} or {"default"}),
        )
        self.feed = StatusChangeFeed(self._route_event)
        with self._phase("api_key"):
            self._create_api_key(environment.get("GOFLOW_TABLE_NAME"))
        with self._phase("api_handler"):
            self._start_gateway()
        self._warm_up_thread = threading.Thread(target=self._warm_up, name="warm-up", daemon=True)
        self._warm_up_thread.start()

    def _warm_up(self) -> None:
        """What is not needed to answer the first request, done after the API is up.

        Hooking the end of executions imports moto's ASL interpreter, which the first
        CreateStateMachine would import anyway; the functions not behind an HTTP route are imported
        too (their cold starts). In practice no execution ends before the hook is in place: its state
        machine's creation waits for the same import.
        """
        started = time.monotonic()
        try:
            if self.feed is not None and not self._stopping.is_set():
                self.feed.install()
            for function in self._lazy_handlers:
                if self._stopping.is_set():
                    return
                function.load()
        except Exception:
            logger.exception("warm-up failed")
        finally:
            self.timings["warm_up"] = round(time.monotonic() - started, 3)
            self.warm.set()
        logger.info("warm", extra={"warm_up_s": self.timings["warm_up"]})

    def wait_warm(self, timeout: float = 60.0) -> bool:
        """Block until the background warm-up is done (tests, benchmarks)."""
        return self.warm.wait(timeout)

    @contextlib.contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = round(time.monotonic() - started, 3)

    def _start_moto(self) -> None:
        import boto3

        share_botocore_data()
        defer_moto_batch()
        cache_moto_module_list()
        self._session = boto3.session.Session()
        host = "0.0.0.0" if self.config.host == "0.0.0.0" else "127.0.0.1"
        self.moto = MotoServer(host, self.config.aws_port)
        try:
            self.moto.start()
        except (OSError, SystemExit) as exc:  # werkzeug exits when it cannot bind
            self.moto = None
            port = self.config.aws_port
            raise StartupError(f"the AWS port {port} is not free ({exc}); set GOFLOW_AWS_PORT") from exc
        os.environ["MOTO_PORT"] = str(self.moto.port)
        os.environ["AWS_ENDPOINT_URL"] = self.moto.endpoint
        self.moto.configure(MOTO_CONFIG)

    def stop(self) -> None:
        """Stop the gateway, the feed, the dispatcher and moto; put the process back as it was."""
        self._stopping.set()
        if self._warm_up_thread is not None:
            self._warm_up_thread.join(30)
        if self.gateway is not None:
            self.gateway.stop()
        if self.feed is not None:
            self.feed.uninstall()
        self.dispatcher.uninstall()
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
        with contextlib.suppress(Exception):
            from goflow import composition

            composition.reset()
        for name, handler in zip(("", "goflow.local"), self._log_handlers, strict=False):
            logging.getLogger(name).removeHandler(handler)
        self._log_handlers = []
        if self._saved_stdout is not None:
            sys.stdout = self._saved_stdout
            self._saved_stdout = None
            logging.captureWarnings(False)
            warnings.filters[:] = self._saved_warning_filters  # type: ignore[index]
        if self.sink is not None:
            self.sink.flush()
            self.sink.close()
        if self._saved_environ is not None:
            os.environ.clear()
            os.environ.update(self._saved_environ)
            self._saved_environ = None

    # ------------------------------------------------------------------ steps
    def _prepare_environment(self) -> None:
        for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE"):
            os.environ.pop(variable, None)
        os.environ.update(
            {
                # Everything talks to moto: never to a real account, whatever the developer's profile says.
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": self.config.region,
                "AWS_REGION": self.config.region,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        no_proxy = [p for p in os.environ.get("NO_PROXY", os.environ.get("no_proxy", "")).split(",") if p]
        for host in ("127.0.0.1", "localhost"):
            if host not in no_proxy:
                no_proxy.append(host)
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(no_proxy)
        # No X-Ray daemon locally.
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

    def _open_logs(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        stage = self.config.parameters.get("Stage")
        prefix = f"goflow-{stage}-" if stage else ""
        self.sink = LogSink(self.console, self.log_path, prefix=prefix)
        self._log_handlers = configure_logging(self.sink)
        if self.config.capture_output:
            self._saved_stdout = sys.stdout
            sys.stdout = self.sink
            # Python warnings of the handlers go to the log too (Lambda sends stderr to CloudWatch).
            self._saved_warning_filters = list(warnings.filters)
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            logging.captureWarnings(True)

    def _client(self, service: str) -> Any:
        """A client on moto; one botocore session for all, so service models are loaded once."""
        if self._session is None:
            import boto3

            self._session = boto3.session.Session()
        return self._session.client(service, region_name=self.config.region, endpoint_url=self.aws_endpoint)

    def _provision(self) -> ProvisionedStack:
        from goflow.settings import Settings

        default_sender = Settings.model_fields["default_sender"].default
        provisioner = Provisioner(
            self.template,
            self._client,
            region=self.config.region,
            account_id=ACCOUNT_ID,
            stack_name=self.config.stack_name,
            parameters=self.config.parameters,
            default_sender=default_sender,
        )
        return provisioner.run()

    def _register_functions(self) -> None:
        """Register every function with the dispatcher; each imports its handler on first use."""
        assert self.provisioned is not None
        for spec in self.provisioned.functions:
            if spec.code_dir is None or spec.handler is None:
                continue
            handler = LazyHandler(spec)
            self._lazy_handlers.append(handler)
            self.dispatcher.register(
                LocalFunction(
                    name=spec.name,
                    handler=handler,
                    timeout_seconds=spec.timeout_seconds,
                    memory_mb=spec.memory_mb,
                    arn=spec.arn,
                )
            )

    def _route_event(self, event: dict[str, Any]) -> None:
        assert self.router is not None
        try:
            self.router.publish(event)
        except Exception:
            logger.exception(
                "could not deliver an EventBridge event", extra={"detail_type": event.get("detail-type")}
            )

    def _create_api_key(self, table_name: str | None) -> None:
        from goflow.store.apikeys import ApiKeyRepository

        key, self.api_key_source = dev_api_key(self.config.api_key, self.state_dir / KEY_FILE)
        if not table_name:
            raise StartupError("the template gives the functions no GOFLOW_TABLE_NAME")
        ApiKeyRepository(self._client("dynamodb"), table_name).create(
            DEV_TENANT, label="local dev key", key=key
        )
        self.api_key = key

    def _start_gateway(self) -> None:
        assert self.provisioned is not None
        apis = [api for api in self.provisioned.apis if api.routes]
        if not apis:
            raise StartupError("the template has no HTTP API route to serve")
        if len(apis) > 1:
            self.warnings.append(f"only the first HTTP API ({apis[0].logical_id}) is served locally")
        routed = {route.function for route in apis[0].routes}
        for handler in self._lazy_handlers:
            if handler.spec.name in routed or handler.spec.arn in routed:
                handler.load()
                if handler.error:
                    self.warnings.append(f"{handler.spec.logical_id}: {handler.error}")
        self.gateway = Gateway(
            apis[0],
            self.dispatcher.invoke,
            host=self.config.host,
            port=self.config.port,
            account_id=ACCOUNT_ID,
        )
        try:
            self.gateway.start()
        except OSError as exc:
            self.gateway = None
            raise StartupError(
                f"the API port {self.config.port} is not free ({exc}); set GOFLOW_PORT"
            ) from exc

    # ------------------------------------------------------------------ banner
    def banner(self) -> str:
        """What ``goflow local`` prints once it is up."""
        assert self.provisioned is not None
        api = self.api_url
        lines = [
            "",
            f"GoFlow is running locally (started in {self.startup_seconds:.1f} s).",
            "",
            f"  API           {api}/api   (no auth: {api}/api/health, {api}/api/openapi.json)",
            f"  AWS endpoint  {self.aws_endpoint}   region {self.config.region}, any credentials",
            f"  API key       {self.api_key}   (tenant '{DEV_TENANT}'; from {self._key_origin()})",
            f"  Logs          {self._display(self.log_path)} (JSON lines); readable here",
            "  State         in memory only: every workflow, run and key is lost when this process exits",
        ]
        if self.provisioned.not_emulated:
            lines += ["", "Not emulated (created in AWS, skipped locally):"]
            lines += [
                f"  - {item.logical_id} ({item.type}): {item.reason}"
                for item in self.provisioned.not_emulated
            ]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {warning}" for warning in self.warnings]
        lines += ["", "Quick start (in another terminal; more in docs/local-stack.md):", ""]
        lines += ["  " + line for line in quick_start(api, self.api_key).splitlines()]
        lines += ["", "Inspect AWS with the usual tools, e.g.:",
                  f"  aws --endpoint-url {self.aws_endpoint} stepfunctions list-state-machines",
                  "", "Press Ctrl-C to stop.", ""]  # fmt: skip
        return "\n".join(lines)

    def _key_origin(self) -> str:
        if self.api_key_source == "GOFLOW_API_KEY":
            return "GOFLOW_API_KEY"
        return self._display(Path(self.api_key_source))

    def _display(self, path: Path) -> str:
        with contextlib.suppress(ValueError):
            return str(path.relative_to(Path.cwd()))
        return str(path)


QUICK_START = r"""export GOFLOW_URL=@URL@ GOFLOW_API_KEY=@KEY@
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

# 1. create the seed "Send Welcome Email" workflow
WORKFLOW_ID=$(curl -s -X POST "$GOFLOW_URL/api/workflows" \
  -H "Authorization: Bearer $GOFLOW_API_KEY" -H 'Content-Type: application/json' \
  -d '{"name": "Send Welcome Email",
       "parameters": [{"name": "customer_name", "type": "string", "required": true},
                      {"name": "email", "type": "string", "required": true},
                      {"name": "plan", "type": "string", "default": "free"}],
       "action": "send_email",
       "config": {"to": "{{ params.email }}",
                  "message": "Welcome {{params.customer_name}}! Your {{params.plan}} plan is ready."}}' \
  | json '["id"]')

# 2. trigger it with parameters
EXECUTION_ID=$(curl -s -X POST "$GOFLOW_URL/api/workflows/$WORKFLOW_ID/trigger" \
  -H "Authorization: Bearer $GOFLOW_API_KEY" -H 'Content-Type: application/json' \
  -d '{"parameters": {"customer_name": "Alex", "email": "alex@example.com", "plan": "pro"}}' \
  | json '["execution_id"]')

# 3. a second later, read the run: status, per-step timeline and output
sleep 1
curl -s "$GOFLOW_URL/api/executions/$EXECUTION_ID" -H "Authorization: Bearer $GOFLOW_API_KEY" \
  | python3 -m json.tool
"""


def quick_start(api: str, key: str) -> str:
    """Copy-paste shell commands: create the seed workflow, trigger it, read the run (docs/local-stack.md
    has the same and more)."""
    return QUICK_START.replace("@URL@", api).replace("@KEY@", key)


# ---------------------------------------------------------------------------------------------- entry point
def run(config: LocalConfig) -> int:
    """Run until Ctrl-C or SIGTERM; 0 on a clean stop, 1 when the stack cannot start."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    console = sys.stdout
    stack = LocalStack(config, console=console)
    try:
        try:
            stack.start()
        except StartupError as exc:
            console.write(f"goflow local: {exc}\n")
            return 1
        console.write(stack.banner() + "\n")
        console.flush()
        while not stop.wait(0.5):
            pass
        logger.info("stopping")
        stack.stop()
        console.write("goflow local stopped.\n")
        return 0
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.flush()


@contextlib.contextmanager
def running(config: LocalConfig) -> Iterator[LocalStack]:
    """The stack started in this process (tests); stopped on exit."""
    stack = LocalStack(config)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
