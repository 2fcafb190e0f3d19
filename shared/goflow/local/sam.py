"""The subset of the SAM transform the local stack needs: ``AWS::Serverless::*`` → what SAM deploys.

:func:`expand` merges ``Globals`` into each serverless resource and expands a function into itself,
its implicit role (when it names none), one ``AWS::Events::Rule`` per ``EventBridgeRule`` /
``CloudWatchEvent`` / ``Schedule`` event, one ``AWS::Scheduler::Schedule`` per ``ScheduleV2`` event and
one local HTTP API route per ``HttpApi`` event (adding SAM's implicit ``ServerlessHttpApi`` when a
route needs it). Properties stay unresolved; an event source that is not emulated is listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from goflow.local.provisioned import NotEmulated

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_HTTP_API = "AWS::Serverless::HttpApi"
LOCAL_ROUTE = "GoFlow::Local::HttpApiRoute"
IMPLICIT_HTTP_API = "ServerlessHttpApi"
LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
BASIC_EXECUTION_POLICY = "arn:{partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
XRAY_WRITE_POLICY = "arn:{partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"


@dataclass
class Resource:
    """One resource after the SAM expansion, its properties still unresolved."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: set[str] = field(default_factory=set)
    condition: str | None = None
    origin: str | None = None


def merge_globals(
    global_properties: Mapping[str, Any] | None, properties: Mapping[str, Any]
) -> dict[str, Any]:
    """SAM's Globals rule: maps merge (the resource wins), lists concatenate, scalars are replaced."""
    merged: dict[str, Any] = dict(global_properties or {})
    for key, value in properties.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping) and not _is_intrinsic(value):
            merged[key] = merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = [*current, *value]
        else:
            merged[key] = value
    return merged


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    return (
        len(value) == 1
        and next(iter(value)) in ("Ref", "Condition")
        or any(str(key).startswith("Fn::") for key in value)
    )


def expand(template: Mapping[str, Any]) -> tuple[list[Resource], list[NotEmulated]]:
    """The resources SAM would deploy for ``template`` (a subset of the SAM transform)."""
    globals_ = template.get("Globals") or {}
    resources: list[Resource] = []
    skipped: list[NotEmulated] = []
    for logical_id, declared in (template.get("Resources") or {}).items():
        kind = str(declared.get("Type", ""))
        properties = dict(declared.get("Properties") or {})
        depends = declared.get("DependsOn") or []
        resource = Resource(
            logical_id,
            kind,
            properties,
            set([depends] if isinstance(depends, str) else depends),
            declared.get("Condition"),
        )
        if kind == SERVERLESS_FUNCTION:
            resource.properties = merge_globals(globals_.get("Function"), properties)
            resources.extend(_expand_function(resource, skipped))
        elif kind == SERVERLESS_HTTP_API:
            resource.properties = merge_globals(globals_.get("HttpApi"), properties)
            resources.append(resource)
        elif kind == "AWS::Serverless::SimpleTable":
            resource.properties = merge_globals(globals_.get("SimpleTable"), properties)
            resources.append(resource)
        else:
            resources.append(resource)
    needs_implicit_api = any(
        r.type == LOCAL_ROUTE and r.properties.get("ApiId") == {"Ref": IMPLICIT_HTTP_API} for r in resources
    )
    if needs_implicit_api and all(r.logical_id != IMPLICIT_HTTP_API for r in resources):
        resources.append(
            Resource(IMPLICIT_HTTP_API, SERVERLESS_HTTP_API, merge_globals(globals_.get("HttpApi"), {}))
        )
    return resources, skipped


