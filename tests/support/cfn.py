"""template.yaml for tests: the product's own loader and table creation (``goflow.local``).

Tests create their moto tables with exactly the code the local stack uses, from the template's own
resource properties, so neither can drift from what ``sam deploy`` creates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from goflow.local.cfn import load_template
from goflow.local.tables import create_table_from_template

__all__ = ["create_table_from_template", "load_template", "table_properties"]


def table_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """The ``Properties`` of the ``AWS::DynamoDB::Table`` resource ``logical_id``."""
    resource = template.get("Resources", {}).get(logical_id)
    if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::DynamoDB::Table":
        raise KeyError(f"{logical_id} is not an AWS::DynamoDB::Table resource of the template")
    return dict(resource.get("Properties", {}))
