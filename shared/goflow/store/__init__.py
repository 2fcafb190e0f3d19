"""DynamoDB persistence for workflows and executions (adapters for ``goflow.ports``)."""

from goflow.store.dynamodb import DynamoExecutionRepository, DynamoWorkflowRepository

__all__ = ["DynamoExecutionRepository", "DynamoWorkflowRepository"]