def _expand_function(function: Resource, skipped: list[NotEmulated]) -> list[Resource]:
    props = function.properties
    logical_id = function.logical_id
    events: Mapping[str, Any] = props.pop("Events", None) or {}
    out = [function]
    if "Role" not in props:
        out.append(_implicit_role(function))
        props["Role"] = {"Fn::GetAtt": [f"{logical_id}Role", "Arn"]}
    target_arn = {"Fn::GetAtt": [logical_id, "Arn"]}
    for event_id, event in events.items():
        kind = event.get("Type")
        ep: dict[str, Any] = dict(event.get("Properties") or {})
        derived = f"{logical_id}{event_id}"
        common = {"condition": function.condition, "origin": logical_id}
        if kind in ("EventBridgeRule", "CloudWatchEvent", "Schedule"):
            target: dict[str, Any] = {"Id": (ep.get("Target") or {}).get("Id", f"{derived}LambdaTarget")}
            target["Arn"] = target_arn
            for key in ("Input", "InputPath", "RetryPolicy", "DeadLetterConfig"):
                if key in ep:
                    target[key] = ep[key]
            rule: dict[str, Any] = {"Targets": [target]}
            if kind == "Schedule":
                rule["ScheduleExpression"] = ep.get("Schedule")
                rule["State"] = ep.get("State") or ("DISABLED" if ep.get("Enabled") is False else "ENABLED")
            else:
                rule["EventPattern"] = ep.get("Pattern")
                rule["State"] = ep.get("State", "ENABLED")
            for source, key in (("EventBusName", "EventBusName"), ("RuleName", "Name"), ("Name", "Name")):
                if source in ep:
                    rule[key] = ep[source]
            if "Description" in ep:
                rule["Description"] = ep["Description"]
            out.append(Resource(derived, "AWS::Events::Rule", rule, **common))  # type: ignore[arg-type]
        elif kind == "ScheduleV2":
            schedule: dict[str, Any] = {
                key: ep[key]
                for key in (
                    "ScheduleExpression",
                    "ScheduleExpressionTimezone",
                    "GroupName",
                    "State",
                    "Description",
                )
                if key in ep
            }
            schedule["Name"] = ep.get("Name", derived)
            schedule["FlexibleTimeWindow"] = ep.get("FlexibleTimeWindow") or {"Mode": "OFF"}
            schedule["Target"] = {
                "Arn": target_arn,
                "RoleArn": ep.get(
                    "RoleArn",
                    {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{derived}Role"},
                ),
                **({"Input": ep["Input"]} if "Input" in ep else {}),
            }
            out.append(Resource(derived, "AWS::Scheduler::Schedule", schedule, **common))  # type: ignore[arg-type]
        elif kind == "HttpApi":
            route = {
                "ApiId": ep.get("ApiId", {"Ref": IMPLICIT_HTTP_API}),
                "Path": ep.get("Path"),
                "Method": ep.get("Method"),
                "PayloadFormatVersion": ep.get("PayloadFormatVersion", "2.0"),
                "TimeoutInMillis": ep.get("TimeoutInMillis", 30_000),
                "Function": {"Ref": logical_id},
            }
            out.append(Resource(f"{derived}Route", LOCAL_ROUTE, route, **common))  # type: ignore[arg-type]
        else:
            skipped.append(NotEmulated(derived, f"{kind} event", "this event source is not emulated locally"))
    return out


def _implicit_role(function: Resource) -> Resource:
    props = function.properties
    managed: list[Any] = [{"Fn::Sub": BASIC_EXECUTION_POLICY.replace("{partition}", "${AWS::Partition}")}]
    if props.get("Tracing") == "Active":
        managed.append({"Fn::Sub": XRAY_WRITE_POLICY.replace("{partition}", "${AWS::Partition}")})
    inline: list[dict[str, Any]] = []
    policies = props.get("Policies") or []
    for position, policy in enumerate(policies if isinstance(policies, list) else [policies]):
        if isinstance(policy, str):
            managed.append(policy)
        elif isinstance(policy, Mapping) and "Statement" in policy:
            document = {"Version": "2012-10-17", **policy}
            inline.append(
                {"PolicyName": f"{function.logical_id}RolePolicy{position}", "PolicyDocument": document}
            )
        # SAM policy templates (DynamoDBCrudPolicy, ...) expand to IAM statements in AWS; IAM is not
        # enforced locally, so they are not expanded here.
    role = {
        "AssumeRolePolicyDocument": LAMBDA_TRUST_POLICY,
        "ManagedPolicyArns": managed,
        "Policies": inline,
    }
    if "PermissionsBoundary" in props:
        role["PermissionsBoundary"] = props["PermissionsBoundary"]
    return Resource(
        f"{function.logical_id}Role",
        "AWS::IAM::Role",
        role,
        condition=function.condition,
        origin=function.logical_id,
    )
