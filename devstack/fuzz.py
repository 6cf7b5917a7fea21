"""`make fuzz`: schemathesis against a freshly started local stack, as each role.

Checks every response: no 5xx, conforms to the served OpenAPI schema (status codes,
content types, bodies), errors are problem+json. Two checks are off, each for a reason
the schema cannot carry: `positive_data_acceptance` (a schema-valid body may still name
a team or cursor that does not exist: 422/400 is right) and `unsupported_method`
(methods the API does not declare are refused by API Gateway, not by the app).

    python -m devstack.fuzz [--examples 10] [--roles admin,agent,customer] [--workers 1]

One schemathesis worker: with two, Hypothesis describes strategies with `ast.parse` in two
threads at once, which CPython 3.11.7 answers with "SystemError: AST constructor recursion
depth mismatch" (seen in CI's rehearsal as a runtime error on GET /v1/business-hours).

Each role fuzzes only the operations it may call. A route's 403 for every other role is
asserted route by route in tests/api/test_route_visibility.py; fuzzing it found nothing and
cost most of the run (a customer got only 401/403 from 86 of 104 operations).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack.paths import PROJECT_DIR
from devstack.process import running_stack

ROLE_TOKENS = {"admin": "TOKEN_ADMIN", "agent": "TOKEN_AGENT_TEAM", "customer": "TOKEN_ACME_CUSTOMER"}
EXCLUDED_CHECKS = "positive_data_acceptance,unsupported_method"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.fuzz")
    parser.add_argument("--examples", type=int, default=10, help="examples per operation and phase")
    parser.add_argument("--roles", default=",".join(ROLE_TOKENS))
    parser.add_argument("--workers", type=int, default=1, help="concurrent schemathesis workers (see above)")
    args = parser.parse_args(argv)

    schemathesis = Path(sys.executable).with_name("schemathesis")
    failures = []
    with tempfile.TemporaryDirectory(prefix="helpdesk-fuzz-") as state_dir, running_stack(Path(state_dir)) as (api, tokens):
        for role in args.roles.split(","):
            token = tokens[ROLE_TOKENS[role]]
            print(f"== schemathesis as {role}", flush=True)
            command = [
                str(schemathesis),
                "run",
                f"{api}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "all",
                "--exclude-checks",
                EXCLUDED_CHECKS,
                "--max-examples",
                str(args.examples),
                "--generation-deterministic",
                "--workers",
                str(args.workers),
            ]
            for operation_id in operations_not_for(role):
                command += ["--exclude-operation-id", operation_id]
            if subprocess.run(command, cwd=PROJECT_DIR).returncode != 0:
                failures.append(role)
    if failures:
        print(f"fuzzing found failures as: {', '.join(failures)}")
        return 1
    print("fuzzing: no failures")
    return 0


def operations_not_for(role: str) -> list[str]:
    """The operation ids of the served schema that `role` may not call."""
    from chalicelib.api.manifest import all_routes

    return [spec.name for spec in all_routes() if not spec.public and spec.dialect == "v1" and role not in spec.roles]


if __name__ == "__main__":
    raise SystemExit(main())
