"""Translation of PynamoDB/botocore failures into domain errors; nothing above storage sees them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.domain.errors import Contention, DomainError, FieldError, Throttled, Unavailable, ValidationFailed

THROTTLING = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)
TRANSIENT = frozenset({"TransactionInProgressException", "InternalServerError", "ServiceUnavailable"})
_log = logging.getLogger(__name__)
UNSTORABLE = "the values cannot be stored: a text, a number or the record is too large"
# Reasons of a cancelled transaction that mean "throttled", not "your condition failed".
THROTTLED_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})


ItemKey = tuple[str, str]  # (PK, SK) of an item in a transaction


class TransactionCancelled(Exception):
    """A transaction was refused; `codes` holds one reason code (or None) per item, in order, and
    `keys` the (PK, SK) of each item in the order the request sent them (None if unknown)."""

    def __init__(self, codes: list[str | None], keys: list[ItemKey] | None = None) -> None:
        super().__init__(codes)
        self.codes = codes
        self.keys = keys

    def failed_keys(self, code: str = "ConditionalCheckFailed") -> set[ItemKey]:
        """The keys of the items whose condition failed: independent of the order PynamoDB puts
        a transaction's items in (a library upgrade may change it)."""
        if self.keys is None or len(self.keys) != len(self.codes):
            raise RuntimeError("the cancelled transaction's items are unknown") from self
        return {key for key, c in zip(self.keys, self.codes, strict=True) if c == code}

    @property
    def transient(self) -> bool:
        return any(c in ("TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded") for c in self.codes)


def transact_item_keys(transact_items: list[dict[str, Any]]) -> list[ItemKey]:
    """(PK, SK) of each item of a TransactWriteItems request, in the order sent."""
    found = []
    for entry in transact_items:
        (operation,) = entry.values()
        key = operation.get("Key") or operation.get("Item") or {}
        found.append((key.get("PK", {}).get("S", ""), key.get("SK", {}).get("S", "")))
    return found


def error_code(exc: PynamoDBException) -> str | None:
    return exc.cause_response_code


@contextlib.contextmanager
def translated(on_condition_failed: Callable[[], DomainError] | None = None) -> Iterator[None]:
    """Map storage failures to domain errors. A failed condition becomes what the caller says."""
    try:
        yield
    except TransactWriteError as exc:
        if error_code(exc) == "TransactionCanceledException":
            codes = [reason.code if reason else None for reason in (exc.cancellation_reasons or [])]
            if "ConditionalCheckFailed" not in codes:  # no condition failed: nothing for the caller to explain
                if THROTTLED_REASONS.intersection(codes):
                    raise Throttled("the data store is throttling requests; retry shortly", retry_after=1) from exc
                if "TransactionConflict" in codes:
                    raise Contention("another request is changing the same record; retry shortly") from exc
                if "ValidationError" in codes:  # an item over 400 KB, a number past 38 digits
                    _log.warning("data store refused a transaction", extra={"reasons": codes})
                    raise ValidationFailed([FieldError("body", UNSTORABLE)], UNSTORABLE) from exc
            raise TransactionCancelled(codes, getattr(exc.cause, "transact_keys", None)) from exc
        raise _general(exc) from exc
    except PynamoDBException as exc:
        if error_code(exc) == "ConditionalCheckFailedException" and on_condition_failed is not None:
            raise on_condition_failed() from exc
        raise _general(exc) from exc


def store_failure(exc: BaseException, what: str) -> DomainError:
    """A failure of a store the app reaches through boto3 (e.g. Powertools' idempotency records):
    throttling anywhere in the exception's causes is a 429, anything else a 503."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") in THROTTLING:
            return Throttled(f"{what} is throttling requests; retry shortly", retry_after=1)
        seen = seen.__cause__ or seen.__context__
    return Unavailable(f"{what} failed; retry shortly", retry_after=1)


def _general(exc: PynamoDBException) -> DomainError:
    code = error_code(exc)
    if code in THROTTLING:
        return Throttled("the data store is throttling requests; retry shortly", retry_after=1)
    if code == "TransactionConflictException":  # a single write ran into a transaction on the item
        return Contention("another request is changing the same record; retry shortly")
    if code in TRANSIENT:
        return Unavailable("the data store is busy; retry shortly", retry_after=1)
    if code == "ValidationException":
        # Raised for inputs the API failed to bound (an item over 400 KB, a transaction over 4 MB,
        # a number past 38 digits); never a 500. DynamoDB's message names attributes, sizes and
        # sometimes values: it is logged, never answered.
        _log.warning("data store refused a write", extra={"dynamodb_message": exc.cause_response_message})
        return ValidationFailed([FieldError("body", UNSTORABLE)], UNSTORABLE)
    return Unavailable("the data store failed; retry shortly")
