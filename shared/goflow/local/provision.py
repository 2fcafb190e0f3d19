"""Create the AWS side of the local stack in moto from ``template.yaml`` itself.

A small SAM transform expands each ``AWS::Serverless::*`` resource into what SAM would deploy (the
function, its implicit role, one EventBridge rule per ``EventBridgeRule`` event, the HTTP API routes),
then every resource is created in dependency order with its properties resolved by
:class:`goflow.local.cfn.Resolver`: DynamoDB tables (keys, indexes, TTL), IAM roles, Lambda functions
(in moto's Lambda with a placeholder zip; the stack runs the real handlers in-process), EventBridge
rules and targets, SQS queues and policies, log groups, Scheduler groups and schedules. A resource
type the local stack does not emulate is listed, never fatal.

:class:`RuleRouter` delivers an event to the targets of every enabled rule whose pattern matches it,
reading the rules from moto and matching them with moto's own event-pattern matcher.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from goflow.local.cfn import NO_VALUE, Resolver, UnresolvableError, load_template
from goflow.local.lambdas import Invocation

logger = logging.getLogger("goflow.local.provision")

ClientFactory = Callable[[str], Any]
Invoker = Callable[[str, Any], Invocation]

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
# Types that exist only to wire things up in AWS; locally there is nothing to create.
NOTHING_TO_DO = {
    "AWS::Lambda::Permission": "invoke permissions are not enforced locally",
    "AWS::ApiGatewayV2::Stage": "the local gateway serves the $default stage",
}


class ProvisioningError(RuntimeError):
    """A resource the local stack emulates could not be created."""


@dataclass
class Physical:
    """What ``Ref`` and ``Fn::GetAtt`` of a created resource return."""

    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class FunctionSpec:
    """A Lambda function of the template, as the in-process dispatcher runs it."""

    logical_id: str
    name: str
    arn: str
    handler: str | None
    code_dir: Path | None
    runtime: str
    timeout_seconds: float
    memory_mb: int
    environment: dict[str, str]


@dataclass
class Route:
    """An HTTP API route: ``routeKey`` (``"ANY /api/{proxy+}"`` or ``"$default"``) → a function."""

    route_key: str
    method: str
    path: str | None
    function: str
    payload_format_version: str = "2.0"
    timeout_ms: int = 30_000


@dataclass
class HttpApiSpec:
    logical_id: str
    api_id: str
    cors: dict[str, Any] | None
    routes: list[Route] = field(default_factory=list)


@dataclass
class RuleSpec:
    logical_id: str
    name: str
    arn: str
    event_bus: str


@dataclass
class NotEmulated:
    logical_id: str
    type: str
    reason: str


@dataclass
class ProvisionedStack:
    """Everything the local stack created from the template."""

    region: str
    account_id: str
    stack_name: str
    parameters: dict[str, Any]
    resources: dict[str, Physical] = field(default_factory=dict)
    functions: list[FunctionSpec] = field(default_factory=list)
    apis: list[HttpApiSpec] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    not_emulated: list[NotEmulated] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ses_identities: list[str] = field(default_factory=list)

    def function(self, logical_id: str) -> FunctionSpec:
        for spec in self.functions:
            if spec.logical_id == logical_id:
                return spec
        raise KeyError(logical_id)


@dataclass
class Resource:
    """One resource after the SAM expansion, its properties still unresolved."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: set[str] = field(default_factory=set)
    condition: str | None = None
    origin: str | None = None


