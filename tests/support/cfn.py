"""Read ``template.yaml`` and build AWS resources from its own properties, so they cannot drift.

``load_template`` parses CloudFormation YAML, short-form intrinsic tags included (``!Ref x`` becomes
``{"Ref": "x"}``, ``!GetAtt A.B`` becomes ``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub s`` becomes
``{"Fn::Sub": "s"}``, ...). ``create_table_from_template`` creates a DynamoDB table exactly as the
template declares it (keys, indexes, billing, encryption, streams, then TTL and point-in-time
recovery), for moto in tests and for a local stack.

Only PyYAML and the standard library: this module does not depend on any test tooling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_FILE = "template.yaml"

# Short-form tag → long-form key. ``!Ref`` and ``!Condition`` have no ``Fn::`` prefix.
_INTRINSICS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "GetAZs",
            "GetAtt",
            "If",
            "ImportValue",
            "Join",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
        )
    },
}


class CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that turns CloudFormation's short-form tags into their long form."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = _INTRINSICS[tag_suffix]
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if key == "Fn::GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {key: value}


def _constructor(tag_suffix: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return _construct_intrinsic(loader, tag_suffix, node)

    return construct


for _name in _INTRINSICS:
    CloudFormationLoader.add_constructor(f"!{_name}", _constructor(_name))


def find_template(start: str | Path | None = None) -> Path:
    """The nearest ``template.yaml`` in ``start`` (default: this file's folder) or its parents,
    then in the working directory; ``FileNotFoundError`` if there is none."""
    origin = Path(start) if start is not None else Path(__file__).resolve().parent
    for folder in (origin, *origin.parents, Path.cwd()):
        candidate = folder / TEMPLATE_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no {TEMPLATE_FILE} in {origin} or its parents")


def load_template(path: str | Path | None = None) -> dict[str, Any]:
    """The CloudFormation/SAM template at ``path`` (default: :func:`find_template`), long-form."""
    text = Path(path if path is not None else find_template()).read_text(encoding="utf-8")
    template = yaml.load(text, Loader=CloudFormationLoader)
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    return template


def table_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """The ``Properties`` of the ``AWS::DynamoDB::Table`` resource ``logical_id``."""
    resource = template.get("Resources", {}).get(logical_id)
    if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::DynamoDB::Table":
        raise KeyError(f"{logical_id} is not an AWS::DynamoDB::Table resource of the template")
    return dict(resource.get("Properties", {}))


def create_table_from_template(
    client: Any,
    logical_id: str = "GoFlowTable",
    table_name: str | None = None,
    template: Mapping[str, Any] | None = None,
) -> str:
    """Create the template's table ``logical_id`` with a boto3 DynamoDB client; return its name.

    ``table_name`` defaults to the resource's literal ``TableName``, else its logical id.
    ``template`` defaults to :func:`load_template`. A property this needs that is an unresolved
    intrinsic function raises ``ValueError``: nothing here guesses a value the template did not fix.
    """
    props = table_properties(template if template is not None else load_template(), logical_id)
    if table_name is None:
        declared = props.get("TableName")
        table_name = declared if isinstance(declared, str) else logical_id
    client.create_table(**_create_table_request(props, table_name))
    client.get_waiter("table_exists").wait(TableName=table_name)

    ttl = props.get("TimeToLiveSpecification")
    if ttl is not None:
        _require_plain(ttl, "TimeToLiveSpecification")
        if ttl.get("Enabled", False):
            client.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr is not None:
        _require_plain(pitr, "PointInTimeRecoverySpecification")
        enabled = bool(pitr.get("PointInTimeRecoveryEnabled", False))
        if enabled:
            client.update_continuous_backups(
                TableName=table_name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
    return table_name


def _create_table_request(props: Mapping[str, Any], table_name: str) -> dict[str, Any]:
    """Map CloudFormation table properties onto the ``CreateTable`` API request."""
    for name in ("AttributeDefinitions", "KeySchema", "BillingMode"):
        _require_plain(props.get(name), name)
    billing_mode = props.get("BillingMode", "PROVISIONED")
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": billing_mode,
    }
    if billing_mode == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))

    gsis = props.get("GlobalSecondaryIndexes")
    if gsis:
        _require_plain(gsis, "GlobalSecondaryIndexes")
        request["GlobalSecondaryIndexes"] = [
            _index(gsi, provisioned=billing_mode == "PROVISIONED") for gsi in gsis
        ]
    lsis = props.get("LocalSecondaryIndexes")
    if lsis:
        _require_plain(lsis, "LocalSecondaryIndexes")
        request["LocalSecondaryIndexes"] = [_index(lsi, provisioned=False) for lsi in lsis]

    sse = props.get("SSESpecification")
    if sse is not None:
        _require_plain(sse, "SSESpecification")
        spec: dict[str, Any] = {"Enabled": bool(sse.get("SSEEnabled", False))}
        for key in ("SSEType", "KMSMasterKeyId"):
            if key in sse:
                spec[key] = sse[key]
        request["SSESpecification"] = spec
    stream = props.get("StreamSpecification")
    if stream is not None:
        _require_plain(stream, "StreamSpecification")
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    for key in ("TableClass", "DeletionProtectionEnabled"):
        if key in props:
            _require_plain(props[key], key)
            request[key] = props[key]
    return request


def _index(index: Mapping[str, Any], provisioned: bool) -> dict[str, Any]:
    spec = {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
    if provisioned:
        spec["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
    return spec


def _throughput(throughput: Mapping[str, Any] | None) -> dict[str, int]:
    if throughput is None:
        raise ValueError("a PROVISIONED table or index needs ProvisionedThroughput")
    _require_plain(throughput, "ProvisionedThroughput")
    return {
        "ReadCapacityUnits": int(throughput["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(throughput["WriteCapacityUnits"]),
    }


def _require_plain(value: Any, where: str) -> None:
    """``ValueError`` if ``value`` holds an intrinsic function (it cannot be resolved here)."""
    if isinstance(value, Mapping):
        if (
            len(value) == 1
            and next(iter(value)) in ("Ref", "Condition")
            or any(str(key).startswith("Fn::") for key in value)
        ):
            raise ValueError(f"{where}: intrinsic function {dict(value)} cannot be resolved here")
        for key, item in value.items():
            _require_plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _require_plain(item, f"{where}[{position}]")
