"""The FilterCriteria of the template's stream event sources, honoured locally.

Lambda drops the stream records no filter of a mapping matches before invoking the function
(a batch left empty invokes nothing); moto delivers every record. lambda_dispatch applies the
patterns `template_filters` reads from infra/template.json, with the subset of Lambda's filter
syntax the template uses: nested keys, literal values, `anything-but`, `exists` and `prefix`.
A pattern using anything else raises, so the template cannot silently mean more than runs here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

Pattern = Mapping[str, Any]
_MISSING = object()


def template_filters(template: Mapping[str, Any]) -> dict[str, list[Pattern]]:
    """Logical id of a function → the patterns of its event sources' FilterCriteria."""
    filters: dict[str, list[Pattern]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        for source in ((resource.get("Properties") or {}).get("Events") or {}).values():
            criteria = (source.get("Properties") or {}).get("FilterCriteria")
            if criteria:
                patterns = [json.loads(f["Pattern"]) for f in criteria["Filters"]]
                for pattern in patterns:
                    _check(pattern)
                filters.setdefault(logical_id, []).extend(patterns)
    return filters


def passing(patterns: Sequence[Pattern] | None, records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records a mapping with these patterns delivers (all of them without patterns)."""
    if not patterns:
        return list(records)
    return [r for r in records if any(matches(p, r) for p in patterns)]


def matches(pattern: Pattern, value: Any) -> bool:
    for key, rule in pattern.items():
        field = value.get(key, _MISSING) if isinstance(value, Mapping) else _MISSING
        if isinstance(rule, Mapping):
            if not matches(rule, field if isinstance(field, Mapping) else {}):
                return False
        elif not any(_matches_one(r, field) for r in rule):
            return False
    return True


def _matches_one(rule: Any, field: Any) -> bool:
    if not isinstance(rule, Mapping):
        return field is not _MISSING and field == rule
    ((op, operand),) = rule.items()
    if op == "exists":
        return (field is not _MISSING) == bool(operand)
    if field is _MISSING:
        return False
    if op == "anything-but":
        return field not in (operand if isinstance(operand, list) else [operand])
    if op == "prefix":
        return isinstance(field, str) and field.startswith(operand)
    raise ValueError(f"filter operator {op!r} is not honoured locally")


def _check(pattern: Pattern) -> None:
    for rule in pattern.values():
        if isinstance(rule, Mapping):
            _check(rule)
            continue
        for one in rule:
            if isinstance(one, Mapping):
                ((op, _),) = one.items()
                if op not in ("exists", "anything-but", "prefix"):
                    raise ValueError(f"filter operator {op!r} is not honoured locally")
