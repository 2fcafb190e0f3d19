"""The DynamoDB item model (mapping to and from the domain, the size guard), pagination tokens,
and the adapter's paging and error translation against a fake client."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from goflow.errors import EngineError, InvalidPaginationTokenError
from goflow.executions.model import Execution, ExecutionFailure, StepError, StepSummary
from goflow.store import DynamoWorkflowRepository
from goflow.store.items import (
    MAX_ITEM_BYTES,
    ExecutionItem,
    WorkflowItem,
    deserialize_item,
    execution_json,
    fit_execution,
    fits_in_item,
    iso_utc,
    serialize_item,
)
from goflow.store.tokens import decode_token, encode_token
from goflow.workflows.model import RetryPolicy, Step, Trigger, Workflow

CREATED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def make_workflow(**changes: Any) -> Workflow:
    fields: dict[str, Any] = {
        "id": "wf_01",
        "tenant_id": "acme",
        "name": "Welcome",
        "description": "Greets new customers",
        "trigger": Trigger(type="schedule", expression="rate(5 minutes)", parameters={"n": 1}),
        "steps": [
            Step(id="fetch", action="http_request", config={"url": "{{ params.url }}"}),
            Step(id="mail", action="send_email", retry=RetryPolicy(max_attempts=2), on_error="continue"),
        ],
        "version": 3,
        "created_at": CREATED,
        "updated_at": CREATED + timedelta(hours=1),
        "state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:goflow-wf_01",
    }
    fields.update(changes)
    return Workflow(**fields)


def make_execution(steps: list[StepSummary] | None = None, **changes: Any) -> Execution:
    fields: dict[str, Any] = {
        "id": "ex_01",
        "tenant_id": "acme",
        "workflow_id": "wf_01",
        "workflow_version": 3,
        "workflow_name": "Welcome",
        "status": "FAILED",
        "parameters": {"email": "a@example.com"},
        "trigger": {"type": "manual"},
        "trace_id": "1-67c2d000-000000000000000000000000",
        "started_at": CREATED,
        "deadline": CREATED + timedelta(minutes=5),
        "finished_at": CREATED + timedelta(seconds=3),
        "failure": ExecutionFailure(error="HttpError", cause="503", step_id="fetch"),
        "steps": steps
        if steps is not None
        else [
            StepSummary(
                step_id="fetch",
                status="FAILED",
                attempts=2,
                started_at=CREATED,
                finished_at=CREATED + timedelta(seconds=2),
                error=StepError(error="HttpError", cause="503"),
            )
        ],
    }
    fields.update(changes)
    return Execution(**fields)


def through_the_wire(attributes: dict[str, Any]) -> dict[str, Any]:
    """What a get_item would hand back for ``attributes`` after a put_item."""
    return deserialize_item(json.loads(json.dumps(serialize_item(attributes))))


def test_workflow_round_trips_through_its_item() -> None:
    # Given a saved workflow
    workflow = make_workflow()

    # When it is mapped to an item, sent over the wire and read back
    attributes = WorkflowItem.from_workflow(workflow).to_attributes()
    restored = WorkflowItem.from_attributes(through_the_wire(attributes)).to_workflow()

    # Then nothing is lost, and the keys follow the table design
    assert restored == workflow
    assert attributes["pk"] == "TENANT#acme#WORKFLOW#wf_01"
    assert attributes["sk"] == "WORKFLOW"
    assert attributes["gsi1pk"] == "TENANT#acme#WORKFLOWS"
    assert attributes["gsi1sk"] == "2025-03-01T09:30:00.000000Z#wf_01"
    assert attributes["entity"] == "workflow"
    assert attributes["version"] == 3
    assert attributes["tenant_id"] == "acme"
    assert attributes["workflow_id"] == "wf_01"
    assert attributes["updated_at"] == "2025-03-01T10:30:00.000000Z"


def test_the_stored_document_carries_no_table_keys() -> None:
    # Given the item of a workflow and of an execution
    workflow_doc = json.loads(WorkflowItem.from_workflow(make_workflow()).doc)
    execution_doc = json.loads(ExecutionItem.from_execution(make_execution(), expires_at=1).doc)

    # Then their documents are domain data only
    for doc in (workflow_doc, execution_doc):
        assert not {"pk", "sk", "gsi1pk", "gsi1sk", "expires_at", "entity"} & set(doc)


def test_execution_round_trips_through_its_item() -> None:
    # Given a finished execution with a step timeline
    execution = make_execution()

    # When it is mapped to an item, sent over the wire and read back
    attributes = ExecutionItem.from_execution(execution, expires_at=1_748_770_200).to_attributes()
    restored = ExecutionItem.from_attributes(through_the_wire(attributes)).to_execution()

    # Then nothing is lost, and the keys follow the table design
    assert restored == execution
    assert restored.steps[0].duration_ms == 2000
    assert attributes["pk"] == "TENANT#acme#EXECUTION#ex_01"
    assert attributes["sk"] == "EXECUTION"
    assert attributes["gsi1pk"] == "TENANT#acme#WORKFLOW#wf_01#EXECUTIONS"
    assert attributes["gsi1sk"] == "2025-03-01T09:30:00.000000Z#ex_01"
    assert attributes["status"] == "FAILED"
    assert attributes["expires_at"] == 1_748_770_200
    # Derived values are recomputed on load, never stored
    assert "duration_ms" not in json.loads(attributes["doc"])


def test_sort_key_timestamps_are_fixed_width_utc_so_string_order_is_time_order() -> None:
    # Given instants in different zones and precisions, one naive (read as UTC)
    paris = timezone(timedelta(hours=1))
    instants = [
        datetime(2025, 3, 1, 10, 0, 0, 1, tzinfo=paris),  # 09:00:00.000001 UTC
        datetime(2025, 3, 1, 9, 0),
        datetime(2025, 3, 1, 9, 0, 0, 500_000, tzinfo=UTC),
    ]

    # When they are formatted for a sort key
    formatted = [iso_utc(instant) for instant in instants]

    # Then they are UTC, fixed width, and sort exactly as the instants do
    assert formatted == [
        "2025-03-01T09:00:00.000001Z",
        "2025-03-01T09:00:00.000000Z",
        "2025-03-01T09:00:00.500000Z",
    ]
    assert sorted(formatted) == [formatted[1], formatted[0], formatted[2]]


def test_an_execution_that_fits_is_stored_untouched() -> None:
    # Given a small execution
    execution = make_execution()

    # When it is fitted
    fitted = fit_execution(execution)

    # Then it is the same record
    assert fitted is execution


def test_size_guard_truncates_the_largest_outputs_first_until_it_fits() -> None:
    # Given an execution whose outputs add up to more than the budget
    small = {"ok": True}
    steps = [
        StepSummary(step_id="tiny", status="SUCCEEDED", output=small),
        StepSummary(step_id="big", status="SUCCEEDED", output={"blob": "x" * 6_000}),
        StepSummary(step_id="huge", status="SUCCEEDED", output={"blob": "y" * 9_000}),
        StepSummary(step_id="medium", status="SUCCEEDED", output={"blob": "z" * 3_000}),
    ]
    execution = make_execution(steps=steps)
    budget = len(execution_json(execution).encode()) - 8_000

    # When it is fitted into the budget
    fitted = fit_execution(execution, max_bytes=budget)

    # Then only the largest outputs were replaced by markers that tell their size, and it fits
    outputs = {step.step_id: step.output for step in fitted.steps}
    assert outputs["huge"] == {
        "truncated": True,
        "size_bytes": len(json.dumps({"blob": "y" * 9_000}, separators=(",", ":"))),
    }
    assert outputs["tiny"] == small
    assert outputs["big"] == {"blob": "x" * 6_000}
    assert outputs["medium"] == {"blob": "z" * 3_000}
    assert len(execution_json(fitted).encode()) <= budget
    # And the caller's execution is left as it was
    assert execution.steps[2].output == {"blob": "y" * 9_000}


def test_size_guard_keeps_a_huge_execution_under_the_item_limit() -> None:
    # Given an execution with many large step outputs (2 MB in all)
    steps = [
        StepSummary(step_id=f"s{i}", status="SUCCEEDED", output={"rows": ["r" * 1_000] * 200})
        for i in range(10)
    ]
    execution = make_execution(steps=steps, status="SUCCEEDED", failure=None)

    # When it becomes an item
    attributes = ExecutionItem.from_execution(execution, expires_at=1).to_attributes()

    # Then the item fits in DynamoDB, and still tells which steps ran
    assert fits_in_item(attributes)
    assert len(attributes["doc"].encode()) <= 350_000
    restored = ExecutionItem.from_attributes(attributes).to_execution()
    assert [step.step_id for step in restored.steps] == [f"s{i}" for i in range(10)]
    assert any(step.output.get("truncated") for step in restored.steps)


def test_an_item_over_the_dynamodb_limit_does_not_fit() -> None:
    # Given attributes just over and just under 400 KB
    under = {"pk": "p", "doc": "x" * (MAX_ITEM_BYTES - 10)}
    over = {"pk": "p", "doc": "x" * MAX_ITEM_BYTES}

    # Then only the first fits
    assert fits_in_item(under)
    assert not fits_in_item(over)


KEY = {
    "pk": "TENANT#acme#WORKFLOW#wf_01",
    "sk": "WORKFLOW",
    "gsi1pk": "TENANT#acme#WORKFLOWS",
    "gsi1sk": "2025-03-01T09:30:00.000000Z#wf_01",
}


def test_token_round_trips_and_is_url_safe() -> None:
    # When a position is encoded
    token = encode_token(KEY)

    # Then it is URL-safe text that decodes back for the same listing
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_token(token, KEY["gsi1pk"]) == KEY


def _b64(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("not a token!", id="not-base64"),
        pytest.param("é", id="not-ascii"),
        pytest.param(_b64(b"\xff\xfe"), id="not-utf8"),
        pytest.param(_b64(b"{not json"), id="not-json"),
        pytest.param(_b64([1, 2]), id="not-a-dict"),
        pytest.param(_b64({k: v for k, v in KEY.items() if k != "sk"}), id="missing-key"),
        pytest.param(_b64({**KEY, "extra": "x"}), id="extra-key"),
        pytest.param(_b64({**KEY, "sk": 7}), id="non-string"),
        pytest.param(_b64({**KEY, "sk": ""}), id="empty"),
        pytest.param(encode_token({**KEY, "gsi1pk": "TENANT#other#WORKFLOWS"}), id="other-tenant"),
        pytest.param("", id="blank"),
        pytest.param("A" * 10_000, id="too-long"),
    ],
)
def test_a_token_this_listing_did_not_issue_is_rejected(token: str) -> None:
    # When a bad or foreign token is decoded for acme's workflow listing
    with pytest.raises(InvalidPaginationTokenError) as raised:
        decode_token(token, KEY["gsi1pk"])

    # Then it is a 400 that names the next_token field
    assert raised.value.status == 400
    assert [detail.field for detail in raised.value.details] == ["next_token"]


# --- the adapter against a fake client that pages the way DynamoDB does ------------------------


class FakeDynamoDB:
    """Answers ``query`` like DynamoDB: a LastEvaluatedKey whenever ``Limit`` items were read,
    even when nothing follows; fails every other call with ``error``."""

    def __init__(self, items: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.items = [serialize_item(item) for item in items]
        self.error = error
        self.requests: list[dict[str, Any]] = []

    def query(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        start = 0
        if "ExclusiveStartKey" in request:
            positions = [item["pk"] for item in self.items]
            start = positions.index(request["ExclusiveStartKey"]["pk"]) + 1
        page = self.items[start : start + request["Limit"]]
        response: dict[str, Any] = {"Items": page, "Count": len(page)}
        if len(page) == request["Limit"]:
            response["LastEvaluatedKey"] = {name: page[-1][name] for name in ("pk", "sk", "gsi1pk", "gsi1sk")}
        return response

    def get_item(self, **request: Any) -> dict[str, Any]:
        assert self.error is not None
        raise self.error


def stored_workflows(count: int) -> list[dict[str, Any]]:
    newest_first = [
        make_workflow(id=f"wf_{n}", created_at=CREATED + timedelta(minutes=n)) for n in range(count)
    ]
    return [WorkflowItem.from_workflow(w).to_attributes() for w in reversed(newest_first)]


def test_a_page_that_ends_the_listing_exactly_carries_no_token() -> None:
    # Given four workflows in a table that reports a next key whenever a page is full
    repository = DynamoWorkflowRepository(FakeDynamoDB(stored_workflows(4)), "goflow")

    # When they are listed two at a time
    first = repository.list("acme", 2, None)
    second = repository.list("acme", 2, first.next_token)

    # Then the second page is known to be the last: no token, so no empty third page
    assert [w.id for w in first.items + second.items] == ["wf_3", "wf_2", "wf_1", "wf_0"]
    assert first.next_token is not None
    assert second.next_token is None


def test_aws_failures_become_engine_errors() -> None:
    # Given DynamoDB throttling, and then an unreachable endpoint
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")
    unreachable = EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    for error in (throttled, unreachable):
        repository = DynamoWorkflowRepository(FakeDynamoDB([], error=error), "goflow")

        # When a workflow is read
        with pytest.raises(EngineError) as raised:
            repository.get("acme", "wf_a")

        # Then it is a 502 that keeps the AWS error as its cause
        assert raised.value.status == 502
        assert raised.value.__cause__ is error


def test_a_start_key_dynamodb_refuses_is_an_invalid_token() -> None:
    # Given a well-formed token that DynamoDB nonetheless refuses as a start key
    refused = ClientError({"Error": {"Code": "ValidationException", "Message": "bad start key"}}, "Query")
    repository = DynamoWorkflowRepository(FakeDynamoDB([], error=refused), "goflow")
    token = encode_token(KEY)

    # When the listing continues from it
    with pytest.raises(InvalidPaginationTokenError) as raised:
        repository.list("acme", 2, token)

    # Then the client is told its token is bad, not that the service failed
    assert raised.value.__cause__ is refused
