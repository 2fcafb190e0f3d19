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
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from goflow.local.banner import render_banner
from goflow.local.config import LocalConfig, StartupError, locate_template, require_free_port
from goflow.local.devkey import DEV_TENANT, KEY_FILE, dev_api_key
from goflow.local.events import StatusChangeFeed
from goflow.local.functions import LazyHandler, shared_environment
from goflow.local.gateway import Gateway
from goflow.local.lambdas import LambdaDispatcher, LocalFunction
from goflow.local.logs import LogSink, configure_logging, isolate_powertools_log_keys
from goflow.local.moto_server import (
    MOTO_CONFIG,
    MotoServer,
    cache_moto_module_list,
    defer_moto_batch,
    share_botocore_data,
)
from goflow.local.provision import Provisioner
from goflow.local.provisioned import ProvisionedStack
from goflow.local.rules import RuleRouter

logger = logging.getLogger("goflow.local")

ACCOUNT_ID = "123456789012"
LOG_FILE = "goflow.jsonl"


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
        console.write(render_banner(stack) + "\n")
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
