"""DynamoDB's refusals become domain errors whose text is ours: its message never reaches a client."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError, VerboseClientError

from chalicelib.domain.errors import ValidationFailed
from chalicelib.storage.errors import translated

SECRET_MESSAGE = "Item size has exceeded the maximum allowed size; attribute description=hunter2"


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": SECRET_MESSAGE}}, operation)  # type: ignore[arg-type]


def test_an_oversize_item_is_a_422_that_does_not_repeat_dynamodbs_message():
    with pytest.raises(ValidationFailed) as caught, translated():
        raise PutError("put failed", cause=_client_error("ValidationException", "PutItem"))
    assert "hunter2" not in caught.value.detail and "Item size" not in caught.value.detail
    assert caught.value.errors and all("hunter2" not in e.message for e in caught.value.errors)


def test_a_transaction_cancelled_for_an_invalid_item_is_a_422_not_a_500():
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": SECRET_MESSAGE}},
        "TransactWriteItems",
        cancellation_reasons=[None, CancellationReason(code="ValidationError", message=SECRET_MESSAGE)],
    )
    with pytest.raises(ValidationFailed) as caught, translated():
        raise TransactWriteError("transaction failed", cause=cause)
    assert "hunter2" not in caught.value.detail
