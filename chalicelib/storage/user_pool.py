"""What the Cognito user pool knows about a user that the directory does not: their MFA setting."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import Unavailable

TOTP = "SOFTWARE_TOKEN_MFA"


class UserPool:
    """`AdminGetUser` on the pool a trigger event names (the event carries the pool id)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    def connect(cls) -> UserPool:
        import boto3
        from botocore.config import Config

        return cls(boto3.client("cognito-idp", config=Config(retries={"mode": "standard", "max_attempts": 3})))

    def preferred_mfa(self, pool_id: str, username: str) -> str | None:
        """The user's preferred MFA method (`SOFTWARE_TOKEN_MFA` once a TOTP app is verified), or None."""
        try:
            user = self._client.admin_get_user(UserPoolId=pool_id, Username=username)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "UserNotFoundException":
                return None
            raise Unavailable(f"the user pool could not be read: {exc.response.get('Error', {}).get('Code')}") from exc
        except BotoCoreError as exc:
            raise Unavailable("the user pool could not be read") from exc
        preferred = user.get("PreferredMfaSetting")
        return str(preferred) if preferred else None

    def has_verified_totp(self, pool_id: str, username: str) -> bool:
        """Whether the user's preferred MFA is a verified TOTP app (so sign-in challenged for it)."""
        return self.preferred_mfa(pool_id, username) == TOTP
