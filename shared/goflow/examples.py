"""The seed's "Send Welcome Email" workflow: GoFlow's reference example (docs, OpenAPI, tests, benchmark)."""

from __future__ import annotations

import copy
from typing import Any

# Exactly as the seed's quick reference writes it (it leaves out the recipient send_email needs).
_SEED_AS_WRITTEN: dict[str, Any] = {
    "name": "Send Welcome Email",
    "parameters": [
        {"name": "customer_name", "type": "string", "required": True},
        {"name": "email", "type": "string", "required": True},
        {"name": "plan", "type": "string", "default": "free"},
    ],
    "action": "send_email",
    "config": {"message": "Welcome {{params.customer_name}}! Your {{params.plan}} plan is ready."},
}
WELCOME_PARAMETERS: dict[str, Any] = {"customer_name": "Alex", "email": "alex@example.com", "plan": "pro"}
WELCOME_MESSAGE = "Welcome Alex! Your pro plan is ready."


def seed_as_written() -> dict[str, Any]:
    """The seed's document as written: saving it is refused with a hint to add ``to``."""
    return copy.deepcopy(_SEED_AS_WRITTEN)


def welcome_email_workflow() -> dict[str, Any]:
    """The seed's document with the recipient added, as the 400 for the as-written one suggests."""
    document = seed_as_written()
    document["config"] = {"to": "{{ params.email }}", **document["config"]}
    return document
