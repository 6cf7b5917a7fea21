"""The base of the ticket-record services (links, merge, proxy access, time entries, attachments)."""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.domain.errors import NotAllowed
from chalicelib.domain.visibility import Caller
from chalicelib.services.tickets import TicketService
from chalicelib.storage.activities import ActivityRepository
from chalicelib.storage.attachments import AttachmentRepository, FileStore
from chalicelib.storage.tickets import TicketRepository


class RecordService:
    """What every ticket-record service is built with (chalicelib/composition.py)."""

    def __init__(
        self,
        tickets: TicketService,
        repository: TicketRepository,
        activities: ActivityRepository,
        attachments: AttachmentRepository,
        files: FileStore,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._tickets = tickets
        self._repository = repository
        self._activities = activities
        self._attachments = attachments
        self._files = files
        self._sleep = sleep

    @staticmethod
    def _require_staff(caller: Caller) -> None:
        if not caller.is_staff:
            raise NotAllowed("only agents and admins may do this")
