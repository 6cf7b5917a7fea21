"""SLA policies and clocks: which policy applies to a ticket and how its clocks run.

Pure Python (no AWS). A ticket carries its clocks (first response, next response, resolution);
every write of the ticket passes through `reconcile`, which applies the policy, starts, pauses,
resumes, re-plans and completes clocks and says why in ledger entries. Due times are whole
seconds in UTC, written `YYYY-MM-DDTHH:MM:SSZ`: the format a Step Functions Wait state's
`TimestampPath` accepts. A running clock's timer (one workflow execution per generation)
records the breach at `due_at` only if that generation still runs; every re-plan hands out a
new generation, so a stale timer wakes, finds another generation, and exits.

Decisions (docs/decisions.md, "SLA"):
- The policy is chosen when the ticket is created and re-chosen on every later write, so a
  changed priority, type, tag or policy takes effect at the ticket's next write (as in Zendesk).
- A clock pauses while the ticket's status (or its status category) is one of the policy's
  `pause_statuses`; business time elapsed before the pause is kept.
- What counts as a response is the policy's `responses` (default: a public agent reply only;
  an internal note, a logged call or an automatic message count only if listed).
- Next response starts at a customer message once first response is done, and restarts at
  each customer message after an agent answered.
- Resolving or closing the ticket completes every open clock; reopening does not restart them.
- A clock that is completed after its due time stays `breached` (with `completed_at`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.calendar import BusinessCalendar, add_business_time, business_seconds_between
from chalicelib.domain.errors import Conflict, FieldError, ValidationFailed
from chalicelib.domain.tickets import CHANNELS, PRIORITIES, TYPES, Ticket

METRICS = ("first_response", "next_response", "resolution")
RUNNING, PAUSED, MET, BREACHED = "running", "paused", "met", "breached"
# Things a policy may count as a response to the customer.
RESPONSE_KINDS = ("public_reply", "internal_note", "call", "auto_reply")
DEFAULT_RESPONSES = ("public_reply",)
CUSTOMER_MESSAGE = "customer_message"  # a signal, not a response kind
CONDITION_KEYS = ("priorities", "types", "channels", "organization_ids", "tags")
SOLVED_CATEGORIES = ("resolved", "closed")
MAX_TARGET_MINUTES = 365 * 24 * 60
# What a policy stores for what its creator left out (docs/decisions.md "SLA").
# `position` has no fixed default: an omitted one is placed after the last policy (place_policy).
POLICY_DEFAULTS: Mapping[str, Any] = {
    "conditions": {},
    "business_hours_id": None,
    "pause_statuses": ["pending"],
    "responses": list(DEFAULT_RESPONSES),
}


def format_instant(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _second(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class Targets:
    """Goals of one priority, in business minutes (None: no goal for that metric)."""

    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None

    def seconds(self, metric: str) -> int | None:
        minutes = getattr(self, metric)
        return None if minutes is None else int(minutes) * 60


@dataclass(frozen=True)
class Policy:
    id: str
    version: int
    position: int
    conditions: Mapping[str, tuple[str, ...]]
    business_hours_id: str | None
    pause_statuses: frozenset[str]
    targets: Mapping[str, Targets]
    responses: frozenset[str] = frozenset(DEFAULT_RESPONSES)

    @classmethod
    def from_record(cls, policy_id: str, version: int, data: Mapping[str, Any]) -> Policy:
        targets = {
            priority: Targets(
                first_response=goal.get("first_response_minutes"),
                next_response=goal.get("next_response_minutes"),
                resolution=goal.get("resolution_minutes"),
            )
            for priority, goal in (data.get("targets") or {}).items()
        }
        conditions = {key: tuple(values) for key, values in (data.get("conditions") or {}).items() if values is not None}
        return cls(
            id=policy_id,
            version=version,
            position=int(data.get("position", 0)),
            conditions=conditions,
            business_hours_id=data.get("business_hours_id"),
            pause_statuses=frozenset(data.get("pause_statuses") or ()),
            targets=targets,
            responses=frozenset(data.get("responses") or DEFAULT_RESPONSES),
        )

    def matches(self, ticket: Ticket) -> bool:
        """Every condition given must match; a policy without conditions matches every ticket."""
        facts: dict[str, tuple[str, ...]] = {
            "priorities": (ticket.priority,),
            "types": (ticket.type,),
            "channels": (ticket.channel,),
            "organization_ids": (ticket.organization_id,) if ticket.organization_id else (),
            "tags": tuple(ticket.tags),
        }
        return all(set(facts[key]) & set(wanted) for key, wanted in self.conditions.items())


POSITION_STEP = 10  # room to slot a policy in between two others without renumbering
MAX_POSITION = 10_000


def place_policy(position: int | None, others: Mapping[str, tuple[str, int]]) -> int:
    """The position a policy is stored at; `others` maps every other policy's id to (name, position).

    Omitted: after the last policy, so a new catch-all never silently outranks the existing ones.
    Positions are unique: two policies at one position would be ranked by their (random) ids.
    """
    if position is None:
        last = max((p for _, p in others.values()), default=-POSITION_STEP)
        position = min(last + POSITION_STEP, MAX_POSITION)
    holders = sorted(policy_id for policy_id, (_, p) in others.items() if p == position)
    if holders:
        name = others[holders[0]][0]
        raise Conflict(f"position {position} is taken by SLA policy {name!r} ({holders[0]}); choose another position")
    return position


def choose_policy(policies: Iterable[Policy], ticket: Ticket) -> Policy | None:
    """The matching policy with the lowest position (positions are unique; should two creates race
    to one position, the lower id wins, so the choice is still stable)."""
    matching = [p for p in policies if p.matches(ticket)]
    return min(matching, key=lambda p: (p.position, p.id), default=None)


def validate_policy(data: Mapping[str, Any], known_business_hours: Callable[[str], bool]) -> None:
    """Checks the shape alone cannot express; raises ValidationFailed with field paths."""
    errors: list[FieldError] = []
    allowed = {"priorities": PRIORITIES, "types": TYPES, "channels": CHANNELS}
    for key, values in (data.get("conditions") or {}).items():
        for i, value in enumerate(values or ()):
            if key in allowed and value not in allowed[key]:
                errors.append(FieldError(f"conditions.{key}[{i}]", f"must be one of {', '.join(allowed[key])}"))
    targets = data.get("targets") or {}
    if not targets:
        errors.append(FieldError("targets", "must set goals for at least one priority"))
    for priority, goal in targets.items():
        if priority not in PRIORITIES:
            errors.append(FieldError(f"targets.{priority}", f"must be one of {', '.join(PRIORITIES)}"))
        elif not any(goal.get(f"{metric}_minutes") is not None for metric in METRICS):
            errors.append(FieldError(f"targets.{priority}", "must set at least one goal"))
    for i, kind in enumerate(data.get("responses") or ()):
        if kind not in RESPONSE_KINDS:
            errors.append(FieldError(f"responses[{i}]", f"must be one of {', '.join(RESPONSE_KINDS)}"))
    hours_id = data.get("business_hours_id")
    if hours_id is not None and not known_business_hours(hours_id):
        errors.append(FieldError("business_hours_id", "no such business hours"))
    if errors:
        raise ValidationFailed(errors)


def validate_business_hours(data: Mapping[str, Any]) -> BusinessCalendar:
    return BusinessCalendar.from_config(data.get("timezone", ""), data.get("weekly") or {}, data.get("holidays") or [])


# --------------------------------------------------------------------------- clocks


@dataclass(frozen=True)
class Clock:
    metric: str
    status: str  # running | paused | met | breached
    generation: int  # the timer that may record this clock's breach
    target_seconds: int  # business seconds
    started_at: datetime
    elapsed_seconds: int = 0  # business seconds before the current running stretch
    running_since: datetime | None = None
    due_at: datetime | None = None  # None while paused
    completed_at: datetime | None = None
    breached_at: datetime | None = None  # written by the timer workflow

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.status in (RUNNING, PAUSED)

    def shown_status(self, now: datetime) -> str:
        """A running clock past its due time is breached, even in the moment before its timer writes it."""
        if self.status == RUNNING and self.due_at is not None and self.due_at <= now:
            return BREACHED
        return self.status

    def business_elapsed(self, calendar: BusinessCalendar, now: datetime) -> int:
        if self.running_since is None:
            return self.elapsed_seconds
        end = self.completed_at or now
        return self.elapsed_seconds + business_seconds_between(calendar, self.running_since, max(end, self.running_since))

    def to_dict(self) -> dict[str, Any]:
        def instant(t: datetime | None) -> str | None:
            return None if t is None else format_instant(t)

        data = {
            "metric": self.metric,
            "status": self.status,
            "generation": self.generation,
            "target_seconds": self.target_seconds,
            "started_at": instant(self.started_at),
            "elapsed_seconds": self.elapsed_seconds,
            "running_since": instant(self.running_since),
            "due_at": instant(self.due_at),
            "completed_at": instant(self.completed_at),
            "breached_at": instant(self.breached_at),
        }
        # Unset times are left out, not null: the timer's condition is `attribute_not_exists(breached_at)`.
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Clock:
        def instant(key: str) -> datetime | None:
            value = data.get(key)
            return None if value is None else parse_instant(str(value))

        started = instant("started_at")
        assert started is not None
        return cls(
            metric=str(data["metric"]),
            status=str(data["status"]),
            generation=int(data["generation"]),
            target_seconds=int(data["target_seconds"]),
            started_at=started,
            elapsed_seconds=int(data.get("elapsed_seconds") or 0),
            running_since=instant("running_since"),
            due_at=instant("due_at"),
            completed_at=instant("completed_at"),
            breached_at=instant("breached_at"),
        )


@dataclass(frozen=True)
class SlaState:
    """What a ticket stores under `sla`: the policy applied (as of which version and priority)
    and the clocks. `generation` is the last timer generation handed out for the ticket."""

    policy_id: str
    policy_version: int
    priority: str
    business_hours_id: str | None
    pause_statuses: tuple[str, ...]
    responses: tuple[str, ...]
    generation: int
    clocks: Mapping[str, Clock] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "priority": self.priority,
            "business_hours_id": self.business_hours_id,
            "pause_statuses": list(self.pause_statuses),
            "responses": list(self.responses),
            "generation": self.generation,
            "clocks": {metric: clock.to_dict() for metric, clock in self.clocks.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlaState:
        return cls(
            policy_id=str(data["policy_id"]),
            policy_version=int(data["policy_version"]),
            priority=str(data["priority"]),
            business_hours_id=data.get("business_hours_id"),
            pause_statuses=tuple(data.get("pause_statuses") or ()),
            responses=tuple(data.get("responses") or DEFAULT_RESPONSES),
            generation=int(data.get("generation") or 0),
            clocks={metric: Clock.from_dict(clock) for metric, clock in (data.get("clocks") or {}).items()},
        )

    def next_due(self, now: datetime) -> Clock | None:
        """The clock the ticket summary shows: the open one due first (paused ones last)."""
        candidates = [c for c in self.clocks.values() if c.is_open]
        if not candidates:
            return None
        return min(candidates, key=lambda c: (c.due_at is None, c.due_at or now, METRICS.index(c.metric)))


@dataclass(frozen=True)
class LedgerEntry:
    """One line of the append-only SLA ledger: what happened to which clock, and the numbers
    that went into its due time (so anyone can replay how a deadline was computed)."""

    event: str  # applied | started | paused | resumed | replanned | met | breached | stopped
    at: datetime
    metric: str | None = None
    generation: int | None = None
    due_at: datetime | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


def summary(sla: Mapping[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    """The ticket's `sla` property: its next due clock."""
    if not sla:
        return None
    clock = SlaState.from_dict(sla).next_due(now)
    if clock is None:
        return None
    return {
        "metric": clock.metric,
        "status": clock.shown_status(now),
        "due_at": None if clock.due_at is None else format_instant(clock.due_at),
    }


