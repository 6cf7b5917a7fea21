"""Command line helpers: `python -m chalicelib.cli token --sub u1 --role agent --teams t1`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from chalicelib.tokens import ACCESS_LEVELS, ROLES, mint_local_token

if TYPE_CHECKING:
    from chalicelib.composition import OperatorStores


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
    user = commands.add_parser(
        "user",
        help="create or update a directory user record straight in the table (the first admin of a deployment)",
    )
    user.add_argument("--id", required=True, help="the user's id: their Cognito sub in a deployment")
    user.add_argument("--name", required=True)
    user.add_argument("--email", required=True)
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--org", default=None, help="organization id (customers)")
    user.add_argument("--org-admin", action="store_true")
    user.add_argument("--teams", default="", help="comma-separated team ids (agents)")
    user.add_argument("--access", choices=ACCESS_LEVELS, default=None)
    user.add_argument("--table", default=None, help="defaults to $HELPDESK_TABLE (the stack output TableName)")
    redrive = commands.add_parser(
        "redrive-escalation",
        help="give an escalation whose workflow failed (or never started) a new run, resuming in its stage",
    )
    redrive.add_argument("escalation_id", help="e.g. CP-12")
    redrive.add_argument("--table", default=None, help="defaults to $HELPDESK_TABLE (the stack output TableName)")
    redrive.add_argument(
        "--state-machine", default=None, help="defaults to $HELPDESK_ESCALATION_STATE_MACHINE (output EscalationStateMachineArn)"
    )
    reindex = commands.add_parser(
        "reindex", help="give every live ticket all of its list entries (after a release adds list partitions)"
    )
    reindex.add_argument("--table", default=None, help="defaults to $HELPDESK_TABLE (the stack output TableName)")
    reindex.add_argument("--after", default=None, help="resume after this position (printed as it goes)")
    importing = commands.add_parser("import", help="import a Zendesk or Freshdesk export (resumable; a re-run adds nothing)")
    importing.add_argument("source", choices=("zendesk", "freshdesk"))
    importing.add_argument("path", help="a directory of the API's JSON pages (<endpoint>*.json), or one file")
    importing.add_argument("--dry-run", action="store_true", help="print what would be created and every refusal; write nothing")
    importing.add_argument("--table", default=None, help="defaults to $HELPDESK_TABLE (the stack output TableName)")
    backfill = commands.add_parser(
        "backfill-index",
        help="give user records written before the email (GSI3) and staff (GSI1) indexes their keys (once, resumable)",
    )
    backfill.add_argument("--table", default=None, help="defaults to $HELPDESK_TABLE (the stack output TableName)")
    backfill.add_argument("--after", default=None, help="resume after this user id (printed as it goes)")
    backfill.add_argument("--page-size", type=int, default=100)
    parked = commands.add_parser("parked-mail", help="list inbound mail held back (rate, spam, DMARC, forged sender, virus)")
    parked.add_argument("--table", default=None, help="defaults to $HELPDESK_TABLE (the stack output TableName)")
    parked.add_argument("--after", default=None, help="continue after this position (printed at the end of a page)")
    parked.add_argument("--limit", type=int, default=50)
    release = commands.add_parser(
        "release-mail",
        help="let a parked or suspended message through (never one quarantined for a virus); "
        "run with ReceiveMail's environment (mail secret, buckets)",
    )
    release.add_argument("key", help="its object key, e.g. inbound/<id> (from parked-mail)")
    release.add_argument("--bucket", required=True, help="the InboundMailBucket")
    release.add_argument("--table", default=None, help="defaults to $HELPDESK_TABLE (the stack output TableName)")
    args = parser.parse_args(argv)
    if args.command == "import":
        return _import(args)
    if args.command == "backfill-index":
        return _backfill_index(args)
    if args.command == "parked-mail":
        return _parked_mail(args)
    if args.command == "release-mail":
        return _release_mail(args)
    if args.command == "reindex":
        return _reindex(args)
    if args.command == "user":
        return _put_user(args)
    if args.command == "redrive-escalation":
        return _redrive_escalation(args)

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


def _put_user(args: argparse.Namespace) -> int:
    """One directory record, as POST /v1/users would write it, with the caller's AWS credentials."""
    from chalicelib import composition

    table = _table(args)
    if not table:
        return 2
    directory = composition.operator_stores(table, host=_dynamodb_endpoint()).directory()
    data: dict[str, object] = {"email": args.email, "role": args.role}
    if args.org:
        data["organization_id"] = args.org
        data["org_admin"] = args.org_admin
    if args.role == "agent":
        data["team_ids"] = sorted(t for t in args.teams.split(",") if t)
        data["access"] = args.access or "team"
    directory.upsert_user(args.id, args.name, data, composition.clock())
    print(f"directory user {args.id} ({args.role}) written to {table}")
    return 0


