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

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from events import applied as memory
from events import sla
from events.calendar import Calendar
from events.errors import PolicyError
from events.ids import derived_id
from events.levels import Level
from events.matching import Need, match
from events.orgtree import OrgTree, OrgUnit
from events.policy import Policy
from events.resources import Directory
from events.routing import entry_unit, escalation_target
from events.types import (RESOURCE_TYPES, CandidatesProposed, NoResource, PointsAwarded, ReportInMissed,
                          UnitReportedIn, UnitSummoned)
from events.types import (DeadlineReached, EscalationRequested, Event, FeedbackGiven, MatterAccepted,
                          MatterCancelled, MatterClaimed, MatterDispatched, MatterEscalated, MatterReopened,
                          MatterReported, MatterResolved, MatterResumed, MatterRouted, MatterSuspended,
                          MatterVerified, SlaBreached, SlaStarted, SlaWarning, VerificationFailed, Watermark)

NEW, ACCEPTED, DISPATCHED, CLAIMED = "new", "accepted", "dispatched", "claimed"
RESOLVED, CLOSED, CANCELLED = "resolved", "closed", "cancelled"
OPEN = frozenset({NEW, ACCEPTED, DISPATCHED, CLAIMED})  # held by a level, clock running unless suspended
STATUSES = (NEW, ACCEPTED, DISPATCHED, CLAIMED, RESOLVED, CLOSED, CANCELLED)

PRODUCER = "gridflow-streams"
APPLIED_MAX = memory.APPLIED_MAX  # applied events remembered per matter (events/applied.py says why 32)

# Every code a rejection can carry (bounded: it is a metric label).
REJECTIONS = ("unknown_matter", "already_reported", "unknown_category", "kind_mismatch", "unknown_place",
              "not_upstream", "out_of_order", "closed", "cancelled", "resolved", "not_resolved",
              "not_accepted", "already_accepted", "already_claimed", "suspended", "already_suspended",
              "not_suspended", "not_holder", "feedback_given", "top_level", "from_future", "unknown_unit",
              "conflict", "not_a_matter", "unknown_resource", "resource_withdrawn", "wrong_resource",
              "already_summoned", "not_summoned", "already_reported_in", "too_many_summons")
SUMMONS_MAX = 16  # units summoned on one matter (a bound on the state's size)
PENDING, REPORTED, MISSED, LATE = 0, 1, 2, 3  # a summons: waiting, reported in, missed, reported in late
REPORT_IN = "report_in"


