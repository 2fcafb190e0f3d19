"""``goflow keys create|revoke`` against a moto DynamoDB table created from ``template.yaml``."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import boto3
import pytest

from goflow.cli import main
from goflow.store.apikeys import ApiKeyRepository

KEY_LINE = re.compile(r"^\s+(gf_[A-Za-z0-9_-]{43})$", re.MULTILINE)
KEY_ID = re.compile(r"\b(key_[0-9a-f]{20})\b")


@pytest.fixture
def table(dynamodb_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GOFLOW_TABLE_NAME", dynamodb_table)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return dynamodb_table


def repository(table: str) -> ApiKeyRepository:
    return ApiKeyRepository(boto3.client("dynamodb", region_name="us-east-1"), table)


def items(table: str) -> list[dict[str, Any]]:
    return list(boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table)["Items"])


def test_create_prints_the_key_once_and_stores_only_its_hash(
    table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the configured table
    # When a key is created for a tenant
    status = main(["keys", "create", "--tenant", "acme", "--label", "ci"])

    # Then the key is printed once, with the warning, and it maps to the tenant
    out = capsys.readouterr().out
    assert status == 0
    [key] = KEY_LINE.findall(out)
    assert out.count(key) == 1
    assert "only time the key is shown" in out
    assert repository(table).tenant_for(key) == "acme"
    # And only its SHA-256 is stored, never the key itself
    stored = repr(items(table))
    assert key not in stored and key[3:] not in stored
    assert hashlib.sha256(key.encode()).hexdigest() in stored


def test_revoke_by_key_id_disables_the_key(table: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a created key
    main(["keys", "create", "--tenant", "acme"])
    out = capsys.readouterr().out
    [key], key_id = KEY_LINE.findall(out), KEY_ID.search(out)
    assert key_id is not None

    # When it is revoked by its id, twice
    first = main(["keys", "revoke", key_id.group(1)])
    second = main(["keys", "revoke", key_id.group(1)])

    # Then it no longer maps to a tenant, and revoking again is harmless
    assert first == 0 and second == 0
    assert f"Revoked API key {key_id.group(1)} of tenant acme" in capsys.readouterr().out
    assert repository(table).tenant_for(key) is None


def test_revoking_an_unknown_key_id_fails_clearly(table: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given no such key
    # When it is revoked
    status = main(["keys", "revoke", "key_0123456789abcdef0123"])

    # Then a non-zero exit and a plain message
    assert status == 1
    assert "API key key_0123456789abcdef0123 not found" in capsys.readouterr().err


def test_a_missing_table_is_reported_plainly(
    dynamodb_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a table name that does not exist
    # When a key is created in it
    status = main(["keys", "create", "--tenant", "acme", "--table", "nope", "--region", "us-east-1"])

    # Then the user is told which table is missing and what to check, with no traceback
    err = capsys.readouterr().err
    assert status == 1
    assert "table nope (us-east-1) does not exist" in err
    assert "Traceback" not in err


def test_no_table_configured_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given neither --table nor GOFLOW_TABLE_NAME
    monkeypatch.delenv("GOFLOW_TABLE_NAME", raising=False)

    # When a key is created
    status = main(["keys", "create", "--tenant", "acme"])

    # Then the fix is named
    assert status == 1
    assert "pass --table NAME or set GOFLOW_TABLE_NAME" in capsys.readouterr().err


@pytest.mark.parametrize("tenant", ["", "a#b", "-lead", "x" * 65, "white space"])
def test_a_bad_tenant_name_is_refused(table: str, tenant: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a tenant name that cannot be part of a key
    # When a key is created for it
    status = main(["keys", "create", f"--tenant={tenant}"])

    # Then nothing is stored and the rule is shown
    assert status == 1
    assert "tenant: must be 1-64 letters" in capsys.readouterr().err
    assert items(table) == []


def test_keys_without_an_action_shows_usage(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the keys command alone
    # When it runs
    with pytest.raises(SystemExit) as exited:
        main(["keys"])

    # Then argparse explains the usage
    assert exited.value.code == 2
    assert "create" in capsys.readouterr().err


def test_local_is_always_listed(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the goflow command
    # When its help is shown
    with pytest.raises(SystemExit):
        main(["--help"])

    # Then both commands are there (local either runs the stack or says why it cannot)
    out = capsys.readouterr().out
    assert "keys" in out and "local" in out


def test_an_unreachable_table_is_reported_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    # Given an endpoint where nothing listens (outside moto: a real connection attempt on loopback)
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    # When a key is created against it
    status = main(
        ["keys", "create", "--tenant", "acme", "--table", "t", "--endpoint-url", f"http://127.0.0.1:{port}"]
    )

    # Then the operator is told the table cannot be reached, and why
    err = capsys.readouterr().err
    assert status != 0
    assert "cannot reach table t" in err and "EndpointConnectionError" in err
