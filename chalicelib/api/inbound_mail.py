"""The original of an inbound mail, for agents: `GET …/activities/{activity_id}/original`."""

from __future__ import annotations

from pydantic import Field

from chalicelib import composition
from chalicelib.api.models import Model
from chalicelib.api.routing import Api, Reply, RequestContext

api = Api("inbound_mail")


class OriginalOut(Model):
    download_url: str = Field(description="presigned GET of the raw message (message/rfc822), valid 5 minutes")
    expires_in: int


@api.route(
    "/v1/tickets/{ticket_id}/activities/{activity_id}/original",
    "GET",
    summary="Agents: the raw message an emailed comment came from (`description`: the mail that opened the ticket)",
    response=OriginalOut,
    errors=(404,),
)
def original_mail(ctx: RequestContext, ticket_id: str, activity_id: str) -> Reply:
    url, expires_in = composition.inbound_originals().download(ctx.caller, ticket_id, activity_id)
    return Reply({"download_url": url, "expires_in": expires_in})
