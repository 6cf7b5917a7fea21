"""Ticket statuses: the four built-in categories, custom statuses, and the allowed moves as data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chalicelib.domain.errors import FieldError, InvalidTransition, ValidationFailed

CATEGORIES: tuple[str, ...] = ("open", "pending", "resolved", "closed")

# Allowed moves between status *categories*. Every status, built-in or custom, behaves as
# its category, so custom statuses never need special cases. `closed` is final: a closed
# ticket is answered by a new ticket that references it (seed 002).
ALLOWED_MOVES: Mapping[str, frozenset[str]] = {
    "open": frozenset({"open", "pending", "resolved", "closed"}),
    "pending": frozenset({"open", "pending", "resolved", "closed"}),
    "resolved": frozenset({"open", "pending", "resolved", "closed"}),
    "closed": frozenset(),
}

STATUS_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def can_transition(from_category: str, to_category: str) -> bool:
    return to_category in ALLOWED_MOVES.get(from_category, frozenset())


@dataclass(frozen=True)
class Status:
    name: str
    category: str

    @property
    def builtin(self) -> bool:
        return self.name in CATEGORIES


BUILTIN_STATUSES: tuple[Status, ...] = tuple(Status(c, c) for c in CATEGORIES)


class StatusCatalog:
    """The statuses a ticket may take: built-ins plus the admin's custom ones."""

    def __init__(self, custom: Iterable[Status] = (), pipelines: Mapping[str, Iterable[str]] | None = None) -> None:
        self._by_name = {s.name: s for s in BUILTIN_STATUSES}
        for status in custom:
            self._by_name.setdefault(status.name, status)
        # The admins' pipelines (domain.pipelines): id -> its status names. The default is implied.
        self.pipelines: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (pipelines or {}).items()}

    def names(self) -> list[str]:
        return list(self._by_name)

    def get(self, name: str) -> Status | None:
        return self._by_name.get(name)

    def require(self, name: str, field: str = "status") -> Status:
        status = self.get(name)
        if status is None:
            raise ValidationFailed([FieldError(field, f"unknown status {name!r}")])
        return status

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


def check_move(current: Status, target: Status) -> None:
    if not can_transition(current.category, target.category):
        raise InvalidTransition(f"a {current.category} ticket cannot move to {target.name!r} ({target.category})")


def validate_custom_status(name: str, category: str) -> Status:
    errors = []
    if not STATUS_NAME.fullmatch(name):
        errors.append(FieldError("name", "lowercase letters, digits and _; 1-40 chars, starting with a letter"))
    elif name in CATEGORIES:
        errors.append(FieldError("name", "is a built-in status"))
    if category not in CATEGORIES:
        errors.append(FieldError("category", f"must be one of {', '.join(CATEGORIES)}"))
    if errors:
        raise ValidationFailed(errors)
    return Status(name, category)
