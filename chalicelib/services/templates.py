"""Quick-reply templates: stored in the directory, rendered for a ticket."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import NotAllowed, NotFound, VersionConflict
from chalicelib.domain.markup import sanitize
from chalicelib.domain.templates import check_template, render_template, template_values
from chalicelib.domain.visibility import Caller
from chalicelib.services.tickets import TicketService
from chalicelib.services.workspace_settings import WorkspaceSettings
from chalicelib.storage.directory import DirectoryRepository, Entry


class TemplateService:
    """Quick-reply templates (directory entries of kind `template`) and their rendering."""

    KIND = "template"

    def __init__(self, directory: DirectoryRepository, tickets: TicketService, settings: WorkspaceSettings) -> None:
        self._directory = directory
        self._tickets = tickets
        self._settings = settings

    def create(self, caller: Caller, values: Mapping[str, Any], now: datetime) -> Entry:
        self._require_admin(caller)
        body = self._checked_body(values["body"])
        return self._directory.create(self.KIND, uuid.uuid4().hex, values["name"], {"body": body}, now, actor_id=caller.user_id)

    def get(self, caller: Caller, template_id: str) -> Entry:
        self._require_staff(caller)
        entry = self._directory.get(self.KIND, template_id)
        if entry is None:
            raise NotFound("template not found")
        return entry

    def list(self, caller: Caller, *, limit: int, after: str | None) -> tuple[list[Entry], str | None]:
        self._require_staff(caller)
        return self._directory.list(self.KIND, limit=limit, after=after)

    def update(
        self, caller: Caller, template_id: str, values: Mapping[str, Any], *, expected_version: int | None, now: datetime
    ) -> Entry:
        self._require_admin(caller)
        entry = self.get(caller, template_id)
        if expected_version is not None and entry.version != expected_version:
            raise VersionConflict(f"template is at version {entry.version}")
        data = dict(entry.data)
        if values.get("body") is not None:
            data["body"] = self._checked_body(values["body"])
        name = values.get("name") or entry.name
        return self._directory.update(
            self.KIND, entry, name=name, data=data, now=now, expected_version=entry.version, actor_id=caller.user_id
        )

    def delete(self, caller: Caller, template_id: str, now: datetime | None = None) -> None:
        self._require_admin(caller)
        self._directory.delete(self.KIND, template_id, actor_id=caller.user_id, now=now)

    def render(self, caller: Caller, template_id: str, ticket_id: str) -> dict[str, Any]:
        """The template filled in for one ticket, and the default reply visibility."""
        template = self.get(caller, template_id)
        ticket = self._tickets.get(caller, ticket_id)
        requester = self._directory.get("user", ticket.requester_id)
        person = {"name": requester.name, "email": requester.data.get("email")} if requester else {}
        body = render_template(template.data["body"], template_values(ticket, person, caller))
        return {"body": body, "visibility": self._settings.default_reply_visibility()}

    @staticmethod
    def _checked_body(body: str) -> str:
        check_template(body)
        return sanitize(body)

    @staticmethod
    def _require_staff(caller: Caller) -> None:
        if not caller.is_staff:
            raise NotAllowed("only agents and admins use templates")

    @staticmethod
    def _require_admin(caller: Caller) -> None:
        if not caller.is_admin:
            raise NotAllowed("only admins manage templates")
