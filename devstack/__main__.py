"""`python -m devstack [--fresh] [--port N] [--moto-port N] [--smtp-port N] [--state-dir DIR] [--throttle ...]`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from devstack.paths import DEFAULT_STATE_DIR
from devstack.smtp_receiver import DEFAULT_PORT as DEFAULT_SMTP_PORT
from devstack.stack import StackOptions, configure_output, parse_throttle, run


def parse_options(argv: list[str] | None = None) -> StackOptions:
    parser = argparse.ArgumentParser(
        prog="python -m devstack", description="Run the help desk locally: moto, the template's resources and the API."
    )
    parser.add_argument("--fresh", action="store_true", help="delete the saved state and start empty (demo data)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "8000")),
        help="HTTP API port (default $PORT or 8000; 0 picks a free one)",
    )
    parser.add_argument("--moto-port", type=int, default=4566, help="moto server port (default 4566; 0 picks one)")
    parser.add_argument(
        "--smtp-port",
        type=int,
        default=DEFAULT_SMTP_PORT,
        help=f"SMTP port mail is received on, 127.0.0.1 only (default {DEFAULT_SMTP_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"where snapshots and demo users are kept (default {DEFAULT_STATE_DIR})",
    )
    parser.add_argument("--app", default="app", help="module holding the Chalice app")
    parser.add_argument("--app-attribute", default="app", help="name of the Chalice app object")
    parser.add_argument("--no-demo", action="store_true", help="do not seed demo data")
    parser.add_argument(
        "--throttle",
        type=_throttle,
        default=None,
        metavar="template|RATE:BURST|off",
        help="answer 429 + Retry-After beyond these limits, as API Gateway's stage throttling does"
        " ('template': the template's limits, what make run uses; default off)",
    )
    args = parser.parse_args(argv)
    return StackOptions(
        state_dir=args.state_dir.resolve(),
        port=args.port,
        moto_port=args.moto_port,
        smtp_port=args.smtp_port,
        fresh=args.fresh,
        app_module=args.app,
        app_attribute=args.app_attribute,
        seed_demo=not args.no_demo,
        throttle=args.throttle,
    )


def _throttle(value: str) -> str:
    if value not in ("template", "off"):
        try:
            parse_throttle(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
    return value


def main(argv: list[str] | None = None) -> int:
    configure_output()
    return run(parse_options(argv))


if __name__ == "__main__":
    raise SystemExit(main())
