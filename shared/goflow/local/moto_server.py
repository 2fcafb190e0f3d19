"""moto as a server in this process, and the patches that make its start-up and requests fast."""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


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
