"""Which AWS API calls each local Lambda function makes (for comparing with its IAM role).

`recording()` wraps botocore's `BaseClient._make_api_call`, the one method every client of the
process goes through (boto3, PynamoDB, Powertools), and attributes each call to the function
whose invocation is running in that thread (`attributed_to`, entered by devstack.lambda_dispatch).
Calls outside an invocation (the test's own set-up, moto's Step Functions tasks) are not counted.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient


@dataclass(frozen=True)
class Call:
    service: str
    """The IAM service prefix (botocore's signing name: `dynamodb`, `states`, `s3`, ...)."""
    operation: str
    params: Mapping[str, Any]
    region: str = "us-east-1"


_function: ContextVar[str | None] = ContextVar("local_lambda_function", default=None)
_calls: dict[str, list[Call]] | None = None
_lock = threading.Lock()
_original: Any = None


@contextmanager
def attributed_to(function_name: str) -> Iterator[None]:
    token = _function.set(function_name)
    try:
        yield
    finally:
        _function.reset(token)


@contextmanager
def recording() -> Iterator[dict[str, list[Call]]]:
    """Record calls while the block runs; yields function name → its calls, in order."""
    global _calls, _original
    calls: dict[str, list[Call]] = defaultdict(list)
    with _lock:
        if _calls is not None:
            raise RuntimeError("already recording")
        _calls, _original = calls, BaseClient._make_api_call
        BaseClient._make_api_call = _recorded  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        with _lock:
            BaseClient._make_api_call = _original  # type: ignore[method-assign]
            _calls = _original = None


def _recorded(self: BaseClient, operation_name: str, api_params: Mapping[str, Any]) -> Any:
    function_name, calls = _function.get(), _calls
    if function_name is not None and calls is not None:
        service = self.meta.service_model.signing_name or self.meta.service_model.endpoint_prefix
        with _lock:
            calls[function_name].append(Call(service, operation_name, dict(api_params), self.meta.region_name))
    return _original(self, operation_name, api_params)
