"""Do local pages stay flat in table size? (issue 13, devstack/moto_index_query.py)

In process (chalice test client + moto, the local stack's moto patches), 24 tickets are made
through the API (teams, a customer, statuses; 23 with a 5-comment conversation each, one with
30), then the table is grown to N tickets by copying the 23 tickets' moto items under new ticket
ids straight into moto's table (the importer takes hours for 100,000 on moto; these copies are
the same items the API wrote, one new id each, so N tickets carry 5 N comments). Then pages are
timed: the admin list (GSI1 `ALL`), a team list, the customer's list, a ticket view, the agent
and customer timelines; with the sorted key lists (as the local stack runs) and with moto's own
Query on the same table (timed up to `--moto-own-up-to`, above it one call each, which is also
the byte-identity check). Then what the local stack's persistence costs at that size: a
point-in-time capture and the snapshot file, and the restore a start does (BatchWriteItem, timed
on a sample of the snapshot's items).

    nice -n 10 .venv/bin/python -m bench.table_size --tickets 1000 10000 100000 [--moto-own-up-to 10000]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.in_process import app_world, converse, make_teams, ticket_body  # noqa: E402

TEMPLATES = 24
COMMENTS_PER_TICKET = 5
RESTORE_SAMPLE = 5000


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rename(value: Any, old: str, new: str) -> None:
    """Replace `old` by `new` in every string of a (copied) moto DynamoType, in place."""
    if value.type == "S":
        if old in value.value:
            value.value = value.value.replace(old, new)
    elif value.type == "SS":
        value.value = [member.replace(old, new) for member in value.value]
    elif value.type == "L":
        for member in value.value:
            _rename(member, old, new)
    elif value.type == "M":
        for member in value.value.values():
            _rename(member, old, new)


def seeded_copy(item: Any, old: str, new: str) -> Any:
    """A moto Item for another ticket: moto's own deepcopy of a stored (validated) item, which
    skips LimitedSizeDict's re-summing of the item on every attribute set, with the ticket id
    replaced in its keys and attributes."""
    copied = copy.deepcopy(item)
    _rename(copied.hash_key, old, new)
    if copied.range_key is not None:
        _rename(copied.range_key, old, new)
    for value in copied.attrs.values():
        _rename(value, old, new)
    return copied


def _new_id(ticket: str) -> str:
    return str(uuid.uuid4()) if len(ticket) == 36 else uuid.uuid4().hex[: len(ticket)]


def run(sizes: list[int], moto_own_up_to: int, iterations: int, persistence_up_to: int = 10000) -> list[dict[str, Any]]:
    from moto.dynamodb.models import dynamodb_backends

    from devstack import dynamodb_isolation, moto_fast_paths, moto_index_query

    def install() -> None:
        dynamodb_isolation.install()
        moto_index_query.install()
        moto_fast_paths.install()

    rows: list[dict[str, Any]] = []
    name = "helpdesk-table-size"
    with app_world(name, install=install) as caller:
        admin = caller("bench-admin", "admin", raw=True)
        make_teams(admin)
        agent = caller("agent-all", "agent", raw=True, teams=["support"], access="all")
        customer = caller("cust-1", "customer", raw=True)
        for user in (agent, customer):
            user("GET", "/v1/statuses")
        ids = [json.loads(agent("POST", "/v1/tickets", ticket_body(i)))["id"] for i in range(TEMPLATES)]
        conversation = ids[0]
        converse(conversation, agent, customer, 30)
        for i, ticket in enumerate(ids[1:], start=1):  # the customer replies on their own tickets
            converse(ticket, agent, customer if i % 5 == 0 else agent, COMMENTS_PER_TICKET)

        table = dynamodb_backends["123456789012"]["us-east-1"].get_table(name)
        stored = [item for hash_set in table.items.values() for item in hash_set.values()]
        # The outbox's events are the publisher's, not a page's: not copied.
        templates = {
            ticket: [
                item for item in stored if ticket in json.dumps(item.to_json()) and not item.hash_key.value.startswith("EVENTS")
            ]
            for ticket in ids[1:]
        }
        order = list(templates)
        pages: list[tuple[str, Callable[[], Any]]] = [
            ("list, admin (GSI1 ALL)", lambda: admin("GET", "/v1/tickets?limit=25")),
            ("list, team filter", lambda: agent("GET", "/v1/tickets?team_id=support&limit=25")),
            ("list, customer (USER partition)", lambda: customer("GET", "/v1/tickets?limit=25")),
            ("view ticket (agent)", lambda: agent("GET", f"/v1/tickets/{conversation}")),
            ("timeline (agent, table)", lambda: agent("GET", f"/v1/tickets/{conversation}/timeline")),
            ("timeline (customer, public index)", lambda: customer("GET", f"/v1/tickets/{conversation}/timeline")),
        ]
        made = TEMPLATES
        for size in sizes:
            started = time.perf_counter()
            n = 0
            while made < size:
                ticket = order[n % len(order)]
                new = _new_id(ticket)
                for item in templates[ticket]:
                    copied = seeded_copy(item, ticket, new)
                    # Straight into moto's dict: no validation, no stream record, no re-indexing.
                    table.items[copied.hash_key][copied.range_key] = copied
                made += 1
                n += 1
            seeded = time.perf_counter() - started
            moto_index_query._drop(table)  # the copies bypassed the write wrappers: rebuild
            started = time.perf_counter()
            admin("GET", "/v1/tickets?limit=25")
            first_query = time.perf_counter() - started
            row: dict[str, Any] = {
                "tickets": size,
                "items": sum(len(h) for h in table.items.values()),
                "seed_s": round(seeded, 1),
                "lists_built_s": round(first_query, 2),
                "rss_mb": round(_rss_mb()),
                "pages": {},
            }
            print(json.dumps(row), flush=True)
            for label, page in pages:
                fast = _timed(page, iterations)
                with moto_index_query.bypassed():
                    started = time.perf_counter()
                    moto_answer = page()
                    once = round((time.perf_counter() - started) * 1000, 1)
                    own = _timed(page, max(3, iterations // 4)) if size <= moto_own_up_to else once
                assert page() == moto_answer, label  # byte-identical page
                row["pages"][label] = (fast, own)
                print(json.dumps({label: row["pages"][label]}), flush=True)
            if size <= persistence_up_to:
                row.update(persistence(name))
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def persistence(name: str) -> dict[str, Any]:
    """The local stack's snapshot at this size: a point-in-time capture (devstack.journal), the
    file written (devstack.snapshot), read back, and the restore's BatchWriteItem rate on a
    sample of its items into a fresh table (in process; the stack's restore goes to moto's server)."""
    import boto3

    from devstack.journal import capture_state
    from devstack.snapshot import _batch_write, _decode_item, read_snapshot, write_snapshot
    from devstack.tables import table_definition

    class Aws:
        def client(self, service: str) -> Any:
            return boto3.client(service)

    started = time.perf_counter()
    state, _ = capture_state({"Table": name}, {}, "us-east-1")
    captured = time.perf_counter() - started
    rss = _rss_mb()
    with tempfile.TemporaryDirectory(prefix="helpdesk-table-size-") as directory:
        path = Path(directory) / "snapshot.json"
        started = time.perf_counter()
        write_snapshot(path, state)
        written = time.perf_counter() - started
        size = path.stat().st_size
        del state
        started = time.perf_counter()
        restored = read_snapshot(path)
        read = time.perf_counter() - started
    assert restored is not None
    items = restored["tables"]["Table"]
    sample = [_decode_item(item) for item in items[:: max(1, len(items) // RESTORE_SAMPLE)][:RESTORE_SAMPLE]]
    count = len(items)
    del restored, items
    fresh = f"{name}-restore-{time.time_ns()}"
    boto3.client("dynamodb").create_table(**table_definition(fresh))
    started = time.perf_counter()
    _batch_write(Aws(), fresh, sample)  # type: ignore[arg-type]
    rate = len(sample) / (time.perf_counter() - started)
    boto3.client("dynamodb").delete_table(TableName=fresh)
    return {
        "capture_s": round(captured, 1),
        "rss_with_capture_mb": round(rss),
        "snapshot_mb": round(size / 1e6, 1),
        "snapshot_write_s": round(written, 1),
        "snapshot_read_s": round(read, 1),
        "restore_items_per_s": round(rate),
        "restore_estimate_s": round(count / rate),
    }


def _timed(page: Callable[[], Any], iterations: int) -> float:
    page()
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        page()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def report(rows: list[dict[str, Any]]) -> str:
    labels = list(rows[0]["pages"])
    header = "| page | " + " | ".join(f"{row['tickets']:,} tickets" for row in rows) + " |"
    lines = [header, "|---|" + "---|" * len(rows)]
    for label in labels:
        cells = []
        for row in rows:
            fast, own = row["pages"][label]
            cells.append(f"{fast} ms" + (f" (moto's own {own} ms)" if own is not None else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    for row in rows:
        if "capture_s" not in row:
            lines.append(
                f"- {row['tickets']:,} tickets ({row['items']:,} items): seeded in {row['seed_s']} s, "
                f"sorted key lists built by the first Query in {row['lists_built_s']} s, process RSS {row['rss_mb']} MB"
            )
            continue
        lines.append(
            f"- {row['tickets']:,} tickets ({row['items']:,} items): seeded in {row['seed_s']} s, "
            f"sorted key lists built by the first Query in {row['lists_built_s']} s, process RSS {row['rss_mb']} MB; "
            f"snapshot: captured in {row['capture_s']} s (RSS then {row['rss_with_capture_mb']} MB), "
            f"{row['snapshot_mb']} MB written in {row['snapshot_write_s']} s, read in {row['snapshot_read_s']} s, "
            f"restore at {row['restore_items_per_s']} items/s = {row['restore_estimate_s']} s"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--moto-own-up-to", type=int, default=10000)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--persistence-up-to", type=int, default=10000, help="snapshot costs measured up to this size")
    args = parser.parse_args()
    print(report(run(sorted(args.tickets), args.moto_own_up_to, args.iterations, args.persistence_up_to)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
