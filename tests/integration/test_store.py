"""The DynamoDB repositories against moto, on a table created from ``template.yaml``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from goflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    InvalidPaginationTokenError,
    WorkflowConflictError,
    WorkflowNotFoundError,
)
from goflow.executions.model import Execution, StepSummary
from goflow.store import DynamoExecutionRepository, DynamoWorkflowRepository
from goflow.store.items import execution_key, serialize_item, workflow_key
from goflow.store.tokens import encode_token
from goflow.workflows.model import Step, Workflow
from tests.support.cfn import load_template, table_properties

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
DAY = 86_400


@pytest.fixture
def workflows(dynamodb_client: Any, dynamodb_table: str) -> DynamoWorkflowRepository:
    return DynamoWorkflowRepository(dynamodb_client, dynamodb_table)


@pytest.fixture
def executions(dynamodb_client: Any, dynamodb_table: str) -> DynamoExecutionRepository:
    return DynamoExecutionRepository(dynamodb_client, dynamodb_table, retention_days=30, clock=lambda: NOW)


def make_workflow(
    workflow_id: str = "wf_a", tenant_id: str = "acme", minute: int = 0, **changes: Any
) -> Workflow:
    created = NOW + timedelta(minutes=minute)
    fields: dict[str, Any] = {
        "id": workflow_id,
        "tenant_id": tenant_id,
        "name": f"workflow {workflow_id}",
        "steps": [Step(id="fetch", action="http_request", config={"url": "https://example.com"})],
        "created_at": created,
        "updated_at": created,
    }
    fields.update(changes)
    return Workflow(**fields)


def make_execution(
    execution_id: str = "ex_a",
    workflow_id: str = "wf_a",
    tenant_id: str = "acme",
    minute: int = 0,
    **changes: Any,
) -> Execution:
    started = NOW + timedelta(minutes=minute)
    fields: dict[str, Any] = {
        "id": execution_id,
        "tenant_id": tenant_id,
        "workflow_id": workflow_id,
        "workflow_version": 1,
        "trace_id": "1-67c2d000-000000000000000000000000",
        "started_at": started,
        "deadline": started + timedelta(minutes=5),
    }
    fields.update(changes)
    return Execution(**fields)


def finished(execution: Execution, status: str = "SUCCEEDED", **changes: Any) -> Execution:
    return execution.model_copy(
        update={"status": status, "finished_at": execution.started_at + timedelta(seconds=2), **changes}
    )


def raw_item(client: Any, table: str, key: dict[str, str]) -> dict[str, Any]:
    return client.get_item(TableName=table, Key=serialize_item(key))["Item"]


# --- the table itself ---------------------------------------------------------------------------


def test_the_mock_table_is_the_templates_table(dynamodb_client: Any, dynamodb_table: str) -> None:
    # Given the table declared in template.yaml
    declared = table_properties(load_template(), "GoFlowTable")

    # When moto describes the table the fixture created
    table = dynamodb_client.describe_table(TableName=dynamodb_table)["Table"]
    ttl = dynamodb_client.describe_time_to_live(TableName=dynamodb_table)["TimeToLiveDescription"]

    # Then keys, index, billing, encryption and TTL are the template's
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        declared["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    [gsi] = table["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1"
    assert gsi["KeySchema"] == declared["GlobalSecondaryIndexes"][0]["KeySchema"]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
    assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


# --- workflows ----------------------------------------------------------------------------------


def test_create_then_get_returns_the_same_workflow(workflows: DynamoWorkflowRepository) -> None:
    # Given a stored workflow
    workflow = make_workflow(state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:wf_a")
    workflows.create(workflow)

    # When it is read back
    stored = workflows.get("acme", "wf_a")

    # Then it is the same workflow
    assert stored == workflow


def test_create_with_a_taken_id_conflicts_and_keeps_the_original(workflows: DynamoWorkflowRepository) -> None:
    # Given a stored workflow
    workflows.create(make_workflow(name="original"))

    # When another is created with the same id
    with pytest.raises(WorkflowConflictError):
        workflows.create(make_workflow(name="impostor"))

    # Then the first one is untouched
    assert workflows.get("acme", "wf_a").name == "original"


def test_update_with_the_expected_version_replaces_the_workflow(workflows: DynamoWorkflowRepository) -> None:
    # Given a stored workflow at version 1
    workflows.create(make_workflow())

    # When it is updated from version 1
    workflows.update(make_workflow(name="renamed", version=2), expected_version=1)

    # Then the new version is stored
    stored = workflows.get("acme", "wf_a")
    assert (stored.name, stored.version) == ("renamed", 2)


def test_update_from_a_stale_version_conflicts(workflows: DynamoWorkflowRepository) -> None:
    # Given a workflow someone already moved to version 2
    workflows.create(make_workflow())
    workflows.update(make_workflow(name="theirs", version=2), expected_version=1)

    # When another writer updates it from version 1
    with pytest.raises(WorkflowConflictError) as raised:
        workflows.update(make_workflow(name="mine", version=2), expected_version=1)

    # Then the conflict names the stored version and their change survives
    assert "changed by someone else (version 2)" in raised.value.message
    assert workflows.get("acme", "wf_a").name == "theirs"


def test_update_of_a_missing_workflow_is_not_found(workflows: DynamoWorkflowRepository) -> None:
    # When a workflow that was never stored is updated
    with pytest.raises(WorkflowNotFoundError):
        workflows.update(make_workflow(version=2), expected_version=1)

    # Then nothing was created
    with pytest.raises(WorkflowNotFoundError):
        workflows.get("acme", "wf_a")


def test_delete_removes_the_workflow_and_a_second_delete_is_not_found(
    workflows: DynamoWorkflowRepository,
) -> None:
    # Given a stored workflow
    workflows.create(make_workflow())

    # When it is deleted
    workflows.delete("acme", "wf_a")

    # Then it is gone, and deleting it again is not found
    with pytest.raises(WorkflowNotFoundError):
        workflows.get("acme", "wf_a")
    with pytest.raises(WorkflowNotFoundError):
        workflows.delete("acme", "wf_a")


def test_another_tenants_workflow_answers_exactly_like_a_missing_one(
    workflows: DynamoWorkflowRepository,
) -> None:
    # Given acme's workflow
    workflows.create(make_workflow("wf_secret", tenant_id="acme"))

    # When globex reads, updates or deletes it by id, or lists its own workflows
    def outcome(call: Any) -> tuple[type[Exception], str]:
        with pytest.raises(WorkflowNotFoundError) as raised:
            call()
        return type(raised.value), raised.value.message

    foreign = [
        outcome(lambda: workflows.get("globex", "wf_secret")),
        outcome(lambda: workflows.delete("globex", "wf_secret")),
        outcome(lambda: workflows.update(make_workflow("wf_secret", tenant_id="globex", version=2), 1)),
    ]
    missing = [
        outcome(lambda: workflows.get("globex", "wf_nope")),
        outcome(lambda: workflows.delete("globex", "wf_nope")),
        outcome(lambda: workflows.update(make_workflow("wf_nope", tenant_id="globex", version=2), 1)),
    ]

    # Then every answer is the one a missing id gets, and acme's workflow is untouched
    assert [(kind, message.replace("wf_secret", "ID")) for kind, message in foreign] == [
        (kind, message.replace("wf_nope", "ID")) for kind, message in missing
    ]
    assert workflows.list("globex", 10, None).items == []
    assert workflows.get("acme", "wf_secret").version == 1


def test_ids_holding_the_key_separator_are_never_stored_nor_found(
    workflows: DynamoWorkflowRepository,
) -> None:
    # Given a stored workflow
    workflows.create(make_workflow("wf_a"))

    # When ids holding "#" (which could splice two keys together) are used
    # Then lookups are not found and creates are refused before reaching the table
    with pytest.raises(WorkflowNotFoundError):
        workflows.get("acme", "wf_a#")
    with pytest.raises(WorkflowNotFoundError):
        workflows.get("acme#WORKFLOW#wf_a", "x")
    with pytest.raises(ValueError):
        workflows.create(make_workflow("wf#b"))
    assert [w.id for w in workflows.list("acme", 10, None).items] == ["wf_a"]


def test_workflows_list_newest_first_across_pages(workflows: DynamoWorkflowRepository) -> None:
    # Given five workflows of acme created a minute apart, and one of another tenant
    for minute in range(5):
        workflows.create(make_workflow(f"wf_{minute}", minute=minute))
    workflows.create(make_workflow("wf_other", tenant_id="globex", minute=9))

    # When acme lists them two at a time
    pages = []
    token: str | None = None
    while True:
        page = workflows.list("acme", 2, token)
        pages.append([workflow.id for workflow in page.items])
        token = page.next_token
        if token is None:
            break

    # Then it sees all of its own, newest first, with no empty last page
    assert pages == [["wf_4", "wf_3"], ["wf_2", "wf_1"], ["wf_0"]]


def test_an_exact_last_page_carries_no_token(workflows: DynamoWorkflowRepository) -> None:
    # Given exactly two workflows
    workflows.create(make_workflow("wf_0", minute=0))
    workflows.create(make_workflow("wf_1", minute=1))

    # When they are listed two at a time
    page = workflows.list("acme", 2, None)

    # Then the first page is also the last
    assert [w.id for w in page.items] == ["wf_1", "wf_0"]
    assert page.next_token is None


def test_a_garbled_token_is_rejected(workflows: DynamoWorkflowRepository) -> None:
    # When the list is asked to continue from garbage
    with pytest.raises(InvalidPaginationTokenError) as raised:
        workflows.list("acme", 2, "definitely-not-a-token")

    # Then it is a 400 about next_token
    assert raised.value.status == 400
    assert raised.value.details[0].field == "next_token"


def test_another_tenants_token_is_rejected(workflows: DynamoWorkflowRepository) -> None:
    # Given a token globex got from its own listing
    for minute in range(3):
        workflows.create(make_workflow(f"wf_{minute}", tenant_id="globex", minute=minute))
    globex_token = workflows.list("globex", 1, None).next_token
    assert globex_token is not None

    # When acme presents it
    with pytest.raises(InvalidPaginationTokenError) as raised:
        workflows.list("acme", 1, globex_token)

    # Then it is refused rather than used
    assert raised.value.details[0].field == "next_token"


# --- executions ---------------------------------------------------------------------------------


def test_create_then_get_returns_the_same_execution(executions: DynamoExecutionRepository) -> None:
    # Given a stored RUNNING execution
    execution = make_execution(parameters={"email": "a@example.com"}, trigger={"type": "manual"})
    executions.create(execution)

    # When it is read back
    stored = executions.get("acme", "ex_a")

    # Then it is the same record
    assert stored == execution


def test_creating_an_execution_twice_is_refused(executions: DynamoExecutionRepository) -> None:
    # Given a stored execution
    executions.create(make_execution())

    # When the same id is created again
    with pytest.raises(ExecutionAlreadyExistsError):
        executions.create(make_execution(workflow_version=7))

    # Then the original stays
    assert executions.get("acme", "ex_a").workflow_version == 1


def test_another_tenants_execution_is_not_found(executions: DynamoExecutionRepository) -> None:
    # Given acme's execution
    executions.create(make_execution("ex_secret"))

    # When globex asks for it, or for an id that does not exist
    with pytest.raises(ExecutionNotFoundError) as foreign:
        executions.get("globex", "ex_secret")
    with pytest.raises(ExecutionNotFoundError) as missing:
        executions.get("globex", "ex_nope")

    # Then both answers are the same
    assert foreign.value.as_dict()["code"] == missing.value.as_dict()["code"]
    assert foreign.value.message.replace("ex_secret", "ID") == missing.value.message.replace("ex_nope", "ID")


def test_finish_records_the_outcome_of_a_running_execution(executions: DynamoExecutionRepository) -> None:
    # Given a RUNNING execution
    execution = make_execution()
    executions.create(execution)

    # When it finishes
    done = finished(execution, steps=[StepSummary(step_id="fetch", status="SUCCEEDED", output={"n": 1})])
    recorded = executions.finish(done)

    # Then the terminal record is stored
    assert recorded is True
    assert executions.get("acme", "ex_a") == done


def test_finish_never_moves_a_terminal_record_backwards(
    executions: DynamoExecutionRepository, dynamodb_client: Any, dynamodb_table: str
) -> None:
    # Given an execution already recorded as SUCCEEDED
    execution = make_execution()
    executions.create(execution)
    assert executions.finish(finished(execution, "SUCCEEDED"))

    # When a late or duplicate outcome arrives
    second = executions.finish(finished(execution, "ABORTED"))

    # Then it is refused and the first outcome stays, item attributes included
    assert second is False
    assert executions.get("acme", "ex_a").status == "SUCCEEDED"
    assert raw_item(dynamodb_client, dynamodb_table, execution_key("acme", "ex_a"))["status"] == {
        "S": "SUCCEEDED"
    }


def test_finish_of_an_unknown_execution_is_not_found(executions: DynamoExecutionRepository) -> None:
    # When an execution that was never created finishes
    with pytest.raises(ExecutionNotFoundError):
        executions.finish(finished(make_execution("ex_ghost")))

    # Then no record appeared
    with pytest.raises(ExecutionNotFoundError):
        executions.get("acme", "ex_ghost")


def test_finish_refuses_a_running_execution(executions: DynamoExecutionRepository) -> None:
    # Given a stored RUNNING execution
    execution = make_execution()
    executions.create(execution)

    # When finish is handed a record that is not terminal, it is a programming error
    with pytest.raises(ValueError):
        executions.finish(execution)


def test_executions_list_per_workflow_newest_first(executions: DynamoExecutionRepository) -> None:
    # Given five runs of wf_a a minute apart, and runs of another workflow and another tenant
    for minute in range(5):
        executions.create(make_execution(f"ex_{minute}", minute=minute))
    executions.create(make_execution("ex_b", workflow_id="wf_b", minute=10))
    executions.create(make_execution("ex_g", tenant_id="globex", minute=10))

    # When wf_a's runs are listed two at a time
    pages = []
    token: str | None = None
    while True:
        page = executions.list_for_workflow("acme", "wf_a", 2, token)
        pages.append([execution.id for execution in page.items])
        token = page.next_token
        if token is None:
            break

    # Then exactly wf_a's runs come back, newest first
    assert pages == [["ex_4", "ex_3"], ["ex_2", "ex_1"], ["ex_0"]]


def test_another_workflows_token_is_rejected(executions: DynamoExecutionRepository) -> None:
    # Given a token from the listing of wf_b
    for minute in range(3):
        executions.create(make_execution(f"ex_{minute}", workflow_id="wf_b", minute=minute))
    token = executions.list_for_workflow("acme", "wf_b", 1, None).next_token
    assert token is not None

    # When it is used to continue the listing of wf_a
    with pytest.raises(InvalidPaginationTokenError):
        executions.list_for_workflow("acme", "wf_a", 1, token)

    # Then a forged token for another tenant's workflow is refused too
    forged = encode_token(
        {
            "pk": "TENANT#globex#EXECUTION#ex_1",
            "sk": "EXECUTION",
            "gsi1pk": "TENANT#globex#WORKFLOW#wf_b#EXECUTIONS",
            "gsi1sk": "2025-03-01T09:31:00.000000Z#ex_1",
        }
    )
    with pytest.raises(InvalidPaginationTokenError):
        executions.list_for_workflow("acme", "wf_b", 1, forged)


def test_expires_at_is_the_start_plus_the_retention(
    executions: DynamoExecutionRepository, dynamodb_client: Any, dynamodb_table: str
) -> None:
    # Given a run started now, kept 30 days
    executions.create(make_execution())

    # When its item is read raw
    item = raw_item(dynamodb_client, dynamodb_table, execution_key("acme", "ex_a"))

    # Then the TTL attribute is 30 days after the start, in epoch seconds
    assert int(item["expires_at"]["N"]) == int(NOW.timestamp()) + 30 * DAY


def test_a_run_longer_than_the_retention_outlives_its_deadline(
    executions: DynamoExecutionRepository, dynamodb_client: Any, dynamodb_table: str
) -> None:
    # Given a Standard run allowed to last 200 days, while records are kept 30
    deadline = NOW + timedelta(days=200)
    executions.create(make_execution(deadline=deadline))

    # When its item is read raw
    item = raw_item(dynamodb_client, dynamodb_table, execution_key("acme", "ex_a"))

    # Then TTL cannot remove it before the run can have ended
    assert int(item["expires_at"]["N"]) == int(deadline.timestamp()) + DAY


def test_a_huge_execution_is_shrunk_to_fit_and_stored(executions: DynamoExecutionRepository) -> None:
    # Given a running execution whose steps produced 1.2 MB of output
    execution = make_execution()
    executions.create(execution)
    steps = [
        StepSummary(step_id=f"s{i}", status="SUCCEEDED", output={"rows": ["r" * 1_000] * 100})
        for i in range(12)
    ]

    # When it finishes
    assert executions.finish(finished(execution, steps=steps))

    # Then the write succeeded, within DynamoDB's limit, with the largest outputs marked truncated
    stored = executions.get("acme", "ex_a")
    assert stored.status == "SUCCEEDED"
    assert [step.step_id for step in stored.steps] == [f"s{i}" for i in range(12)]
    truncated = [step for step in stored.steps if step.output.get("truncated")]
    assert truncated and all(step.output["size_bytes"] > 100_000 for step in truncated)
    assert len(stored.model_dump_json().encode()) < 400 * 1024


def test_workflow_items_keep_pk_and_sk_out_of_the_domain(
    workflows: DynamoWorkflowRepository, dynamodb_client: Any, dynamodb_table: str
) -> None:
    # Given a stored workflow
    workflows.create(make_workflow())

    # When its raw item is read
    item = raw_item(dynamodb_client, dynamodb_table, workflow_key("acme", "wf_a"))

    # Then the table holds the keyed item, and the document it stores holds no keys
    assert item["entity"] == {"S": "workflow"}
    assert item["version"] == {"N": "1"}
    assert "pk" not in json.loads(item["doc"]["S"])
