"""Routing's items: round-robin cursors per team and the open-ticket counters (docs/data-model.md,
"Routing and counters"). Rules are directory entries (kind `routing_rule`), read through
DirectoryRepository."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pynamodb.expressions.condition import Condition

from chalicelib.domain.counters import difference
from chalicelib.domain.errors import Contention, Unavailable
from chalicelib.storage import keys
from chalicelib.storage.base import Repository
from chalicelib.storage.errors import TransactionCancelled, translated
from chalicelib.storage.models import CountedItem, OpenCounterItem, RoundRobinCursorItem

# A ticket's counters are moved by one writer at a time in practice (one stream shard per
# ticket); a lost race re-reads the counted version and moves by the new difference.
APPLY_ATTEMPTS = 10


class RoutingRepository(Repository):
    # -- round robin ---------------------------------------------------------------------
    def cursor(self, team_id: str) -> tuple[str | None, int]:
        """(the member whose turn was last, the cursor's version; 0 when never advanced)."""
        with translated():
            try:
                item = RoundRobinCursorItem.get(keys.routing_cursor_pk(team_id), keys.CURSOR_SK, consistent_read=True)
            except RoundRobinCursorItem.DoesNotExist:
                return None, 0
        return item.last_user_id, int(item.version)

    @staticmethod
    def advanced_cursor(team_id: str, user_id: str, read_version: int) -> tuple[RoundRobinCursorItem, Condition]:
        """The cursor put that takes the turn, and its condition: still at the version read. It
        commits in the assignment's own transaction, so a turn is taken exactly when a ticket
        is assigned with it, and two concurrent tickets never take the same one."""
        item = RoundRobinCursorItem(
            keys.routing_cursor_pk(team_id), keys.CURSOR_SK, last_user_id=user_id, version=read_version + 1
        )
        if read_version == 0:
            return item, RoundRobinCursorItem.PK.does_not_exist()
        return item, RoundRobinCursorItem.version == read_version

    # -- counters ------------------------------------------------------------------------
    def counts(self, counters: Iterable[str]) -> dict[str, int]:
        """Counter values by `domain.counters.counter_id`: one BatchGetItem per 100 (absent: 0)."""
        wanted = list(dict.fromkeys(counters))
        out = dict.fromkeys(wanted, 0)
        by_key = {keys.open_counter_key(c): c for c in wanted}
        for start in range(0, len(wanted), 100):
            chunk = [{"PK": pk, "SK": sk} for pk, sk in list(by_key)[start : start + 100]]
            with translated():
                response = OpenCounterItem._get_connection().batch_get_item(chunk)
            if response.get("UnprocessedKeys"):
                raise Unavailable("the data store is busy; retry shortly")
            for raws in response.get("Responses", {}).values():
                for raw in raws:
                    out[by_key[(raw["PK"]["S"], raw["SK"]["S"])]] = int(raw.get("count", {}).get("N", "0"))
        return out

    def apply_counts(self, ticket_id: str, version: int, counters: Sequence[str]) -> bool:
        """Make the ticket's contribution `counters`, as of `version`: one transaction moves every
        counter by the difference to the contribution last applied and stores the new one,
        conditioned on that stored version (older or equal versions change nothing). Answers
        whether anything was applied."""
        for _ in range(APPLY_ATTEMPTS):
            with translated():
                try:
                    counted: CountedItem | None = CountedItem.get(
                        keys.ticket_pk(ticket_id), keys.COUNTED_SK, consistent_read=True
                    )
                except CountedItem.DoesNotExist:
                    counted = None
            if counted is not None and int(counted.version) >= version:
                return False
            before = list(counted.counters or []) if counted is not None else []
            condition = CountedItem.PK.does_not_exist() if counted is None else CountedItem.version == int(counted.version)
            item = CountedItem(keys.ticket_pk(ticket_id), keys.COUNTED_SK, version=version, counters=sorted(counters))
            try:
                with translated(), self._transaction() as tx:
                    tx.save(item, condition=condition)
                    for counter, delta in difference(before, counters).items():
                        pk, sk = keys.open_counter_key(counter)
                        tx.update(
                            OpenCounterItem(pk, sk),
                            actions=[OpenCounterItem.kind.set(OpenCounterItem), OpenCounterItem.count.add(delta)],
                        )
                return True
            except (TransactionCancelled, Contention):
                continue  # another application of this ticket won: read what it stored, again
        raise Contention("the ticket's counters are changing; retry")
