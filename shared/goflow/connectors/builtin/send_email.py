"""``send_email``: a plain-text email through Amazon SES."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field, field_validator

from goflow.connectors.base import Connector, ConnectorConfig, ConnectorMetadata, StepContext
from goflow.runtime.classify import classify_client_error

DEFAULT_SENDER = "noreply@goflow.local"
DEFAULT_SUBJECT = "Message from GoFlow"
MAX_RECIPIENTS = 50  # SES's limit per message
EmailAddress = Annotated[str, Field(json_schema_extra={"format": "email"})]
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$|^[^<>]*<[^@\s<>]+@[^@\s<>]+>$")


def _check_address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"'{value}' is not an email address")
    return value


class SendEmailConfig(ConnectorConfig):
    """A plain-text email sent with Amazon SES."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    to: EmailAddress | list[EmailAddress] = Field(
        description="Recipient address, or a list of up to 50 addresses."
    )
    subject: str | None = Field(None, description="Subject; default: the workflow's name.")
    message: str = Field(description="Plain-text body.")
    from_: EmailAddress | None = Field(
        None, alias="from", description="Sender address (verified in SES); default: the platform's sender."
    )

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: str | list[str]) -> list[str]:
        addresses = [value] if isinstance(value, str) else value
        if not addresses:
            raise ValueError("needs at least one address")
        if len(addresses) > MAX_RECIPIENTS:
            raise ValueError(f"at most {MAX_RECIPIENTS} addresses")
        return [_check_address(address) for address in addresses]

    @field_validator("from_")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        return None if value is None else _check_address(value)


class SendEmailConnector(Connector):
    """Sends a text email with SES; the sender defaults to the platform's configured address."""

    name = "send_email"
    metadata = ConnectorMetadata(description="Send a plain-text email with Amazon SES.")
    config_model = SendEmailConfig

    def __init__(self, default_sender: str = DEFAULT_SENDER) -> None:
        self.default_sender = default_sender

    def execute(self, ctx: StepContext, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        """``{"message_id", "to", "subject"}``; SES throttling or 5xx is retryable, a refusal fatal."""
        subject = config.subject or _workflow_name(data) or DEFAULT_SUBJECT
        ses = ctx.aws_client("ses")
        ctx.check_deadline()
        try:
            response = ses.send_email(
                Source=config.from_ or self.default_sender,
                Destination={"ToAddresses": config.to},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": config.message, "Charset": "UTF-8"}},
                },
            )
        except ClientError as exc:
            raise classify_client_error(exc, prefix="SES did not send the email: ") from exc
        ctx.logger.info("email sent", recipients=len(config.to), message_id=response["MessageId"])
        return {
            "message_id": response["MessageId"],
            "to": config.to,
            "subject": subject,
            "message": config.message,
        }


def _workflow_name(data: Mapping[str, Any]) -> str:
    execution = data.get("execution")
    name = execution.get("workflow_name") if isinstance(execution, Mapping) else None
    return name if isinstance(name, str) else ""
