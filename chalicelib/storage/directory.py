"""Directory repository: users, organizations, teams and custom statuses (PK DIR#<kind>)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import Conflict, DomainError, NotFound, Unavailable, VersionConflict
from chalicelib.domain.events import RESOURCE_CREATED, RESOURCE_DELETED, RESOURCE_UPDATED
from chalicelib.domain.mail.addresses import normalize_address
from chalicelib.domain.routing import STAFF_ROLES, availability_of
from chalicelib.storage import keys
from chalicelib.storage.base import Repository
from chalicelib.storage.errors import TransactionCancelled, translated
from chalicelib.storage.events import resource_event_item
from chalicelib.storage.models import DirectoryItem, EventItem, OrgDomainItem

KINDS = ("user", "organization", "team", "status", "business_hours", "sla_policy")


@dataclass(frozen=True)
class Entry:
    kind: str
    id: str
    name: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int


def _entry(kind: str, item: DirectoryItem) -> Entry:
    data = dict(item.data or {})
    if kind == "user":
        data["notifications"] = item.notifications is not False
        availability = availability_of(item.role or data.get("role") or "customer", data)
        data.pop("availability", None)
        if availability is not None:
            data["availability"] = availability
    return Entry(kind, item.id, item.name, data, item.created_at, item.updated_at, int(item.version))


def _event(
    event_type: str, kind: str, entry_id: str, version: int | None, actor_id: str | None, now: datetime | None
) -> EventItem | None:
    """The outbox event of a user's change of a directory entry (none for the system's own
    writes: recording a token's user, an operator's `cli put-user`)."""
    if actor_id is None or now is None:
        return None
    return resource_event_item(event_type, resource=kind, resource_id=entry_id, version=version, actor_id=actor_id, now=now)


def email_index(kind: str, entry_id: str, data: dict[str, Any]) -> dict[str, str | None]:
    """GSI3 keys of a user with an email (inbound mail finds its sender by address)."""
    address = normalize_address(str(data.get("email") or "")) if kind == "user" else ""
    if not address:
        return {"GSI3PK": None, "GSI3SK": None}
    return {"GSI3PK": keys.email_index_pk(address), "GSI3SK": f"USER#{entry_id}"}


class DirectoryRepository(Repository):
    def get(self, kind: str, entry_id: str) -> Entry | None:
        with translated():
            try:
                item = DirectoryItem.get(keys.directory_pk(kind), entry_id, consistent_read=True)
            except DirectoryItem.DoesNotExist:
                return None
        return _entry(kind, item)

    def get_many(self, kind: str, entry_ids: Iterable[str]) -> dict[str, Entry]:
        """Entries of one kind by id: one consistent BatchGetItem per 100; missing ids left out."""
        wanted = list(dict.fromkeys(i for i in entry_ids if i))
        found: dict[str, Entry] = {}
        for start in range(0, len(wanted), 100):
            chunk = [{"PK": keys.directory_pk(kind), "SK": i} for i in wanted[start : start + 100]]
            with translated():
                response = DirectoryItem._get_connection().batch_get_item(chunk, consistent_read=True)
            if response.get("UnprocessedKeys"):
                raise Unavailable("the data store is busy; retry shortly")
            for raws in response.get("Responses", {}).values():
                for raw in raws:
                    entry = _entry(kind, DirectoryItem.from_raw_data(raw))
                    found[entry.id] = entry
        return found

    def list(self, kind: str, *, limit: int, after: str | None) -> tuple[list[Entry], str | None]:
        """One Query on the kind's partition, in id order."""
        range_condition = after < DirectoryItem.SK if after is not None else None
        with translated():
            results = DirectoryItem.query(keys.directory_pk(kind), range_condition, limit=limit, page_size=limit)
            page = next(results.page_iter)
        items = [_entry(kind, DirectoryItem.from_raw_data(raw)) for raw in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return items, (last["SK"]["S"] if last else None)

    def list_all(self, kind: str) -> list[Entry]:
        """Every entry of a small kind (custom statuses): Queries until the partition is read."""
        with translated():
            return [_entry(kind, item) for item in DirectoryItem.query(keys.directory_pk(kind))]

    def create(
        self, kind: str, entry_id: str, name: str, data: dict[str, Any], now: datetime, actor_id: str | None = None
    ) -> Entry:
        """Put the entry if absent; with `actor_id` (a user's change), its `resource.created` event
        commits with it (the outbox)."""
        item = self._new_item(kind, entry_id, name, data, now)
        event = _event(RESOURCE_CREATED, kind, entry_id, 1, actor_id, now)
        self._put(item, DirectoryItem.PK.does_not_exist(), event, lambda: Conflict(f"{kind} {entry_id!r} already exists"))
        return _entry(kind, item)

    def _put(self, item: DirectoryItem, condition: Any, event: EventItem | None, failed: Callable[[], DomainError]) -> None:
        """One conditional PutItem, or with an event one transaction of both."""
        if event is None:
            with translated(on_condition_failed=failed):
                item.save(condition=condition)
            return
        try:
            with translated(), self._transaction() as tx:
                tx.save(item, condition=condition)
                tx.save(event)
        except TransactionCancelled as exc:
            if exc.failed_keys():
                raise failed() from exc
            raise Unavailable("the directory is being changed by another request; retry", retry_after=1) from exc

    @staticmethod
    def _new_item(kind: str, entry_id: str, name: str, data: dict[str, Any], now: datetime) -> DirectoryItem:
        return _staff_keyed(
            kind,
            DirectoryItem(
                keys.directory_pk(kind),
                entry_id,
                id=entry_id,
                name=name,
                role=data.get("role"),
                notifications=data.get("notifications") if kind == "user" else None,
                data=data,
                created_at=now,
                updated_at=now,
                version=1,
                **email_index(kind, entry_id, data),
            ),
        )

    def staff(self) -> list[Entry]:
        """Every agent's and admin's user record: Queries of GSI1 `STAFF` until read (customers,
        however many, are not in that partition)."""
        with translated():
            return [_entry("user", item) for item in DirectoryItem.staff.query(keys.STAFF_PARTITION)]

    def update(
        self,
        kind: str,
        entry: Entry,
        *,
        name: str,
        data: dict[str, Any],
        now: datetime,
        expected_version: int,
        actor_id: str | None = None,
    ) -> Entry:
        item = DirectoryItem(
            keys.directory_pk(kind),
            entry.id,
            id=entry.id,
            name=name,
            role=data.get("role"),
            notifications=data.get("notifications") if kind == "user" else None,
            data=data,
            created_at=entry.created_at,
            updated_at=now,
            version=expected_version + 1,
            **email_index(kind, entry.id, data),
        )
        _staff_keyed(kind, item)
        event = _event(RESOURCE_UPDATED, kind, entry.id, expected_version + 1, actor_id, now)
        changed = lambda: VersionConflict(f"the {kind} changed meanwhile")  # noqa: E731
        self._put(item, DirectoryItem.version == expected_version, event, changed)
        return _entry(kind, item)

    def create_user(self, user_id: str, name: str, data: dict[str, Any], now: datetime, actor_id: str | None = None) -> Entry:
        """An admin's create: the user record and the removal of a tombstone the id may have,
        one transaction (so an old token never meets a user who is neither new nor deleted)."""
        item = self._new_item("user", user_id, name, data, now)
        try:
            with translated(), self._transaction() as transaction:
                transaction.save(item, condition=DirectoryItem.PK.does_not_exist())
                transaction.delete(DirectoryItem(keys.DELETED_USERS_PK, user_id))
                event = _event(RESOURCE_CREATED, "user", user_id, 1, actor_id, now)
                if event is not None:
                    transaction.save(event)
        except TransactionCancelled as exc:  # the only condition is the user's
            raise Conflict(f"user {user_id!r} already exists") from exc
        return _entry("user", item)

    def delete_user(self, user_id: str, now: datetime, actor_id: str | None = None) -> None:
        """The tombstone of a deleted user and the removal of its record, one transaction: there
        is no moment in which the user is neither present nor known as deleted."""
        tombstone = DirectoryItem(
            keys.DELETED_USERS_PK, user_id, id=user_id, name=user_id, data={}, created_at=now, updated_at=now, version=1
        )
        try:
            with translated(), self._transaction() as transaction:
                transaction.save(tombstone)
                transaction.delete(DirectoryItem(keys.directory_pk("user"), user_id), condition=DirectoryItem.PK.exists())
                event = _event(RESOURCE_DELETED, "user", user_id, None, actor_id, now)
                if event is not None:
                    transaction.save(event)
        except TransactionCancelled as exc:  # the only condition is the user's
            raise NotFound("user not found") from exc

    def delete(self, kind: str, entry_id: str, actor_id: str | None = None, now: datetime | None = None) -> None:
        item = DirectoryItem(keys.directory_pk(kind), entry_id)
        event = _event(RESOURCE_DELETED, kind, entry_id, None, actor_id, now) if now is not None else None
        if event is None:
            with translated(on_condition_failed=lambda: NotFound(f"{kind} not found")):
                item.delete(condition=DirectoryItem.PK.exists())
            return
        try:
            with translated(), self._transaction() as tx:
                tx.delete(item, condition=DirectoryItem.PK.exists())
                tx.save(event)
        except TransactionCancelled as exc:
            if exc.failed_keys():
                raise NotFound(f"{kind} not found") from exc
            raise Unavailable("the directory is being changed by another request; retry", retry_after=1) from exc

    def upsert_user(self, user_id: str, name: str, data: dict[str, Any], now: datetime) -> None:
        """An operator's write of a user record (`cli put-user`): one UpdateItem, creates if new."""
        item = DirectoryItem(keys.directory_pk("user"), user_id)
        with translated():
            item.update(
                actions=[
                    DirectoryItem.kind.set(DirectoryItem),
                    DirectoryItem.id.set(user_id),
                    DirectoryItem.name.set(name),
                    DirectoryItem.role.set(data.get("role")),
                    DirectoryItem.data.set(data),
                    *_staff_key_actions(data.get("role"), user_id),
                    DirectoryItem.updated_at.set(now),
                    DirectoryItem.created_at.set(DirectoryItem.created_at | now),
                    DirectoryItem.version.add(1),
                    *_index_actions(email_index("user", user_id, data)),
                ]
            )

    def backfill_user_index_page(self, after: str | None, limit: int = 100) -> tuple[int, int, str | None]:
        """Give the next `limit` user records (the `DIR#user` partition in id order, after the id
        `after`) the index keys every user write now sets: GSI3 `EMAIL#<address>` (inbound mail's
        sender lookup) and GSI1 `STAFF` (routing). Records already right are not written; the
        others get one UpdateItem each, conditioned on the version read and leaving it alone (a
        user written meanwhile got its keys from that write; ETags do not change). One Query
        page, no Scan. Answers (records read, records changed, the id to resume after)."""
        start = {"PK": {"S": keys.directory_pk("user")}, "SK": {"S": after}} if after is not None else None
        with translated():
            results = DirectoryItem.query(keys.directory_pk("user"), limit=limit, page_size=limit, last_evaluated_key=start)
            items = list(results)
            last = results.last_evaluated_key
        changed = 0
        for item in items:
            wanted = {
                **email_index("user", item.id, dict(item.data or {})),
                "GSI1PK": keys.STAFF_PARTITION if item.role in STAFF_ROLES else None,
                "GSI1SK": item.id if item.role in STAFF_ROLES else None,
            }
            if all(getattr(item, name) == value for name, value in wanted.items()):
                continue
            try:
                with translated(on_condition_failed=lambda: VersionConflict("the user changed meanwhile")):
                    item.update(actions=_index_actions(wanted), condition=DirectoryItem.version == item.version)
                changed += 1
            except VersionConflict:
                continue  # written meanwhile: that write set its keys
        return len(items), changed, (last["SK"]["S"] if last else None)

    def seed_user(self, user_id: str, name: str, data: dict[str, Any], now: datetime) -> Entry:
        """Record a new user from its first token (one PutItem, only if absent); an existing
        record wins, so a token never overwrites what an admin set."""
        try:
            return self.create("user", user_id, name, data, now)
        except Conflict:
            existing = self.get("user", user_id)
            if existing is None:  # deleted again in between: the token names nobody
                raise
            return existing

    # -- organizations and their mail domains --------------------------------------------------
    def write_organization(
        self,
        entry: Entry | None,
        entry_id: str,
        name: str,
        data: dict[str, Any],
        now: datetime,
        expected_version: int | None,
        actor_id: str | None = None,
    ) -> Entry:
        """Create (entry None) or update an organization and its `DIR#org-domain` items in one
        transaction: a domain added is put only if no organization has it (Conflict naming it),
        a domain dropped is deleted only if it is this organization's."""
        old = set(entry.data.get("domains") or []) if entry is not None else set()
        new = list(dict.fromkeys(data.get("domains") or []))
        added, removed = [d for d in new if d not in old], sorted(old - set(new))
        if entry is None:
            item, condition = self._new_item("organization", entry_id, name, data, now), DirectoryItem.PK.does_not_exist()
        else:
            item = DirectoryItem(
                keys.directory_pk("organization"),
                entry.id,
                id=entry.id,
                name=name,
                data=data,
                created_at=entry.created_at,
                updated_at=now,
                version=(expected_version or entry.version) + 1,
            )
            condition = DirectoryItem.version == (expected_version or entry.version)
        try:
            with translated(), self._transaction() as tx:
                for domain in removed:
                    tx.delete(OrgDomainItem(keys.ORG_DOMAIN_PK, domain), condition=OrgDomainItem.organization_id == entry_id)
                tx.save(item, condition=condition)
                for domain in added:
                    claim = OrgDomainItem(keys.ORG_DOMAIN_PK, domain, organization_id=entry_id)
                    tx.save(claim, condition=OrgDomainItem.PK.does_not_exist())
                event_type = RESOURCE_CREATED if entry is None else RESOURCE_UPDATED
                event = _event(event_type, "organization", entry_id, int(item.version), actor_id, now)
                if event is not None:
                    tx.save(event)
        except TransactionCancelled as exc:
            failed = exc.failed_keys()
            taken = [domain for domain in added if (keys.ORG_DOMAIN_PK, domain) in failed]
            if taken:
                raise Conflict(f"the domain {taken[0]} belongs to another organization") from exc
            if (item.PK, item.SK) in failed:
                if entry is None:
                    raise Conflict(f"organization {entry_id!r} already exists") from exc
                raise VersionConflict("the organization changed meanwhile") from exc
            raise Unavailable("the organization could not be written; retry") from exc
        return _entry("organization", item)

    def delete_organization(self, entry: Entry, actor_id: str | None = None, now: datetime | None = None) -> None:
        """The organization and its domain items (and its event), one transaction."""
        with translated(on_condition_failed=lambda: NotFound("organization not found")), self._transaction() as tx:
            tx.delete(DirectoryItem(keys.directory_pk("organization"), entry.id), condition=DirectoryItem.PK.exists())
            for domain in entry.data.get("domains") or []:
                tx.delete(OrgDomainItem(keys.ORG_DOMAIN_PK, domain))
            event = _event(RESOURCE_DELETED, "organization", entry.id, None, actor_id, now) if now is not None else None
            if event is not None:
                tx.save(event)

    def organization_of_domain(self, domain: str) -> str | None:
        """The organization whose `domains` hold `domain` (one GetItem)."""
        with translated():
            try:
                return str(OrgDomainItem.get(keys.ORG_DOMAIN_PK, domain, consistent_read=True).organization_id)
            except OrgDomainItem.DoesNotExist:
                return None

    def users_by_email(self, address: str, limit: int = 10) -> list[Entry]:
        """The users whose email is `address` (normalized): one Query of GSI3 (eventually
        consistent: a user created a moment ago may be missing; callers read by id first)."""
        with translated():
            items = list(DirectoryItem.by_email.query(keys.email_index_pk(address), limit=limit, page_size=limit))
        return sorted((_entry("user", item) for item in items), key=lambda e: e.id)

    def is_deleted_user(self, user_id: str) -> bool:
        """Whether an admin deleted this user (one GetItem, only for ids with no user record)."""
        with translated():
            try:
                DirectoryItem.get(keys.DELETED_USERS_PK, user_id, consistent_read=True)
            except DirectoryItem.DoesNotExist:
                return False
        return True


def _staff_keyed(kind: str, item: DirectoryItem) -> DirectoryItem:
    """A staff user's record carries GSI1 `STAFF` / <id> (DirectoryRepository.staff); others none."""
    if kind == "user" and item.role in STAFF_ROLES:
        item.GSI1PK, item.GSI1SK = keys.STAFF_PARTITION, item.id
    return item


def _staff_key_actions(role: str | None, user_id: str) -> list[Any]:
    if role in STAFF_ROLES:
        return [DirectoryItem.GSI1PK.set(keys.STAFF_PARTITION), DirectoryItem.GSI1SK.set(user_id)]
    return [DirectoryItem.GSI1PK.remove(), DirectoryItem.GSI1SK.remove()]


def _index_actions(index: dict[str, str | None]) -> list[Any]:
    return [
        getattr(DirectoryItem, name).set(value) if value else getattr(DirectoryItem, name).remove()
        for name, value in index.items()
    ]
