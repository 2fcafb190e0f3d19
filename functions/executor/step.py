"""Executor: runs one workflow step per invocation (the Task state of a compiled state machine).

Returns ``{"status": "SUCCEEDED"|"SKIPPED", "output": ...}`` or raises a ``StepError`` whose class
name Step Functions matches in the compiled ``Retry``/``Catch``. An express machine also invokes it
once at its end with a finish event (``{"finish": ..., "state": ...}``): it records the run's outcome,
since AWS reports nothing else about express executions.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from goflow.composition import execution_service
from goflow.runtime.finish import is_finish_event
from goflow.runtime.wiring import StepRuntime
from goflow.settings import load_settings

logger = Logger(service="goflow")
tracer = Tracer(service="goflow")
metrics = Metrics(namespace="GoFlow", service="goflow")
_runtime: StepRuntime | None = None


def _step_runtime() -> StepRuntime:
    """Built on the first invocation, and again only when the settings were reloaded."""
    global _runtime
    settings = load_settings()
    if _runtime is None or _runtime.settings is not settings:
        _runtime = StepRuntime.build(settings, recorder=execution_service)
        for problem in _runtime.registry.problems:
            logger.warning("plugin skipped", plugin=problem.plugin, error=problem.error)
    return _runtime


@logger.inject_lambda_context(clear_state=True, correlation_id_path="state.execution.id")
@tracer.capture_lambda_handler(capture_response=False)  # outputs may hold personal data
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if is_finish_event(event):
        execution = _step_runtime().finish(event, logger)
        metrics.add_metric(
            name=f"Execution{execution.status.title().replace('_', '')}", unit=MetricUnit.Count, value=1
        )
        return {"recorded": execution.status}
    try:
        result = _step_runtime().run(event, context.get_remaining_time_in_millis(), logger)
    except Exception:
        metrics.add_metric(name="StepFailed", unit=MetricUnit.Count, value=1)
        raise
    skipped = result["status"] == "SKIPPED"
    metrics.add_metric(name="StepSkipped" if skipped else "StepSucceeded", unit=MetricUnit.Count, value=1)
    return result
