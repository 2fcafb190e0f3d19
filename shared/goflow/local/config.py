"""How to run the local stack: :class:`LocalConfig`, the template it runs, the ports it needs free.

What is wrong with them is a :class:`StartupError`, reported before anything starts.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from goflow.local.cfn import TEMPLATE_FILE

DEFAULT_PARAMETERS = {"Stage": "local"}


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
