"""The local stack's AWS side, created in moto from ``template.yaml`` (``goflow.local.provision``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from goflow.local.lambdas import Invocation
from goflow.local.ordering import creation_order
from goflow.local.provision import Provisioner
from goflow.local.provisioned import ProvisionedStack, ProvisioningError
from goflow.local.rules import RuleRouter
from goflow.local.sam import expand, merge_globals

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
OUTCOME = "goflow-local-outcome"


def clients(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


@pytest.fixture
def stack(aws: None) -> ProvisionedStack:
    return Provisioner(
        ROOT / "template.yaml",
        clients,
        stack_name="goflow-local",
        parameters={"Stage": "local"},
        default_sender="noreply@goflow.local",
    ).run()


def status_event(machine: str = "goflow-local-wf_1", status: str = "SUCCEEDED") -> dict[str, Any]:
    arn = f"arn:aws:states:{REGION}:123456789012:stateMachine:{machine}"
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"status": status, "stateMachineArn": arn, "name": "ex_1"},
    }


def test_the_table_has_the_templates_keys_index_and_ttl(stack: ProvisionedStack) -> None:
    dynamodb = clients("dynamodb")
    name = stack.resources["GoFlowTable"].ref

    table = dynamodb.describe_table(TableName=name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]

    assert name == "goflow-local-GoFlowTable"
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["gsi1"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert table["SSEDescription"]["Status"] == "ENABLED"


def test_functions_exist_in_lambda_and_are_described_for_the_dispatcher(stack: ProvisionedStack) -> None:
    executor = stack.function("ExecutorFunction")
    api = stack.function("ApiFunction")

    configuration = clients("lambda").get_function(FunctionName=executor.name)["Configuration"]

    assert executor.name == "goflow-local-executor"
    assert configuration["Timeout"] == 900
    assert executor.timeout_seconds == 900 and executor.memory_mb == 1024
    assert executor.handler == "step.handler" and executor.code_dir == ROOT / "functions" / "executor"
    # Globals merged with the function's own variables, intrinsic functions resolved
    assert api.environment["GOFLOW_TABLE_NAME"] == "goflow-local-GoFlowTable"
    assert api.environment["GOFLOW_EXECUTOR_FUNCTION_ARN"] == executor.arn
    assert (
        api.environment["GOFLOW_STATE_MACHINE_ROLE_ARN"]
        == stack.resources["StateMachineRole"].attributes["Arn"]
    )
    assert "GOFLOW_DEFAULT_SENDER" not in api.environment


def test_roles_queue_log_groups_and_sender(stack: ProvisionedStack) -> None:
    iam, sqs, logs, ses = clients("iam"), clients("sqs"), clients("logs"), clients("ses")
    role = stack.resources["StateMachineRole"].ref

    assert "invoke-executor" in iam.list_role_policies(RoleName=role)["PolicyNames"]
    queue = stack.resources["OutcomeDeadLetterQueue"].ref
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert "events.amazonaws.com" in attributes["Policy"]
    group = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/goflow-local-api")["logGroups"][0]
    assert group["retentionInDays"] == 30
    verified = ses.get_identity_verification_attributes(Identities=["noreply@goflow.local"])
    assert verified["VerificationAttributes"]["noreply@goflow.local"]["VerificationStatus"] == "Success"


def test_the_outcome_rule_and_the_api_route(stack: ProvisionedStack) -> None:
    events = clients("events")
    [rule] = stack.rules

    described = events.describe_rule(Name=rule.name)
    [target] = events.list_targets_by_rule(Rule=rule.name)["Targets"]

    assert rule.logical_id == "OutcomeFunctionExecutionStatusChange"
    assert json.loads(described["EventPattern"])["source"] == ["aws.states"]
    assert target["Arn"] == stack.function("OutcomeFunction").arn
    assert target["DeadLetterConfig"]["Arn"].endswith(":goflow-local-outcome-dlq")
    [api] = stack.apis
    assert [(r.route_key, r.function) for r in api.routes] == [("ANY /api/{proxy+}", "goflow-local-api")]
    assert api.cors is not None and "Authorization" in api.cors["AllowHeaders"]


def test_the_router_delivers_only_what_the_rule_matches(stack: ProvisionedStack) -> None:
    # Given a router over moto's rules, with a recording invoker
    invoked: list[tuple[str, Any]] = []

    def invoke(function: str, event: Any) -> Invocation:
        invoked.append((function, event))
        return Invocation({"recorded": True})

    router = RuleRouter(clients("events"), invoke, clients("sqs"))

    # When events for a GoFlow machine, for another machine and with a non-terminal status arrive
    router.publish(status_event())
    router.publish(status_event(machine="someone-else"))
    router.publish(status_event(status="RUNNING"))

    # Then only the first reached the outcome function
    assert [function.split(":")[-1] for function, _ in invoked] == [OUTCOME]
    assert invoked[0][1]["detail"]["name"] == "ex_1"


def test_a_disabled_rule_delivers_nothing(stack: ProvisionedStack) -> None:
    events = clients("events")
    events.disable_rule(Name=stack.rules[0].name)
    invoked: list[str] = []

    def invoke(function: str, event: Any) -> Invocation:
        invoked.append(function)
        return Invocation({})

    RuleRouter(events, invoke).publish(status_event())

    assert invoked == []


def test_a_failing_target_is_retried(stack: ProvisionedStack) -> None:
    attempts: list[str] = []

    def invoke(function: str, event: Any) -> Invocation:
        attempts.append(function)
        return Invocation({"errorType": "Boom", "errorMessage": "no"}, "Boom")

    [delivery] = RuleRouter(clients("events"), invoke, retry_delays=(0.0, 0.0)).publish(status_event())

    assert len(attempts) == 3
    assert delivery.ok is False and delivery.error == "Boom: no"


def test_unknown_resource_types_are_listed_not_fatal(aws: None, tmp_path: Path) -> None:
    # Given a template with a resource the local stack does not emulate, referenced by one it does
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Group": {
                "Type": "AWS::Scheduler::ScheduleGroup",
                "Properties": {"Name": {"Fn::Sub": "g-${Vpc}"}},
            },
        }
    }
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template))

    # When it is provisioned
    stack = Provisioner(path, clients).run()

    # Then the unknown one is listed, and the rest exists
    assert [(item.logical_id, item.type) for item in stack.not_emulated] == [("Vpc", "AWS::EC2::VPC")]
    groups = clients("scheduler").list_schedule_groups()["ScheduleGroups"]
    assert stack.resources["Group"].ref in [g["Name"] for g in groups]


def test_sam_expansion_adds_roles_rules_and_routes() -> None:
    template = {
        "Globals": {"Function": {"Timeout": 30, "Environment": {"Variables": {"A": "1", "B": "1"}}}},
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "app.handler",
                    "Environment": {"Variables": {"B": "2"}},
                    "Events": {
                        "Api": {"Type": "HttpApi", "Properties": {"Path": "/x", "Method": "get"}},
                        "Changed": {"Type": "EventBridgeRule", "Properties": {"Pattern": {"source": ["a"]}}},
                        "Queue": {"Type": "SQS", "Properties": {}},
                    },
                },
            }
        },
    }

    resources, skipped = expand(template)

    by_id = {r.logical_id: r for r in resources}
    assert set(by_id) == {"Fn", "FnRole", "FnChanged", "FnApiRoute", "ServerlessHttpApi"}
    assert by_id["Fn"].properties["Environment"]["Variables"] == {"A": "1", "B": "2"}
    assert by_id["Fn"].properties["Timeout"] == 30
    assert by_id["FnChanged"].properties["Targets"][0]["Arn"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    assert [s.logical_id for s in skipped] == ["FnQueue"]
    order = [r.logical_id for r in creation_order(resources)]
    assert order.index("FnRole") < order.index("Fn") < order.index("FnChanged")


def test_globals_merge_like_sam() -> None:
    merged = merge_globals(
        {"Layers": ["a"], "Timeout": 3, "Tags": {"x": "1"}}, {"Layers": ["b"], "Timeout": 9}
    )

    assert merged == {"Layers": ["a", "b"], "Timeout": 9, "Tags": {"x": "1"}}


def test_circular_references_are_reported() -> None:
    resources, _ = expand(
        {
            "Resources": {
                "A": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "B"}}},
                "B": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "A"}}},
            }
        }
    )

    with pytest.raises(ProvisioningError, match="circular"):
        creation_order(resources)
