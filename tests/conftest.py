"""Fixtures every test suite may use: fake AWS credentials, moto, and the GoFlow table.

The environment is set at import, before any test module builds a boto3 client, so no test can
reach a real AWS account or a developer's profile.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.cfn import create_table_from_template, load_template

AWS_REGION = "us-east-1"
TABLE_NAME = "goflow-test"
# Step Functions executes the compiled machines with moto's ASL interpreter; Lambda runs in-process.
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}

for _variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_variable, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": AWS_REGION,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "GoFlow",
    }
)


@pytest.fixture(scope="session")
def cfn_template() -> dict[str, Any]:
    """``template.yaml``, parsed once per session (treat it as read-only)."""
    return load_template()


@pytest.fixture
def aws() -> Iterator[None]:
    """Every AWS call inside the test goes to moto (state machines really execute)."""
    with mock_aws(config=MOTO_CONFIG):
        yield


@pytest.fixture
def dynamodb_client(aws: None) -> Any:
    """A DynamoDB client on moto."""
    return boto3.client("dynamodb", region_name=AWS_REGION)


@pytest.fixture
def dynamodb_table(dynamodb_client: Any, cfn_template: dict[str, Any]) -> str:
    """The GoFlow table, created from ``template.yaml``'s own properties; its name."""
    return create_table_from_template(
        dynamodb_client, "GoFlowTable", table_name=TABLE_NAME, template=cfn_template
    )
