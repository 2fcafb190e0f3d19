"""The step runtime: what the executor Lambda does with one step event, as plain Python."""

from goflow.runtime.classify import classify
from goflow.runtime.deadline import Deadline, DeadlineBound, compute_deadline
from goflow.runtime.steps import Clocks, run_step

__all__ = ["Clocks", "Deadline", "DeadlineBound", "classify", "compute_deadline", "run_step"]