@dataclass(frozen=True)
class MatterState:
    """One matter as the state machine sees it. Immutable; stored as bytes by
    ``events.state_codec.encode_state`` (schema version ``STATE_SCHEMA``)."""

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
    fired: int = 0  # bit set of this cycle's timers that already fired (events.sla)
    suspended_at: int | None = None
    resolved_at: int | None = None
    resolved_level: str | None = None
    feedback: str | None = None  # satisfaction, once per resolution
    last_at: int = 0  # newest event time applied
    applied: bytes = b""  # recent applied events, 16 bytes each (events/applied.py)
    resource: str | None = None  # the resource it was dispatched to or claimed by, in this cycle
    claim_by: int | None = None  # claim deadline while dispatched to a resource and not yet claimed
    summons: tuple = ()  # (unit, summoned_at, due, PENDING|REPORTED|MISSED|LATE) per unit summoned (吹哨报到)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None

    def timers(self) -> list[sla.Timer]:
        """Pending timers, earliest first; none while suspended, resolved, closed or cancelled."""
        if self.status not in OPEN or self.suspended_at is not None:
            return []
        found = sla.timers(self.deadlines, self.fired, awaiting_accept=self.status == NEW)
        extra = [t for t in (self._claim_timer(), self._summons_timer()) if t is not None]
        return sorted([*found, *extra]) if extra else found

    def next_timer(self) -> sla.Timer | None:
        if self.status not in OPEN or self.suspended_at is not None:
            return None
        timer = sla.next_timer(self.deadlines, self.fired, awaiting_accept=self.status == NEW)
        if self.claim_by is not None:
            claim = self._claim_timer()
            if claim is not None and (timer is None or claim < timer):
                timer = claim
        if self.summons:
            summons = self._summons_timer()
            if summons is not None and (timer is None or summons < timer):
                timer = summons
        return timer

    def _summons_timer(self) -> sla.Timer | None:
        """The earliest report-in deadline of a summoned unit that has not reported in."""
        dues = [(due, unit) for unit, _, due, status in self.summons if status == PENDING]
        if not dues:
            return None
        due, unit = min(dues)
        return sla.Timer(due, 3, REPORT_IN, f"{REPORT_IN}:{unit}", None, 0)

    def _claim_timer(self) -> sla.Timer | None:
        """The claim deadline: pending while dispatched to a resource that has not claimed."""
        if self.claim_by is None or self.status != DISPATCHED or self.fired & sla.CLAIM_BIT:
            return None
        return sla.Timer(self.claim_by, 1, sla.CLAIM, sla.CLAIM, None, sla.CLAIM_BIT)

    def describe(self) -> str:
        where = f"{self.status} at {self.level} {self.unit} (cycle {self.cycle})"
        return where + (" and suspended" if self.suspended else "")

    def evolve(self, **changes: Any) -> "MatterState":
        """A copy with ``changes``. ``dataclasses.replace`` re-runs the frozen ``__init__``
        field by field, a third of ``decide``'s time; copying the attribute dict is not."""
        new = object.__new__(MatterState)
        attrs = new.__dict__
        attrs.update(self.__dict__)
        attrs.update(changes)
        return new



STATE_SCHEMA = 3  # the stored layout; events/state_codec.py has the upcasters from older ones
# Every field set, so that ``evolve`` can make a new matter without the frozen __init__.
_NEW_STATE = MatterState("", NEW, "", "", "", "", 0, "", "", 1, sla.Deadlines(0, 0, 0, (), (), "", "", ""))


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
    # The resources list matching reads (events/resources.py). None, or empty: no matching —
    # a pipeline that keeps no resources list proposes no candidates and records no gaps.
    resources: Directory | None = None

    def __post_init__(self) -> None:
        if self.future_tolerance_ms is None:
            object.__setattr__(self, "future_tolerance_ms", self.policy.future_tolerance.wall_ms)


