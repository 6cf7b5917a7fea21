"""Secrets read from Secrets Manager at run time, never from the function's environment.

A Lambda environment is readable by anyone who may call `lambda:GetFunctionConfiguration`, and
`{{resolve:secretsmanager:...}}` copies the value into it at deploy time; so functions get the
secret's ARN and read it here. One GetSecretValue per secret and version stage per `ttl_seconds`
per container (Secrets Manager bills per call, and a rotation reaches every container within the
TTL); if a refresh fails, the last value read keeps serving until it succeeds (a secret that was
readable a minute ago is still the right one far more often than not).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import Unavailable

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
DEFAULT_TTL_SECONDS = 300.0


class SecretReader:
    """Cached `GetSecretValue` of secret strings, per (ARN, version stage)."""

    def __init__(
        self,
        client: Callable[[], Any],
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def value(self, arn: str, stage: str = CURRENT) -> str:
        """The secret string of that version stage; Unavailable if it was never readable."""
        found = self._read(arn, stage)
        if found is None:
            raise Unavailable(f"the secret {arn} has no {stage} value")
        return found

    def optional(self, arn: str, stage: str) -> str | None:
        """The secret string of that version stage, or None if the secret has no such version."""
        return self._read(arn, stage)

    def _read(self, arn: str, stage: str) -> str | None:
        key = (arn, stage)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            response = self._client().get_secret_value(SecretId=arn, VersionStage=stage)
            fresh: str | None = str(response["SecretString"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException" or stage == CURRENT:
                if cached is not None:
                    return cached[1]
                raise Unavailable("the secret could not be read; retry") from exc
            fresh = None  # no version in that stage (a secret never rotated has no AWSPREVIOUS)
        except BotoCoreError as exc:
            if cached is not None:
                return cached[1]
            raise Unavailable("Secrets Manager is unreachable; retry") from exc
        with self._lock:
            self._cache[key] = (now, fresh)
        return fresh
