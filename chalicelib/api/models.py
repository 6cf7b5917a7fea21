"""Request and response models (pydantic v2). They validate input and document the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from chalicelib.domain.markup import sanitize
from chalicelib.domain.tickets import DESCRIPTION_MAX, MAX_CC, MAX_TAGS, SUBJECT_MAX

# -- text ------------------------------------------------------------------------------
# Every string of a request body is one of: an identifier (a Literal or a `pattern`), rich text
# (SANITIZED: the one sanitizer, chalicelib.domain.markup.sanitize, runs as it is parsed) or
# PlainText (stored verbatim; clients render it as text). Free-form JSON (Any) is Structured: a
# domain validator names its fields and sanitizes the rich ones. tests/api/test_request_text.py
# walks every body model and fails for a string that is none of these.
SANITIZED = AfterValidator(sanitize)


@dataclass(frozen=True)
class PlainText:
    """Stored verbatim and rendered as text (escaped) by clients, never as markup."""

    why: str


@dataclass(frozen=True)
class Structured:
    """Free-form JSON checked field by field (and its rich text sanitized) by `by`."""

    by: str


SHOWN_AS_TEXT = PlainText("a title or label: plain text, shown escaped")

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:@-]{1,128}$")]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True), SHOWN_AS_TEXT]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,189}$")]
FieldKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
FieldValue = Annotated[str, StringConstraints(max_length=1000), PlainText("a custom field value")] | int | float | bool | None
# Keys are constrained by FieldKey; the schema says so too, so generated clients and
# fuzzers never send a key the API would refuse.
CustomFields = Annotated[dict[FieldKey, FieldValue], Field(max_length=50, json_schema_extra={"additionalProperties": False})]
# Checked per channel by chalicelib.domain.channel_details.validate_channel_details (422 per field).
ChannelDetails = Annotated[
    dict[str, Any],
    Structured("chalicelib.domain.channel_details.validate_channel_details"),
    Field(
        description="conference: scheduled_at, call_state, meeting_link?, meeting_code?; chat: transcript; "
        "email: thread, subject?; phone: phone_number?, direction?, duration_seconds?"
    ),
]
Priority = Literal["low", "normal", "high", "urgent"]
TicketType = Literal["incident", "problem", "request", "change"]
Channel = Literal["email", "chat", "phone", "conference", "web", "api"]
StatusName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
PipelineId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
Role = Literal["admin", "agent", "customer"]
Access = Literal["all", "team", "assigned"]
Availability = Literal["available", "away", "offline"]
Sort = Literal["-last_activity_at", "last_activity_at", "-created_at", "created_at"]
Limit = Annotated[int, Field(ge=1, le=100)]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class Model(BaseModel):
    """Base of every API model. Schemas are built when a request first needs them, not at
    import: a cold start builds only the models of the route it serves (bench: import ratio)."""

    model_config = ConfigDict(defer_build=True)


class Strict(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Patch(Strict):
    """A partial update: absent fields stay as they are; null clears only the fields listed
    in `nullable` and is a per-field 422 for the others (never a half-valid write)."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_allowed(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null")
        return value


# -- tickets ---------------------------------------------------------------------------
Subject = Annotated[str, StringConstraints(min_length=1, max_length=SUBJECT_MAX), SHOWN_AS_TEXT]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX), SANITIZED]


class TicketCreate(Strict):
    subject: Subject
    description: Description
    priority: Priority | None = None
    type: TicketType | None = None
    channel: Channel | None = None
    status: StatusName | None = None
    pipeline_id: PipelineId | None = None
    requester_id: Id | None = None
    organization_id: Id | None = None
    assignee_id: Id | None = None
    team_id: Id | None = None
    cc: Annotated[list[Id], Field(max_length=MAX_CC)] = []
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = []
    custom_fields: CustomFields = {}
    channel_details: ChannelDetails | None = None


class TicketPatch(Patch):
    nullable = frozenset({"organization_id", "assignee_id", "team_id", "channel_details"})

    subject: Subject | None = None
    description: Description | None = None
    status: StatusName | None = Field(None, description="with `pipeline_id`: the status in the target pipeline")
    pipeline_id: PipelineId | None = Field(None, description="move to this pipeline; the status maps by category")
    priority: Priority | None = None
    type: TicketType | None = None
    channel: Channel | None = None
    requester_id: Id | None = None
    organization_id: Id | None = None
    assignee_id: Id | None = None
    team_id: Id | None = None
    cc: Annotated[list[Id], Field(max_length=MAX_CC)] | None = None
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] | None = None
    custom_fields: CustomFields | None = None
    channel_details: ChannelDetails | None = None


