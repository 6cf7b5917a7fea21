"""Browser POST uploads to the local S3 obey their presigned policy, as in AWS (local stack only).

moto stores whatever a form POST sends (LOCAL-AWS.md): 600 KB into a slot whose policy allows
10 bytes, another Content-Type, another key. AWS checks, before it stores anything:

- the signature: `x-amz-signature` (SigV4) or `signature` (SigV2) is the HMAC of the base64
  `policy`, so the policy itself cannot be edited (checked with the local stack's one key);
- `expiration`: a policy past it is refused;
- every condition: `{"field": value}` and `["eq", "$field", value]` exact, `["starts-with",
  "$field", prefix]`, `["content-length-range", min, max]` on the file's byte count;
- every form field (except the signature's, `file`, `policy` and `x-ignore-*`) is named by
  a condition, so nothing the policy did not foresee (another `key`, a metadata field) gets in.

Refusals answer as S3 does: 403 `AccessDenied` "Invalid according to Policy: ...", 400
`EntityTooLarge` / `EntityTooSmall` for the size. POSTs without a `policy` field (delete-keys
and other API calls) go to moto unchanged. Presigned PUT URLs are not checked: the app issues
none. Never shipped in the Lambda package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devstack.aws import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

_EXEMPT = frozenset({"x-amz-signature", "file", "policy", "awsaccesskeyid", "signature", "bucket"})
_lock = threading.Lock()
_original: Any = None


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str

    def body(self) -> str:
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code><Message>{self.message}</Message></Error>'


def _denied(reason: str) -> Refusal:
    return Refusal(403, "AccessDenied", f"Invalid according to Policy: {reason}")


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _check_signature(fields: Mapping[str, str], encoded: str) -> Refusal | None:
    """SigV4 (`x-amz-*` fields, what the app's client signs) or SigV2 (`AWSAccessKeyId`,
    `signature`: boto3's default for S3)."""
    if "x-amz-signature" in fields:
        credential = fields.get("x-amz-credential", "").split("/")
        if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256" or len(credential) != 5:
            return Refusal(400, "InvalidArgument", "x-amz-algorithm and x-amz-credential must be SigV4's")
        access_key, date, region, service, _ = credential
        key = _signing_key(LOCAL_SECRET_KEY, date, region, service)
        expected = hmac.new(key, encoded.encode(), hashlib.sha256).hexdigest()
        given = fields["x-amz-signature"]
    elif "signature" in fields:
        access_key = fields.get("awsaccesskeyid", "")
        digest = hmac.new(LOCAL_SECRET_KEY.encode(), encoded.encode(), hashlib.sha1).digest()
        expected, given = base64.b64encode(digest).decode(), fields["signature"]
    else:
        return Refusal(400, "InvalidArgument", "the form has no signature")
    if access_key != LOCAL_ACCESS_KEY:
        return Refusal(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    if not hmac.compare_digest(expected, given):
        return Refusal(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the one provided.")
    return None


def check_upload(form: Mapping[str, str], size: int, bucket: str, now: datetime) -> Refusal | None:
    """What S3 would answer instead of storing this form POST of `size` bytes, or None to store it."""
    fields = {name.lower(): value for name, value in form.items()}
    fields["bucket"] = bucket
    encoded = fields.get("policy", "")
    refusal = _check_signature(fields, encoded)
    if refusal is not None:
        return refusal
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        conditions = list(policy.get("conditions", []))
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        return Refusal(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    if expiration <= now:
        return _denied("Policy expired.")
    covered: set[str] = set()
    for condition in conditions:
        refusal = _check_condition(condition, fields, size, covered)
        if refusal is not None:
            return refusal
    for name in fields:
        if name not in covered and name not in _EXEMPT and not name.startswith("x-ignore-"):
            return _denied(f"Extra input fields: {name}")
    return None


def _check_condition(condition: Any, fields: Mapping[str, str], size: int, covered: set[str]) -> Refusal | None:
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, value),) = condition.items()
        condition = ["eq", f"${name}", value]
    if not isinstance(condition, list) or len(condition) != 3:
        return Refusal(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid condition {condition!r}.")
    operator, subject, value = condition
    if operator == "content-length-range":
        if size > int(value):
            return Refusal(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        if size < int(subject):
            return Refusal(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
        return None
    name = str(subject).removeprefix("$").lower()
    covered.add(name)
    actual = fields.get(name, "")
    if operator == "eq" and actual == value:
        return None
    if operator == "starts-with" and actual.startswith(str(value)):
        return None
    return _denied(f'Policy Condition failed: ["{operator}", "{subject}", "{value}"]')


def _checked_post(self: Any, request: Any, bucket_name: str) -> Any:
    form = getattr(self, "form_data", None) or {}
    if "policy" in form:
        body = self.raw_body if isinstance(self.raw_body, bytes) else str(self.body or "").encode()
        refusal = check_upload(dict(form.items()), len(body), bucket_name, datetime.now(UTC))
        if refusal is not None:
            return refusal.status, {"Content-Type": "application/xml"}, refusal.body()
    return _original(self, request, bucket_name)


def install() -> None:
    """Idempotent: patches moto's S3 form POST once per process."""
    global _original
    from moto.s3.responses import S3Response

    with _lock:
        if _original is None:
            _original = S3Response._bucket_response_post
            S3Response._bucket_response_post = _checked_post  # type: ignore[method-assign]


def uninstall() -> None:
    global _original
    from moto.s3.responses import S3Response

    with _lock:
        if _original is not None:
            S3Response._bucket_response_post = _original  # type: ignore[method-assign]
            _original = None
