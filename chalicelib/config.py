"""Settings read from the environment when first needed (never at import time)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    auth_mode: str  # "local" (HS256 shared secret) or "cognito" (RS256 via JWKS)
    jwt_secret: str | None
    jwt_issuer: str | None
    jwt_audience: str | None
    jwks_url: str | None
    # Only the API signs cursors: required when one is first signed or read (`cursor_secret`),
    # not when settings are built, so functions without the secret can use the rest.
    configured_cursor_secret: str | None
    max_body_bytes: int
    # Escalations (issue 4): the workflow's ARN (empty: escalations cannot be created here) and
    # each waiting stage's target duration in seconds (JSON object; stages left out have none).
    escalation_state_machine_arn: str = ""
    escalation_stage_targets: Mapping[str, int] = field(default_factory=dict)
    # Record actions (issue 3): the private bucket attachments are uploaded to (presigned URLs).
    attachments_bucket: str = "helpdesk-local-attachments"

    @property
    def cursor_secret(self) -> str:
        if not self.configured_cursor_secret:
            raise RuntimeError("set HELPDESK_CURSOR_SECRET (or HELPDESK_JWT_SECRET locally)")
        return self.configured_cursor_secret

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        auth_mode = env.get("HELPDESK_AUTH_MODE", "local")
        jwt_secret = env.get("HELPDESK_JWT_SECRET")
        return cls(
            stage=env.get("HELPDESK_STAGE", "local"),
            table_name=env.get("HELPDESK_TABLE", "helpdesk-local-HelpdeskTable"),
            auth_mode=auth_mode,
            jwt_secret=jwt_secret,
            jwt_issuer=env.get("HELPDESK_JWT_ISSUER"),
            jwt_audience=env.get("HELPDESK_JWT_AUDIENCE"),
            jwks_url=env.get("HELPDESK_JWKS_URL"),
            configured_cursor_secret=env.get("HELPDESK_CURSOR_SECRET") or jwt_secret,
            max_body_bytes=int(env.get("HELPDESK_MAX_BODY_BYTES", str(1024 * 1024))),
            escalation_state_machine_arn=env.get("HELPDESK_ESCALATION_STATE_MACHINE", ""),
            escalation_stage_targets=json.loads(env.get("HELPDESK_ESCALATION_STAGE_TARGETS") or "{}"),
            attachments_bucket=env.get("HELPDESK_ATTACHMENTS_BUCKET") or "helpdesk-local-attachments",
        )
