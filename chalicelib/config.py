"""Settings read from the environment when first needed (never at import time).

`environ()` is the environment of the Lambda function running: `os.environ` in AWS, where every
function has a process of its own. The local stack and the tests run all functions in one
process, so they run each invocation inside `function_environment(<what its template
declares>)`; app code reads variables through `environ()` only, never `os.environ` (a test
checks), so a variable its function does not declare is missing locally exactly as in AWS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


class FunctionEnvironment(Mapping[str, str]):
    """An immutable, hashable environment (composition keys its caches by it)."""

    def __init__(self, variables: Mapping[str, str]) -> None:
        self._variables = {str(name): str(value) for name, value in variables.items()}
        self._hash = hash(frozenset(self._variables.items()))

    def __getitem__(self, name: str) -> str:
        return self._variables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FunctionEnvironment) and self._variables == other._variables

    def __repr__(self) -> str:
        return f"FunctionEnvironment({sorted(self._variables)})"


_current: ContextVar[FunctionEnvironment | None] = ContextVar("helpdesk_function_environment", default=None)


def environ() -> Mapping[str, str]:
    """The running function's environment variables."""
    env = _current.get()
    return os.environ if env is None else env


def environment_key() -> FunctionEnvironment | None:
    """What identifies the running function's environment (None: the process's own)."""
    return _current.get()


@contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[FunctionEnvironment]:
    """Run the block (in this thread or task) with exactly `variables` as its environment."""
    env = variables if isinstance(variables, FunctionEnvironment) else FunctionEnvironment(variables)
    token = _current.set(env)
    try:
        yield env
    finally:
        _current.reset(token)


def endpoint_url(env: Mapping[str, str], service: str) -> str | None:
    """The endpoint botocore would use for `service` (AWS_ENDPOINT_URL_<SERVICE> first); None in AWS."""
    return env.get(f"AWS_ENDPOINT_URL_{service.upper()}") or env.get("AWS_ENDPOINT_URL")


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
    # not when settings are built, so functions without the secret can use the rest. Deployed,
    # the key is the Secrets Manager secret `cursor_secret_arn` names (composition.cursor_secret
    # reads it at run time); a value is configured only in tests and, without an ARN, locally.
    configured_cursor_secret: str | None
    max_body_bytes: int
    # Escalations (issue 4): the workflow's ARN (empty: escalations cannot be created here) and
    # each waiting stage's target duration in seconds (JSON object; stages left out have none).
    escalation_state_machine_arn: str = ""
    escalation_stage_targets: Mapping[str, int] = field(default_factory=dict)
    # Record actions (issue 3): the private bucket attachments are uploaded to (presigned URLs).
    attachments_bucket: str = "helpdesk-local-attachments"
    cursor_secret_arn: str = ""

    @property
    def cursor_secret(self) -> str:
        if not self.configured_cursor_secret:
            raise RuntimeError("set HELPDESK_CURSOR_SECRET_ARN (or HELPDESK_JWT_SECRET locally)")
        return self.configured_cursor_secret

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = environ() if env is None else env
        auth_mode = env.get("HELPDESK_AUTH_MODE", "local")
        jwt_secret = env.get("HELPDESK_JWT_SECRET")
        cursor_secret_arn = env.get("HELPDESK_CURSOR_SECRET_ARN", "")
        return cls(
            stage=env.get("HELPDESK_STAGE", "local"),
            table_name=env.get("HELPDESK_TABLE", "helpdesk-local-HelpdeskTable"),
            auth_mode=auth_mode,
            jwt_secret=jwt_secret,
            jwt_issuer=env.get("HELPDESK_JWT_ISSUER"),
            jwt_audience=env.get("HELPDESK_JWT_AUDIENCE"),
            jwks_url=env.get("HELPDESK_JWKS_URL"),
            configured_cursor_secret=env.get("HELPDESK_CURSOR_SECRET") or (None if cursor_secret_arn else jwt_secret),
            max_body_bytes=int(env.get("HELPDESK_MAX_BODY_BYTES", str(1024 * 1024))),
            escalation_state_machine_arn=env.get("HELPDESK_ESCALATION_STATE_MACHINE", ""),
            escalation_stage_targets=json.loads(env.get("HELPDESK_ESCALATION_STAGE_TARGETS") or "{}"),
            attachments_bucket=env.get("HELPDESK_ATTACHMENTS_BUCKET") or "helpdesk-local-attachments",
            cursor_secret_arn=cursor_secret_arn,
        )


# Used only where no secret is configured and the stage is local or test (make run, the suite):
# a deployed stage must set HELPDESK_MAIL_SECRET_ARN (infra/template.json: MailSecret).
LOCAL_MAIL_SECRET = "local-mail-secret-not-for-production"


@dataclass(frozen=True)
class MailSettings:
    """What the notification sender reads (its own environment only; no API secrets)."""

    support_domain: str
    from_name: str
    secrets: tuple[bytes, ...]  # the first mints reply tokens and Message-IDs; all verify
    configuration_set: str

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, secret_ring: Callable[[str], tuple[str, ...]] | None = None
    ) -> MailSettings:
        """`secret_ring(arn)`: the current and previous values of the Secrets Manager secret that
        HELPDESK_MAIL_SECRET_ARN names (deployed); else HELPDESK_MAIL_SECRET(_PREVIOUS) values."""
        env = environ() if env is None else env
        arn = env.get("HELPDESK_MAIL_SECRET_ARN", "")
        if arn and secret_ring is not None:
            ring = list(secret_ring(arn))
        else:
            ring = [env.get("HELPDESK_MAIL_SECRET", ""), env.get("HELPDESK_MAIL_SECRET_PREVIOUS", "")]
        secrets = tuple(s.encode() for s in ring if s)
        if not secrets:
            if env.get("HELPDESK_STAGE", "local") not in ("local", "test"):
                raise RuntimeError("set HELPDESK_MAIL_SECRET_ARN (or HELPDESK_MAIL_SECRET)")
            secrets = (LOCAL_MAIL_SECRET.encode(),)
        return cls(
            support_domain=(env.get("HELPDESK_SUPPORT_DOMAIN") or "helpdesk.local").strip().lower(),
            from_name=env.get("HELPDESK_MAIL_FROM_NAME") or "Help desk",
            secrets=secrets,
            configuration_set=env.get("HELPDESK_SES_CONFIGURATION_SET", ""),
        )
