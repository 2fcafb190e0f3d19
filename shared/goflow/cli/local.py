"""``goflow local``: run the whole platform on this machine (see :mod:`goflow.local.stack`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from goflow.local.config import LocalConfig
from goflow.local.stack import run

EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    """Add the ``local`` subcommand to the ``goflow`` command line."""
    parser = subparsers.add_parser(
        "local",
        help="run GoFlow on this machine (moto AWS, in-process Lambda, local API Gateway)",
        description=(
            "Run GoFlow locally: no AWS account, no Docker. AWS comes from moto, created from "
            "template.yaml; state lives in memory and is lost on exit. Ctrl-C stops it."
        ),
    )
    parser.add_argument(
        "--port", type=int, default=None, help="API Gateway port (default: $GOFLOW_PORT or 8080)"
    )
    parser.add_argument(
        "--aws-port",
        type=int,
        default=None,
        help="moto (AWS) endpoint port (default: $GOFLOW_AWS_PORT or 4566)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address the API listens on (default: 127.0.0.1)")
    parser.add_argument(
        "--template", type=Path, default=None, help="SAM template (default: the nearest template.yaml)"
    )
    parser.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, as for sam deploy (default: Stage=local)",
    )
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    """Run the local stack until Ctrl-C; the process exit status."""
    config = LocalConfig.from_env(os.environ)
    config.host = args.host
    if args.port is not None:
        config.port = args.port
    if args.aws_port is not None:
        config.aws_port = args.aws_port
    if args.template is not None:
        config.template = args.template
    for override in args.parameter_overrides:
        name, sep, value = override.partition("=")
        if not sep or not name:
            print(f"goflow local: --parameter-overrides takes KEY=VALUE, got {override!r}")
            return EXIT_USAGE
        config.parameters[name] = value
    return run(config)
