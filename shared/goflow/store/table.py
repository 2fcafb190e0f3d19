"""The GoFlow table as the DynamoDB adapters use it: one injected boto3 client, wire (de)serialisation
and one translation of DynamoDB's errors.

A failed condition becomes :class:`ConditionFailed` (carrying the stored item, when DynamoDB returns
it) and a cancelled transaction :class:`TransactionCancelled`, for the adapter to turn into its own
domain error; a missing table is :class:`TableMissingError`; anything else AWS answers, or failing to
reach AWS at all, is ``EngineError``. Messages are safe to show a client: the AWS error stays in
``__cause__``, for the logs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from goflow.errors import EngineError, GoFlowError, PayloadTooLargeError
from goflow.pagination import MAX_PAGE_SIZE, Page
from goflow.store.items import GSI1, KEY_ATTRIBUTES, deserialize_item, fits_in_item, serialize_item
from goflow.store.tokens import decode_token, encode_token, invalid_token_error

DynamoDBClient = Any  # a boto3 ``dynamodb`` client; typed loosely to keep boto3 stubs optional

_CONDITION_FAILED = "ConditionalCheckFailedException"
_TRANSACTION_CANCELLED = "TransactionCanceledException"
_RESOURCE_NOT_FOUND = "ResourceNotFoundException"
_VALIDATION = "ValidationException"


class ConditionFailed(Exception):
    """A condition expression failed; ``old_item`` is the stored item (plain values) if DynamoDB
    returned it. The ``ClientError`` is the ``__cause__``."""

    def __init__(self, old_item: dict[str, Any] | None) -> None:
        super().__init__("conditional check failed")
        self.old_item = old_item


class TransactionCancelled(Exception):
    """A transaction's condition failed (or it collided with another write). The ``ClientError`` is
    the ``__cause__``."""

    def __init__(self) -> None:
        super().__init__("transaction cancelled")


class TableMissingError(GoFlowError):
    """The configured table does not exist (wrong name, region or endpoint)."""

    status = 500
    code = "table_missing"


class Table:
    """The DynamoDB calls the adapters make on one table, with wire (de)serialisation and error
    translation."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.name = table_name

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        """The item with ``key`` (plain values), or None when there is none."""
        # Strongly consistent: a client reads its own create/update back at once.
        response = self.call("get_item", TableName=self.name, Key=serialize_item(key), ConsistentRead=True)
        item = response.get("Item")
        return deserialize_item(item) if item else None

    def put(
        self,
        attributes: Mapping[str, Any],
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Write the item if ``condition`` holds; ``ConditionFailed`` with the stored item if not,
        ``PayloadTooLargeError`` when the item cannot be stored at all."""
        if not fits_in_item(attributes):
            raise PayloadTooLargeError("The record is larger than the 400 KB a stored item may hold")
        self.call(
            "put_item",
            TableName=self.name,
            Item=serialize_item(attributes),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **_condition(condition, names, values),
        )

    def delete(
        self,
        key: Mapping[str, str],
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Delete the item with ``key`` if ``condition`` holds; ``ConditionFailed`` if not."""
        self.call(
            "delete_item",
            TableName=self.name,
            Key=serialize_item(key),
            **_condition(condition, names, values),
        )

    def query_gsi1(self, gsi1pk: str, limit: int, next_token: str | None) -> Page[dict[str, Any]]:
        """One page of the ``gsi1pk`` partition, newest first; ``InvalidPaginationTokenError`` for a
        token this listing did not issue.

        Asks for one item more than ``limit`` so the last page carries no token. A page can still
        hold fewer than ``limit`` items (DynamoDB reads at most 1 MB per call): only a missing
        ``next_token`` means the end.
        """
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        request: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": GSI1,
            "KeyConditionExpression": "gsi1pk = :gsi1pk",
            "ExpressionAttributeValues": {":gsi1pk": {"S": gsi1pk}},
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if next_token is not None:
            request["ExclusiveStartKey"] = serialize_item(decode_token(next_token, gsi1pk))
        # Only a start key can make a query DynamoDB refuses the client's fault: then it is the token.
        response = self.call(
            "query", invalid=invalid_token_error if next_token is not None else None, **request
        )
        items = [deserialize_item(item) for item in response.get("Items", [])]
        if len(items) > limit:
            items = items[:limit]
            return Page(items, encode_token({name: items[-1][name] for name in KEY_ATTRIBUTES}))
        last_key = response.get("LastEvaluatedKey")
        return Page(items, encode_token(deserialize_item(last_key)) if last_key else None)

    def call(
        self, operation: str, *, invalid: Callable[[], GoFlowError] | None = None, **request: Any
    ) -> dict[str, Any]:
        """The client's ``operation`` (``"put_item"``, ``"transact_write_items"``, ...) with
        ``request`` in wire format, its errors translated; with ``invalid``, a
        ``ValidationException`` is the client's fault and raises ``invalid()``."""
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            if code == _CONDITION_FAILED:
                old = exc.response.get("Item")
                raise ConditionFailed(deserialize_item(old) if old else None) from exc
            if code == _TRANSACTION_CANCELLED:
                raise TransactionCancelled() from exc
            if code == _RESOURCE_NOT_FOUND:
                raise TableMissingError("The data store's table does not exist") from exc
            if code == _VALIDATION and invalid is not None:
                raise invalid() from exc
            # Clients see the message: the AWS details stay in the cause, for the logs.
            raise EngineError(f"The data store failed ({operation}: {code}); try again") from exc
        except BotoCoreError as exc:
            raise EngineError(f"The data store is unreachable ({operation}); try again") from exc
        return response


def _condition(
    expression: str, names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The request parameters of a condition expression, its values in wire format."""
    request: dict[str, Any] = {"ConditionExpression": expression}
    if names:
        request["ExpressionAttributeNames"] = dict(names)
    if values:
        request["ExpressionAttributeValues"] = serialize_item(values)
    return request
