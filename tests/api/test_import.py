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
