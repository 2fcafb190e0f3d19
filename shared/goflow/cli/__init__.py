"""The ``goflow`` command: API keys (``goflow keys create|revoke``) and the local stack (``goflow local``).

``keys`` talks to the configured DynamoDB table: ``--table`` or ``GOFLOW_TABLE_NAME``, ``--region`` or
``AWS_REGION``/``AWS_DEFAULT_REGION``, ``--endpoint-url`` (or boto3's ``AWS_ENDPOINT_URL*``) for a
local stack. A new key is printed exactly once: GoFlow stores only its hash.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError

from goflow.errors import EngineError, GoFlowError
from goflow.store.apikeys import ApiKeyRepository
from goflow.store.table import TableMissingError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

# Every subcommand sets ``func`` (argparse's idiom): it takes the parsed arguments, returns the exit status.
Command = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``goflow`` command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Command | None = getattr(args, "func", None)
    if command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return command(args)
    except CliError as error:
        print(f"goflow: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except GoFlowError as error:
        problems = "".join(f"\n  {d.field}: {d.message}" for d in error.details)
        print(f"goflow: error: {error.message}{problems}", file=sys.stderr)
        return EXIT_ERROR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="goflow", description="GoFlow workflow automation")
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _register_keys(subcommands)
    _register_local(subcommands)
    return parser


# ------------------------------------------------------------------------------------------- keys


def _register_keys(subcommands: Any) -> None:
    table = argparse.ArgumentParser(add_help=False)
    table.add_argument("--table", default=None, help="DynamoDB table (default: $GOFLOW_TABLE_NAME)")
    table.add_argument(
        "--region", default=None, help="AWS region (default: $AWS_REGION or $AWS_DEFAULT_REGION)"
    )
    table.add_argument("--endpoint-url", default=None, help="DynamoDB endpoint, e.g. a local stack's")

    keys = subcommands.add_parser("keys", help="create and revoke API keys")
    key_commands = keys.add_subparsers(title="keys commands", dest="action", required=True)

    create = key_commands.add_parser("create", parents=[table], help="create an API key for a tenant")
    create.add_argument("--tenant", required=True, help="the tenant the key acts for")
    create.add_argument("--label", default=None, help="a note to tell keys apart (e.g. 'ci')")
    create.set_defaults(func=_create_key)

    revoke = key_commands.add_parser("revoke", parents=[table], help="revoke an API key by its id")
    revoke.add_argument(
        "key_id", metavar="KEY_ID", help="the key's id (key_...), as `keys create` printed it"
    )
    revoke.set_defaults(func=_revoke_key)


def _create_key(args: argparse.Namespace) -> int:
    out = sys.stdout
    repository, table = _repository(args)
    key_id, key = _on_table(table, lambda: repository.create(args.tenant, label=args.label))
    print(
        f"Created API key {key_id} for tenant {args.tenant}" + (f" ({args.label})" if args.label else ""),
        file=out,
    )
    print("", file=out)
    print(f"    {key}", file=out)
    print("", file=out)
    print("This is the only time the key is shown: GoFlow stores only its SHA-256 hash.", file=out)
    print("Send it as 'Authorization: Bearer <key>'. Revoke it with: goflow keys revoke " + key_id, file=out)
    return EXIT_OK


def _revoke_key(args: argparse.Namespace) -> int:
    out = sys.stdout
    repository, table = _repository(args)
    revoked = _on_table(table, lambda: repository.revoke(args.key_id))
    print(f"Revoked API key {revoked.key_id} of tenant {revoked.tenant_id}", file=out)
    return EXIT_OK


def _repository(args: argparse.Namespace) -> tuple[ApiKeyRepository, str]:
    table = args.table or os.environ.get("GOFLOW_TABLE_NAME")
    if not table:
        raise CliError("no table: pass --table NAME or set GOFLOW_TABLE_NAME")
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise CliError("no region: pass --region REGION or set AWS_REGION")
    client = boto3.session.Session().client("dynamodb", region_name=region, endpoint_url=args.endpoint_url)
    return ApiKeyRepository(
        client, table
    ), f"{table} ({region}{', ' + args.endpoint_url if args.endpoint_url else ''})"


def _on_table(table: str, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except TableMissingError as error:
        raise CliError(
            f"table {table} does not exist; check --table/GOFLOW_TABLE_NAME, the region and the endpoint "
            "(the stack's outputs name the table)"
        ) from error
    except EngineError as error:
        # The adapter keeps botocore's details out of its message; the operator needs them here.
        cause = error.__cause__
        if isinstance(cause, BotoCoreError):
            raise CliError(f"cannot reach table {table}: {type(cause).__name__}: {cause}") from error
        raise
    except GoFlowError:
        raise
    except Exception as error:  # noqa: BLE001 - botocore's credential/endpoint errors, told plainly
        raise CliError(f"cannot reach table {table}: {type(error).__name__}: {error}") from error


# ------------------------------------------------------------------------------------------- local


def _register_local(subcommands: Any) -> None:
    """``goflow local`` lives in :mod:`goflow.cli.local` (needs the ``local`` extra); its
    ``register(subparsers)`` adds the parser and sets ``func``. If it cannot be imported, ``goflow
    local`` still exists and says why instead of vanishing from the help."""
    try:
        local = importlib.import_module("goflow.cli.local")
    except ImportError as error:
        if getattr(error, "name", None) == "goflow.cli.local":
            reason = "this installation has no goflow/cli/local.py"
        else:
            missing = getattr(error, "name", None) or error
            reason = f"it needs {missing}; install the local extra: pip install -e '.[local]'"
        parser = subcommands.add_parser("local", help="run GoFlow locally (unavailable: see `goflow local`)")
        parser.set_defaults(func=lambda _args: _local_unavailable(reason))
        return
    local.register(subcommands)


def _local_unavailable(reason: str) -> int:
    print(
        f"goflow: error: `goflow local` is unavailable: {reason}",
        file=sys.stderr,
    )
    return EXIT_ERROR
