"""Demo data for a first start, created through the HTTP API as a client would.

Seeding goes through the API (not the table) so the data obeys the app's own rules and
events. The users it creates are saved to `<state-dir>/demo-users.json`, so later starts can
mint fresh tokens for them. Run it against a running stack with
`python -m devstack.demo --api-url http://127.0.0.1:8000`.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from chalicelib.tokens import mint_local_token
from devstack.environment import DEFAULT_JWT_SECRET
from devstack.paths import DEFAULT_STATE_DIR

DEMO_USERS_FILE = "demo-users.json"
ADMIN_SUB = "demo-admin"
_TIMEOUT_SECONDS = 15
# Status moves one PATCH at a time, along the usual path to each final status.
_STATUS_STEPS = {"open": [], "pending": ["pending"], "resolved": ["resolved"], "closed": ["resolved", "closed"]}


class DemoSeedError(Exception):
    """The API refused or failed a seeding request."""


@dataclass
class DemoUser:
    """A demo identity: the claims its tokens carry."""

    label: str
    sub: str
    role: str
    name: str
    email: str
    org: str | None = None
    org_admin: bool = False
    teams: list[str] = field(default_factory=list)
    access: str | None = None

    def token(self, secret: str, ttl_seconds: int = 86_400) -> str:
        return mint_local_token(
            sub=self.sub,
            role=self.role,
            secret=secret,
            name=self.name,
            email=self.email,
            org=self.org,
            org_admin=self.org_admin,
            teams=self.teams,
            access=self.access,
            ttl_seconds=ttl_seconds,
        )

    def describe(self) -> str:
        details = [f"role={self.role}"]
        if self.access:
            details.append(f"access={self.access}")
        if self.org_admin:
            details.append("org_admin")
        return " ".join(details)


def demo_admin() -> DemoUser:
    """The admin every stack has: recorded by the API on its first request."""
    return DemoUser(label="admin", sub=ADMIN_SUB, role="admin", name="Dana Admin", email="dana@example.com")


class _UserSpec(NamedTuple):
    label: str
    name: str
    email: str
    role: str
    organization: str | None = None
    org_admin: bool = False
    teams: tuple[str, ...] = ()
    access: str | None = None


class _TicketSpec(NamedTuple):
    subject: str
    requester: str
    status: str
    priority: str
    type: str
    channel: str
    team: str | None = None
    assignee: str | None = None
    tags: tuple[str, ...] = ()


_AGENT, _CUSTOMER = "agent", "customer"
_SUPPORT, _ENGINEERING = "Support", "Engineering"
_USERS = [
    _UserSpec("agent-all", "Alex Rivera", "alex@example.com", _AGENT,
              teams=(_SUPPORT, _ENGINEERING), access="all"),
    _UserSpec("agent-team", "Taylor Brooks", "taylor@example.com", _AGENT,
              teams=(_SUPPORT,), access="team"),
    _UserSpec("agent-assigned", "Sam Patel", "sam@example.com", _AGENT,
              teams=(_ENGINEERING,), access="assigned"),
    _UserSpec("acme-org-admin", "Olivia Stone", "olivia@acme.example", _CUSTOMER,
              organization="Acme Corp", org_admin=True),
    _UserSpec("acme-customer", "Carl Meyer", "carl@acme.example", _CUSTOMER,
              organization="Acme Corp"),
    _UserSpec("globex-customer", "Gina Lopez", "gina@globex.example", _CUSTOMER,
              organization="Globex"),
]  # fmt: skip
_TICKETS = [
    _TicketSpec("Cannot log in after password reset", "acme-customer",
                "open", "high", "incident", "email", _SUPPORT, None, ("login",)),
    _TicketSpec("Invoice shows the wrong VAT rate", "acme-org-admin",
                "pending", "normal", "problem", "email", _SUPPORT, "agent-team", ("billing",)),
    _TicketSpec("Single sign-on for our whole team", "acme-org-admin",
                "open", "normal", "request", "web", _ENGINEERING, "agent-all", ("sso",)),
    _TicketSpec("Export API answers 500", "globex-customer",
                "open", "urgent", "incident", "api", _ENGINEERING, "agent-assigned",
                ("api", "export")),
    _TicketSpec("How do I export monthly reports?", "globex-customer",
                "resolved", "low", "request", "chat", _SUPPORT, "agent-team", ("reports",)),
    _TicketSpec("Dashboard slow every morning", "acme-customer",
                "pending", "high", "problem", "phone", _ENGINEERING, "agent-assigned",
                ("performance",)),
    _TicketSpec("Change our billing contact", "acme-org-admin",
                "closed", "low", "change", "email", _SUPPORT, "agent-all", ("billing",)),
    _TicketSpec("Mobile app crashes on photo upload", "globex-customer",
                "open", "high", "incident", "chat", None, None, ("mobile",)),
    _TicketSpec("Demo of the workflow features", "acme-customer",
                "resolved", "normal", "request", "conference", _SUPPORT, "agent-all"),
    _TicketSpec("Question about data retention", "globex-customer",
                "closed", "normal", "request", "web", None, "agent-team", ("compliance",)),
    _TicketSpec("Upgrade to the Enterprise plan", "acme-org-admin",
                "open", "normal", "change", "phone", _SUPPORT, None, ("sales",)),
    _TicketSpec("Webhook deliveries arrive late", "acme-customer",
                "open", "urgent", "problem", "api", _ENGINEERING, "agent-all", ("webhooks",)),
]  # fmt: skip


class ApiClient:
    """JSON over HTTP with a bearer token; proxies bypassed, since the API is on this machine."""

    def __init__(self, base_url: str, token: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, body: Any, *, idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(self._base_url + path, data=json.dumps(body).encode(), headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=_TIMEOUT_SECONDS) as response:
                answer: dict[str, Any] = json.loads(response.read() or b"{}")
                return answer
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            if exc.code == 403 and "Authorization header requires" in detail:
                # chalice local's answer for a path no route matches, like API Gateway's.
                detail = "no such route in the app (chalice local answers 403 for those)"
            raise DemoSeedError(f"{method} {path} answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise DemoSeedError(f"{method} {path} failed: {exc}") from exc


_SUPPORT_HOURS = {
    "name": "Support hours (Berlin)",
    "timezone": "Europe/Berlin",
    "weekly": {day: [["08:00", "12:30"], ["13:30", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": [
        {"date": "2026-12-25", "name": "Christmas Day"},
        {"start": "2026-12-31", "end": "2027-01-01", "name": "New Year"},
    ],
}
_URGENT_INCIDENTS = {
    "name": "Urgent incidents, around the clock",
    "position": 0,
    "conditions": {"priorities": ["urgent"], "types": ["incident"]},
    "targets": {"urgent": {"first_response_minutes": 15, "next_response_minutes": 30, "resolution_minutes": 240}},
}
_STANDARD_SLA = {
    "name": "Standard",
    "position": 10,
    "pause_statuses": ["pending"],
    "targets": {
        "low": {"first_response_minutes": 480, "next_response_minutes": 960, "resolution_minutes": 4800},
        "normal": {"first_response_minutes": 240, "next_response_minutes": 480, "resolution_minutes": 2400},
        "high": {"first_response_minutes": 60, "next_response_minutes": 240, "resolution_minutes": 960},
        "urgent": {"first_response_minutes": 30, "next_response_minutes": 60, "resolution_minutes": 480},
    },
}


def seed_demo_data(api_url: str, secret: str, state_dir: Path) -> list[DemoUser]:
    """Create the demo organizations, teams, users and tickets; answers the demo users.

    Raises DemoSeedError at the first refused request; users created until then are saved.
    """
    admin = demo_admin()
    api = ApiClient(api_url, admin.token(secret))

    def create(path: str, body: dict[str, Any], key: str) -> str:
        return str(api.call("POST", path, body, idempotency_key=f"devstack-demo-{key}")["id"])

    organizations = {name: create("/v1/organizations", {"name": name}, f"org-{name}") for name in ("Acme Corp", "Globex")}
    teams = {name: create("/v1/teams", {"name": name}, f"team-{name}") for name in ("Support", "Engineering")}
    users = {"admin": admin}
    for spec in _USERS:
        team_ids = [teams[team] for team in spec.teams]
        organization_id = organizations[spec.organization] if spec.organization else None
        body: dict[str, Any] = {"name": spec.name, "email": spec.email, "role": spec.role}
        if organization_id:
            body["organization_id"] = organization_id
            body["org_admin"] = spec.org_admin
        if spec.role == _AGENT:
            body["team_ids"] = team_ids
            body["access"] = spec.access
        users[spec.label] = DemoUser(
            label=spec.label,
            sub=create("/v1/users", body, f"user-{spec.label}"),
            role=spec.role,
            name=spec.name,
            email=spec.email,
            org=organization_id,
            org_admin=spec.org_admin,
            teams=team_ids,
            access=spec.access,
        )
    demo_users = list(users.values())
    # Saved before the tickets: the users' tokens are useful even if ticket seeding fails.
    save_demo_users(state_dir, demo_users)

    # SLA goals before the tickets, so every demo ticket starts its clocks.
    hours = create("/v1/business-hours", _SUPPORT_HOURS, "hours-support")
    create("/v1/sla-policies", _URGENT_INCIDENTS, "sla-urgent-incidents")
    create("/v1/sla-policies", {**_STANDARD_SLA, "business_hours_id": hours}, "sla-standard")

    for number, ticket in enumerate(_TICKETS, start=1):
        body = {
            "subject": ticket.subject,
            "description": f"{ticket.subject}. (Demo ticket {number}, created by devstack.)",
            "requester_id": users[ticket.requester].sub,
            "priority": ticket.priority,
            "type": ticket.type,
            "channel": ticket.channel,
            "tags": list(ticket.tags),
        }
        if ticket.team:
            body["team_id"] = teams[ticket.team]
        if ticket.assignee:
            body["assignee_id"] = users[ticket.assignee].sub
        ticket_id = create("/v1/tickets", body, f"ticket-{number}")
        for step in _STATUS_STEPS[ticket.status]:
            api.call("PATCH", f"/v1/tickets/{ticket_id}", {"status": step})
    return demo_users


def save_demo_users(state_dir: Path, users: list[DemoUser]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / DEMO_USERS_FILE
    path.write_text(json.dumps([asdict(user) for user in users], indent=2), encoding="utf-8")


def load_demo_users(state_dir: Path) -> list[DemoUser]:
    """The saved demo users, or just the admin when seeding never completed its users."""
    path = state_dir / DEMO_USERS_FILE
    if not path.exists():
        return [demo_admin()]
    return [DemoUser(**entry) for entry in json.loads(path.read_text(encoding="utf-8"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description="Seed demo data into a running local stack.")
    parser.add_argument("--api-url", default="http://127.0.0.1:8000")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    args = parser.parse_args(argv)
    secret = os.environ.get("HELPDESK_JWT_SECRET") or DEFAULT_JWT_SECRET
    try:
        users = seed_demo_data(args.api_url, secret, args.state_dir)
    except DemoSeedError as exc:
        print(f"demo seeding failed: {exc}")
        return 1
    print(f"seeded; {len(users)} demo users saved to {args.state_dir / DEMO_USERS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
