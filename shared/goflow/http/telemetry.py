"""The API function's Powertools Logger, Tracer and Metrics (one instance each, shared by the routes).

The handler decorates with them; routes add keys and metrics. Nothing here logs a request's headers
or body: an API key must never reach a log.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "goflow"
NAMESPACE = "GoFlow"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# Most requests (reads) emit no metric; that is expected, not worth a warning per cold start.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def count(name: str) -> None:
    """Add one to the PascalCase event metric ``name`` (``WorkflowCreated``, ``ExecutionStarted``)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
