"""The connectors GoFlow ships with."""

from __future__ import annotations

from goflow.connectors.base import Connector
from goflow.connectors.builtin.http_request import HttpRequestConnector
from goflow.connectors.builtin.log import LogConnector
from goflow.connectors.builtin.mock import MockConnector
from goflow.connectors.builtin.send_email import DEFAULT_SENDER, SendEmailConnector
from goflow.connectors.builtin.transform import TransformConnector
from goflow.connectors.builtin.wait import WaitConnector


def builtin_connectors(default_sender: str = DEFAULT_SENDER) -> list[Connector]:
    """One instance of each built-in connector; ``default_sender`` is send_email's ``from``."""
    return [
        HttpRequestConnector(),
        SendEmailConnector(default_sender=default_sender),
        TransformConnector(),
        LogConnector(),
        WaitConnector(),
        MockConnector(),
    ]


__all__ = [
    "HttpRequestConnector",
    "LogConnector",
    "MockConnector",
    "SendEmailConnector",
    "TransformConnector",
    "WaitConnector",
    "builtin_connectors",
]
