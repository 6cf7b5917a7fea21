"""docs/architecture.md is the page a newcomer reads first: every file it names must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "architecture.md"
# A backticked path: a known top-level file, or something with a folder and no spaces.
_CODE = re.compile(r"`([^`\s]+)`")
_TOP_LEVEL = {"app.py", "Makefile", "README.md"}


def named_paths(text: str) -> list[str]:
    paths = []
    for token in _CODE.findall(text):
        if token in _TOP_LEVEL or ("/" in token and not token.startswith(("/", "http", "<"))):
            if ":" in token or token.startswith("127."):
                continue  # an address, not a file
            paths.append(token.rstrip("/"))
    return paths


def test_every_file_the_architecture_page_names_exists() -> None:
    paths = named_paths(PAGE.read_text(encoding="utf-8"))
    assert len(paths) >= 40, "the page should walk each path through its files"
    missing = sorted({p for p in paths if not (ROOT / p).exists()})
    assert missing == [], f"docs/architecture.md names files that do not exist: {missing}"


def test_the_check_sees_a_file_that_is_not_there() -> None:
    assert named_paths("see `chalicelib/services/nowhere.py` and `app.py`") == ["chalicelib/services/nowhere.py", "app.py"]
