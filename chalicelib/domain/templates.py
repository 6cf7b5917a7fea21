"""The quick-reply template language: placeholders, checking and rendering."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.markup import sanitize
from chalicelib.domain.tickets import Ticket
from chalicelib.domain.visibility import Caller

# -- quick-reply templates -----------------------------------------------------------------
# Placeholders are data, never code: `{{ path }}` is looked up in a fixed table of values
# and the value is inserted HTML-escaped, in one pass (a value that itself looks like a
# placeholder stays text). There are no expressions, filters, loops or attribute access.
PLACEHOLDERS = (
    "ticket.id",
    "ticket.number",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "ticket.type",
    "requester.name",
    "requester.email",
    "agent.name",
    "agent.email",
)


_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_PATH = re.compile(r"^\s*([a-z_]+(?:\.[a-z_]+)*)\s*$")


def check_template(body: str) -> None:
    """Every `{{ … }}` names a known placeholder (422 at template creation otherwise)."""
    errors = []
    for match in _PLACEHOLDER.finditer(body):
        path = _PATH.match(match.group(1))
        if path is None or path.group(1) not in PLACEHOLDERS:
            errors.append(FieldError("body", f"unknown placeholder {match.group(0)!r}; known: {', '.join(PLACEHOLDERS)}"))
    if errors:
        raise ValidationFailed(errors)


def template_values(ticket: Ticket, requester: Mapping[str, Any], agent: Caller) -> dict[str, str]:
    return {
        "ticket.id": ticket.id,
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "ticket.status": ticket.status,
        "ticket.priority": ticket.priority,
        "ticket.type": ticket.type,
        "requester.name": str(requester.get("name") or ""),
        "requester.email": str(requester.get("email") or ""),
        "agent.name": agent.name or agent.user_id,
        "agent.email": agent.email,
    }


def render_template(body: str, values: Mapping[str, str]) -> str:
    """The template with each placeholder replaced by its escaped value, then sanitized."""

    def value(match: re.Match[str]) -> str:
        path = _PATH.match(match.group(1))
        if path is None or path.group(1) not in values:
            return match.group(0)
        return html.escape(values[path.group(1)], quote=True)

    return sanitize(_PLACEHOLDER.sub(value, body))