@cache
def placeholder_zip() -> bytes:
    """The code moto's Lambda stores; the real handler runs in-process instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- SAM expansion
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


# ---------------------------------------------------------------------------------------------- ordering
def references(value: Any, known: Iterable[str]) -> set[str]:
    """The logical ids among ``known`` that ``value`` refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    names = set(known)
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, item in node.items():
                if key == "Ref" and isinstance(item, str):
                    found.add(item)
                elif key == "Fn::GetAtt":
                    parts = item.split(".", 1) if isinstance(item, str) else item
                    if isinstance(parts, list) and parts and isinstance(parts[0], str):
                        found.add(parts[0])
                elif key == "Fn::Sub":
                    text = item[0] if isinstance(item, list) and item else item
                    if isinstance(text, str):
                        for variable in _sub_variables(text):
                            found.add(variable.split(".", 1)[0])
                visit(item)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(value)
    return found & names


def _sub_variables(text: str) -> list[str]:
    out: list[str] = []
    start = text.find("${")
    while start != -1:
        end = text.find("}", start)
        if end == -1:
            break
        name = text[start + 2 : end]
        if not name.startswith("!"):
            out.append(name)
        start = text.find("${", end)
    return out


def creation_order(resources: list[Resource]) -> list[Resource]:
    """``resources`` sorted so that each comes after everything it refers to (stable otherwise)."""
    by_id = {r.logical_id: r for r in resources}
    edges = {
        r.logical_id: (references(r.properties, by_id) | (r.depends_on & set(by_id))) - {r.logical_id}
        for r in resources
    }
    ordered: list[Resource] = []
    state: dict[str, int] = {}

    def visit(logical_id: str, path: list[str]) -> None:
        mark = state.get(logical_id)
        if mark == 2:
            return
        if mark == 1:
            cycle = " → ".join([*path[path.index(logical_id) :], logical_id])
            raise ProvisioningError(f"circular dependency between resources: {cycle}")
        state[logical_id] = 1
        for dependency in sorted(edges[logical_id]):
            visit(dependency, [*path, logical_id])
        state[logical_id] = 2
        ordered.append(by_id[logical_id])

    for resource in resources:
        visit(resource.logical_id, [])
    return ordered


