"""The pure state machine of a matter: ``decide(state, event, ctx) -> Decision``.

Given the matter's current state (None before it is reported) and one event from the
accepted stream, return the new state, the events to append to the log (the applied
upstream event first, then what it caused) and, for an event that does not fit, a
rejection with a short bounded code and a message naming the state it met.

Time is event time only: an upstream event first fires every timer due strictly before
its ``occurred_at``; a scanner proposal fires every timer due at or before its
``due_at``. Derived events carry the instant that caused them (a breach happens at its
deadline, whenever the scan noticed it) and ids from ``derived_id``, so the same input
gives the same output, whatever the clock, the scan interval or a crash in between.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

from events import sla
from events.calendar import Calendar
from events.errors import PolicyError
from events.ids import derived_id
from events.levels import Level
from events.orgtree import OrgTree, OrgUnit
from events.policy import Policy
from events.routing import entry_unit, escalation_target
from events.types import (DeadlineReached, EscalationRequested, Event, FeedbackGiven, MatterAccepted,
                          MatterCancelled, MatterClaimed, MatterDispatched, MatterEscalated, MatterReopened,
                          MatterReported, MatterResolved, MatterResumed, MatterRouted, MatterSuspended,
                          MatterVerified, SlaBreached, SlaStarted, SlaWarning, VerificationFailed, Watermark)

NEW, ACCEPTED, DISPATCHED, CLAIMED = "new", "accepted", "dispatched", "claimed"
RESOLVED, CLOSED, CANCELLED = "resolved", "closed", "cancelled"
OPEN = frozenset({NEW, ACCEPTED, DISPATCHED, CLAIMED})  # held by a level, clock running unless suspended
STATUSES = (NEW, ACCEPTED, DISPATCHED, CLAIMED, RESOLVED, CLOSED, CANCELLED)

PRODUCER = "gridflow-streams"
APPLIED_MAX = 64  # recent applied event ids kept per matter: a replay after a crash is a no-op
STATE_SCHEMA = 1

# Every code a rejection can carry (bounded: it is a metric label).
REJECTIONS = ("unknown_matter", "already_reported", "unknown_category", "kind_mismatch", "unknown_place",
              "not_upstream", "out_of_order", "closed", "cancelled", "resolved", "not_resolved",
              "not_accepted", "already_accepted", "already_claimed", "suspended", "already_suspended",
              "not_suspended", "not_holder", "feedback_given", "top_level", "from_future", "unknown_unit")


@dataclass(frozen=True)
class MatterState:
    matter_id: str
    status: str
    kind: str
    category: str
    priority: str
    place: str
    reported_at: int
    unit: str  # the unit holding the matter
    level: str  # its level label
    cycle: int  # arrival number: 1 at routing, +1 per escalation or reopening
    deadlines: sla.Deadlines
    fired: tuple[str, ...] = ()  # timers of this cycle that already fired
    suspended_at: int | None = None
    resolved_at: int | None = None
    resolved_level: str | None = None
    feedback: str | None = None  # satisfaction, once per resolution
    last_at: int = 0  # newest event time applied
    applied: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None

    def timers(self) -> list[sla.Timer]:
        """Pending timers, earliest first; none while suspended, resolved, closed or cancelled."""
        if not self.is_open or self.suspended:
            return []
        return sla.timers(self.deadlines, self.fired, awaiting_accept=self.status == NEW)

    def next_timer(self) -> sla.Timer | None:
        pending = self.timers()
        return pending[0] if pending else None

    def describe(self) -> str:
        where = f"{self.status} at {self.level} {self.unit} (cycle {self.cycle})"
        return where + (" and suspended" if self.suspended else "")

    def to_dict(self) -> dict:
        """A plain map of str/int/float/list/None: what the worker's table stores (msgpack)."""
        d = asdict(self)
        d["deadlines"] = {k: list(v) if isinstance(v, tuple) else v for k, v in d["deadlines"].items()}
        d["fired"], d["applied"], d["sv"] = list(self.fired), list(self.applied), STATE_SCHEMA
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "MatterState":
        d = dict(d)
        if d.pop("sv", None) != STATE_SCHEMA:
            raise ValueError("matter state: unknown schema version")
        dl = d.pop("deadlines")
        deadlines = sla.Deadlines(**{k: tuple(v) if isinstance(v, list) else v for k, v in dl.items()})
        return cls(deadlines=deadlines, **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass(frozen=True)
class Context:
    """What a decision may read besides the state and the event. No clock: time comes from
    events, and the stream clock, when known, is ``decide``'s ``now``.

    ``future_tolerance_ms``: how far an upstream event may lie ahead of that clock. The caller
    picks the policy's value for its clock (``policy.future_tolerance.for_clock("wall")`` or
    ``("event")``); left out, it is the wall-clock value.
    """

    policy: Policy
    tree: OrgTree
    calendar: Calendar = field(default_factory=Calendar)
    tolerance_ms: int = 5 * 60_000  # how far an event may be older than the newest applied one
    producer: str = PRODUCER
    future_tolerance_ms: int | None = None

    def __post_init__(self) -> None:
        if self.future_tolerance_ms is None:
            object.__setattr__(self, "future_tolerance_ms", self.policy.future_tolerance.wall_ms)


@dataclass(frozen=True)
class Rejection:
    code: str  # one of REJECTIONS
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class Decision:
    state: MatterState | None
    emit: tuple[Event, ...] = ()  # to append to the event log, in order
    rejected: Rejection | None = None  # the input goes to the dead-letter topic
    duplicate: bool = False  # the input was applied before: nothing to do


def decide(state: MatterState | None, event: Event, ctx: Context, now: int | None = None) -> Decision:
    """Advance one matter by one event. Pure: same arguments, same decision.

    ``now`` is the stream clock in epoch ms (the wall clock in production, the newest
    watermark in event-time simulation), or None when unknown: then no event is from the
    future. A rejected event changes nothing: the decision carries the state as it was and
    no events, whatever timers the event's time would have fired.
    """
    if isinstance(event, Watermark):
        return Decision(state)  # the clock belongs to the stream, not to a matter
    if isinstance(event, DeadlineReached):
        return _on_deadline(state, event, ctx)
    if event.DERIVED or event.INTERNAL:
        return _reject(state, "not_upstream", f"{event.TYPE} events of matter {event.matter_id} are derived "
                       "by the pipeline, not accepted from upstream")
    if now is not None and event.occurred_at > now + ctx.future_tolerance_ms:
        return _reject(state, "from_future", f"{event.TYPE} of matter {event.matter_id} at {_iso(event.occurred_at)} "
                       f"is ahead of the stream clock at {_iso(now)} by more than the tolerance of "
                       f"{ctx.future_tolerance_ms // 60_000} min")
    if state is None:
        if isinstance(event, MatterReported):
            return _report(event, ctx)
        return _reject(None, "unknown_matter", f"cannot apply {event.TYPE}: matter {event.matter_id} was never reported")
    if event.event_id in state.applied:
        return Decision(state, duplicate=True)
    if isinstance(event, MatterReported):
        return _reject(state, "already_reported", f"matter {state.matter_id} was already reported; it is {state.describe()}")
    if event.occurred_at < state.last_at - ctx.tolerance_ms:
        return _reject(state, "out_of_order", f"{event.TYPE} at {event.occurred_at} is older than the matter's last "
                       f"event at {state.last_at} by more than {ctx.tolerance_ms} ms")
    before = state
    state, fired = _fire_due(state, ctx, before=event.occurred_at)
    at = max(event.occurred_at, state.last_at)
    refusal = _refusal(state, event, ctx)
    if refusal is not None:  # judged at the event's time, but the timers it fired are not kept
        return Decision(before, (), refusal)
    new, out = _APPLY[type(event)](state, event, at, ctx)
    new = replace(new, last_at=at, applied=(*state.applied, event.event_id)[-APPLIED_MAX:])
    return Decision(new, (*fired, *out))


def _reject(state: MatterState | None, code: str, message: str) -> Decision:
    return Decision(state, (), Rejection(code, message))


def _iso(at: int) -> str:
    return datetime.fromtimestamp(at / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- timers -------------------------------------------------------------------------------


def _on_deadline(state: MatterState | None, event: DeadlineReached, ctx: Context) -> Decision:
    """The scanner's proposal: act only if it is about the current cycle; fire what is due."""
    if state is None or event.cycle != state.cycle:
        return Decision(state)
    new, fired = _fire_due(state, ctx, through=event.due_at)
    return Decision(new, tuple(fired))


def _fire_due(state: MatterState, ctx: Context, *, before: int | None = None,
              through: int | None = None) -> tuple[MatterState, list[Event]]:
    emitted: list[Event] = []
    while (timer := state.next_timer()) is not None:
        if (before is not None and timer.due >= before) or (through is not None and timer.due > through):
            break
        state, out = _fire(state, timer, ctx)
        emitted += out
    return state, emitted


def _fire(state: MatterState, timer: sla.Timer, ctx: Context) -> tuple[MatterState, list[Event]]:
    m, level, cycle = state.matter_id, state.level, state.cycle
    state = replace(state, fired=(*state.fired, timer.name), last_at=max(state.last_at, timer.due))
    if timer.deadline == sla.WARNING:
        return state, [SlaWarning(event_id=derived_id(m, "sla_warning", level, cycle, timer.threshold), matter_id=m,
                                  occurred_at=timer.due, producer=ctx.producer, unit=state.unit, level=level,
                                  cycle=cycle, threshold=timer.threshold, due_at=state.deadlines.resolve_by)]
    breach = SlaBreached(event_id=derived_id(m, "sla_breached", level, cycle, timer.deadline), matter_id=m,
                         occurred_at=timer.due, producer=ctx.producer, unit=state.unit, level=level, cycle=cycle,
                         deadline=timer.deadline, due_at=timer.due)
    target = escalation_target(ctx.tree, state.unit)
    if target is None:  # the city: the breach is recorded, nothing is above it
        return state, [breach]
    state, out = _escalate(state, target, "breach", timer.due, ctx)
    return state, [breach, *out]


def _escalate(state: MatterState, target: OrgUnit, reason: str, at: int,
              ctx: Context) -> tuple[MatterState, list[Event]]:
    m = state.matter_id
    escalated = MatterEscalated(event_id=derived_id(m, "escalated", state.level, state.cycle), matter_id=m,
                                occurred_at=at, producer=ctx.producer, from_unit=state.unit, from_level=state.level,
                                to_unit=target.unit_id, to_level=target.level.label, reason=reason,
                                cycle=state.cycle + 1)
    new = _arrive(state, target.unit_id, target.level, state.cycle + 1, at, ctx)
    return new, [escalated, _sla_started(new, "arrived", ctx)]


def _arrive(state: MatterState, unit: str, level: Level, cycle: int, at: int, ctx: Context) -> MatterState:
    deadlines = sla.start(ctx.policy, ctx.calendar, level, state.category, state.priority, at)
    return replace(state, status=NEW, unit=unit, level=level.label, cycle=cycle, deadlines=deadlines,
                   fired=(), suspended_at=None, last_at=max(state.last_at, at))


def _sla_started(state: MatterState, reason: str, ctx: Context, cause: str | None = None) -> SlaStarted:
    d, m = state.deadlines, state.matter_id
    parts = (state.level, state.cycle, reason) + ((cause,) if cause else ())
    return SlaStarted(event_id=derived_id(m, "sla_started", *parts), matter_id=m, occurred_at=d.started_at,
                      producer=ctx.producer, unit=state.unit, level=state.level, cycle=state.cycle, reason=reason,
                      accept_by=d.accept_by, resolve_by=d.resolve_by, warn_at=list(d.warn_at),
                      policy_version=d.policy_version)


# --- upstream events ----------------------------------------------------------------------


def _report(event: MatterReported, ctx: Context) -> Decision:
    try:
        category = ctx.policy.category(event.category)
    except PolicyError:
        return _reject(None, "unknown_category", f"category {event.category!r} is not in policy {ctx.policy.version}")
    if category.kind != event.kind:
        return _reject(None, "kind_mismatch", f"category {event.category!r} is a {category.kind}, not a {event.kind}")
    if event.place not in ctx.tree:
        return _reject(None, "unknown_place", f"place {event.place!r} is not a unit of the org tree")
    unit = entry_unit(ctx.policy, ctx.tree, event.place, event.category, event.priority)
    at, m = event.occurred_at, event.matter_id
    state = MatterState(matter_id=m, status=NEW, kind=event.kind, category=event.category, priority=event.priority,
                        place=event.place, reported_at=at, unit=unit.unit_id, level=unit.level.label, cycle=1,
                        deadlines=sla.start(ctx.policy, ctx.calendar, unit.level, event.category, event.priority, at),
                        last_at=at, applied=(event.event_id,))
    routed = MatterRouted(event_id=derived_id(m, "routed"), matter_id=m, occurred_at=at, producer=ctx.producer,
                          place=event.place, unit=unit.unit_id, level=unit.level.label,
                          policy_version=ctx.policy.version)
    return Decision(state, (event, routed, _sla_started(state, "arrived", ctx)))


# Which statuses each upstream event may meet; while suspended only these two apply.
_ALLOWED: dict[type, frozenset[str]] = {
    MatterAccepted: frozenset({NEW}),
    MatterDispatched: frozenset({ACCEPTED, DISPATCHED, CLAIMED}),
    MatterClaimed: frozenset({ACCEPTED, DISPATCHED}),
    MatterSuspended: OPEN,
    MatterResumed: OPEN,
    MatterResolved: frozenset({ACCEPTED, DISPATCHED, CLAIMED}),
    MatterVerified: frozenset({RESOLVED}),
    VerificationFailed: frozenset({RESOLVED}),
    FeedbackGiven: frozenset({RESOLVED, CLOSED}),
    MatterReopened: frozenset({RESOLVED, CLOSED}),
    MatterCancelled: OPEN | {RESOLVED},
    EscalationRequested: OPEN,
}
_WHILE_SUSPENDED = (MatterResumed, MatterCancelled)


def _refusal(state: MatterState, event: Event, ctx: Context) -> Rejection | None:
    verb, status = event.TYPE, state.status
    allowed = _ALLOWED[type(event)]

    def no(code: str, why: str = "") -> Rejection:
        return Rejection(code, f"cannot apply {verb} to matter {state.matter_id}: it is {state.describe()}{why}")

    if status not in allowed:
        if status in (CLOSED, CANCELLED):
            return no(status)
        if allowed <= {RESOLVED, CLOSED}:
            return no("not_resolved")
        if status == RESOLVED:
            return no("resolved")
        if status == NEW:
            return no("not_accepted")
        return no("already_claimed" if isinstance(event, MatterClaimed) else "already_accepted")
    if state.suspended and not isinstance(event, _WHILE_SUSPENDED):
        return no("already_suspended" if isinstance(event, MatterSuspended) else "suspended")
    if isinstance(event, MatterResumed) and not state.suspended:
        return no("not_suspended")
    if isinstance(event, MatterAccepted) and event.unit != state.unit:
        return no("not_holder", f"; {event.unit} does not hold it")
    if isinstance(event, MatterResolved) and event.unit not in ctx.tree:
        return no("unknown_unit", f"; {event.unit} is not a unit of the org tree")
    if isinstance(event, FeedbackGiven) and state.feedback is not None:
        return no("feedback_given", "; feedback was already given for this resolution")
    if isinstance(event, EscalationRequested) and escalation_target(ctx.tree, state.unit) is None:
        return no("top_level", "; there is no level above")
    return None


def _status(new_status: str):
    def apply(state, event, at, ctx):
        return replace(state, status=new_status), [event]
    return apply


def _suspend(state, event, at, ctx):
    return replace(state, suspended_at=at), [event]


def _resume(state, event, at, ctx):
    moved = sla.shift(ctx.calendar, state.deadlines, state.suspended_at, at)
    new = replace(state, suspended_at=None, deadlines=moved)
    return new, [event, _sla_started(new, "resumed", ctx, cause=event.event_id)]


def _resolve(state, event, at, ctx):
    new = replace(state, status=RESOLVED, resolved_at=at, resolved_level=state.level, feedback=None)
    return new, [event.replace(level=state.level)]


def _feedback(state, event, at, ctx):
    return replace(state, feedback=event.satisfaction), [event]


def _reopen(state, event, at, ctx):
    """Rework and reopening restart the clock at the level that resolved it, as a new cycle."""
    new = replace(_arrive(state, state.unit, Level.parse(state.level), state.cycle + 1, at, ctx), feedback=None)
    return new, [event, _sla_started(new, "reopened", ctx)]


def _whistle(state, event, at, ctx):
    reason = "whistle" if event.reason == "needs_help" else "authority"
    new, out = _escalate(state, escalation_target(ctx.tree, state.unit), reason, at, ctx)
    return new, [event, *out]


_APPLY = {
    MatterAccepted: _status(ACCEPTED),
    MatterDispatched: _status(DISPATCHED),
    MatterClaimed: _status(CLAIMED),
    MatterSuspended: _suspend,
    MatterResumed: _resume,
    MatterResolved: _resolve,
    MatterVerified: _status(CLOSED),
    VerificationFailed: _reopen,
    FeedbackGiven: _feedback,
    MatterReopened: _reopen,
    MatterCancelled: _status(CANCELLED),
    EscalationRequested: _whistle,
}
