"""The CRUD shape the ordered rule sets share (`/v1/automations`, `/v1/routing-rules`).

Each rule is a directory entry: admins write, staff read; the list is every rule in the order
they apply, on one page (`next_cursor` is always null: a set is bounded, `MAX_RULES`); a created
rule answers 201 with its `Location`; every single-rule answer carries the entry's version as
ETag and a PATCH takes `If-Match`. What differs (the request and response models, the view of an
entry, how a body becomes values) stays in each resource's module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.api.routing import Reply, RequestContext
from chalicelib.domain.visibility import Caller


class RuleService(Protocol):
    """What `services.automations.AutomationService` and `services.routing.RoutingRuleService` both offer."""

    def list(self, caller: Caller) -> list[Any]: ...
    def get(self, caller: Caller, rule_id: str) -> Any: ...
    def create(self, caller: Caller, values: Mapping[str, Any], now: datetime) -> Any: ...
    def update(
        self, caller: Caller, rule_id: str, values: Mapping[str, Any], *, expected_version: int | None, now: datetime
    ) -> Any: ...
    def delete(self, caller: Caller, rule_id: str, now: datetime) -> None: ...


def rule_values(ctx: RequestContext) -> dict[str, Any]:
    """The fields the body gave; a condition given as null is no condition."""
    values: dict[str, Any] = ctx.body.model_dump(exclude_unset=True)
    if isinstance(values.get("conditions"), dict):
        values["conditions"] = {k: v for k, v in values["conditions"].items() if v is not None}
    return values


@dataclass(frozen=True)
class RuleSet:
    """The five handlers' bodies for one rule set; entries are `storage.directory.Entry`."""

    path: str
    service: Callable[[], RuleService]
    view: Callable[[Any], dict[str, Any]]
    values: Callable[[RequestContext], dict[str, Any]] = rule_values

    def create(self, ctx: RequestContext) -> Reply:
        entry = self.service().create(ctx.caller, self.values(ctx), ctx.now)
        return Reply(self.view(entry), status=201, headers={"Location": f"{self.path}/{entry.id}"}, version=entry.version)

    def list(self, ctx: RequestContext) -> Reply:
        return Reply({"items": [self.view(e) for e in self.service().list(ctx.caller)], "next_cursor": None})

    def get(self, ctx: RequestContext, rule_id: str) -> Reply:
        entry = self.service().get(ctx.caller, rule_id)
        return Reply(self.view(entry), version=entry.version)

    def patch(self, ctx: RequestContext, rule_id: str) -> Reply:
        entry = self.service().update(ctx.caller, rule_id, self.values(ctx), expected_version=ctx.if_match, now=ctx.now)
        return Reply(self.view(entry), version=entry.version)

    def delete(self, ctx: RequestContext, rule_id: str) -> Reply:
        self.service().delete(ctx.caller, rule_id, ctx.now)
        return Reply(status=204)
