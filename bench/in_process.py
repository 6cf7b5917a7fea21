"""The environment of a benchmark that runs the app in this process over moto (no AWS, no stack)."""

from __future__ import annotations

import os

SECRET = "bench-secret-0123456789abcdef0123456789"


def use_in_process_environment(table: str, **extra: str) -> None:
    """Local auth with a fixed secret, fake credentials for moto, quiet logs; no endpoint override."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "HELPDESK_JWT_SECRET": SECRET,
            "HELPDESK_AUTH_MODE": "local",
            "HELPDESK_TABLE": table,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "TZ": "UTC",
            **extra,
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
