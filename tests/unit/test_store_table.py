"""The one translation of DynamoDB's errors the adapters share (``goflow.store.table``), against a
tiny fake client that answers every operation with the same error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from goflow.errors import EngineError, InvalidPaginationTokenError
from goflow.store import DynamoWorkflowRepository
from goflow.store.apikeys import ApiKeyRepository
from goflow.store.idempotency import DynamoIdempotencyStore
from goflow.store.items import serialize_item
from goflow.store.table import ConditionFailed, Table, TableMissingError, TransactionCancelled
from goflow.store.tokens import encode_token

TABLE = "goflow-secret-table-name"
AWS_MESSAGE = "arn:aws:dynamodb:us-east-1:123456789012:table/goflow-secret-table-name: request id ABC"


class FailingDynamoDB:
    """Every operation raises ``error``; ``requests`` records what was asked."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Callable[..., dict[str, Any]]:
        def call(**request: Any) -> dict[str, Any]:
            self.requests.append((operation, request))
            raise self.error

        return call


def client_error(code: str, operation: str, **response: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": AWS_MESSAGE}, **response}, operation)


def assert_client_safe(message: str) -> None:
    assert AWS_MESSAGE not in message
    assert TABLE not in message
    assert "amazonaws" not in message


def test_a_failed_condition_carries_the_stored_item() -> None:
    # Given a put whose condition fails on an item DynamoDB returns
    stored = {"pk": "WF#1", "sk": "WF", "version": 3}
    error = client_error("ConditionalCheckFailedException", "PutItem", Item=serialize_item(stored))
    table = Table(FailingDynamoDB(error), TABLE)

    # When the item is written
    with pytest.raises(ConditionFailed) as raised:
        table.put(
            {"pk": "WF#1", "sk": "WF", "version": 4}, "#v = :v", names={"#v": "version"}, values={":v": 2}
        )

    # Then the adapter gets the stored item in plain values, and the AWS error as the cause
    assert raised.value.old_item == stored
    assert raised.value.__cause__ is error


def test_a_failed_condition_without_a_stored_item_carries_none() -> None:
    # Given a delete whose condition fails on an item that is not there
    error = client_error("ConditionalCheckFailedException", "DeleteItem")
    table = Table(FailingDynamoDB(error), TABLE)

    # When the item is deleted / Then the failure says there is no stored item
    with pytest.raises(ConditionFailed) as raised:
        table.delete({"pk": "WF#1", "sk": "WF"}, "attribute_exists(pk)")
    assert raised.value.old_item is None


def test_a_cancelled_transaction_is_its_own_error() -> None:
    # Given a transaction DynamoDB cancels
    error = client_error("TransactionCanceledException", "TransactWriteItems")
    table = Table(FailingDynamoDB(error), TABLE)

    # When it is written / Then the adapter can tell, with the AWS error as the cause
    with pytest.raises(TransactionCancelled) as raised:
        table.call("transact_write_items", TransactItems=[])
    assert raised.value.__cause__ is error


def test_a_missing_table_is_a_table_missing_error_with_a_client_safe_message() -> None:
    # Given a table that does not exist
    error = client_error("ResourceNotFoundException", "GetItem")
    table = Table(FailingDynamoDB(error), TABLE)

    # When an item is read
    with pytest.raises(TableMissingError) as raised:
        table.get({"pk": "WF#1", "sk": "WF"})

    # Then it is a 500 with a stable code that names neither the table nor AWS's words
    assert (raised.value.status, raised.value.code) == (500, "table_missing")
    assert_client_safe(raised.value.message)
    assert raised.value.__cause__ is error


@pytest.mark.parametrize(
    "read",
    [
        lambda client: DynamoWorkflowRepository(client, TABLE).get("acme", "wf_1"),
        lambda client: ApiKeyRepository(client, TABLE).tenant_for("gf_" + "a" * 43),
        lambda client: DynamoIdempotencyStore(client, TABLE).claim(
            "acme", "key-1", fingerprint="f", workflow_id="wf_1", execution_id="ex_1", trace_id="t"
        ),
    ],
    ids=["workflows", "api keys", "idempotency"],
)
def test_every_adapter_reports_a_missing_table(read: Callable[[Any], object]) -> None:
    # Given a table that does not exist / When any adapter uses it / Then it says so
    with pytest.raises(TableMissingError):
        read(FailingDynamoDB(client_error("ResourceNotFoundException", "Any")))


def test_other_aws_errors_are_engine_errors_without_aws_details() -> None:
    # Given DynamoDB throttling
    error = client_error("ThrottlingException", "GetItem")
    table = Table(FailingDynamoDB(error), TABLE)

    # When an item is read
    with pytest.raises(EngineError) as raised:
        table.get({"pk": "WF#1", "sk": "WF"})

    # Then it is a 502 the client may see: the AWS details stay in the cause
    assert raised.value.status == 502
    assert_client_safe(raised.value.message)
    assert raised.value.__cause__ is error


def test_an_unreachable_data_store_is_an_engine_error_without_aws_details() -> None:
    # Given an endpoint botocore cannot reach
    error = EndpointConnectionError(endpoint_url=f"https://dynamodb.us-east-1.amazonaws.com/{TABLE}")
    table = Table(FailingDynamoDB(error), TABLE)

    # When an item is written
    with pytest.raises(EngineError) as raised:
        table.put({"pk": "WF#1", "sk": "WF"}, "attribute_not_exists(pk)")

    # Then it is a 502 that keeps the endpoint out of the message
    assert raised.value.status == 502
    assert_client_safe(raised.value.message)
    assert raised.value.__cause__ is error


def test_a_refused_query_is_the_tokens_fault_only_when_there_is_a_token() -> None:
    # Given DynamoDB refusing every query
    error = client_error("ValidationException", "Query")
    table = Table(FailingDynamoDB(error), TABLE)
    token = encode_token({"pk": "WF#1", "sk": "WF", "gsi1pk": "TENANT#acme#WORKFLOWS", "gsi1sk": "x"})

    # When a listing continues from a well-formed token / Then DynamoDB's refusal makes it invalid
    with pytest.raises(InvalidPaginationTokenError) as raised:
        table.query_gsi1("TENANT#acme#WORKFLOWS", 10, token)
    assert raised.value.__cause__ is error

    # When a listing starts / Then the service failed
    with pytest.raises(EngineError):
        table.query_gsi1("TENANT#acme#WORKFLOWS", 10, None)