class TicketListQuery(Strict):
    limit: Limit = 25
    cursor: Cursor | None = None
    sort: Sort = "-last_activity_at"
    status: StatusName | None = None
    status_category: Literal["open", "pending", "resolved", "closed"] | None = None
    priority: Priority | None = None
    type: TicketType | None = None
    assignee_id: Id | None = Field(None, description="`-`: unassigned")
    team_id: Id | None = Field(None, description="`-`: no team")
    requester_id: Id | None = None
    organization_id: Id | None = None
    tag: Tag | None = None
    pipeline_id: PipelineId | None = None


_PAGE_FIELDS = ("limit", "cursor", "sort")


def _filters_model() -> type[Strict]:
    """The filters of GET /v1/tickets as a body model: the same fields, so one validation."""
    from pydantic import create_model

    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in TicketListQuery.model_fields.items() if name not in _PAGE_FIELDS
    }
    return create_model("ViewFilters", __base__=Strict, **fields)  # type: ignore[no-any-return,call-overload]


ViewFilters = _filters_model()
ViewVisibility = Literal["private", "team", "shared"]


class ViewCreate(Strict):
    name: Name
    visibility: ViewVisibility = "private"
    team_id: Id | None = Field(None, description="team views: a team you are in")
    filters: ViewFilters = Field(default_factory=ViewFilters)  # type: ignore[valid-type]
    sort: Sort = "-last_activity_at"


class ViewPatch(Patch):
    nullable = frozenset({"team_id"})

    name: Name | None = None
    visibility: ViewVisibility | None = None
    team_id: Id | None = None
    filters: ViewFilters | None = None  # type: ignore[valid-type]
    sort: Sort | None = None


class ViewOut(Model):
    id: str
    name: str
    default: bool = Field(description="one of the six views every agent has (not editable)")
    visibility: Literal["default", "private", "team", "shared"]
    team_id: str | None = None
    owner_id: str | None = None
    filters: dict[str, str]
    sort: Sort
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int | None = None
    count: int | None = Field(
        None,
        description="with `?counts=true`: the exact number of tickets the view lists, from counters (null: see "
        "`count_unavailable`)",
    )
    count_unavailable: Literal["time_window", "follower_filter", "residual_filter"] | None = Field(
        None,
        description="with `?counts=true`, why `count` is null: a rolling time window (recently-solved), the follower "
        "filter (following), or a saved view filtering by more than team, assignee and status category",
    )


class ViewList(Model):
    items: list[ViewOut]


class ViewListQuery(Strict):
    counts: bool = Field(False, description="add each view's exact `count` (one BatchGetItem for the whole list)")


class MyTicketsQuery(Strict):
    limit: Limit = 25
    cursor: Cursor | None = None
    sort: Sort = "-created_at"
    scope: Literal["mine", "organization"] = "mine"


class HistoryQuery(Strict):
    limit: Limit = 25
    cursor: Cursor | None = None
    property: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")] | None = None


class PageQuery(Strict):
    limit: Limit = 25
    cursor: Cursor | None = None


class SlaSummary(Model):
    metric: Literal["first_response", "next_response", "resolution"]
    status: Literal["running", "paused", "met", "breached"]
    due_at: datetime | None = Field(description="null while paused")
    breached: list[Literal["first_response", "next_response", "resolution"]] = Field(
        default_factory=list, description="every metric whose clock breached so far, completed late or not"
    )


class ViewerOut(Model):
    user_id: str
    name: str
    since: str = Field(description="the first heartbeat of this viewing (RFC 3339 UTC)")


class TicketOut(Model):
    """The ticket. Customers get it without the agent-only fields (marked not required)."""

    id: str
    number: int
    subject: str
    description: str | None = Field(None, description="absent in lists; GET the ticket for it")
    status: str
    status_category: Literal["open", "pending", "resolved", "closed"]
    pipeline_id: str = "default"
    priority: Priority
    type: TicketType
    channel: Channel
    requester_id: str
    organization_id: str | None
    assignee_id: str | None
    team_id: str | None = Field(None, description="agents only")
    cc: list[str]
    followers: list[str] | None = Field(None, description="agents only")
    tags: list[str] | None = Field(None, description="agents only")
    custom_fields: dict[str, Any]
    activity_status: str | None = Field(None, description="agents only")
    sentiment: Literal["positive", "neutral", "negative"] | None = Field(None, description="agents only")
    escalation: dict[str, Any] | None
    sla: SlaSummary | None = Field(None, description="agents only: the next due SLA clock")
    proxy_access: bool
    feedback: dict[str, Any] | None
    merged_into: str | None
    links: list[str] | None = Field(
        None, description="linked tickets the caller may see; on GET of one ticket (everywhere for agents who see all)"
    )
    merged_from: list[str] | None = Field(None, description="agents only: tickets merged into this one")
    merged_staff_only: list[str] | None = Field(
        None, description="agents only: of merged_from, tickets of another organization (their thread is hidden from customers)"
    )
    time_spent_minutes: int | None = Field(None, description="agents only: total of the time entries")
    channel_details: dict[str, Any] | None = Field(
        None,
        description="per channel: conference scheduled_at/call_state/meeting_link/meeting_code, chat transcript, "
        "email thread, phone number; absent in lists",
    )
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    closed_at: datetime | None
    requester_name: str | None = Field(None, description="the requester's display name when they were set")
    assignee_name: str | None = Field(None, description="the assignee's display name when they were set")
    imported_from: str | None = Field(None, description="`<source>:<number there>` of an imported ticket (e.g. zendesk:101)")
    version: int
    viewers: list[ViewerOut] | None = Field(
        None, description="agents only, on GET of one ticket: other agents viewing it (heartbeat in the last 60 s), at most 5"
    )
    viewers_more: int | None = Field(None, description="agents only: how many more are viewing")


