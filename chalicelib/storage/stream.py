"""Reading the table's stream images (DynamoDB JSON): which item a record is, and its values as
the models that wrote them read them. The stream handlers ask through `composition.stream_images()`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.tickets import Ticket
from chalicelib.storage import keys


class StreamImages:
    @staticmethod
    def is_ticket(image: Mapping[str, Any]) -> bool:
        """The image is a ticket item (`TICKET#<id>` / `TICKET`)."""
        return image.get("SK", {}).get("S") == keys.TICKET_SK and image.get("PK", {}).get("S", "").startswith("TICKET#")

    @staticmethod
    def is_event(image: Mapping[str, Any]) -> bool:
        """The image is an outbox event item."""
        return image.get("PK", {}).get("S") == keys.EVENTS_PK and image.get("kind", {}).get("S") == "event"

    @staticmethod
    def ticket(image: dict[str, Any]) -> Ticket:
        from chalicelib.storage.tickets import ticket_from_image

        return ticket_from_image(image)

    @staticmethod
    def sla(value: Mapping[str, Any]) -> dict[str, Any]:
        """The ticket's `sla` map attribute (`{"M": ...}`) as plain Python."""
        from chalicelib.storage.models import TicketItem

        plain: dict[str, Any] = TicketItem.sla.deserialize(value["M"])
        return plain