class _Planner:
    """One reconciliation: mutable working copy of the clocks plus the ledger it writes."""

    def __init__(self, state: SlaState, calendar: BusinessCalendar, now: datetime) -> None:
        self.state = state
        self.clocks = dict(state.clocks)
        self.generation = state.generation
        self.calendar = calendar
        self.now = now
        self.ledger: list[LedgerEntry] = []

    def note(self, event: str, clock: Clock | None = None, **detail: Any) -> None:
        self.ledger.append(
            LedgerEntry(
                event,
                self.now,
                clock.metric if clock else None,
                clock.generation if clock else None,
                clock.due_at if clock else None,
                detail,
            )
        )

    def next_generation(self) -> int:
        self.generation += 1
        return self.generation

    def due(self, remaining: int) -> datetime:
        return add_business_time(self.calendar, self.now, max(0, remaining))

    def start(self, metric: str, target: int, paused: bool) -> None:
        if paused:
            clock = Clock(metric, PAUSED, self.next_generation(), target, self.now)
            self.clocks[metric] = clock
            self.note("started", clock, target_seconds=target, paused=True)
            return
        clock = Clock(metric, RUNNING, self.next_generation(), target, self.now, 0, self.now, self.due(target))
        self.clocks[metric] = clock
        self.note("started", clock, target_seconds=target, business_hours_id=self.state.business_hours_id)

    def elapsed(self, clock: Clock) -> int:
        return clock.business_elapsed(self.calendar, self.now)

    def mark_overdue(self) -> None:
        for metric, clock in list(self.clocks.items()):
            if clock.status == RUNNING and clock.due_at is not None and clock.due_at <= self.now:
                # The timer records the breach (timeline, event); here the state stops pausing or re-planning it.
                self.clocks[metric] = dataclasses.replace(clock, status=BREACHED)

    def complete(self, metric: str, reason: str) -> None:
        clock = self.clocks.get(metric)
        if clock is None or clock.completed_at is not None or clock.status not in (RUNNING, PAUSED, BREACHED):
            return
        elapsed = self.elapsed(clock)
        status = BREACHED if clock.status == BREACHED else MET
        done = dataclasses.replace(clock, status=status, elapsed_seconds=elapsed, running_since=None, completed_at=self.now)
        self.clocks[metric] = done
        self.note(MET if status == MET else "completed_late", done, reason=reason, business_seconds=elapsed)

    def pause(self, metric: str) -> None:
        clock = self.clocks[metric]
        elapsed = self.elapsed(clock)
        paused = dataclasses.replace(clock, status=PAUSED, elapsed_seconds=elapsed, running_since=None, due_at=None)
        self.clocks[metric] = paused
        self.note("paused", paused, business_seconds=elapsed)

    def resume(self, metric: str) -> None:
        clock = self.clocks[metric]
        remaining = clock.target_seconds - clock.elapsed_seconds
        resumed = dataclasses.replace(
            clock, status=RUNNING, generation=self.next_generation(), running_since=self.now, due_at=self.due(remaining)
        )
        self.clocks[metric] = resumed
        self.note("resumed", resumed, remaining_seconds=max(0, remaining))

    def replan(self, metric: str, target: int) -> None:
        clock = self.clocks[metric]
        elapsed = self.elapsed(clock)
        if clock.status == PAUSED:
            replanned = dataclasses.replace(clock, target_seconds=target, elapsed_seconds=elapsed)
        else:
            replanned = dataclasses.replace(
                clock,
                target_seconds=target,
                elapsed_seconds=elapsed,
                generation=self.next_generation(),
                running_since=self.now,
                due_at=self.due(target - elapsed),
            )
        self.clocks[metric] = replanned
        self.note("replanned", replanned, target_seconds=target, business_seconds=elapsed)

    def stop(self, metric: str) -> None:
        clock = self.clocks.pop(metric)
        self.note("stopped", clock, reason="the policy sets no goal for it")

    def result(self, **changes: Any) -> SlaState:
        return dataclasses.replace(self.state, generation=self.generation, clocks=self.clocks, **changes)