class TicketPage(Model):
    items: list[TicketOut]
    next_cursor: str | None


class HistoryEntryOut(Model):
    property: str
    old: Any
    new: Any
    actor_id: str
    at: datetime


class HistoryPage(Model):
    items: list[HistoryEntryOut]
    next_cursor: str | None


# -- directory -------------------------------------------------------------------------
class UserCreate(Strict):
    id: Id | None = None
    name: Name
    email: Email
    role: Role
    organization_id: Id | None = None
    org_admin: bool = False
    team_ids: Annotated[list[Id], Field(max_length=50)] = []
    access: Access | None = None
    disabled: bool = False
    notifications: bool = True


class UserPatch(Patch):
    nullable = frozenset({"organization_id", "access"})

    name: Name | None = None
    email: Email | None = None
    role: Role | None = None
    organization_id: Id | None = None
    org_admin: bool | None = None
    team_ids: Annotated[list[Id], Field(max_length=50)] | None = None
    access: Access | None = None
    disabled: bool | None = None  # true: every request of the user answers 403 from the next one
    notifications: bool | None = None
    availability: Availability | None = None


class MePatch(Patch):
    """What a user changes about themselves: whether the help desk mails them, and (staff) whether
    routing may assign them new tickets."""

    notifications: bool | None = None
    availability: Availability | None = None


class UserOut(Model):
    id: str
    name: str
    email: str
    role: Role
    organization_id: str | None = None
    org_admin: bool = False
    team_ids: list[str] = []
    access: Access | None = None
    disabled: bool = False
    notifications: bool = True  # mail about their tickets (PATCH /v1/me)
    availability: Availability | None = None  # staff only: routing assigns `available` ones
    created_at: datetime
    updated_at: datetime
    version: int


class OrganizationCreate(Strict):
    id: Id | None = None
    name: Name
    domains: Annotated[list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]{1,253}$")]], Field(max_length=20)] = []


class OrganizationPatch(Patch):
    name: Name | None = None
    domains: Annotated[list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]{1,253}$")]], Field(max_length=20)] | None = (
        None
    )


class OrganizationOut(Model):
    id: str
    name: str
    domains: list[str] = []
    created_at: datetime
    updated_at: datetime
    version: int


class TeamCreate(Strict):
    id: Id | None = None
    name: Name
    description: Annotated[str, StringConstraints(max_length=2000), SANITIZED] = ""


class TeamPatch(Patch):
    name: Name | None = None
    description: Annotated[str, StringConstraints(max_length=2000), SANITIZED] | None = None


class TeamOut(Model):
    id: str
    name: str
    description: str = ""
    created_at: datetime
    updated_at: datetime
    version: int


class StatusCreate(Strict):
    name: StatusName
    category: Literal["open", "pending", "resolved", "closed"]


class StatusPatch(Patch):
    category: Literal["open", "pending", "resolved", "closed"]


class PipelineCreate(Strict):
    id: PipelineId
    name: Annotated[str, StringConstraints(min_length=1, max_length=100), SHOWN_AS_TEXT]
    statuses: Annotated[list[StatusName], Field(min_length=1, max_length=40)]


class PipelinePatch(Patch):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100), SHOWN_AS_TEXT] | None = None
    statuses: Annotated[list[StatusName], Field(min_length=1, max_length=40)] | None = None


class PipelineOut(Model):
    id: str
    name: str
    statuses: list[str]
    builtin: bool = False


class StatusOut(Model):
    id: str
    name: str
    category: Literal["open", "pending", "resolved", "closed"]
    builtin: bool = False


def page_of(item: type[BaseModel]) -> type[BaseModel]:
    """`{"items": [...], "next_cursor"}` for a model, named after it."""
    from pydantic import create_model

    return create_model(
        f"{item.__name__.removesuffix('Out')}Page", __base__=Model, items=(list[item], ...), next_cursor=(str | None, ...)
    )  # type: ignore[valid-type,call-overload]


class Problem(Model):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]]


class Health(Model):
    status: Literal["ok"]
