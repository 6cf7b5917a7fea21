"""The process environment the app sees locally: set before the app is imported."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from devstack.aws import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

# 32+ bytes: PyJWT warns about shorter HS256 keys.
DEFAULT_JWT_SECRET = "local-dev-secret-change-me-not-for-production"
DEFAULT_REGION = "us-east-1"
# Each of these would send the app's AWS calls somewhere other than moto, or fail them.
_CONFLICTING_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def local_region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def point_aws_at_moto(endpoint_url: str) -> None:
    """Make every botocore client of this process (boto3, PynamoDB, Powertools) call moto.

    botocore reads AWS_ENDPOINT_URL when a client is created without an explicit endpoint;
    service-specific AWS_ENDPOINT_URL_<SERVICE> variables would win over it, so they go.
    """
    for name in list(os.environ):
        if name in _CONFLICTING_AWS_VARIABLES or name.startswith("AWS_ENDPOINT_URL_"):
            del os.environ[name]
    region = local_region()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
            "TZ": "UTC",
        }
    )
    # moto compares Step Functions Wait timestamps with local time.
    time.tzset()
    # A developer's HTTP proxy must not see calls to the local servers.
    no_proxy = [host for host in os.environ.get("NO_PROXY", "").split(",") if host]
    for host in ("127.0.0.1", "localhost"):
        if host not in no_proxy:
            no_proxy.append(host)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(no_proxy)


def apply(variables: Mapping[str, str]) -> None:
    os.environ.update({name: str(value) for name, value in variables.items()})


def set_local_auth() -> str:
    """Local stage and HS256 auth; answers the JWT secret (the developer's, if set)."""
    os.environ["HELPDESK_STAGE"] = "local"
    os.environ["HELPDESK_AUTH_MODE"] = "local"
    secret = os.environ.get("HELPDESK_JWT_SECRET") or DEFAULT_JWT_SECRET
    os.environ["HELPDESK_JWT_SECRET"] = secret
    return secret