def _state_for(policy: Policy, priority: str, generation: int) -> SlaState:
    return SlaState(
        policy_id=policy.id,
        policy_version=policy.version,
        priority=priority,
        business_hours_id=policy.business_hours_id,
        pause_statuses=tuple(sorted(policy.pause_statuses)),
        responses=tuple(sorted(policy.responses)),
        generation=generation,
    )


def _pauses(state: SlaState, ticket: Ticket) -> bool:
    return ticket.status in state.pause_statuses or ticket.status_category in state.pause_statuses


def reconcile(
    sla: Mapping[str, Any] | None,
    ticket: Ticket,
    policy: Policy | None,
    calendar_for: Callable[[str | None], BusinessCalendar],
    now: datetime,
    signals: Iterable[str] = (),
) -> tuple[dict[str, Any] | None, list[LedgerEntry]]:
    """The ticket's clocks after a write that left the ticket as `ticket`.

    `policy` is the policy matching the ticket now (None: none matches); `signals` says what
    the write was: a response kind (`public_reply`, `internal_note`, `call`, `auto_reply`)
    or `customer_message`.
    """
    now = _second(now)
    signals = frozenset(signals)
    solved = ticket.status_category in SOLVED_CATEGORIES
    if sla is None:
        if policy is None or solved or ticket.priority not in policy.targets:
            return None, []
        state = _state_for(policy, ticket.priority, 0)
        planner = _Planner(state, calendar_for(state.business_hours_id), now)
        planner.note("applied", policy_id=policy.id, policy_version=policy.version, priority=ticket.priority)
        targets = policy.targets[ticket.priority]
        for metric in ("first_response", "resolution"):
            target = targets.seconds(metric)
            if target is not None:
                planner.start(metric, target, paused=_pauses(state, ticket))
        return planner.result().to_dict(), planner.ledger

    state = SlaState.from_dict(sla)
    planner = _Planner(state, calendar_for(state.business_hours_id), now)
    planner.mark_overdue()

    # A different policy, policy version or priority: new goals for the open clocks.
    if policy is not None and policy.targets.get(ticket.priority) is not None:
        key = (policy.id, policy.version, ticket.priority)
        if key != (state.policy_id, state.policy_version, state.priority):
            new_state = _state_for(policy, ticket.priority, planner.generation)
            planner.note("applied", policy_id=policy.id, policy_version=policy.version, priority=ticket.priority)
            # Elapsed time so far is measured on the old calendar, the rest on the new one.
            for metric, clock in list(planner.clocks.items()):
                if clock.is_open:
                    clock = dataclasses.replace(clock, elapsed_seconds=planner.elapsed(clock))
                    planner.clocks[metric] = dataclasses.replace(clock, running_since=now if clock.status == RUNNING else None)
            planner.state = new_state
            planner.calendar = calendar_for(new_state.business_hours_id)
            targets = policy.targets[ticket.priority]
            for metric, clock in list(planner.clocks.items()):
                if not clock.is_open:
                    continue
                target = targets.seconds(metric)
                if target is None:
                    planner.stop(metric)
                elif target != clock.target_seconds or state.business_hours_id != new_state.business_hours_id:
                    planner.replan(metric, target)

    state = planner.state
    targets_now = policy.targets.get(state.priority) if policy is not None and policy.id == state.policy_id else None
    if signals & set(state.responses):
        planner.complete("first_response", "response")
        planner.complete("next_response", "response")
    if CUSTOMER_MESSAGE in signals and not solved:
        first = planner.clocks.get("first_response")
        current = planner.clocks.get("next_response")
        first_done = first is None or first.completed_at is not None
        if first_done and (current is None or current.completed_at is not None):
            target = targets_now.seconds("next_response") if targets_now else _last_target(state, "next_response")
            if target is not None:
                planner.start("next_response", target, paused=_pauses(state, ticket))

    if solved:
        for metric in METRICS:
            planner.complete(metric, f"ticket {ticket.status_category}")
    else:
        pause = _pauses(state, ticket)
        for metric, clock in list(planner.clocks.items()):
            if clock.completed_at is not None:
                continue
            if pause and clock.status == RUNNING:
                planner.pause(metric)
            elif not pause and clock.status == PAUSED:
                planner.resume(metric)

    result = planner.result()
    if result == SlaState.from_dict(sla):
        return dict(sla), []
    return result.to_dict(), planner.ledger


