"""The local S3 refuses browser uploads that break their presigned policy, as AWS does.

The form is the one the API hands out (`FileStore.upload_form`: this key, this Content-Type,
exactly the declared size), POSTed to the local moto server with devstack's check installed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.storage.attachments import FileStore
from devstack import s3_upload_policy
from devstack.aws import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, LocalAws

BUCKET = "uploads"
KEY = "tickets/t-1/a-1/log.txt"


@pytest.fixture(params=["s3v4", "s3"])
def s3(aws: LocalAws, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The app's client signs with SigV4; boto3's default for S3 presigned POSTs is SigV2."""
    s3_upload_policy.install()
    client = boto3.client(
        "s3",
        endpoint_url=aws.endpoint_url,
        region_name=aws.region,
        aws_access_key_id=LOCAL_ACCESS_KEY,
        aws_secret_access_key=LOCAL_SECRET_KEY,
        config=Config(signature_version=request.param),
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    s3_upload_policy.uninstall()


def form(s3: Any, size: int = 10, content_type: str = "text/plain") -> dict[str, Any]:
    return FileStore(lambda: s3, lambda: BUCKET).upload_form(KEY, content_type, size)


def post(upload: dict[str, Any], data: bytes, **field_changes: str) -> requests.Response:
    fields = {**upload["fields"], **field_changes}
    session = requests.Session()
    session.trust_env = False  # a developer's proxy must not see the local server
    return session.post(upload["url"], data=fields, files={"file": ("log.txt", data)}, timeout=10)


def stored(s3: Any, key: str = KEY) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
    except ClientError:
        return False
    return True


def test_an_upload_of_the_declared_size_type_and_key_is_stored(s3: Any) -> None:
    answer = post(form(s3), b"0123456789")
    assert answer.status_code == 204, answer.text
    head = s3.head_object(Bucket=BUCKET, Key=KEY)
    assert head["ContentLength"] == 10 and head["ContentType"] == "text/plain"


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"x" * 600_000, "EntityTooLarge"), (b"x" * 11, "EntityTooLarge"), (b"x" * 9, "EntityTooSmall")],
)
def test_a_file_of_another_size_than_declared_is_refused(s3: Any, data: bytes, code: str) -> None:
    answer = post(form(s3, size=10), data)
    assert answer.status_code == 400 and f"<Code>{code}</Code>" in answer.text
    assert not stored(s3)


def test_another_content_type_is_refused(s3: Any) -> None:
    answer = post(form(s3), b"0123456789", **{"Content-Type": "text/html"})
    assert answer.status_code == 403 and "Invalid according to Policy" in answer.text
    assert not stored(s3)


def test_another_key_is_refused(s3: Any) -> None:
    answer = post(form(s3), b"0123456789", key="tickets/t-2/a-9/evil.txt")
    assert answer.status_code == 403 and "Invalid according to Policy" in answer.text
    assert not stored(s3, "tickets/t-2/a-9/evil.txt") and not stored(s3)


def test_a_field_the_policy_does_not_name_is_refused(s3: Any) -> None:
    answer = post(form(s3), b"0123456789", **{"x-amz-meta-owner": "mallory"})
    assert answer.status_code == 403 and "Extra input fields" in answer.text
    assert not stored(s3)


def test_an_edited_policy_fails_its_signature(s3: Any) -> None:
    upload = form(s3, size=10)
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if not (isinstance(c, list) and c[0] == "content-length-range")]
    edited = base64.b64encode(json.dumps(policy).encode()).decode()
    answer = post(upload, b"x" * 600_000, policy=edited)
    assert answer.status_code == 403 and "SignatureDoesNotMatch" in answer.text
    assert not stored(s3)
