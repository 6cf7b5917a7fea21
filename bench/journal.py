"""What the write-ahead journal costs: a write burst (ticket creates and comments) against a fresh
local stack, with the journal fsyncing (the default) and with `DEVSTACK_JOURNAL_FSYNC=0`.

    .venv/bin/python -m bench.journal [--requests 200] [--workers 4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.load import _call, running_stack


def write_burst(*, requests_per_worker: int, workers: int, fsync: bool) -> dict[str, float]:
    os.environ["DEVSTACK_JOURNAL_FSYNC"] = "1" if fsync else "0"
    with tempfile.TemporaryDirectory(prefix="helpdesk-journal-") as state_dir, running_stack(Path(state_dir)) as (api, tokens):
        customer = tokens["TOKEN_GLOBEX_CUSTOMER"]

        def worker(number: int) -> int:
            ok = 0
            ticket = None
            for index in range(requests_per_worker):
                if ticket is None or index % 2 == 0:
                    body = {"subject": f"burst {number}-{index}", "description": "x"}
                    status, created = _call(f"{api}/v1/tickets", "POST", customer, body)
                    ticket = created["id"] if status == 201 else ticket
                else:
                    status, _ = _call(f"{api}/v1/tickets/{ticket}/comments", "POST", customer, {"body": f"c {index}"})
                ok += 200 <= status < 300
            return ok

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            acknowledged = sum(pool.map(worker, range(workers)))
        elapsed = time.perf_counter() - started
    return {"requests": requests_per_worker * workers, "acknowledged": acknowledged, "rps": acknowledged / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100, help="requests per worker")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    for fsync in (True, False):
        result = write_burst(requests_per_worker=args.requests, workers=args.workers, fsync=fsync)
        label = "journal, fsync per write (group commit)" if fsync else "journal, no fsync"
        print(f"{label:<42} {result['acknowledged']}/{result['requests']} acknowledged, {result['rps']:.1f} writes/s")


if __name__ == "__main__":
    main()
