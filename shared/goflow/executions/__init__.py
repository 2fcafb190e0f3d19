"""Executions: starting runs, recording their outcome, reading and cancelling them."""