# ---------------------------------------------------------------------------------------------- provisioning
class Provisioner:
    """Creates a template's resources through boto3 clients (moto's endpoint) and describes the result."""

    def __init__(
        self,
        template_path: Path,
        clients: ClientFactory,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        stack_name: str = "goflow",
        parameters: Mapping[str, Any] | None = None,
        default_sender: str | None = None,
    ) -> None:
        self.template_path = Path(template_path).resolve()
        self.root = self.template_path.parent
        self.template = load_template(self.template_path)
        self.clients = clients
        self.resolver = Resolver(
            self.template,
            parameters=parameters,
            region=region,
            account_id=account_id,
            stack_name=stack_name,
            resources=self._lookup,
        )
        self.default_sender = default_sender
        self.stack = ProvisionedStack(region, account_id, stack_name, dict(self.resolver.parameters))
        self._client_cache: dict[str, Any] = {}
        self._handlers: dict[str, Callable[[Resource], Physical]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::Serverless::SimpleTable": self._simple_table,
            "AWS::IAM::Role": self._role,
            SERVERLESS_FUNCTION: self._function,
            "AWS::Serverless::LayerVersion": self._layer,
            "AWS::Lambda::LayerVersion": self._layer,
            SERVERLESS_HTTP_API: self._http_api,
            LOCAL_ROUTE: self._route,
            "AWS::Events::Rule": self._rule,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::SQS::Queue": self._queue,
            "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Scheduler::ScheduleGroup": self._schedule_group,
            "AWS::Scheduler::Schedule": self._schedule,
            "AWS::SNS::Topic": self._topic,
            "AWS::SES::EmailIdentity": self._email_identity,
        }

    # ------------------------------------------------------------------ entry point
    def run(self) -> ProvisionedStack:
        """Create every resource (dependency order), verify the SES sender, resolve the outputs."""
        resources, skipped = expand(self.template)
        self.stack.not_emulated.extend(skipped)
        for resource in creation_order(resources):
            if resource.condition and not self.resolver.condition(resource.condition):
                continue
            handler = self._handlers.get(resource.type)
            if handler is None:
                reason = NOTHING_TO_DO.get(resource.type, "not emulated by the local stack")
                self.stack.not_emulated.append(NotEmulated(resource.logical_id, resource.type, reason))
                self.stack.resources[resource.logical_id] = self._placeholder(resource)
                continue
            try:
                self.stack.resources[resource.logical_id] = handler(resource)
            except (UnresolvableError, ProvisioningError) as exc:
                raise ProvisioningError(f"{resource.logical_id} ({resource.type}): {exc}") from exc
            except Exception as exc:
                raise ProvisioningError(
                    f"could not create {resource.logical_id} ({resource.type}): {exc}"
                ) from exc
        self._verify_senders()
        self._outputs()
        return self.stack

    # ------------------------------------------------------------------ helpers
    def client(self, service: str) -> Any:
        if service not in self._client_cache:
            self._client_cache[service] = self.clients(service)
        return self._client_cache[service]

    def _lookup(self, logical_id: str, attribute: str | None) -> Any:
        physical = self.stack.resources[logical_id]
        if attribute is None:
            return physical.ref
        if attribute not in physical.attributes:
            raise UnresolvableError(f"{logical_id} has no attribute {attribute} locally")
        return physical.attributes[attribute]

    def _properties(self, resource: Resource, required: Iterable[str] = ()) -> dict[str, Any]:
        """Resolved properties; an optional one that cannot be resolved locally is dropped with a warning."""
        needed = set(required)
        out: dict[str, Any] = {}
        for key, value in resource.properties.items():
            try:
                resolved = self.resolver.resolve(value)
            except UnresolvableError as exc:
                if key in needed:
                    raise
                self.stack.warnings.append(f"{resource.logical_id}.{key} ignored: {exc}")
                continue
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out

    def _name(self, logical_id: str, limit: int = 64) -> str:
        """The name of a resource the template does not name: ``<stack>-<logical id>``.

        CloudFormation adds a random suffix; locally the name stays the same from run to run, so
        commands in the docs (``aws dynamodb scan --table-name goflow-local-GoFlowTable``) keep working.
        A name longer than ``limit`` is cut and ends with a stable hash of the whole.
        """
        name = f"{self.stack.stack_name}-{logical_id}"
        if len(name) <= limit:
            return name
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        return f"{name[: limit - 9]}-{digest}"

    def _arn(self, service: str, resource: str, region: bool = True) -> str:
        where = self.stack.region if region else ""
        return f"arn:aws:{service}:{where}:{self.stack.account_id}:{resource}"

    def _placeholder(self, resource: Resource) -> Physical:
        name = self._name(resource.logical_id)
        service = resource.type.split("::")[1].lower() if resource.type.count("::") >= 2 else "local"
        return Physical(name, {"Arn": self._arn(service, name)})

    # ------------------------------------------------------------------ DynamoDB
    def _table(self, resource: Resource) -> Physical:
        props = self._properties(resource, ("AttributeDefinitions", "KeySchema"))
        name = str(props.get("TableName") or self._name(resource.logical_id, 255))
        table = create_table(self.client("dynamodb"), name, props)
        attributes = {"Arn": table["TableArn"]}
        if table.get("LatestStreamArn"):
            attributes["StreamArn"] = table["LatestStreamArn"]
        return Physical(name, attributes)

    def _simple_table(self, resource: Resource) -> Physical:
        props = self._properties(resource)
        key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
        kind = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
        table: dict[str, Any] = {
            "TableName": props.get("TableName"),
            "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
            "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
            "BillingMode": "PROVISIONED" if props.get("ProvisionedThroughput") else "PAY_PER_REQUEST",
            **{k: props[k] for k in ("ProvisionedThroughput", "SSESpecification", "Tags") if k in props},
        }
        return self._table(Resource(resource.logical_id, "AWS::DynamoDB::Table", table))

    # ------------------------------------------------------------------ IAM
    def _role(self, resource: Resource) -> Physical:
        props = self._properties(resource, ("AssumeRolePolicyDocument",))
        name = str(props.get("RoleName") or self._name(resource.logical_id))
        iam = self.client("iam")
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
    def _function(self, resource: Resource) -> Physical:
        props = self._properties(
            resource,
            ("FunctionName", "Handler", "CodeUri", "Runtime", "Timeout", "MemorySize", "Environment", "Role"),
        )
        name = str(props.get("FunctionName") or self._name(resource.logical_id))
        environment = {
            key: _env_text(value)
            for key, value in ((props.get("Environment") or {}).get("Variables") or {}).items()
        }
        timeout = float(props.get("Timeout", 3))
        memory = int(props.get("MemorySize", 128))
        runtime = str(props.get("Runtime", "python3.13"))
        handler = props.get("Handler")
        code_uri = props.get("CodeUri")
        code_dir = self.root / code_uri if isinstance(code_uri, str) else None
        if props.get("PackageType") == "Image" or props.get("InlineCode") is not None or code_dir is None:
            self.stack.warnings.append(f"{resource.logical_id}: only CodeUri functions run locally")
            code_dir = None
        elif not runtime.startswith("python"):
            self.stack.warnings.append(f"{resource.logical_id}: runtime {runtime} does not run locally")
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
        layers = [arn for arn in props.get("Layers") or [] if arn in self._layer_arns()]
        if layers:
            request["Layers"] = layers
        if isinstance(props.get("Tags"), Mapping):
            request["Tags"] = {str(k): str(v) for k, v in props["Tags"].items()}
        arn = self.client("lambda").create_function(**request)["FunctionArn"]
        self.stack.functions.append(
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

    def _layer_arns(self) -> set[str]:
        return {
            str(physical.ref)
            for physical in self.stack.resources.values()
            if str(physical.ref).startswith(self._arn("lambda", "layer:"))
        }

    def _layer(self, resource: Resource) -> Physical:
        props = self._properties(resource)
        name = str(props.get("LayerName") or self._name(resource.logical_id, 140))
        request: dict[str, Any] = {"LayerName": name, "Content": {"ZipFile": placeholder_zip()}}
        for key in ("Description", "CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo"):
            if key in props:
                request[key] = props[key]
        arn = self.client("lambda").publish_layer_version(**request)["LayerVersionArn"]
        return Physical(arn, {})

    # ------------------------------------------------------------------ HTTP API
    def _http_api(self, resource: Resource) -> Physical:
        props = self._properties(resource)
        api_id = hashlib.sha1(f"{self.stack.stack_name}/{resource.logical_id}".encode()).hexdigest()[:10]
        if props.get("DefinitionBody") or props.get("DefinitionUri"):
            self.stack.warnings.append(
                f"{resource.logical_id}: OpenAPI definition routes are not emulated, only function events"
            )
        cors = props.get("CorsConfiguration")
        if cors is True:
            cors = {"AllowOrigins": ["*"], "AllowMethods": ["*"], "AllowHeaders": ["*"]}
        self.stack.apis.append(
            HttpApiSpec(resource.logical_id, api_id, cors if isinstance(cors, dict) else None)
        )
        endpoint = f"https://{api_id}.execute-api.{self.stack.region}.{self.resolver.url_suffix}"
        return Physical(api_id, {"ApiEndpoint": endpoint, "ApiId": api_id})

    def _route(self, resource: Resource) -> Physical:
        props = self._properties(resource, ("ApiId", "Function"))
        api = next((a for a in self.stack.apis if a.api_id == props["ApiId"]), None)
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
            self.stack.warnings.append(f"{resource.logical_id}: only payload format 2.0 is emulated")
        return Physical(f"{api.api_id}/{route_key}")

    # ------------------------------------------------------------------ EventBridge
    def _rule(self, resource: Resource) -> Physical:
        props = self._properties(resource)
        name = str(props.get("Name") or self._name(resource.logical_id))
        bus = str(props.get("EventBusName") or "default")
        request: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            pattern = props["EventPattern"]
            request["EventPattern"] = pattern if isinstance(pattern, str) else _json(pattern)
        for key in ("ScheduleExpression", "Description", "RoleArn"):
            if key in props:
                request[key] = props[key]
        events = self.client("events")
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
            self.stack.warnings.append(
                f"{resource.logical_id}: scheduled rules are created but do not fire locally"
            )
        self.stack.rules.append(RuleSpec(resource.logical_id, name, arn, bus))
        return Physical(name if bus == "default" else f"{bus}|{name}", {"Arn": arn})

    def _event_bus(self, resource: Resource) -> Physical:
        props = self._properties(resource, ("Name",))
        arn = self.client("events").create_event_bus(Name=props["Name"])["EventBusArn"]
        return Physical(props["Name"], {"Arn": arn, "Name": props["Name"]})

    # ------------------------------------------------------------------ SQS
    def _queue(self, resource: Resource) -> Physical:
        props = self._properties(resource)
        fifo = str(props.get("FifoQueue", "false")).lower() == "true"
        name = str(props.get("QueueName") or self._name(resource.logical_id, 75 if fifo else 80))
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
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self._arn("sqs", name)
        return Physical(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _queue_policy(self, resource: Resource) -> Physical:
        props = self._properties(resource, ("Queues", "PolicyDocument"))
        for url in props["Queues"]:
            self.client("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": _json(props["PolicyDocument"])}
            )
        return Physical(self._name(resource.logical_id))

    # ------------------------------------------------------------------ CloudWatch Logs
    def _log_group(self, resource: Resource) -> Physical:
        props = self._properties(resource)
        name = str(props.get("LogGroupName") or self._name(resource.logical_id, 512))
        logs = self.client("logs")
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        return Physical(name, {"Arn": self._arn("logs", f"log-group:{name}:*")})

    # ------------------------------------------------------------------ EventBridge Scheduler
    def _schedule_group(self, resource: Resource) -> Physical:
        props = self._properties(resource)
        name = str(props.get("Name") or self._name(resource.logical_id))
        arn = self.client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
        return Physical(name, {"Arn": arn})

    def _schedule(self, resource: Resource) -> Physical:
        props = self._properties(resource, ("ScheduleExpression", "Target"))
        name = str(props.get("Name") or self._name(resource.logical_id))
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
        arn = self.client("scheduler").create_schedule(**request)["ScheduleArn"]
        self.stack.warnings.append(
            f"{resource.logical_id}: template schedules are created but do not fire locally"
        )
        return Physical(name, {"Arn": arn})

    # ------------------------------------------------------------------ SNS, SES
    def _topic(self, resource: Resource) -> Physical:
        props = self._properties(resource)
        name = str(props.get("TopicName") or self._name(resource.logical_id, 256))
        arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        return Physical(arn, {"TopicArn": arn, "TopicName": name})

    def _email_identity(self, resource: Resource) -> Physical:
        props = self._properties(resource, ("EmailIdentity",))
        identity = str(props["EmailIdentity"])
        self.stack.ses_identities.append(identity)
        return Physical(identity)

    def _verify_senders(self) -> None:
        """Verify every SES identity the template declares, and the sender the functions default to."""
        senders = {
            spec.environment["GOFLOW_DEFAULT_SENDER"]
            for spec in self.stack.functions
            if spec.environment.get("GOFLOW_DEFAULT_SENDER")
        }
        if not senders and self.default_sender:
            senders.add(self.default_sender)
        ses = self.client("ses")
        for identity in sorted(senders | set(self.stack.ses_identities)):
            if "@" in identity:
                ses.verify_email_identity(EmailAddress=identity)
            else:
                ses.verify_domain_identity(Domain=identity)
        self.stack.ses_identities = sorted(senders | set(self.stack.ses_identities))

    def _outputs(self) -> None:
        for name, output in (self.template.get("Outputs") or {}).items():
            if output.get("Condition") and not self.resolver.condition(output["Condition"]):
                continue
            try:
                self.stack.outputs[name] = self.resolver.resolve(output.get("Value"))
            except UnresolvableError as exc:
                self.stack.warnings.append(f"output {name} not resolved: {exc}")


def create_table(client: Any, table_name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """Create a table from resolved ``AWS::DynamoDB::Table`` properties (keys, indexes, TTL, PITR)."""
    billing_mode = properties.get("BillingMode", "PROVISIONED")
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": billing_mode,
    }
    provisioned = billing_mode == "PROVISIONED"
    if provisioned:
        request["ProvisionedThroughput"] = _throughput(properties.get("ProvisionedThroughput"))
    indexes = []
    for index in properties.get("GlobalSecondaryIndexes") or []:
        spec = {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
        if provisioned:
            spec["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
        indexes.append(spec)
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    local_indexes = [
        {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
        for index in properties.get("LocalSecondaryIndexes") or []
    ]
    if local_indexes:
        request["LocalSecondaryIndexes"] = local_indexes
    sse = properties.get("SSESpecification")
    if sse is not None:
        spec = {"Enabled": str(sse.get("SSEEnabled", False)).lower() == "true"} | {
            key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse
        }
        if spec["Enabled"]:
            # Named explicitly: the AWS managed key AWS uses when none is given. Left out, moto would
            # create a KMS key with an RSA key pair for the table, a quarter second of start-up.
            spec.setdefault("KMSMasterKeyId", "alias/aws/dynamodb")
        request["SSESpecification"] = spec
    stream = properties.get("StreamSpecification")
    if stream is not None:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    for key in ("TableClass", "DeletionProtectionEnabled", "Tags"):
        if key in properties:
            request[key] = properties[key]
    description: dict[str, Any] = client.create_table(**request)["TableDescription"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and str(ttl.get("Enabled", False)).lower() == "true":
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    pitr = properties.get("PointInTimeRecoverySpecification")
    if pitr and str(pitr.get("PointInTimeRecoveryEnabled", False)).lower() == "true":
        client.update_continuous_backups(
            TableName=table_name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return description


def create_table_from_template(
    client: Any,
    logical_id: str = "GoFlowTable",
    table_name: str | None = None,
    template: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> str:
    """Create the template's table ``logical_id`` (tests use this); return its name.

    ``table_name`` defaults to the resource's ``TableName``, else the logical id.
    """
    source = template if template is not None else load_template()
    resource = (source.get("Resources") or {}).get(logical_id)
    if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::DynamoDB::Table":
        raise KeyError(f"{logical_id} is not an AWS::DynamoDB::Table resource of the template")
    properties = Resolver(source, parameters=parameters).resolve(resource.get("Properties") or {})
    name = table_name or str(properties.get("TableName") or logical_id)
    create_table(client, name, properties)
    return name


def _throughput(throughput: Mapping[str, Any] | None) -> dict[str, int]:
    if throughput is None:
        raise ProvisioningError("a PROVISIONED table or index needs ProvisionedThroughput")
    return {
        "ReadCapacityUnits": int(throughput["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(throughput["WriteCapacityUnits"]),
    }


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise UnresolvableError(f"{value!r} is not a string")


# ---------------------------------------------------------------------------------------------- delivery
@dataclass
class Delivery:
    """One event delivered (or not) to one rule target."""

    rule: str
    target: str
    ok: bool
    attempts: int
    error: str | None = None


class RuleRouter:
    """EventBridge's side of the local stack: events → the targets of the rules whose pattern matches.

    Rules and targets are read from moto at delivery time (so ``aws events disable-rule`` works) and
    matched with moto's own event-pattern matcher. A Lambda target is invoked asynchronously, as
    EventBridge does: a function error is retried twice (Lambda's asynchronous retries), a target that
    cannot be reached goes to the target's dead-letter queue when it has one.
    """

    def __init__(
        self,
        events: Any,
        invoke: Invoker,
        sqs: Any = None,
        *,
        buses: Iterable[str] = ("default",),
        retry_delays: tuple[float, ...] = (1.0, 2.0),
    ) -> None:
        self.events = events
        self.invoke = invoke
        self.sqs = sqs
        self.buses = tuple(buses)
        self.retry_delays = retry_delays
        self._lock = threading.Lock()
        self.deliveries: list[Delivery] = []

    def matching_rules(self, event: Mapping[str, Any], bus: str = "default") -> list[dict[str, Any]]:
        """The enabled rules of ``bus`` whose event pattern matches ``event``."""
        from moto.events.models import EventPattern

        rules: list[dict[str, Any]] = []
        for page in self.events.get_paginator("list_rules").paginate(EventBusName=bus):
            for rule in page.get("Rules", []):
                pattern = rule.get("EventPattern")
                if rule.get("State") != "ENABLED" or not pattern:
                    continue
                if EventPattern.load(pattern).matches_event(dict(event)):  # type: ignore[arg-type]
                    rules.append(rule)
        return rules

    def publish(self, event: Mapping[str, Any]) -> list[Delivery]:
        """Deliver ``event`` to every matching target; returns what happened to each."""
        out: list[Delivery] = []
        for bus in self.buses:
            for rule in self.matching_rules(event, bus):
                targets = self.events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus).get(
                    "Targets", []
                )
                for target in targets:
                    out.append(self._deliver(rule["Name"], target, event))
        with self._lock:
            self.deliveries.extend(out)
        return out

    def _deliver(self, rule: str, target: Mapping[str, Any], event: Mapping[str, Any]) -> Delivery:
        arn = str(target["Arn"])
        payload: Any = json.loads(target["Input"]) if target.get("Input") else dict(event)
        if ":lambda:" in arn:
            return self._to_function(rule, target, payload)
        if ":sqs:" in arn and self.sqs is not None:
            self._send_to_queue(arn, payload)
            return Delivery(rule, arn, True, 1)
        logger.warning("rule target not emulated", extra={"rule": rule, "target": arn})
        return Delivery(rule, arn, False, 0, "target type not emulated")

    def _to_function(self, rule: str, target: Mapping[str, Any], payload: Any) -> Delivery:
        arn = str(target["Arn"])
        attempts = 0
        error: str | None = None
        for delay in (0.0, *self.retry_delays):
            if delay:
                time.sleep(delay)
            attempts += 1
            result = self.invoke(arn, payload)
            if not result.failed:
                return Delivery(rule, arn, True, attempts)
            error = f"{result.error_type}: {_message(result.payload)}"
            if result.error_type == "ResourceNotFoundException":
                break
            logger.warning(
                "event target failed",
                extra={"rule": rule, "target": arn, "attempt": attempts, "error": error},
            )
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter and result.error_type == "ResourceNotFoundException" and self.sqs is not None:
            self._send_to_queue(str(dead_letter), payload, {"ERROR_CODE": "ResourceNotFoundException"})
        logger.error(
            "event not delivered", extra={"rule": rule, "target": arn, "attempts": attempts, "error": error}
        )
        return Delivery(rule, arn, False, attempts, error)

    def _send_to_queue(
        self, queue_arn: str, payload: Any, attributes: Mapping[str, str] | None = None
    ) -> None:
        account, name = queue_arn.split(":")[4], queue_arn.split(":")[5]
        url = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        message_attributes = {
            key: {"DataType": "String", "StringValue": value} for key, value in (attributes or {}).items()
        }
        self.sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps(payload), MessageAttributes=message_attributes
        )


def _message(payload: Any) -> str:
    if isinstance(payload, Mapping):
        return str(payload.get("errorMessage", ""))
    return str(payload)
