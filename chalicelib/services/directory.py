"""Users, organizations, teams and custom statuses: admin-managed directory records."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import (
    Conflict,
    Contention,
    FieldError,
    NotAllowed,
    NotFound,
    Unauthenticated,
    ValidationFailed,
    VersionConflict,
)
from chalicelib.domain.mail.addresses import split_address
from chalicelib.domain.routing import check_availability
from chalicelib.domain.statuses import CATEGORIES, validate_custom_status
from chalicelib.domain.visibility import Caller
from chalicelib.services.pipelines import PipelineService
from chalicelib.services.sla import SlaService
from chalicelib.services.statuses import StatusCatalogCache
from chalicelib.storage.directory import DirectoryRepository, Entry
from chalicelib.storage.tickets import TicketRepository

# Who may read each kind (everyone may read statuses: customers see status names).
READERS = {
    "user": ("admin", "agent"),
    "organization": ("admin", "agent"),
    "team": ("admin", "agent"),
    "status": ("admin", "agent", "customer"),
    "pipeline": ("admin", "agent", "customer"),
    "business_hours": ("admin", "agent"),
    "sla_policy": ("admin", "agent"),
}


class DirectoryService:
    def __init__(
        self,
        directory: DirectoryRepository,
        tickets: TicketRepository,
        statuses: StatusCatalogCache,
        sla: SlaService | None = None,
    ) -> None:
        self._directory = directory
        self._sla = sla
        self._tickets = tickets
        self._statuses = statuses
        self.pipelines = PipelineService(directory, tickets, statuses)

    # -- generic CRUD ----------------------------------------------------------------
    def get(self, caller: Caller, kind: str, entry_id: str) -> Entry:
        self._require_reader(caller, kind)
        entry = self._directory.get(kind, entry_id)
        if entry is None:
            raise NotFound(f"{kind} not found")
        return entry

    def list(self, caller: Caller, kind: str, *, limit: int, after: str | None) -> tuple[list[Entry], str | None]:
        self._require_reader(caller, kind)
        return self._directory.list(kind, limit=limit, after=after)

    def create(self, caller: Caller, kind: str, values: Mapping[str, Any], now: datetime) -> Entry:
        self._require_admin(caller)
        values = dict(values)
        if kind == "status":
            status = validate_custom_status(values["name"], values["category"])
            entry = self._directory.create(
                kind, status.name, status.name, {"category": status.category}, now, actor_id=caller.user_id
            )
            self._statuses.invalidate()
            return entry
        if kind == "pipeline":
            return self.pipelines.create(caller, values, now)
        entry_id = values.pop("id", None) or uuid.uuid4().hex
        name = values.pop("name")
        if kind == "user":
            self._check_user_refs(values)
        values = self._check_sla_config(kind, values, entry_id)
        if kind == "user":
            return self._directory.create_user(entry_id, name, values, now, actor_id=caller.user_id)
        if kind == "organization":
            values["domains"] = validate_domains(values.get("domains") or [])
            return self._directory.write_organization(None, entry_id, name, values, now, None, actor_id=caller.user_id)
        return self._directory.create(kind, entry_id, name, values, now, actor_id=caller.user_id)

    def update(
        self, caller: Caller, kind: str, entry_id: str, values: Mapping[str, Any], *, expected_version: int | None, now: datetime
    ) -> Entry:
        self._require_admin(caller)
        entry = self.get(caller, kind, entry_id)
        if expected_version is not None and entry.version != expected_version:
            raise VersionConflict(f"{kind} is at version {entry.version}")
        values = dict(values)
        if kind == "pipeline":
            return self.pipelines.update(caller, entry, values, now)
        if kind == "status":
            category = values.get("category", entry.data["category"])
            if category not in CATEGORIES:
                raise ValidationFailed([FieldError("category", f"must be one of {', '.join(CATEGORIES)}")])
            if category != entry.data["category"] and self._tickets.has_any(f"STATUS#{entry.id}"):
                raise Conflict("tickets use this status; its category cannot change while they do")
            self._statuses.invalidate()
            return self._directory.update(
                kind,
                entry,
                name=entry.name,
                data={"category": category},
                now=now,
                expected_version=entry.version,
                actor_id=caller.user_id,
            )
        name = values.pop("name", entry.name)
        if kind == "user":
            self._check_user_refs(values)
            check_availability(values.get("role") or entry.data.get("role") or "customer", values.get("availability"))
        data = {**entry.data, **values}
        data = self._check_sla_config(kind, data, entry.id)
        if kind == "organization":
            data["domains"] = validate_domains(data.get("domains") or [])
            return self._directory.write_organization(entry, entry.id, name, data, now, entry.version, actor_id=caller.user_id)
        return self._directory.update(
            kind, entry, name=name, data=data, now=now, expected_version=entry.version, actor_id=caller.user_id
        )

    def delete(self, caller: Caller, kind: str, entry_id: str, now: datetime) -> None:
        self._require_admin(caller)
        self.get(caller, kind, entry_id)
        if kind == "status" and self._tickets.has_any(f"STATUS#{entry_id}"):
            raise Conflict("tickets use this status; move them to another status first")
        if kind == "status":
            self.pipelines.check_status_unlisted(entry_id)
        if kind == "pipeline":
            self.pipelines.check_deletable(entry_id)
        if kind == "business_hours" and self._sla is not None:
            self._sla.check_business_hours_unused(entry_id, [p.data for p in self._directory.list_all("sla_policy")])
        if kind == "user":
            self._directory.delete_user(entry_id, now, actor_id=caller.user_id)
        elif kind == "organization":
            self._directory.delete_organization(self.get(caller, kind, entry_id), actor_id=caller.user_id, now=now)
        else:
            self._directory.delete(kind, entry_id, actor_id=caller.user_id, now=now)
        if kind == "sla_policy" and self._sla is not None:
            self._sla.invalidate()
        if kind in ("status", "pipeline"):
            self._statuses.invalidate()

    # -- the caller's own record (GET/PATCH /v1/me) ------------------------------------
    def me(self, caller: Caller) -> Entry:
        entry = self._directory.get("user", caller.user_id)
        if entry is None:  # recorded on every authenticated request; gone only if deleted meanwhile
            raise NotFound("user not found")
        return entry

    def update_me(self, caller: Caller, values: Mapping[str, Any], now: datetime) -> Entry:
        """Only the user's own preferences (`notifications`, staff: `availability`); the rest is
        an admin's. Going away keeps the user's tickets; only new assignments stop."""
        for _ in range(3):  # a concurrent token record bumps the version: read again
            entry = self.me(caller)
            check_availability(entry.data.get("role") or "customer", values.get("availability"))
            data = {**entry.data, **{k: v for k, v in values.items() if k in ("notifications", "availability")}}
            try:
                return self._directory.update(
                    "user", entry, name=entry.name, data=data, now=now, expected_version=entry.version, actor_id=caller.user_id
                )
            except VersionConflict:
                continue
        raise Contention("the user record is changing; retry shortly")

    # -- users from tokens -----------------------------------------------------------
    def resolve_caller(self, claimed: Caller, now: datetime) -> Caller:
        """The caller as the directory knows them (API.md: the directory is the authority once a
        user exists). One consistent GetItem per request, so an admin's change applies from the
        caller's next request; a new user costs one GetItem more (deleted?) and one PutItem.

        A token only proves who the caller is: its role, organization, teams and access seed a
        user the directory has never seen, and are ignored afterwards. A deleted user is 401 and
        stays so (the tombstone keeps an old token from recreating them); a disabled one is 403.
        """
        entry = self._directory.get("user", claimed.user_id)
        if entry is None:
            if self._directory.is_deleted_user(claimed.user_id):
                raise Unauthenticated("this user was deleted")
            try:
                entry = self._directory.seed_user(claimed.user_id, claimed.name or claimed.user_id, _seed_data(claimed), now)
            except Conflict as exc:
                raise Unauthenticated("this user was deleted") from exc
        if entry.data.get("disabled"):
            raise NotAllowed("this user is disabled")
        return caller_of(entry)

    # -- helpers ---------------------------------------------------------------------
    def _check_sla_config(self, kind: str, data: dict[str, Any], entry_id: str) -> dict[str, Any]:
        """Business hours and SLA policies are validated as a whole (after a PATCH is merged) and
        stored with their defaults spelled out."""
        if self._sla is None:
            return data
        if kind == "business_hours":
            return self._sla.check_business_hours(data)
        if kind == "sla_policy":
            others = {
                p.id: (p.name, int(p.data.get("position", 0))) for p in self._directory.list_all("sla_policy") if p.id != entry_id
            }
            return self._sla.check_policy(data, self._business_hours_exist, others)
        return data

    def _business_hours_exist(self, hours_id: str) -> bool:
        return self._directory.get("business_hours", hours_id) is not None

    def _check_user_refs(self, values: Mapping[str, Any]) -> None:
        errors = []
        org = values.get("organization_id")
        if org and self._directory.get("organization", org) is None:
            errors.append(FieldError("organization_id", "no such organization"))
        for i, team in enumerate(values.get("team_ids") or []):
            if self._directory.get("team", team) is None:
                errors.append(FieldError(f"team_ids[{i}]", "no such team"))
        if errors:
            raise ValidationFailed(errors)

    @staticmethod
    def _require_reader(caller: Caller, kind: str) -> None:
        if caller.role not in READERS[kind]:
            raise NotAllowed(f"{caller.role}s may not read {kind}s")

    @staticmethod
    def _require_admin(caller: Caller) -> None:
        if not caller.is_admin:
            raise NotAllowed("only admins manage the directory")


def validate_domains(domains: Sequence[str]) -> list[str]:
    """An organization's mail domains: each a host name of two labels or more (`acme.example`),
    lowercase, once; 422 naming the bad one."""
    errors = []
    kept: list[str] = []
    for index, raw in enumerate(domains):
        domain = str(raw).strip().lower().rstrip(".")
        local, parsed = split_address(f"x@{domain}")
        if not local or parsed != domain or "." not in domain or len(domain) > 253:
            errors.append(FieldError(f"domains[{index}]", "is not a mail domain (e.g. acme.example)"))
        elif domain not in kept:
            kept.append(domain)
    if errors:
        raise ValidationFailed(errors)
    return kept


def _seed_data(claimed: Caller) -> dict[str, Any]:
    """A new user's record from its first token's claims."""
    data: dict[str, Any] = {"email": claimed.email, "role": claimed.role}
    if claimed.org_id:
        data["organization_id"] = claimed.org_id
        data["org_admin"] = claimed.org_admin
    if claimed.role == "agent":
        data["team_ids"] = sorted(claimed.teams)
        data["access"] = claimed.access
    return data


def caller_of(entry: Entry) -> Caller:
    """The caller a directory user record describes."""
    data = entry.data
    role = data.get("role") or "customer"
    return Caller(
        user_id=entry.id,
        role=role,
        name=entry.name,
        email=data.get("email") or "",
        org_id=data.get("organization_id") or None,
        org_admin=bool(data.get("org_admin")) and bool(data.get("organization_id")),
        teams=frozenset(data.get("team_ids") or []),
        access=data.get("access") or "team",
    )