@dataclass(frozen=True)
class Rejection:
    code: str  # one of REJECTIONS
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class Decision(NamedTuple):
    """What ``decide`` returns (a named tuple: one is built per input, and a tuple is cheapest)."""

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
    if event.TYPE in RESOURCE_TYPES:
        return _reject(state, "not_a_matter", f"{event.TYPE} is about resource {event.matter_id}, not a matter "
                       "(events.resources.decide_resource applies it)")
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
    remembered = memory.entry(event)
    seen = memory.recall(state.applied, remembered)
    if seen == "duplicate":
        return Decision(state, duplicate=True)
    if seen == "conflict":
        return _reject(state, "conflict", f"{event.TYPE} {event.event_id} of matter {state.matter_id}: an event "
                       "with this id and other content was applied before; send a correction under a new id")
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
    if new is state:  # every rule returns a fresh copy today; finish that copy in place, never a shared one
        new = new.evolve()
    new.__dict__.update(last_at=at, applied=memory.remember(state.applied, remembered))
    return Decision(new, (*fired, *out) if fired else tuple(out))


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
    state = state.evolve(fired=state.fired | timer.bit, last_at=max(state.last_at, timer.due))
    if timer.deadline == REPORT_IN:  # a summoned unit did not report in: recorded, nothing escalates
        unit = timer.name.split(":", 1)[1]
        entry = next(e for e in state.summons if e[0] == unit and e[3] == PENDING)
        state = state.evolve(summons=tuple((u, at, due, MISSED if u == unit else st)
                                           for u, at, due, st in state.summons))
        return state, [ReportInMissed.derive(event_id=derived_id(m, "report_in_missed", unit, entry[1]), matter_id=m,
                                             occurred_at=timer.due, producer=ctx.producer, unit=unit,
                                             summoned_at=entry[1], due_at=entry[2])]
    if timer.deadline == sla.CLAIM:  # the dispatched resource did not claim in time
        breach = SlaBreached.derive(event_id=derived_id(m, "sla_breached", level, cycle, sla.CLAIM, timer.due),
                                    matter_id=m, occurred_at=timer.due, producer=ctx.producer, unit=state.unit,
                                    level=level, cycle=cycle, deadline=sla.CLAIM, due_at=timer.due)
        target = escalation_target(ctx.tree, state.unit)
        if target is None:
            return state, [breach]
        state, out = _escalate(state, target, "breach", timer.due, ctx)
        return state, [breach, *out]
    if timer.deadline == sla.WARNING:
        return state, [SlaWarning.derive(event_id=derived_id(m, "sla_warning", level, cycle, timer.threshold), matter_id=m,
                                  occurred_at=timer.due, producer=ctx.producer, unit=state.unit, level=level,
                                  cycle=cycle, threshold=timer.threshold, due_at=state.deadlines.resolve_by)]
    breach = SlaBreached.derive(event_id=derived_id(m, "sla_breached", level, cycle, timer.deadline), matter_id=m,
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
    escalated = MatterEscalated.derive(event_id=derived_id(m, "escalated", state.level, state.cycle), matter_id=m,
                                occurred_at=at, producer=ctx.producer, from_unit=state.unit, from_level=state.level,
                                to_unit=target.unit_id, to_level=target.level.label, reason=reason,
                                cycle=state.cycle + 1)
    new = _arrive(state, target.unit_id, target.level, state.cycle + 1, at, ctx)
    return new, [escalated, _sla_started(new, "arrived", ctx), *_propose(new, at, ctx)]


def _arrive(state: MatterState, unit: str, level: Level, cycle: int, at: int, ctx: Context) -> MatterState:
    deadlines = sla.start(ctx.policy, ctx.calendar, level, state.category, state.priority, at)
    return state.evolve(status=NEW, unit=unit, level=level.label, cycle=cycle, deadlines=deadlines,
                        fired=0, suspended_at=None, last_at=max(state.last_at, at), resource=None, claim_by=None)


def _propose(state: MatterState, at: int, ctx: Context) -> tuple[Event, ...]:
    """On arrival at a level: the candidates from the resources list, or the gap (events/matching.py)."""
    directory = ctx.resources
    if not directory or state.category not in ctx.policy.matching.categories:
        return ()
    found = match(Need(state.category, state.place, at), directory, ctx.tree, ctx.policy)
    m, level, cycle = state.matter_id, state.level, state.cycle
    if found.gap is not None:
        return (NoResource.derive(event_id=derived_id(m, "no_resource", level, cycle), matter_id=m, occurred_at=at,
                                  producer=ctx.producer, unit=state.unit, level=level, cycle=cycle,
                                  category=state.category, reason=found.gap, policy_version=ctx.policy.version),)
    return (CandidatesProposed.derive(event_id=derived_id(m, "candidates_proposed", level, cycle), matter_id=m,
                                      occurred_at=at, producer=ctx.producer, unit=state.unit, level=level,
                                      cycle=cycle, category=state.category,
                                      candidates=[c.resource_id for c in found.candidates],
                                      scores=[c.score for c in found.candidates],
                                      policy_version=ctx.policy.version),)


def _sla_started(state: MatterState, reason: str, ctx: Context, cause: str | None = None) -> SlaStarted:
    d, m = state.deadlines, state.matter_id
    parts = (state.level, state.cycle, reason) + ((cause,) if cause else ())
    return SlaStarted.derive(event_id=derived_id(m, "sla_started", *parts), matter_id=m, occurred_at=d.started_at,
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
    state = _NEW_STATE.evolve(
        matter_id=m, status=NEW, kind=event.kind, category=event.category, priority=event.priority,
        place=event.place, reported_at=at, unit=unit.unit_id, level=unit.level.label, cycle=1,
        deadlines=sla.start(ctx.policy, ctx.calendar, unit.level, event.category, event.priority, at),
        last_at=at, applied=memory.entry(event))
    routed = MatterRouted.derive(event_id=derived_id(m, "routed"), matter_id=m, occurred_at=at, producer=ctx.producer,
                          place=event.place, unit=unit.unit_id, level=unit.level.label,
                          policy_version=ctx.policy.version)
    return Decision(state, (event, routed, _sla_started(state, "arrived", ctx), *_propose(state, at, ctx)))


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
    UnitSummoned: OPEN,
    UnitReportedIn: OPEN,
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
    kind = type(event)
    if kind not in _LIST_RULES:  # the common case: one set lookup for the three lists' rules below
        return None
    if kind is MatterDispatched or kind is MatterClaimed:
        return _resource_refusal(state, event, ctx, no)
    if isinstance(event, UnitSummoned):
        if any(u == event.unit and st == PENDING for u, _, _, st in state.summons):
            return no("already_summoned", f"; {event.unit} is summoned and has not reported in yet")
        if len(state.summons) >= SUMMONS_MAX:
            return no("too_many_summons", f"; {SUMMONS_MAX} units were summoned already")
    if isinstance(event, UnitReportedIn):
        mine = [st for u, _, _, st in state.summons if u == event.unit]
        if not mine:
            return no("not_summoned", f"; {event.unit} was not summoned on it")
        if mine[-1] in (REPORTED, LATE):
            return no("already_reported_in", f"; {event.unit} reported in already")
    return None


_LIST_RULES = frozenset({MatterDispatched, MatterClaimed, UnitSummoned, UnitReportedIn})


def _resource_refusal(state, event, ctx, no) -> Rejection | None:
    """A dispatch or claim naming a resource: it must be on the list and active; a matter
    dispatched to a resource may be claimed by that resource only."""
    named = event.resource
    if isinstance(event, MatterClaimed) and state.status == DISPATCHED and state.resource is not None \
            and named != state.resource:
        return no("wrong_resource", f"; it was dispatched to resource {state.resource}, the claim names "
                  f"{named or 'no resource'}")
    if named is None:
        return None
    found = ctx.resources.get(named) if ctx.resources is not None else None
    if found is None:
        return no("unknown_resource", f"; resource {named} is not on the resources list")
    if not found.active:
        return no("resource_withdrawn", f"; resource {named} was withdrawn")
    return None


def _status(new_status: str):
    def apply(state, event, at, ctx):
        return state.evolve(status=new_status), [event]
    return apply


def _suspend(state, event, at, ctx):
    return state.evolve(suspended_at=at), [event]


def _dispatch(state, event, at, ctx):
    """A dispatch naming a resource starts its claim deadline (policy matching.claim_within);
    one naming only a unit or a handler has none."""
    if event.resource is None:
        return state.evolve(status=DISPATCHED, resource=None, claim_by=None), [event]
    span = ctx.policy.matching.claim_span(state.category)
    claim_by = ctx.calendar.advance(at, span.amount_ms, span.basis)
    return state.evolve(status=DISPATCHED, resource=event.resource, claim_by=claim_by,
                        fired=state.fired & ~sla.CLAIM_BIT), [event]


def _summon(state, event, at, ctx):
    """社区吹哨: the unit must report in within the policy's whistle.report_within, from now."""
    span = ctx.policy.whistle.span(state.category)
    due = ctx.calendar.advance(at, span.amount_ms, span.basis)
    kept = tuple(e for e in state.summons if e[0] != event.unit)  # a unit summoned again: its new summons
    return state.evolve(summons=(*kept, (event.unit, at, due, PENDING))), [event]


def _report_in(state, event, at, ctx):
    """部门报到: in time, or late after its report_in_missed."""
    summons = tuple((u, s_at, due, (REPORTED if st == PENDING else LATE) if u == event.unit else st)
                    for u, s_at, due, st in state.summons)
    return state.evolve(summons=summons), [event]


def _claim(state, event, at, ctx):
    resource = event.resource if event.resource is not None else state.resource
    return state.evolve(status=CLAIMED, resource=resource, claim_by=None), [event]


def _resume(state, event, at, ctx):
    moved = sla.shift(ctx.calendar, state.deadlines, state.suspended_at, at)
    claim_by = None if state.claim_by is None else at + max(0, state.claim_by - state.suspended_at)
    new = state.evolve(suspended_at=None, deadlines=moved, claim_by=claim_by)
    return new, [event, _sla_started(new, "resumed", ctx, cause=event.event_id)]


def _resolve(state, event, at, ctx):
    new = state.evolve(status=RESOLVED, resolved_at=at, resolved_level=state.level, feedback=None)
    return new, [event.replace(level=state.level)]


def _feedback(state, event, at, ctx):
    new = state.evolve(feedback=event.satisfaction)
    if event.satisfaction == "satisfied" and _served_by(state) and ctx.policy.points.satisfied:
        return new, [event, _award(state, "satisfied", ctx.policy.points.satisfied, False, at, ctx)]
    return new, [event]


def _verify(state, event, at, ctx):
    """Closed; the resource that claimed the order earns its service points (积分)."""
    new = state.evolve(status=CLOSED)
    if not _served_by(state):
        return new, [event]
    points = ctx.policy.points
    on_time = state.resolved_at is not None and state.resolved_at <= state.deadlines.resolve_by
    earned = points.for_service(state.category) + (points.on_time if on_time else 0)
    return new, [event, _award(state, "service", earned, on_time, at, ctx)]


def _served_by(state) -> bool:
    """Claimed by a resource in the cycle that resolved it (a dispatch to one leaves claim_by set)."""
    return state.resource is not None and state.claim_by is None


def _award(state, reason: str, points: int, on_time: bool, at: int, ctx) -> Event:
    m = state.matter_id
    return PointsAwarded.derive(event_id=derived_id(m, "points_awarded", state.cycle, reason), matter_id=m,
                                occurred_at=at, producer=ctx.producer, resource=state.resource,
                                category=state.category, reason=reason, points=points, on_time=on_time)


def _reopen(state, event, at, ctx):
    """Rework and reopening restart the clock at the level that resolved it, as a new cycle."""
    new = _arrive(state, state.unit, Level.parse(state.level), state.cycle + 1, at, ctx).evolve(feedback=None)
    return new, [event, _sla_started(new, "reopened", ctx)]


def _whistle(state, event, at, ctx):
    reason = "whistle" if event.reason == "needs_help" else "authority"
    new, out = _escalate(state, escalation_target(ctx.tree, state.unit), reason, at, ctx)
    return new, [event, *out]


_APPLY = {
    MatterAccepted: _status(ACCEPTED),
    MatterDispatched: _dispatch,
    MatterClaimed: _claim,
    MatterSuspended: _suspend,
    MatterResumed: _resume,
    MatterResolved: _resolve,
    MatterVerified: _verify,
    VerificationFailed: _reopen,
    FeedbackGiven: _feedback,
    MatterReopened: _reopen,
    MatterCancelled: _status(CANCELLED),
    EscalationRequested: _whistle,
    UnitSummoned: _summon,
    UnitReportedIn: _report_in,
}
