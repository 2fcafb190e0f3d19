"""The local stack's dev API key: from ``GOFLOW_API_KEY``, else kept in ``.goflow/local.env``."""

from __future__ import annotations

import contextlib
from pathlib import Path

from goflow.local.config import StartupError

DEV_TENANT = "dev"
KEY_FILE = "local.env"


def read_env_file(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of ``path`` (none when it does not exist)."""
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
