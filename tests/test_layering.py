"""One way up (docs/architecture.md, "The floors"): only storage knows PynamoDB and botocore, and
the entry points (routes, handlers, the CLI) reach storage only through the composition root.

Imports are read with tokenize (never ast: see docs/decisions.md), including the ones inside
functions and `if TYPE_CHECKING:` blocks, which are imports all the same."""

from __future__ import annotations

import tokenize
from collections.abc import Iterator
from pathlib import Path

from devstack.paths import PROJECT_DIR

CHALICELIB = PROJECT_DIR / "chalicelib"
AWS_LIBRARIES = ("pynamodb", "botocore")
ENTRY_POINTS = ("chalicelib/api/", "chalicelib/handlers/", "chalicelib/cli.py")
_LINE_START = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every `import a.b` and `from a.b import c` (as `a.b` and `a.b.c`)."""
    with path.open("rb") as source:
        tokens = [t for t in tokenize.tokenize(source.readline) if t.type != tokenize.COMMENT]
    previous = tokenize.ENCODING
    for i, token in enumerate(tokens):
        starts_statement = previous in _LINE_START or tokens[i - 1].string == ";"
        previous = token.type
        if not (starts_statement and token.type == tokenize.NAME and token.string in ("import", "from")):
            continue
        names, j = _dotted_names(tokens, i + 1)
        if token.string == "from" and tokens[j].string == "import":
            base = names[0]
            imported, _ = _dotted_names(tokens, j + 1)
            names = [base] + [f"{base}.{name}" for name in imported]
        for name in names:
            yield token.start[0], name


def _dotted_names(tokens: list[tokenize.TokenInfo], i: int) -> tuple[list[str], int]:
    """The comma-separated dotted names from `i` (skipping parentheses and `as` aliases)."""
    names, current = [], ""
    while i < len(tokens):
        token = tokens[i]
        if token.type == tokenize.NAME and token.string == "as":
            i += 2
            continue
        if token.type == tokenize.NAME and token.string != "import":
            current += token.string
        elif token.string == ".":
            current += "."
        elif token.string in ("(", ")") or token.type == tokenize.NL:
            pass
        elif token.string == ",":
            names.append(current)
            current = ""
        else:
            break
        i += 1
    if current:
        names.append(current)
    return names, i


def _python_files() -> Iterator[tuple[str, Path]]:
    for path in sorted(CHALICELIB.rglob("*.py")):
        yield str(path.relative_to(PROJECT_DIR)), path


def test_the_import_reader_sees_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os, botocore.config as c\n"
        "from chalicelib import (\n    storage,\n    config,\n)\n"
        "if True:\n    from pynamodb.models import Model  # inside a block\n"
        "text = 'import pynamodb'\n"
    )

    modules = [name for _, name in imported_modules(sample)]

    assert modules == [
        "os",
        "botocore.config",
        "chalicelib",
        "chalicelib.storage",
        "chalicelib.config",
        "pynamodb.models",
        "pynamodb.models.Model",
    ]


def test_only_storage_imports_pynamodb_or_botocore() -> None:
    leaks = [
        f"{relative}:{line} imports {module}"
        for relative, path in _python_files()
        if not relative.startswith("chalicelib/storage/")
        for line, module in imported_modules(path)
        if module.split(".")[0] in AWS_LIBRARIES
    ]

    assert leaks == [], "PynamoDB and botocore belong to chalicelib/storage/; give the service a repository method"


def test_entry_points_reach_storage_only_through_the_composition_root() -> None:
    reaching = [
        f"{relative}:{line} imports {module}"
        for relative, path in _python_files()
        if relative.startswith(ENTRY_POINTS)
        for line, module in imported_modules(path)
        if module == "chalicelib.storage" or module.startswith("chalicelib.storage.")
    ]

    assert reaching == [], "routes, handlers and the CLI call services built by chalicelib/composition.py"


def test_services_never_open_storage_models() -> None:
    # Models, their attributes and conditions are how storage talks to PynamoDB; a service
    # names the access pattern (a repository method) or a storage value type instead.
    opening = [
        f"{relative}:{line} imports {module}"
        for relative, path in _python_files()
        if relative.startswith("chalicelib/services/")
        for line, module in imported_modules(path)
        if module == "chalicelib.storage.models" or module.startswith("chalicelib.storage.models.")
    ]

    assert opening == [], "give the service a repository method or a storage value type (e.g. ExistenceCheck.staff)"
