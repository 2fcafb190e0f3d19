"""The composition root: builds the adapters and services a function needs from its settings.

Handlers call these lazily (never at import time), once per cold start.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3

from goflow.connectors.registry import default_registry
from goflow.executions.service import ExecutionService
from goflow.settings import Settings, load_settings
from goflow.stepfunctions import StepFunctionsEngine
from goflow.store.apikeys import ApiKeyRepository
from goflow.store.dynamodb import DynamoExecutionRepository, DynamoWorkflowRepository
from goflow.store.idempotency import DynamoIdempotencyStore
from goflow.workflows.service import WorkflowService


@lru_cache(maxsize=16)
def aws_client(service: str, region: str) -> Any:
    """One boto3 client per service and region for the life of the process (endpoint from the environment)."""
    return boto3.session.Session().client(service, region_name=region)


def _engine(settings: Settings) -> StepFunctionsEngine:
    return StepFunctionsEngine(
        client=aws_client("stepfunctions", settings.region),
        role_arn=settings.state_machine_role_arn,
        prefix=settings.state_machine_prefix,
    )


@lru_cache(maxsize=1)
def execution_service() -> ExecutionService:
    """The execution use cases, wired to DynamoDB and Step Functions (cached per process)."""
    settings = load_settings()
    repository = DynamoExecutionRepository(
        aws_client("dynamodb", settings.region),
        settings.table_name,
        retention_days=settings.execution_retention_days,
    )
    return ExecutionService(executions=repository, engine=_engine(settings))


@lru_cache(maxsize=1)
def workflow_service() -> WorkflowService:
    """The workflow use cases (cached per process)."""
    settings = load_settings()
    return WorkflowService(
        workflows=DynamoWorkflowRepository(aws_client("dynamodb", settings.region), settings.table_name),
        engine=_engine(settings),
        registry=default_registry(),
        executor_arn=settings.executor_function_arn,
    )


@lru_cache(maxsize=1)
def api_key_repository() -> ApiKeyRepository:
    """API keys → tenants, on the GoFlow table (cached per process)."""
    settings = load_settings()
    return ApiKeyRepository(aws_client("dynamodb", settings.region), settings.table_name)


@lru_cache(maxsize=1)
def idempotency_store() -> DynamoIdempotencyStore:
    """Idempotency-Key bindings, on the GoFlow table (cached per process)."""
    settings = load_settings()
    return DynamoIdempotencyStore(aws_client("dynamodb", settings.region), settings.table_name)


def reset() -> None:
    """Forget every cached client, service and setting (tests and the local stack call this)."""
    for cached in (
        aws_client,
        execution_service,
        workflow_service,
        api_key_repository,
        idempotency_store,
        load_settings,
        default_registry,
    ):
        cached.cache_clear()
