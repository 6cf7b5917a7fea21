"""JavaScript a browser downloads for the first load of the agent workspace, gzip-compressed.

Follows the static `import … from "./x.js"` graph from the module index.html loads (the app
has no build step, so these files are exactly what is served), gzips each file at level 6 (what
CloudFront and most servers use) and sums the bytes. The budget is 200 KB (issue 12).
Run: `.venv/bin/python -m bench.web_size`.
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "web"
BUDGET_BYTES = 200 * 1024
_SCRIPT = re.compile(r'<script[^>]*\bsrc="([^"]+\.js)"')
_LAZY = re.compile(r'\bimport\(\s*["\'](\.[^"\']+)["\']\s*\)')
_IMPORT = re.compile(r'^\s*(?:import|export)\b[^"\']*?from\s*["\'](\.[^"\']+)["\']|^\s*import\s*["\'](\.[^"\']+)["\']', re.M)


def first_load_modules(web: Path = WEB) -> list[Path]:
    """index.html's scripts and every module they import statically, each once."""
    return _static_graph([(web / src).resolve() for src in _SCRIPT.findall((web / "index.html").read_text(encoding="utf-8"))])


def lazy_modules(web: Path = WEB) -> list[Path]:
    """What the first load's `import("./x.js")` calls fetch on first use (the admin pages), beyond the first load."""
    first = first_load_modules(web)
    roots = [(m.parent / target).resolve() for m in first for target in _LAZY.findall(m.read_text(encoding="utf-8"))]
    return [m for m in _static_graph(roots) if m not in first]


def _static_graph(pending: list[Path]) -> list[Path]:
    seen: list[Path] = []
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.append(module)
        for match in _IMPORT.finditer(module.read_text(encoding="utf-8")):
            pending.append((module.parent / (match.group(1) or match.group(2))).resolve())
    return seen


def compressed_bytes(paths: list[Path]) -> int:
    return sum(len(gzip.compress(path.read_bytes(), compresslevel=6)) for path in paths)


def main() -> int:
    modules = first_load_modules()
    raw = sum(path.stat().st_size for path in modules)
    compressed = compressed_bytes(modules)
    print(f"web: first workspace load: {len(modules)} JS modules, {raw} bytes, {compressed} bytes gzip (budget {BUDGET_BYTES})")
    lazy = lazy_modules()
    print(f"web: loaded on first use (admin pages): {len(lazy)} JS modules, {compressed_bytes(lazy)} bytes gzip")
    return 0 if compressed < BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
