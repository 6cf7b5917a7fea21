"""boto3 clients bound to the local moto server, never to real AWS."""

from __future__ import annotations

import threading
from typing import Any

import boto3

# moto accepts any credentials; fixed ones keep a developer's real keys out of every request.
LOCAL_ACCESS_KEY = "testing"
LOCAL_SECRET_KEY = "testing"
# moto's default account: ARNs built here must match the ones moto builds itself.
LOCAL_ACCOUNT_ID = "123456789012"


class LocalAws:
    """Where the moto server listens, and a cache of clients pointing at it."""

    def __init__(self, endpoint_url: str, region: str = "us-east-1") -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._session = boto3.session.Session(
            aws_access_key_id=LOCAL_ACCESS_KEY, aws_secret_access_key=LOCAL_SECRET_KEY, region_name=region
        )
        self._clients: dict[str, Any] = {}
        # Sessions are not thread-safe; the snapshot thread and the main thread both ask for clients.
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        """A client for `service` against moto (the client itself is thread-safe)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(service, endpoint_url=self.endpoint_url)
            return self._clients[service]

    def __repr__(self) -> str:
        return f"LocalAws({self.endpoint_url!r}, region={self.region!r})"


class InProcessAws(LocalAws):
    """LocalAws without an endpoint: an in-process `mock_aws` intercepts the default AWS endpoints
    (workflow tests and the benchmark provision the template this way)."""

    def __init__(self) -> None:
        super().__init__(endpoint_url="")

    def client(self, service: str) -> Any:
        return boto3.client(service)
