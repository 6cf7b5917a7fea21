"""boto3 clients with the retry policy every store uses (botocore stays inside storage)."""

from __future__ import annotations

from typing import Any


def aws_client(service: str, *, max_attempts: int = 3, signature_version: str | None = None) -> Any:
    """A boto3 client for `service` with botocore's standard retry mode."""
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": max_attempts}}
    if signature_version is not None:
        options["signature_version"] = signature_version
    return boto3.client(service, config=Config(**options))
