"""X-Ray subsegments per route, and the X-Ray SDK only in a function that traces.

Powertools' Tracer imports the X-Ray SDK even when it then disables itself, and outside Lambda
the SDK's recorder builds a centralized-sampling X-Ray client (a botocore session of its own,
~0.4 s) at import. So the decision is taken here first, from the function's environment: the
Tracer (SDK, boto3/botocore patched) only in Lambda, not under an emulator, and not disabled by
POWERTOOLS_TRACE_DISABLED; otherwise a null tracer with the same `provider.in_subsegment`
surface that imports nothing. In Lambda the SDK samples locally (the runtime's trace header
decides), so a traced function builds no X-Ray client either.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from chalicelib import config

_TRUE = ("1", "y", "yes", "t", "true", "on")  # Powertools' strtobool


class Subsegment(Protocol):
    def put_annotation(self, key: str, value: Any) -> None: ...


class Provider(Protocol):
    def in_subsegment(self, name: str) -> Any: ...


class TracerLike(Protocol):
    provider: Provider


def traces(env: Mapping[str, str]) -> bool:
    """Whether a function with this environment sends traces (Powertools' own rule)."""
    if env.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in _TRUE:
        return False
    in_lambda = bool(env.get("LAMBDA_TASK_ROOT"))
    emulated = bool(env.get("AWS_SAM_LOCAL") or env.get("AWS_CHALICE_CLI_MODE"))
    return in_lambda and not emulated


class _NullSubsegment:
    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass


class _NullProvider:
    @contextmanager
    def in_subsegment(self, name: str) -> Iterator[_NullSubsegment]:
        yield _NullSubsegment()


class NullTracer:
    """What a function that does not trace uses: subsegments that record nothing."""

    def __init__(self) -> None:
        self.provider = _NullProvider()


_cache: dict[bool, TracerLike] = {}


def tracer() -> TracerLike:
    """The Powertools Tracer if this function traces, else a NullTracer (one of each per process)."""
    env = config.environ()
    on = traces(env)
    if on not in _cache:
        if on:
            from aws_lambda_powertools import Tracer

            _cache[on] = Tracer(service=env.get("POWERTOOLS_SERVICE_NAME", "helpdesk"), patch_modules=["boto3", "botocore"])
        else:
            _cache[on] = NullTracer()
    return _cache[on]
