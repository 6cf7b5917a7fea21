"""Every message the local stack sends, as an `.eml` file under `<state dir>/mail/sent/`.

The app sends through SES (SendRawEmail) and moto's SES accepts and keeps it (after checking
that the sender's domain is verified: provisioning verifies the support domain). moto runs in
this process, so one small patch of its SES backend also writes each accepted message to a file
a person can open in a mail client (`<UTC time>-<SES message id>.eml`, CRLF kept). A refused
message (unverified sender) writes nothing, as SES would send nothing. Local stack only.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.ses.models import SESBackend

SENT_DIR = Path("mail") / "sent"
_lock = threading.Lock()
_original = SESBackend.send_raw_email
_target: dict[str, Path] = {}


def sent_dir(state_dir: Path) -> Path:
    return state_dir / SENT_DIR


def install(state_dir: Path) -> Path:
    """Write every message moto's SES accepts into `<state_dir>/mail/sent/` (idempotent; the
    last call's directory wins). Answers the directory."""
    directory = sent_dir(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    with _lock:
        _target["dir"] = directory
        SESBackend.send_raw_email = _send_raw_email  # type: ignore[method-assign]
    return directory


def uninstall() -> None:
    with _lock:
        SESBackend.send_raw_email = _original  # type: ignore[method-assign]
        _target.clear()


def _send_raw_email(backend: Any, source: str, destinations: list[str], raw_data: str) -> Any:
    message = _original(backend, source, destinations, raw_data)
    directory = _target.get("dir")
    if directory is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = directory / f"{stamp}-{message.id}.eml"
        with path.open("w", encoding="utf-8", newline="") as file:
            file.write(raw_data)
    return message