def _last_target(state: SlaState, metric: str) -> int | None:
    clock = state.clocks.get(metric)
    return clock.target_seconds if clock is not None else None


@dataclass(frozen=True)
class TimerStart:
    """A timer workflow to start: one per clock generation (the execution's name)."""

    ticket_id: str
    metric: str
    generation: int
    due_at: str

    @property
    def name(self) -> str:
        return f"{self.ticket_id}-{self.metric}-{self.generation}"


def timers_to_start(ticket_id: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[TimerStart]:
    """Running clocks of `new` whose generation `old` did not run: each needs its timer."""
    if not new:
        return []
    before = {m: c for m, c in ((old or {}).get("clocks") or {}).items()}
    starts = []
    for metric, clock in (new.get("clocks") or {}).items():
        if clock.get("status") != RUNNING or not clock.get("due_at"):
            continue
        previous = before.get(metric)
        if previous and previous.get("status") == RUNNING and int(previous["generation"]) == int(clock["generation"]):
            continue
        starts.append(TimerStart(ticket_id, metric, int(clock["generation"]), str(clock["due_at"])))
    return sorted(starts, key=lambda s: (s.metric, s.generation))


def clock_views(sla: Mapping[str, Any] | None, calendar: BusinessCalendar, now: datetime) -> list[dict[str, Any]]:
    """`GET /v1/tickets/{id}/sla` items, in metric order."""
    if not sla:
        return []
    state = SlaState.from_dict(sla)
    views = []
    for metric in METRICS:
        clock = state.clocks.get(metric)
        if clock is None:
            continue
        views.append(
            {
                "metric": metric,
                "status": clock.shown_status(now),
                "due_at": None if clock.due_at is None else format_instant(clock.due_at),
                "completed_at": None if clock.completed_at is None else format_instant(clock.completed_at),
                "breached_at": None if clock.breached_at is None else format_instant(clock.breached_at),
                "started_at": format_instant(clock.started_at),
                "target_minutes": clock.target_seconds // 60,
                "business_seconds_elapsed": clock.business_elapsed(calendar, now),
                "generation": clock.generation,
            }
        )
    return views


def comment_signals(by_staff: bool, visibility: str) -> frozenset[str]:
    """What a comment means to the clocks: an agent's public reply or internal note, or a customer message."""
    if not by_staff:
        return frozenset({CUSTOMER_MESSAGE}) if visibility == "public" else frozenset()
    return frozenset({"public_reply" if visibility == "public" else "internal_note"})


def activity_signals(activity_type: str, visibility: str) -> frozenset[str]:
    """Logged activities: a call, an internal note, or an email sent to the customer (a public reply)."""
    if activity_type == "call":
        return frozenset({"call"})
    if activity_type == "note":
        return frozenset({"internal_note"})
    if activity_type == "email" and visibility == "public":
        return frozenset({"public_reply"})
    return frozenset()


def outcomes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(metric, "met" | "breached") for each clock whose outcome this write recorded (metrics)."""
    before = (old or {}).get("clocks") or {}
    found = []
    for metric, clock in ((new or {}).get("clocks") or {}).items():
        previous = before.get(metric) or {}
        same_clock = previous.get("generation") == clock.get("generation") or previous.get("started_at") == clock.get(
            "started_at"
        )
        if clock.get("breached_at") and not (same_clock and previous.get("breached_at")):
            found.append((metric, BREACHED))
        elif clock.get("status") == MET and not (same_clock and previous.get("status") == MET):
            found.append((metric, MET))
    return sorted(found)
