"""`import app` is cheap and offline: no AWS clients, no sockets, no settings read."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import socket, sys
import botocore.session

def refuse(*args, **kwargs):
    raise SystemExit("import app tried: " + repr(args[:2]))

socket.socket.connect = refuse
botocore.session.Session.create_client = refuse
import app
assert app.app.routes, "no routes registered"
print("ok", len(app.app.routes))
"""


def test_importing_the_app_builds_no_aws_client_and_opens_no_connection():
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}  # no AWS or Helpdesk settings at all
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.startswith("ok")


MODELS_PROBE = """
import pydantic
import app
from chalicelib.api import routing
models = {m for spec in routing.ROUTES for m in (spec.body, spec.query, spec.response) if m is not None}
built = sorted(m.__name__ for m in models if m.__pydantic_complete__)
print(len(models), built)
"""


def test_importing_the_app_builds_no_request_or_response_schema():
    """Schemas are built by the first request that needs them (cold start: import is cheap)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    result = subprocess.run([sys.executable, "-c", MODELS_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    count, built = result.stdout.split(" ", 1)
    assert int(count) > 40
    assert built.strip() == "[]"
