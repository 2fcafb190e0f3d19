"""DynamoDB tables from ``AWS::DynamoDB::Table`` properties: keys, indexes, SSE, streams, TTL, PITR.

The provisioner creates the template's tables with :func:`create_table`; tests create them with
:func:`create_table_from_template`, so that the mock cannot drift from the template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from goflow.local.cfn import Resolver, load_template
from goflow.local.provisioned import ProvisioningError


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
