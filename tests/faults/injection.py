"""Fault injection at the connection layer, and table snapshots to prove all-or-nothing writes.

Every AWS call the app makes goes through `botocore.client.BaseClient._make_api_call` (PynamoDB's
connections and boto3's clients alike); presigned S3 URLs go through botocore's signers and make
no call. `Injector` records those calls made by the test's own thread (moto's server and Step
Functions threads run in the same process and are left alone) and raises one chosen fault at
one chosen call, as botocore would after its own retries gave up.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.signers import RequestSigner, S3PostPresigner

THROTTLING_CODES = ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded")


@dataclass(frozen=True)
class Call:
    service: str
    operation: str

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"


@dataclass(frozen=True)
class Fault:
    """One failure of one call. `kind` says what the API may answer: throttled → 429,
    unavailable → 503, conflict → 409 or 503 (always with Retry-After), or a success if the
    app retried the call itself."""

    name: str
    kind: str
    code: str | None = None
    reasons: str | None = None  # TransactionCanceledException: the reason code of item 0

    def exception(self, call: Call, params: dict[str, Any]) -> Exception:
        if self.code == "connection":
            return EndpointConnectionError(endpoint_url=f"https://{call.service}.us-east-1.amazonaws.com")
        if self.code == "presign":
            return NoCredentialsError()
        error: dict[str, Any] = {"Error": {"Code": self.code, "Message": f"injected {self.name}"}}
        error["ResponseMetadata"] = {"HTTPStatusCode": 500 if self.kind == "unavailable" else 400}
        if self.reasons is not None:
            count = len(params.get("TransactItems", [])) or 1
            error["CancellationReasons"] = [{"Code": self.reasons}] + [{"Code": "None"}] * (count - 1)
        return ClientError(error, call.operation)


def faults_for(call: Call) -> list[Fault]:
    """The failures worth injecting at a call site."""
    if call.operation.startswith("Presign"):
        return [Fault("presign-no-credentials", "unavailable", "presign")]
    faults = [Fault(code, "throttled", code) for code in THROTTLING_CODES]
    if call.service == "dynamodb":
        faults += [Fault("InternalServerError", "unavailable", "InternalServerError")]
        if call.operation == "TransactWriteItems":
            faults += [
                Fault("cancelled-TransactionConflict", "conflict", "TransactionCanceledException", "TransactionConflict"),
                Fault("cancelled-ThrottlingError", "throttled", "TransactionCanceledException", "ThrottlingError"),
            ]
    else:
        faults += [Fault("ServiceUnavailable", "unavailable", "ServiceUnavailable")]
    faults += [Fault("connection-error", "unavailable", "connection")]
    return faults


@dataclass
class Injector:
    """Records the calls of the current thread; raises `fault` at `at`: the n-th (0-based) call of
    one operation. Counting per operation keeps the target when a container cache (statuses,
    settings, 30 s) expires between the clean run and the faulted one and adds a call."""

    thread: int = field(default_factory=threading.get_ident)
    calls: list[Call] = field(default_factory=list)
    at: tuple[Call, int] | None = None
    fault: Fault | None = None
    recording: bool = False

    def _observe(self, call: Call, params: dict[str, Any]) -> None:
        if not self.recording or threading.get_ident() != self.thread:
            return
        self.calls.append(call)
        if self.at is not None and self.fault is not None and self.at == (call, self.calls.count(call) - 1):
            raise self.fault.exception(call, params)

    @contextlib.contextmanager
    def installed(self) -> Iterator[Injector]:
        injector = self
        make_api_call = BaseClient._make_api_call
        presign_post = S3PostPresigner.generate_presigned_post
        presign_url = RequestSigner.generate_presigned_url

        def api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            injector._observe(Call(client.meta.service_model.service_name, operation_name), api_params)
            return make_api_call(client, operation_name, api_params)

        def post(signer: Any, *args: Any, **kwargs: Any) -> Any:
            injector._observe(Call("s3", "PresignPost"), {})
            return presign_post(signer, *args, **kwargs)

        def url(signer: Any, *args: Any, **kwargs: Any) -> Any:
            injector._observe(Call("s3", "PresignUrl"), {})
            return presign_url(signer, *args, **kwargs)

        BaseClient._make_api_call = api_call  # type: ignore[method-assign]
        S3PostPresigner.generate_presigned_post = post  # type: ignore[method-assign]
        RequestSigner.generate_presigned_url = url  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
            S3PostPresigner.generate_presigned_post = presign_post  # type: ignore[method-assign]
            RequestSigner.generate_presigned_url = presign_url  # type: ignore[method-assign]

    @contextlib.contextmanager
    def watching(self, at: tuple[Call, int] | None = None, fault: Fault | None = None) -> Iterator[list[Call]]:
        self.calls, self.at, self.fault, self.recording = [], at, fault, True
        try:
            yield self.calls
        finally:
            self.recording, self.at, self.fault = False, None, None


# -- snapshots of the table ---------------------------------------------------------------
# Partitions that are not part of any one change: counters (a failed request may burn a number),
# idempotency records (their own all-or-nothing is tested through the responses).
IGNORED_PARTITIONS = ("COUNTER", "IDEMPOTENCY")
_PER_RECORD = re.compile(r"^(TICKET|ESC)#")


def _table(name: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(name)


Snapshot = dict[tuple[str, str], str]


def snapshot(table_name: str, records: set[str]) -> Snapshot:
    """Every item of the partitions that are not per-ticket, plus those of `records` (ticket and
    escalation partitions). Read from moto's backend under its lock: no request in between."""
    from devstack.dynamodb_isolation import _LOCK

    table = _table(table_name)
    items: Snapshot = {}
    with _LOCK:
        for hash_key, by_range in table.items.items():
            pk = hash_key.value
            if pk in IGNORED_PARTITIONS or (_PER_RECORD.match(pk) and pk not in records):
                continue
            for range_key, item in by_range.items():
                items[(pk, range_key.value)] = json.dumps(item.to_json()["Attributes"], sort_keys=True)
    return items


def partitions(table_name: str) -> set[str]:
    from devstack.dynamodb_isolation import _LOCK

    with _LOCK:
        return {hash_key.value for hash_key in _table(table_name).items}


_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{8,}|CP-\d+")
_DIGITS = re.compile(r"\d+")


def _shape_of_key(pk: str, sk: str) -> str:
    return _DIGITS.sub("0", _ID.sub("<id>", f"{pk} {sk}"))


def diff(before: Snapshot, after: Snapshot) -> list[str]:
    """What changed, as sorted key shapes (ids and numbers blanked): comparable across runs of
    the same scenario on equivalent data. A change of `version` alone (a compensated write that
    only bumped it) counts as no change."""
    changes = []
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is not None and new is not None and _without_version(old) == _without_version(new):
            continue
        op = "put" if old is None else "delete" if new is None else "update"
        changes.append(f"{op} {_shape_of_key(*key)}")
    return sorted(changes)


def _without_version(raw: str) -> dict[str, Any]:
    attributes = json.loads(raw)
    attributes.pop("version", None)
    return attributes
