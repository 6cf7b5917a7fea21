"""Starting a named Step Functions execution at most once: the name is deterministic (a ticket's
SLA generation, a time rule's version), so a redelivered stream batch starting it again is told
ExecutionAlreadyExists, which means the work is already under way."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import Throttled, Unavailable
from chalicelib.storage.errors import THROTTLING


def start_once(client: Any, state_machine_arn: str, name: str, payload: Mapping[str, Any], what: str) -> bool:
    """True if this call started the execution, False if one of that name was already started."""
    try:
        client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(dict(payload)))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ExecutionAlreadyExists":
            return False
        if code in THROTTLING:
            raise Throttled("Step Functions is throttling; retry shortly", retry_after=1) from error
        raise Unavailable(f"could not start {what} ({code})", retry_after=1) from error
    except BotoCoreError as error:
        raise Unavailable("could not reach Step Functions", retry_after=1) from error
    return True
