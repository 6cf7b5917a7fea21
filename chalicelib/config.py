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
    cursor_secret: str
    max_body_bytes: int
    # Escalations (issue 4): the workflow's ARN (empty: escalations cannot be created here) and
    # each waiting stage's target duration in seconds (JSON object; stages left out have none).
    escalation_state_machine_arn: str = ""
    escalation_stage_targets: Mapping[str, int] = field(default_factory=dict)
    # Record actions (issue 3): the private bucket attachments are uploaded to (presigned URLs).
    attachments_bucket: str = "helpdesk-local-attachments"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        auth_mode = env.get("HELPDESK_AUTH_MODE", "local")
        jwt_secret = env.get("HELPDESK_JWT_SECRET")
        cursor_secret = env.get("HELPDESK_CURSOR_SECRET") or jwt_secret
        if not cursor_secret:
            raise RuntimeError("set HELPDESK_CURSOR_SECRET (or HELPDESK_JWT_SECRET locally)")
        return cls(
            stage=env.get("HELPDESK_STAGE", "local"),
            table_name=env.get("HELPDESK_TABLE", "helpdesk-local-HelpdeskTable"),
            auth_mode=auth_mode,
            jwt_secret=jwt_secret,
            jwt_issuer=env.get("HELPDESK_JWT_ISSUER"),
            jwt_audience=env.get("HELPDESK_JWT_AUDIENCE"),
            jwks_url=env.get("HELPDESK_JWKS_URL"),
            cursor_secret=cursor_secret,
            max_body_bytes=int(env.get("HELPDESK_MAX_BODY_BYTES", str(1024 * 1024))),
            escalation_state_machine_arn=env.get("HELPDESK_ESCALATION_STATE_MACHINE", ""),
            escalation_stage_targets=json.loads(env.get("HELPDESK_ESCALATION_STAGE_TARGETS") or "{}"),
            attachments_bucket=env.get("HELPDESK_ATTACHMENTS_BUCKET") or "helpdesk-local-attachments",
        )


# Used only where no secret is configured and the stage is local or test (make run, the suite):
# a deployed stage must set HELPDESK_MAIL_SECRET (infra/template.json: MailSecret).
LOCAL_MAIL_SECRET = "local-mail-secret-not-for-production"


@dataclass(frozen=True)
class MailSettings:
    """What the notification sender reads (its own environment only; no API secrets)."""

    support_domain: str
    from_name: str
    secrets: tuple[bytes, ...]  # the first mints reply tokens and Message-IDs; all verify
    configuration_set: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if env is None else env
        ring = [env.get("HELPDESK_MAIL_SECRET", ""), env.get("HELPDESK_MAIL_SECRET_PREVIOUS", "")]
        secrets = tuple(s.encode() for s in ring if s)
        if not secrets:
            if env.get("HELPDESK_STAGE", "local") not in ("local", "test"):
                raise RuntimeError("set HELPDESK_MAIL_SECRET")
            secrets = (LOCAL_MAIL_SECRET.encode(),)
        return cls(
            support_domain=(env.get("HELPDESK_SUPPORT_DOMAIN") or "helpdesk.local").strip().lower(),
            from_name=env.get("HELPDESK_MAIL_FROM_NAME") or "Help desk",
            secrets=secrets,
            configuration_set=env.get("HELPDESK_SES_CONFIGURATION_SET", ""),
        )
