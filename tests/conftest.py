"""Shared fixtures: an in-process moto account with the table provisioned from infra/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-not-for-production-0123456789"
TABLE = "helpdesk-test-table"

# Set before `app` is imported anywhere: chalice.test.Client only applies config env
# vars during a request, and botocore reads these when clients are built.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HELPDESK_JWT_SECRET": SECRET,
        "HELPDESK_AUTH_MODE": "local",
        "HELPDESK_TABLE": TABLE,
        "HELPDESK_STAGE": "test",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "TZ": "UTC",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

# The local stack's fast paths through moto (answers byte-identical to moto's own, as
# tests/local/test_moto_fast_paths.py proves) spare the suite moto's slow JSON and table sorts.
from devstack import moto_fast_paths  # noqa: E402

moto_fast_paths.install()
# A transaction backs up the items it names, not every table it touches (moto deep-copies the
# whole table per transaction, which made every write cost the world's size), is isolated, and
# publishes its stream records only if it commits (devstack/dynamodb_isolation.py).
from devstack import dynamodb_isolation  # noqa: E402

dynamodb_isolation.install()
# moto's Step Functions as AWS behaves where the definitions depend on it (devstack/moto_quirks.py).
from devstack import moto_quirks  # noqa: E402

moto_quirks.install()


def table_definition() -> dict[str, Any]:
    """create_table arguments from the CloudFormation resource in infra/template.json."""
    from devstack.tables import table_definition as from_template

    return from_template(TABLE)


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    from chalicelib import composition

    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition())
        composition.reset()
        yield
        composition.reset()
