"""Step Functions adapter: one state machine per workflow, executions named by GoFlow's execution id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from goflow.errors import EngineError, ExecutionAlreadyExistsError, ExecutionNotFoundError
from goflow.ports import RunDescription
from goflow.workflows.model import Workflow


def state_machine_name(prefix: str, workflow_id: str) -> str:
    return f"{prefix}-{workflow_id}"


def execution_arn_for(state_machine_arn: str, execution_name: str) -> str:
    """The ARN Step Functions gives an execution of ``state_machine_arn`` named ``execution_name``."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{execution_name}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass
class StepFunctionsEngine:
    """Implements :class:`goflow.ports.StateMachineEngine` over an injected boto3 ``stepfunctions`` client."""

    client: Any
    role_arn: str
    prefix: str

    def deploy(self, workflow: Workflow, definition: str) -> str:
        """Create the workflow's machine, or update it when it exists; return its ARN."""
        name = state_machine_name(self.prefix, workflow.id)
        machine_type = "EXPRESS" if workflow.mode == "express" else "STANDARD"
        arn = workflow.state_machine_arn or self._arn(name)
        try:
            self.client.describe_state_machine(stateMachineArn=arn)
        except ClientError as exc:
            if _code(exc) != "StateMachineDoesNotExist":
                raise EngineError("could not read the workflow's state machine") from exc
            return self._create(workflow, name, machine_type, definition)
        try:
            self.client.update_state_machine(
                stateMachineArn=arn, definition=definition, roleArn=self.role_arn
            )
        except ClientError as exc:
            raise EngineError(f"could not update state machine {name}: {exc}") from exc
        return arn

    def _create(self, workflow: Workflow, name: str, machine_type: str, definition: str) -> str:
        try:
            response = self.client.create_state_machine(
                name=name,
                definition=definition,
                roleArn=self.role_arn,
                type=machine_type,
                tracingConfiguration={"enabled": True},
                tags=[
                    {"key": "goflow:tenant", "value": workflow.tenant_id},
                    {"key": "goflow:workflow", "value": workflow.id},
                ],
            )
        except ClientError as exc:
            raise EngineError(f"could not create state machine {name}: {exc}") from exc
        return str(response["stateMachineArn"])

    def _arn(self, name: str) -> str:
        account = self.role_arn.split(":")[4]
        partition = self.role_arn.split(":")[1]
        return f"arn:{partition}:states:{self.client.meta.region_name}:{account}:stateMachine:{name}"

    def remove(self, state_machine_arn: str) -> None:
        try:
            self.client.delete_state_machine(stateMachineArn=state_machine_arn)
        except ClientError as exc:
            if _code(exc) != "StateMachineDoesNotExist":
                raise EngineError(f"could not delete state machine: {exc}") from exc

    def start(self, state_machine_arn: str, name: str, run_input: dict[str, Any], trace_id: str) -> str:
        try:
            response = self.client.start_execution(
                stateMachineArn=state_machine_arn,
                name=name,
                input=json.dumps(run_input, separators=(",", ":")),
                traceHeader=f"Root={trace_id}",
            )
        except ClientError as exc:
            if _code(exc) == "ExecutionAlreadyExists":
                raise ExecutionAlreadyExistsError(f"execution {name} was already started") from exc
            raise EngineError(f"could not start the execution: {exc}") from exc
        return str(response["executionArn"])

    def describe(self, execution_arn: str) -> RunDescription:
        try:
            response = self.client.describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if _code(exc) == "ExecutionDoesNotExist":
                raise ExecutionNotFoundError("the execution does not exist in Step Functions") from exc
            raise EngineError(f"could not describe the execution: {exc}") from exc
        return RunDescription(
            status=response["status"],
            started_at=response["startDate"],
            stopped_at=response.get("stopDate"),
            error=response.get("error"),
            cause=response.get("cause"),
            output=response.get("output"),
        )

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        try:
            while True:
                response = self.client.get_execution_history(**kwargs)
                events.extend(response["events"])
                if not response.get("nextToken"):
                    return events
                kwargs["nextToken"] = response["nextToken"]
        except ClientError as exc:
            raise EngineError(f"could not read the execution history: {exc}") from exc

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        try:
            self.client.stop_execution(executionArn=execution_arn, error=error, cause=cause)
        except ClientError as exc:
            if _code(exc) == "ExecutionDoesNotExist":
                raise ExecutionNotFoundError("the execution does not exist in Step Functions") from exc
            raise EngineError(f"could not stop the execution: {exc}") from exc
