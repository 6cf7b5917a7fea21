"""Command line helpers: `python -m chalicelib.cli token --sub u1 --role agent --teams t1`."""

from __future__ import annotations

import argparse
import os
import sys

from chalicelib.tokens import ACCESS_LEVELS, ROLES, mint_local_token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="mint a local HS256 bearer token")
    token.add_argument("--sub", required=True, help="user id")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--name", default="")
    token.add_argument("--email", default="")
    token.add_argument("--org", default=None, help="organization id (customers)")
    token.add_argument("--org-admin", action="store_true")
    token.add_argument("--teams", default="", help="comma-separated team ids (agents)")
    token.add_argument("--access", choices=ACCESS_LEVELS, default=None)
    token.add_argument("--ttl", type=int, default=86_400, help="seconds until expiry")
    token.add_argument("--secret", default=None, help="defaults to $HELPDESK_JWT_SECRET")
    args = parser.parse_args(argv)

    secret = args.secret or os.environ.get("HELPDESK_JWT_SECRET")
    if not secret:
        print("set HELPDESK_JWT_SECRET or pass --secret", file=sys.stderr)
        return 2
    print(
        mint_local_token(
            sub=args.sub,
            role=args.role,
            secret=secret,
            name=args.name,
            email=args.email,
            org=args.org,
            org_admin=args.org_admin,
            teams=[t for t in args.teams.split(",") if t],
            access=args.access,
            ttl_seconds=args.ttl,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
