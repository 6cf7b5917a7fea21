"""`make deploy-web` (issue 12): what it asks the AWS CLI to do, with a stand-in CLI that records it."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from devstack.paths import PROJECT_DIR

FAKE_AWS = """#!/bin/sh
echo "$@" >> "{log}"
case "$*" in
  *"ParameterKey=='WebOrigin'"*) echo "https://help.example.com" ;;
  *"OutputKey=='WebBucketName'"*) echo "web-bucket-1" ;;
  *"OutputKey=='WebDistributionId'"*) echo "E123" ;;
  *"OutputKey=='SignInDomain'"*) echo "https://helpdesk-prod-1.auth.eu-west-1.amazoncognito.com" ;;
  *"OutputKey=='UserPoolClientId'"*) echo "client-9" ;;
  *"OutputKey=='WebUrl'"*) echo "https://d1.cloudfront.net/app/" ;;
  "s3 cp "*) cp "$3" "{copied}" ;;
esac
"""


def test_deploy_web_uploads_the_site_without_dev_files_and_a_cognito_config_for_the_stack(tmp_path: Path) -> None:
    log, copied = tmp_path / "calls.log", tmp_path / "config.json"
    aws = tmp_path / "aws"
    aws.write_text(FAKE_AWS.format(log=log, copied=copied))
    aws.chmod(0o755)

    result = subprocess.run(
        ["make", "--no-print-directory", "deploy-web", f"AWS={aws}", "STAGE=prod"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    calls = [shlex.split(line) for line in log.read_text().splitlines()]
    [sync] = [c for c in calls if c[:2] == ["s3", "sync"]]
    assert sync[2:4] == ["web/", "s3://web-bucket-1/app/"]
    excluded = {sync[i + 1] for i, arg in enumerate(sync) if arg == "--exclude"}
    assert {"node_modules/*", "package.json", "package-lock.json", "config.json"} <= excluded
    assert json.loads(copied.read_text()) == {
        "auth": "cognito",
        "domain": "https://helpdesk-prod-1.auth.eu-west-1.amazoncognito.com",
        "clientId": "client-9",
        "redirectUri": "https://help.example.com/app/",
    }
    [invalidation] = [c for c in calls if c[:2] == ["cloudfront", "create-invalidation"]]
    assert "E123" in invalidation and "/app/*" in invalidation
    assert all("--stack-name" not in c or c[c.index("--stack-name") + 1] == "helpdesk-prod" for c in calls)
    assert "https://d1.cloudfront.net/app/" in result.stdout
