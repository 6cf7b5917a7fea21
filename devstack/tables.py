"""create_table arguments for an in-process moto (tests, bench) from infra/template.json."""

from __future__ import annotations

import json
from typing import Any

from devstack.paths import TEMPLATE_PATH


def table_definition(table_name: str, logical_id: str = "HelpdeskTable") -> dict[str, Any]:
    """The CloudFormation table resource as boto3 `create_table` keyword arguments."""
    template = json.loads(TEMPLATE_PATH.read_text())
    props = template["Resources"][logical_id]["Properties"]
    return {
        "TableName": table_name,
        "BillingMode": props["BillingMode"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"],
        "StreamSpecification": {"StreamEnabled": True, **props["StreamSpecification"]},
    }