def _redrive_escalation(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from chalicelib import composition
    from chalicelib.domain.errors import DomainError

    table = _table(args)
    if not table:
        return 2
    if args.state_machine:
        os.environ["HELPDESK_ESCALATION_STATE_MACHINE"] = args.state_machine
    escalations = composition.operator_stores(table, host=_dynamodb_endpoint()).escalations()
    try:
        name = composition.escalation_starter().redrive(escalations, args.escalation_id, datetime.now(UTC))
    except DomainError as error:
        print(f"not redriven: {error}", file=sys.stderr)
        return 1
    print(f"started {name}")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    """Pages through the ALL partition, 25 tickets a transaction each; resumable with --after."""
    from chalicelib import composition

    table = _table(args)
    if not table:
        return 2
    repository, position, total = composition.operator_stores(table, host=_dynamodb_endpoint()).tickets(), args.after, 0
    while True:
        done, position = repository.reindex_page(position)
        total += done
        if position is None:
            print(f"re-indexed {total} tickets")
            return 0
        print(f"re-indexed {total} tickets so far; resume with --after '{position}'")


def _import(args: argparse.Namespace) -> int:
    """Map the export (pure), print the plan's counts and refusals; unless --dry-run, write it."""
    from pathlib import Path

    from chalicelib import composition
    from chalicelib.services.imports import plan_of, read_export

    export, digest = read_export(Path(args.path))
    table = args.table or os.environ.get("HELPDESK_TABLE")
    if table:  # addresses the directory has are those users (a dry run needs the table for that too)
        os.environ["HELPDESK_TABLE"] = table
        plan = composition.import_service().plan(args.source, export)
    else:
        plan = plan_of(args.source, export)
    for refusal in plan.refused:
        print(f"refused {refusal.kind} {refusal.source_id}: {refusal.reason}")
    counts = ", ".join(f"{count} {name}" for name, count in plan.counts().items())
    if args.dry_run:
        print(f"would create: {counts}")
        for record in plan.tickets:
            ticket = record.ticket
            print(f"  ticket {record.source_id}: {ticket.status} {ticket.priority} {ticket.subject!r}")
        return 0
    if not table:
        print("pass --table or set HELPDESK_TABLE (the stack output TableName)", file=sys.stderr)
        return 2
    report = composition.import_service().run(plan, digest, progress=print)
    for refusal in report.refused[len(plan.refused) :]:
        print(f"refused {refusal.kind} {refusal.source_id}: {refusal.reason}")
    print("created: " + (", ".join(f"{n} {k}" for k, n in report.created.items()) or "nothing"))
    if report.skipped:
        print("already imported: " + ", ".join(f"{n} {k}" for k, n in report.skipped.items()))
    return 0


def _dynamodb_endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")


def _table(args: argparse.Namespace) -> str | None:
    """--table, else HELPDESK_TABLE; None, said on stderr, when neither names the table."""
    table: str | None = args.table or os.environ.get("HELPDESK_TABLE")
    if not table:
        print("pass --table or set HELPDESK_TABLE (the stack output TableName)", file=sys.stderr)
    return table


def _bound_table(args: argparse.Namespace) -> OperatorStores | None:
    from chalicelib import composition

    table = _table(args)
    if not table:
        return None
    os.environ["HELPDESK_TABLE"] = table  # what the composition root binds to as well
    return composition.operator_stores(table, host=_dynamodb_endpoint())


def _parked_mail(args: argparse.Namespace) -> int:
    """One page of MAIL#PARKED, oldest first: key, reason, when."""
    stores = _bound_table(args)
    if stores is None:
        return 2
    items, position = stores.inbound_mail().parked(limit=max(1, min(args.limit, 500)), after=args.after)
    for item in items:
        print(f"{item['key']}\t{item['reason']}\t{item['at']}")
    if position is not None:
        print(f"more: --after '{position}'")
    return 0


def _release_mail(args: argparse.Namespace) -> int:
    """`InboundMailService.receive(bucket, key, release=True)`: posted as it would have been."""
    from chalicelib import composition

    if _bound_table(args) is None:
        return 2
    received = composition.inbound_mail_service(count=lambda name, value: None).receive(args.bucket, args.key, release=True)
    print(f"{received.outcome} ({received.reason}) ticket {received.ticket_id or '-'}")
    return 0 if received.outcome in ("created", "commented", "duplicate") else 1


def _backfill_index(args: argparse.Namespace) -> int:
    """Pages through the `DIR#user` partition (Query pages, never a Scan); resumable with --after."""
    stores = _bound_table(args)
    if stores is None:
        return 2
    repository, position, read, changed = stores.directory(), args.after, 0, 0
    while True:
        page_read, page_changed, position = repository.backfill_user_index_page(position, max(1, min(args.page_size, 1000)))
        read, changed = read + page_read, changed + page_changed
        if position is None:
            print(f"backfilled {changed} of {read} users")
            return 0
        print(f"backfilled {changed} of {read} users so far; resume with --after '{position}'")


if __name__ == "__main__":
    raise SystemExit(main())
