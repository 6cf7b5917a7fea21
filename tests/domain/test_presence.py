"""Which viewers an agent is shown on a ticket (domain.presence.shown_viewers)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.presence import SHOWN_VIEWERS, Viewer, shown_viewers
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
TICKET = Ticket(id="t1", number=1, subject="s", description="d", requester_id="alice", created_at=T0, updated_at=T0,
                last_activity_at=T0, team_id="support")  # fmt: skip
READER = Caller("root", "admin")
CUTOFF = "2026-12-01T09:00:00.000000Z"


def viewer(user: str, since: str, seen: str = "2026-12-01T09:00:30.000000Z", **who: object) -> Viewer:
    return Viewer(Caller(user, str(who.pop("role", "agent")), teams=frozenset({"support"}), **who), since, seen)  # type: ignore[arg-type]


def test_expired_self_invisible_and_customer_viewers_are_not_shown() -> None:
    viewers = [
        viewer("live", "2026-12-01T08:59:00.000000Z"),
        viewer("expired", "2026-12-01T08:58:00.000000Z", seen="2026-12-01T08:59:59.999999Z"),
        viewer("root", "2026-12-01T08:59:00.000000Z", role="admin"),
        Viewer(Caller("outsider", "agent", teams=frozenset({"engineering"})), "2026-12-01T08:59:00.000000Z", CUTOFF),
        viewer("alice", "2026-12-01T08:59:00.000000Z", role="customer"),
    ]
    shown, more = shown_viewers(viewers, TICKET, READER, CUTOFF)
    assert [v.who.user_id for v in shown] == ["live"] and more == 0


def test_five_oldest_viewings_are_named_and_the_rest_counted() -> None:
    viewers = [viewer(f"a{i}", f"2026-12-01T08:59:{59 - i:02d}.000000Z") for i in range(8)]
    shown, more = shown_viewers(viewers, TICKET, READER, CUTOFF)
    assert [v.who.user_id for v in shown] == ["a7", "a6", "a5", "a4", "a3"]
    assert len(shown) == SHOWN_VIEWERS and more == 3


def test_customers_are_shown_nobody() -> None:
    assert shown_viewers([viewer("live", CUTOFF)], TICKET, Caller("alice", "customer"), CUTOFF) == ([], 0)
