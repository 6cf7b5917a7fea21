"""Idempotency records (Powertools' DynamoDB persistence layer): a POST runs once per key and its
response is replayed for 24 h. Every failure of the store leaves here as a domain error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.domain.errors import Conflict, FieldError, ValidationFailed
from chalicelib.storage.errors import store_failure


class IdempotentRunner:
    def __init__(self, run: Callable[..., dict[str, Any]]) -> None:
        self._run = run  # the Powertools-decorated function: run(request=..., compute=...)

    def run_once(
        self, scope: str, payload: Any, compute: Callable[[], dict[str, Any]], unrecorded: Callable[[], None]
    ) -> dict[str, Any]:
        """`compute()` once per `scope`; a replay answers the recorded response. `unrecorded` is
        told when the work committed but its response could not be recorded."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyInconsistentStateError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        done: list[dict[str, Any]] = []

        def compute_once() -> dict[str, Any]:
            done.append(compute())
            return done[-1]

        try:
            return self._run(request={"key": scope, "body": payload}, compute=compute_once)
        except IdempotencyValidationError as exc:
            raise ValidationFailed(
                [FieldError("Idempotency-Key", "was already used with a different body")],
                "Idempotency-Key reused with a different body",
            ) from exc
        except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError) as exc:
            # Inconsistent: the key's record changed between Powertools' put and get (a racing twin).
            raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly", retry_after=1) from exc
        except IdempotencyPersistenceLayerError as exc:
            if done:
                # The work is committed; only recording its response failed. Answering the response
                # beats a 503 whose retry (once the in-progress record expires) would do it twice.
                unrecorded()
                return done[-1]
            raise store_failure(exc, "the idempotency store") from exc
