"""An in-process GoFlow for integration tests: moto AWS, real handlers, real Step Functions executions.

Resources come from ``template.yaml`` (the table's properties, each function's Handler, CodeUri and
Timeout), Lambda invocations are dispatched to the real handlers, and every ended execution is
reported to the outcome recorder as the EventBridge status-change event AWS would send.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from goflow import composition
from goflow.executions.model import Execution
from goflow.executions.service import ExecutionService
from goflow.local.events import StatusChangeFeed
from goflow.local.lambdas import LambdaDispatcher, LocalFunction, load_handler
from goflow.workflows.model import Workflow
from goflow.workflows.service import WorkflowService
from tests.support.cfn import create_table_from_template, load_template

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "goflow-test"
PREFIX = "goflow-test"
SENDER = "noreply@goflow.test"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@dataclass
class Platform:
    """Handles on the running platform, plus helpers to run workflows to their end."""

    workflows: WorkflowService
    executions: ExecutionService
    sfn: Any
    ses: Any
    feed: StatusChangeFeed
    dispatcher: LambdaDispatcher
    tenant: str = "acme"
    created: list[Workflow] = field(default_factory=list)

    def create(self, document: dict[str, Any], tenant: str | None = None) -> Workflow:
        workflow = self.workflows.create(tenant or self.tenant, document)
        self.created.append(workflow)
        return workflow

    def start(self, workflow: Workflow, parameters: Any = None, **kwargs: Any) -> Execution:
        return self.executions.start(workflow, parameters or {}, {"type": "manual"}, **kwargs)

    def wait_for_end(self, execution: Execution, timeout: float = 30.0) -> Execution:
        """Wait until the run's recorded status is terminal (the recorder wrote it) and return it."""
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            self.feed.wait_idle()
            record = self.executions.executions.get(execution.tenant_id, execution.id)
            if record.is_terminal:
                return record
            time.sleep(0.05)
        raise AssertionError(f"execution {execution.id} was still RUNNING after {timeout} s")

    def run(self, workflow: Workflow, parameters: Any = None, timeout: float = 30.0) -> Execution:
        return self.wait_for_end(self.start(workflow, parameters), timeout)

    def history(self, execution: Execution) -> list[dict[str, Any]]:
        assert execution.execution_arn
        return list(self.sfn.get_execution_history(executionArn=execution.execution_arn)["events"])

    def wait_for_machine(self, execution_arn: str | None, timeout: float = 20.0) -> dict[str, Any]:
        """Wait until Step Functions says the execution ended; return its description."""
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            described = dict(self.sfn.describe_execution(executionArn=execution_arn))
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.02)
        raise AssertionError(f"the state machine did not end within {timeout} s")

    def wait_for_event(self, execution_arn: str | None, event_type: str, timeout: float = 20.0) -> None:
        """Wait until the execution's history holds an ``event_type`` event."""
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            events = self.sfn.get_execution_history(executionArn=execution_arn)["events"]
            if any(e["type"] == event_type for e in events):
                return
            time.sleep(0.05)
        raise AssertionError(f"no {event_type} event within {timeout} s")

    def stop_everything(self) -> None:
        for workflow in self.created:
            arn = workflow.state_machine_arn
            try:
                running = self.sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
            except Exception:  # noqa: BLE001 - the machine may already be deleted
                continue
            for item in running:
                _stop_when_started(self.sfn, item["executionArn"])
                # moto ends a stopped run on its worker thread: its event must not leak into the next test
                self.wait_for_machine(item["executionArn"], timeout=10)


def _stop_when_started(sfn: Any, execution_arn: str, attempts: int = 20) -> None:
    """Stop an execution; moto cannot stop one whose worker thread has not started yet."""
    for _ in range(attempts):
        try:
            sfn.stop_execution(executionArn=execution_arn)
            return
        except AttributeError:
            time.sleep(0.05)


def _register_functions(dispatcher: LambdaDispatcher, lam: Any, role_arn: str) -> dict[str, str]:
    template = load_template(ROOT / "template.yaml")
    arns: dict[str, str] = {}
    for logical_id in ("ExecutorFunction", "OutcomeFunction"):
        props = template["Resources"][logical_id]["Properties"]
        globals_ = template.get("Globals", {}).get("Function", {})
        arn = lam.create_function(
            FunctionName=logical_id,
            Runtime="python3.13",
            Role=role_arn,
            Handler="placeholder.handler",
            Code={"ZipFile": _zip()},
        )["FunctionArn"]
        handler = load_handler(ROOT / props["CodeUri"], props["Handler"], f"goflow_fn_{logical_id}")
        dispatcher.register(
            LocalFunction(
                name=logical_id,
                handler=handler,
                timeout_seconds=float(props.get("Timeout", globals_.get("Timeout", 3))),
                memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
                arn=arn,
            )
        )
        arns[logical_id] = arn
    return arns


@contextmanager
def running_platform(monkeypatch: Any) -> Iterator[Platform]:
    """Start the in-process platform inside ``mock_aws``; tear everything down afterwards."""
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/goflow-state-machine"
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "GOFLOW_TABLE_NAME": TABLE,
        "GOFLOW_STATE_MACHINE_PREFIX": PREFIX,
        "GOFLOW_STATE_MACHINE_ROLE_ARN": role_arn,
        "GOFLOW_DEFAULT_SENDER": SENDER,
        "GOFLOW_EXECUTOR_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ExecutorFunction",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "GoFlow",
    }.items():
        monkeypatch.setenv(key, value)
    composition.reset()
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[arg-type]
        iam = boto3.client("iam", region_name=REGION)
        iam.create_role(RoleName="goflow-state-machine", AssumeRolePolicyDocument="{}")
        create_table_from_template(boto3.client("dynamodb", region_name=REGION), table_name=TABLE)
        ses = boto3.client("ses", region_name=REGION)
        ses.verify_email_identity(EmailAddress=SENDER)
        dispatcher = LambdaDispatcher()
        _register_functions(dispatcher, boto3.client("lambda", region_name=REGION), role_arn)
        dispatcher.install()
        feed = StatusChangeFeed(lambda event: _deliver(dispatcher, event))
        feed.install()
        platform = Platform(
            workflows=composition.workflow_service(),
            executions=composition.execution_service(),
            sfn=boto3.client("stepfunctions", region_name=REGION),
            ses=ses,
            feed=feed,
            dispatcher=dispatcher,
        )
        try:
            yield platform
        finally:
            platform.stop_everything()
            feed.wait_idle()
            feed.uninstall()
            dispatcher.uninstall()
    composition.reset()


def _deliver(dispatcher: LambdaDispatcher, event: dict[str, Any]) -> None:
    result = dispatcher.invoke("OutcomeFunction", event)
    if result.failed:
        raise AssertionError(f"the outcome recorder failed: {result.payload}")
