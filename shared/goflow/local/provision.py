"""Create the AWS side of the local stack in moto from ``template.yaml`` itself.

:class:`Provisioner` expands the template with the SAM transform (:mod:`goflow.local.sam`), then
creates every resource in dependency order (:mod:`goflow.local.ordering`) with its properties
resolved by :class:`goflow.local.cfn.Resolver`, each by the creator of its type
(:mod:`goflow.local.resource_types`): DynamoDB tables, IAM roles, Lambda functions, EventBridge
rules, SQS queues, log groups, Scheduler groups and schedules, ... A resource type the local stack
does not emulate is listed, never fatal. The result is a :class:`~goflow.local.provisioned.ProvisionedStack`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from goflow.local.cfn import NO_VALUE, Resolver, UnresolvableError, load_template
from goflow.local.ordering import creation_order
from goflow.local.provisioned import NotEmulated, Physical, ProvisionedStack, ProvisioningError
from goflow.local.resource_types import CREATORS
from goflow.local.sam import Resource, expand

ClientFactory = Callable[[str], Any]
# Types that exist only to wire things up in AWS; locally there is nothing to create.
NOTHING_TO_DO = {
    "AWS::Lambda::Permission": "invoke permissions are not enforced locally",
    "AWS::ApiGatewayV2::Stage": "the local gateway serves the $default stage",
}


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

    # ------------------------------------------------------------------ entry point
    def run(self) -> ProvisionedStack:
        """Create every resource (dependency order), verify the SES sender, resolve the outputs."""
        resources, skipped = expand(self.template)
        self.stack.not_emulated.extend(skipped)
        for resource in creation_order(resources):
            if resource.condition and not self.resolver.condition(resource.condition):
                continue
            create = CREATORS.get(resource.type)
            if create is None:
                reason = NOTHING_TO_DO.get(resource.type, "not emulated by the local stack")
                self.stack.not_emulated.append(NotEmulated(resource.logical_id, resource.type, reason))
                self.stack.resources[resource.logical_id] = self._placeholder(resource)
                continue
            try:
                self.stack.resources[resource.logical_id] = create(self, resource)
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
        """A client of ``service`` on moto's endpoint, one per service."""
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

    def properties(self, resource: Resource, required: Iterable[str] = ()) -> dict[str, Any]:
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

    def physical_name(self, logical_id: str, limit: int = 64) -> str:
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

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        """The ARN of ``resource`` of ``service`` in this stack's account (and region)."""
        where = self.stack.region if region else ""
        return f"arn:aws:{service}:{where}:{self.stack.account_id}:{resource}"

    def _placeholder(self, resource: Resource) -> Physical:
        name = self.physical_name(resource.logical_id)
        service = resource.type.split("::")[1].lower() if resource.type.count("::") >= 2 else "local"
        return Physical(name, {"Arn": self.arn(service, name)})

    # ------------------------------------------------------------------ after creation
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
