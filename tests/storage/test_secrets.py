"""Secrets are read from Secrets Manager at run time, at most once per TTL per container (moto)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib import composition
from chalicelib.config import function_environment
from chalicelib.domain.errors import Unavailable
from chalicelib.storage.secrets import PREVIOUS, SecretReader


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingClient:
    """Secrets Manager, counting GetSecretValue calls; `down` makes every call fail as offline."""

    def __init__(self) -> None:
        self.client = boto3.client("secretsmanager")
        self.calls = 0
        self.down = False

    def get_secret_value(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.down:
            raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")
        return self.client.get_secret_value(**kwargs)


@pytest.fixture
def secret_arn(aws: None) -> str:
    return str(boto3.client("secretsmanager").create_secret(Name="cursor", SecretString="first-key")["ARN"])


def test_a_secret_is_read_once_per_ttl_and_a_rotation_arrives_after_it(secret_arn: str) -> None:
    client, clock = CountingClient(), Clock()
    reader = SecretReader(lambda: client, ttl_seconds=300, clock=clock)

    assert [reader.value(secret_arn) for _ in range(5)] == ["first-key"] * 5
    assert client.calls == 1
    boto3.client("secretsmanager").put_secret_value(SecretId=secret_arn, SecretString="second-key")
    clock.now += 299
    assert reader.value(secret_arn) == "first-key"
    clock.now += 1
    assert reader.value(secret_arn) == "second-key"
    assert client.calls == 2


def test_an_unreachable_secrets_manager_keeps_the_last_value_and_refuses_without_one(secret_arn: str) -> None:
    client, clock = CountingClient(), Clock()
    reader = SecretReader(lambda: client, ttl_seconds=300, clock=clock)
    assert reader.value(secret_arn) == "first-key"

    client.down = True
    clock.now += 600
    assert reader.value(secret_arn) == "first-key"
    with pytest.raises(Unavailable):
        SecretReader(lambda: client).value(secret_arn)


def test_the_previous_version_of_a_rotated_secret_is_readable_and_none_before_a_rotation(secret_arn: str) -> None:
    reader = SecretReader(lambda: boto3.client("secretsmanager"), ttl_seconds=0)

    assert reader.optional(secret_arn, PREVIOUS) is None
    boto3.client("secretsmanager").put_secret_value(SecretId=secret_arn, SecretString="second-key")
    assert (reader.value(secret_arn), reader.optional(secret_arn, PREVIOUS)) == ("second-key", "first-key")


def test_the_api_signs_cursors_with_the_secret_its_arn_names_not_a_variable(secret_arn: str) -> None:
    # The API's environment holds the ARN only (infra/template.json); the local HS256 key is there too.
    with function_environment({"HELPDESK_CURSOR_SECRET_ARN": secret_arn, "HELPDESK_JWT_SECRET": "local-jwt-key"}):
        assert composition.cursor_secret() == "first-key"
    with function_environment({"HELPDESK_JWT_SECRET": "local-jwt-key"}):
        assert composition.cursor_secret() == "local-jwt-key"  # tests and the stage without an ARN


def test_notifications_mint_with_the_current_mail_secret_and_still_verify_the_previous(aws: None) -> None:
    client = boto3.client("secretsmanager")
    arn = client.create_secret(Name="mail", SecretString="mail-1")["ARN"]
    client.put_secret_value(SecretId=arn, SecretString="mail-2")

    with function_environment({"HELPDESK_MAIL_SECRET_ARN": arn, "HELPDESK_STAGE": "prod"}):
        assert composition.mail_settings().secrets == (b"mail-2", b"mail-1")
