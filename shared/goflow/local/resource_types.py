"""How each resource type the local stack emulates is created in moto.

One function per CloudFormation type (:data:`CREATORS`): it resolves the resource's properties through
the :class:`~goflow.local.provision.Provisioner`, creates the resource with a boto3 client on moto's
endpoint and returns what ``Ref`` and ``Fn::GetAtt`` of it give. Functions and HTTP APIs are also
described in the provisioned stack, for the dispatcher and the gateway.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from goflow.local.cfn import UnresolvableError
from goflow.local.provisioned import FunctionSpec, HttpApiSpec, Physical, ProvisioningError, Route, RuleSpec
from goflow.local.sam import LOCAL_ROUTE, SERVERLESS_FUNCTION, SERVERLESS_HTTP_API, Resource
from goflow.local.tables import create_table

if TYPE_CHECKING:
    from goflow.local.provision import Provisioner

# The name shows in the log lines; it is the one provisioning logged under before it was split.
logger = logging.getLogger("goflow.local.provision")

Creator = Callable[["Provisioner", Resource], Physical]


# ------------------------------------------------------------------ DynamoDB
def _table(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource, ("AttributeDefinitions", "KeySchema"))
    name = str(props.get("TableName") or provisioner.physical_name(resource.logical_id, 255))
    table = create_table(provisioner.client("dynamodb"), name, props)
    attributes = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Physical(name, attributes)


def _simple_table(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource)
    key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    kind = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
    table: dict[str, Any] = {
        "TableName": props.get("TableName"),
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "BillingMode": "PROVISIONED" if props.get("ProvisionedThroughput") else "PAY_PER_REQUEST",
        **{k: props[k] for k in ("ProvisionedThroughput", "SSESpecification", "Tags") if k in props},
    }
    return _table(provisioner, Resource(resource.logical_id, "AWS::DynamoDB::Table", table))


# ------------------------------------------------------------------ IAM
def _role(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource, ("AssumeRolePolicyDocument",))
    name = str(props.get("RoleName") or provisioner.physical_name(resource.logical_id))
    iam = provisioner.client("iam")
    request: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": _json(props["AssumeRolePolicyDocument"]),
        "Path": props.get("Path", "/"),
    }
    for key in ("Description", "MaxSessionDuration"):
        if key in props:
            request[key] = props[key]
    if props.get("Tags"):
        request["Tags"] = props["Tags"]
    role = iam.create_role(**request)["Role"]
    for policy in props.get("Policies") or []:
        iam.put_role_policy(
            RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=_json(policy["PolicyDocument"])
        )
    for policy_arn in props.get("ManagedPolicyArns") or []:
        try:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        except Exception:  # noqa: BLE001 - moto does not load AWS managed policies by default
            logger.debug("managed policy not attached", extra={"role": name, "policy": policy_arn})
    return Physical(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})


# ------------------------------------------------------------------ Lambda
def _function(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(
        resource,
        ("FunctionName", "Handler", "CodeUri", "Runtime", "Timeout", "MemorySize", "Environment", "Role"),
    )
    name = str(props.get("FunctionName") or provisioner.physical_name(resource.logical_id))
    environment = {
        key: _env_text(value)
        for key, value in ((props.get("Environment") or {}).get("Variables") or {}).items()
    }
    timeout = float(props.get("Timeout", 3))
    memory = int(props.get("MemorySize", 128))
    runtime = str(props.get("Runtime", "python3.13"))
    handler = props.get("Handler")
    code_uri = props.get("CodeUri")
    code_dir = provisioner.root / code_uri if isinstance(code_uri, str) else None
    if props.get("PackageType") == "Image" or props.get("InlineCode") is not None or code_dir is None:
        provisioner.stack.warnings.append(f"{resource.logical_id}: only CodeUri functions run locally")
        code_dir = None
    elif not runtime.startswith("python"):
        provisioner.stack.warnings.append(f"{resource.logical_id}: runtime {runtime} does not run locally")
        code_dir = None
    request: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": runtime,
        "Role": props["Role"],
        "Handler": str(handler or "placeholder.handler"),
        "Code": {"ZipFile": placeholder_zip()},
        "Timeout": int(timeout),
        "MemorySize": memory,
        "Environment": {"Variables": environment},
    }
    for key in ("Description", "Architectures"):
        if key in props:
            request[key] = props[key]
    if props.get("Tracing") in ("Active", "PassThrough"):
        request["TracingConfig"] = {"Mode": props["Tracing"]}
    layers = [arn for arn in props.get("Layers") or [] if arn in _layer_arns(provisioner)]
    if layers:
        request["Layers"] = layers
    if isinstance(props.get("Tags"), Mapping):
        request["Tags"] = {str(k): str(v) for k, v in props["Tags"].items()}
    arn = provisioner.client("lambda").create_function(**request)["FunctionArn"]
    provisioner.stack.functions.append(
        FunctionSpec(
            logical_id=resource.logical_id,
            name=name,
            arn=arn,
            handler=str(handler) if handler else None,
            code_dir=code_dir,
            runtime=runtime,
            timeout_seconds=timeout,
            memory_mb=memory,
            environment=environment,
        )
    )
    return Physical(name, {"Arn": arn})


def _layer_arns(provisioner: Provisioner) -> set[str]:
    return {
        str(physical.ref)
        for physical in provisioner.stack.resources.values()
        if str(physical.ref).startswith(provisioner.arn("lambda", "layer:"))
    }


def _layer(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource)
    name = str(props.get("LayerName") or provisioner.physical_name(resource.logical_id, 140))
    request: dict[str, Any] = {"LayerName": name, "Content": {"ZipFile": placeholder_zip()}}
    for key in ("Description", "CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo"):
        if key in props:
            request[key] = props[key]
    arn = provisioner.client("lambda").publish_layer_version(**request)["LayerVersionArn"]
    return Physical(arn, {})


# ------------------------------------------------------------------ HTTP API
def _http_api(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource)
    api_id = hashlib.sha1(f"{provisioner.stack.stack_name}/{resource.logical_id}".encode()).hexdigest()[:10]
    if props.get("DefinitionBody") or props.get("DefinitionUri"):
        provisioner.stack.warnings.append(
            f"{resource.logical_id}: OpenAPI definition routes are not emulated, only function events"
        )
    cors = props.get("CorsConfiguration")
    if cors is True:
        cors = {"AllowOrigins": ["*"], "AllowMethods": ["*"], "AllowHeaders": ["*"]}
    provisioner.stack.apis.append(
        HttpApiSpec(resource.logical_id, api_id, cors if isinstance(cors, dict) else None)
    )
    endpoint = f"https://{api_id}.execute-api.{provisioner.stack.region}.{provisioner.resolver.url_suffix}"
    return Physical(api_id, {"ApiEndpoint": endpoint, "ApiId": api_id})


def _route(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource, ("ApiId", "Function"))
    api = next((a for a in provisioner.stack.apis if a.api_id == props["ApiId"]), None)
    if api is None:
        raise ProvisioningError(f"no HTTP API {props['ApiId']} for the route")
    path = props.get("Path")
    method = str(props.get("Method") or "ANY").upper()
    if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
        method = "ANY"
    route_key = "$default" if not path or path == "/$default" else f"{method} {path}"
    api.routes.append(
        Route(
            route_key=route_key,
            method=method,
            path=None if route_key == "$default" else str(path),
            function=str(props["Function"]),
            payload_format_version=str(props.get("PayloadFormatVersion", "2.0")),
            timeout_ms=int(props.get("TimeoutInMillis", 30_000)),
        )
    )
    if api.routes[-1].payload_format_version != "2.0":
        provisioner.stack.warnings.append(f"{resource.logical_id}: only payload format 2.0 is emulated")
    return Physical(f"{api.api_id}/{route_key}")


# ------------------------------------------------------------------ EventBridge
def _rule(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource)
    name = str(props.get("Name") or provisioner.physical_name(resource.logical_id))
    bus = str(props.get("EventBusName") or "default")
    request: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
    if "EventPattern" in props:
        pattern = props["EventPattern"]
        request["EventPattern"] = pattern if isinstance(pattern, str) else _json(pattern)
    for key in ("ScheduleExpression", "Description", "RoleArn"):
        if key in props:
            request[key] = props[key]
    events = provisioner.client("events")
    arn = events.put_rule(**request)["RuleArn"]
    targets = []
    for target in props.get("Targets") or []:
        entry = {key: target[key] for key in ("Id", "Arn") if key in target}
        for key in ("Input", "InputPath", "RoleArn", "RetryPolicy", "DeadLetterConfig"):
            if key in target:
                entry[key] = target[key]
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if key in entry.get("RetryPolicy", {}):
                entry["RetryPolicy"][key] = int(entry["RetryPolicy"][key])
        targets.append(entry)
    if targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    if "ScheduleExpression" in props:
        provisioner.stack.warnings.append(
            f"{resource.logical_id}: scheduled rules are created but do not fire locally"
        )
    provisioner.stack.rules.append(RuleSpec(resource.logical_id, name, arn, bus))
    return Physical(name if bus == "default" else f"{bus}|{name}", {"Arn": arn})


def _event_bus(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource, ("Name",))
    arn = provisioner.client("events").create_event_bus(Name=props["Name"])["EventBusArn"]
    return Physical(props["Name"], {"Arn": arn, "Name": props["Name"]})


# ------------------------------------------------------------------ SQS
def _queue(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource)
    fifo = str(props.get("FifoQueue", "false")).lower() == "true"
    name = str(props.get("QueueName") or provisioner.physical_name(resource.logical_id, 75 if fifo else 80))
    if fifo and not name.endswith(".fifo"):
        name += ".fifo"
    attributes: dict[str, str] = {}
    for key in (
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "FifoQueue",
        "ContentBasedDeduplication",
        "SqsManagedSseEnabled",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
        "DeduplicationScope",
        "FifoThroughputLimit",
    ):
        if key in props:
            attributes[key] = _env_text(props[key])
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            attributes[key] = props[key] if isinstance(props[key], str) else _json(props[key])
    sqs = provisioner.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = provisioner.arn("sqs", name)
    return Physical(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def _queue_policy(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource, ("Queues", "PolicyDocument"))
    for url in props["Queues"]:
        provisioner.client("sqs").set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": _json(props["PolicyDocument"])}
        )
    return Physical(provisioner.physical_name(resource.logical_id))


# ------------------------------------------------------------------ CloudWatch Logs
def _log_group(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource)
    name = str(props.get("LogGroupName") or provisioner.physical_name(resource.logical_id, 512))
    logs = provisioner.client("logs")
    logs.create_log_group(logGroupName=name)
    if "RetentionInDays" in props:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    return Physical(name, {"Arn": provisioner.arn("logs", f"log-group:{name}:*")})


# ------------------------------------------------------------------ EventBridge Scheduler
def _schedule_group(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource)
    name = str(props.get("Name") or provisioner.physical_name(resource.logical_id))
    arn = provisioner.client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
    return Physical(name, {"Arn": arn})


def _schedule(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource, ("ScheduleExpression", "Target"))
    name = str(props.get("Name") or provisioner.physical_name(resource.logical_id))
    request = {
        "Name": name,
        "ScheduleExpression": props["ScheduleExpression"],
        "FlexibleTimeWindow": props.get("FlexibleTimeWindow") or {"Mode": "OFF"},
        "Target": props["Target"],
    }
    for key in (
        "GroupName",
        "ScheduleExpressionTimezone",
        "State",
        "Description",
        "StartDate",
        "EndDate",
    ):
        if key in props:
            request[key] = props[key]
    arn = provisioner.client("scheduler").create_schedule(**request)["ScheduleArn"]
    provisioner.stack.warnings.append(
        f"{resource.logical_id}: template schedules are created but do not fire locally"
    )
    return Physical(name, {"Arn": arn})


# ------------------------------------------------------------------ SNS, SES
def _topic(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource)
    name = str(props.get("TopicName") or provisioner.physical_name(resource.logical_id, 256))
    arn = provisioner.client("sns").create_topic(Name=name)["TopicArn"]
    return Physical(arn, {"TopicArn": arn, "TopicName": name})


def _email_identity(provisioner: Provisioner, resource: Resource) -> Physical:
    props = provisioner.properties(resource, ("EmailIdentity",))
    identity = str(props["EmailIdentity"])
    provisioner.stack.ses_identities.append(identity)
    return Physical(identity)


@cache
def placeholder_zip() -> bytes:
    """The code moto's Lambda stores; the real handler runs in-process instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise UnresolvableError(f"{value!r} is not a string")


CREATORS: dict[str, Creator] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::Serverless::SimpleTable": _simple_table,
    "AWS::IAM::Role": _role,
    SERVERLESS_FUNCTION: _function,
    "AWS::Serverless::LayerVersion": _layer,
    "AWS::Lambda::LayerVersion": _layer,
    SERVERLESS_HTTP_API: _http_api,
    LOCAL_ROUTE: _route,
    "AWS::Events::Rule": _rule,
    "AWS::Events::EventBus": _event_bus,
    "AWS::SQS::Queue": _queue,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::Scheduler::ScheduleGroup": _schedule_group,
    "AWS::Scheduler::Schedule": _schedule,
    "AWS::SNS::Topic": _topic,
    "AWS::SES::EmailIdentity": _email_identity,
}
