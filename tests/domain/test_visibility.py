"""Who sees which ticket (API.md, Conventions/Visibility)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller, can_see, is_end_user_of, sees_ticket_fields

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def ticket(**overrides: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": "T1",
        "number": 1,
        "subject": "Printer on fire",
        "description": "It is on fire.",
        "requester_id": "alice",
        "created_at": NOW,
        "updated_at": NOW,
        "last_activity_at": NOW,
        "organization_id": "acme",
    }
    values.update(overrides)
    return Ticket(**values)


def customer(user_id: str = "alice", org_id: str | None = "acme", org_admin: bool = False) -> Caller:
    return Caller(user_id, "customer", org_id=org_id, org_admin=org_admin)


def agent(user_id: str = "agnes", access: str = "team", teams: tuple[str, ...] = ("billing",)) -> Caller:
    return Caller(user_id, "agent", teams=frozenset(teams), access=access)


ADMIN = Caller("root", "admin")


# -- customers -----------------------------------------------------------------------


def test_customer_sees_ticket_they_requested() -> None:
    assert can_see(customer("alice"), ticket(requester_id="alice"))


def test_customer_sees_ticket_they_are_ccd_on() -> None:
    assert can_see(customer("bob"), ticket(requester_id="alice", cc=["carol", "bob"]))


def test_customer_does_not_see_colleagues_ticket() -> None:
    assert not can_see(customer("bob"), ticket(requester_id="alice", cc=["carol"]))


def test_customer_does_not_see_ticket_of_own_org_without_org_admin() -> None:
    assert not can_see(customer("bob", org_id="acme"), ticket(requester_id="alice", organization_id="acme"))


def test_org_admin_sees_every_ticket_of_their_org() -> None:
    boss = customer("boss", org_id="acme", org_admin=True)
    assert can_see(boss, ticket(requester_id="alice", organization_id="acme"))
    assert can_see(boss, ticket(requester_id="bob", organization_id="acme", team_id="billing", assignee_id="agnes"))


def test_org_admin_does_not_see_another_orgs_ticket() -> None:
    boss = customer("boss", org_id="acme", org_admin=True)
    assert not can_see(boss, ticket(requester_id="eve", organization_id="globex"))


def test_org_admin_does_not_see_tickets_without_org() -> None:
    boss = customer("boss", org_id="acme", org_admin=True)
    assert not can_see(boss, ticket(requester_id="eve", organization_id=None))


def test_org_admin_still_sees_own_tickets_in_another_org() -> None:
    boss = customer("boss", org_id="acme", org_admin=True)
    assert can_see(boss, ticket(requester_id="boss", organization_id="globex"))
    assert can_see(boss, ticket(requester_id="eve", organization_id="globex", cc=["boss"]))


def test_org_admin_flag_without_org_grants_nothing_extra() -> None:
    lonely = customer("boss", org_id=None, org_admin=True)
    assert not can_see(lonely, ticket(requester_id="eve", organization_id=None))
    assert not can_see(lonely, ticket(requester_id="eve", organization_id="acme"))


def test_customer_does_not_see_tickets_assigned_to_same_id_or_team() -> None:
    # Team and assignee are staff concepts; a customer gains nothing from them.
    odd = Caller("alice", "customer", teams=frozenset({"billing"}))
    assert not can_see(odd, ticket(requester_id="bob", assignee_id="alice", team_id="billing"))


# -- agents --------------------------------------------------------------------------


def test_all_access_agent_sees_everything() -> None:
    everyone = agent(access="all", teams=())
    assert can_see(everyone, ticket(team_id="sales", assignee_id="other"))
    assert can_see(everyone, ticket(organization_id=None))


def test_team_agent_sees_their_teams_tickets() -> None:
    assert can_see(agent(teams=("billing", "sales")), ticket(team_id="sales", assignee_id="other"))


def test_team_agent_sees_unassigned_team_tickets() -> None:
    assert can_see(agent(teams=("billing",)), ticket(team_id=None, assignee_id="other"))


def test_team_agent_without_teams_sees_no_team_tickets() -> None:
    assert can_see(agent(teams=()), ticket(team_id=None))
    assert not can_see(agent(teams=()), ticket(team_id="billing"))


def test_team_agent_sees_tickets_assigned_to_them_in_other_teams() -> None:
    assert can_see(agent("agnes", teams=("billing",)), ticket(team_id="sales", assignee_id="agnes"))


def test_team_agent_does_not_see_other_teams_tickets() -> None:
    assert not can_see(agent("agnes", teams=("billing",)), ticket(team_id="sales", assignee_id="other"))
    assert not can_see(agent("agnes", teams=("billing",)), ticket(team_id="sales"))


def test_assigned_agent_sees_only_tickets_assigned_to_them() -> None:
    me = agent("agnes", access="assigned", teams=("billing",))
    assert can_see(me, ticket(team_id="sales", assignee_id="agnes"))
    assert not can_see(me, ticket(team_id="billing", assignee_id="other"))
    assert not can_see(me, ticket(team_id=None, assignee_id=None))


def test_agent_does_not_see_a_ticket_just_because_they_requested_it() -> None:
    me = agent("agnes", access="assigned")
    assert not can_see(me, ticket(requester_id="agnes", team_id="sales", cc=["agnes"]))


# -- admins and deleted tickets ------------------------------------------------------


def test_admin_sees_everything() -> None:
    assert can_see(ADMIN, ticket(team_id="sales", assignee_id="other", organization_id="globex"))
    assert can_see(ADMIN, ticket(organization_id=None))


def test_admin_sees_everything_whatever_access_says() -> None:
    assert can_see(Caller("root", "admin", access="assigned"), ticket(team_id="sales", assignee_id="other"))


@pytest.mark.parametrize(
    "caller",
    [
        ADMIN,
        agent(access="all"),
        agent("agnes", access="team", teams=("billing",)),
        agent("agnes", access="assigned"),
        customer("alice"),
        customer("bob"),
        customer("boss", org_admin=True),
    ],
    ids=["admin", "agent-all", "agent-team", "agent-assigned", "requester", "ccd", "org-admin"],
)
def test_deleted_ticket_is_visible_to_nobody(caller: Caller) -> None:
    deleted = ticket(
        requester_id="alice", cc=["bob"], team_id="billing", assignee_id="agnes", organization_id="acme", deleted_at=NOW
    )
    live = ticket(requester_id="alice", cc=["bob"], team_id="billing", assignee_id="agnes", organization_id="acme")
    assert can_see(caller, live)
    assert not can_see(caller, deleted)


def test_caller_role_helpers() -> None:
    assert ADMIN.is_staff and ADMIN.is_admin and ADMIN.sees_everything
    assert agent(access="all").sees_everything and not agent(access="all").is_admin
    assert agent().is_staff and not agent().sees_everything
    assert not customer().is_staff and not customer().sees_everything


def test_caller_defaults_to_team_access() -> None:
    assert Caller("agnes", "agent").access == "team"


def test_sees_ticket_fields_agrees_with_can_see_for_live_tickets() -> None:
    t = ticket(requester_id="alice", cc=["bob"], team_id="billing", assignee_id=None, organization_id="acme")
    for caller in (ADMIN, agent(), agent(teams=()), agent(access="assigned"), customer("bob"), customer("zed")):
        fields = sees_ticket_fields(
            caller,
            requester_id=t.requester_id,
            cc=t.cc,
            organization_id=t.organization_id,
            team_id=t.team_id,
            assignee_id=t.assignee_id,
        )
        assert fields is can_see(caller, t)


def test_requester_and_ccd_users_act_as_end_users() -> None:
    t = ticket(requester_id="alice", cc=["bob"])
    assert is_end_user_of(customer("alice"), t)
    assert is_end_user_of(customer("bob"), t)
    assert not is_end_user_of(customer("boss", org_admin=True), t)
    assert not is_end_user_of(ADMIN, t)
