"""Secrets for ``{{ secrets.<name> }}`` templates, read from AWS Secrets Manager."""

from __future__ import annotations

from botocore.exceptions import ClientError

from goflow.connectors.errors import FatalStepError, StepError
from goflow.runtime.classify import classify_client_error
from goflow.runtime.clients import ClientFactory

_NOT_FOUND = {"ResourceNotFoundException"}


class SecretsManagerReader:
    """Reads ``prefix + name`` from Secrets Manager; each secret once per reader (one per invocation).

    Errors name the secret, never its value.
    """

    def __init__(self, client_factory: ClientFactory, prefix: str) -> None:
        self._client_factory = client_factory
        self._prefix = prefix
        self._cache: dict[str, str] = {}

    def __call__(self, name: str, remaining_seconds: float) -> str:
        """The secret's string value; :class:`FatalStepError` when it does not exist or is binary."""
        if name not in self._cache:
            self._cache[name] = self._read(name, remaining_seconds)
        return self._cache[name]

    def _read(self, name: str, remaining_seconds: float) -> str:
        secret_id = f"{self._prefix}{name}"
        client = self._client_factory("secretsmanager", remaining_seconds)
        try:
            response = client.get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _NOT_FOUND:
                raise FatalStepError(
                    f"secret '{name}' does not exist (Secrets Manager id '{secret_id}')"
                ) from exc
            raise _reading_failed(exc, name) from exc
        value = response.get("SecretString")
        if value is None:
            raise FatalStepError(
                f"secret '{name}' ('{secret_id}') holds binary data; GoFlow reads text secrets"
            )
        return str(value)


def _reading_failed(exc: ClientError, name: str) -> StepError:
    return classify_client_error(exc, prefix=f"reading secret '{name}' failed: ")
