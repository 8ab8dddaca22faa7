"""The event types of a matter's life: frozen, typed, versioned records named in the past tense.

Every event carries the envelope (``event_id``, ``matter_id``, ``occurred_at`` in UTC
milliseconds since the epoch, ``producer``) plus its own payload fields. Each payload field
is declared with ``spec(...)``; validation, the JSON Schema and the docs are all derived
from these declarations, so they cannot drift apart.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

from events.identifiers import ID_MAX
from events.levels import LEVEL_NAMES

KINDS = ("incident", "request")
PRIORITIES = ("low", "normal", "urgent")
CHANNELS = ("app", "hotline", "patrol", "wechat", "mailbox", "visit")
SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")
CANCEL_REASONS = ("invalid", "duplicate", "withdrawn")
WHISTLE_REASONS = ("needs_help", "beyond_authority")
ESCALATION_REASONS = ("breach", "whistle", "authority")
DEADLINES = ("accept", "resolve", "claim")  # claim: a resource was dispatched to and did not claim
RESOURCE_KINDS = ("unit", "member", "service")  # co-building unit, party member, service or project
GAP_REASONS = ("no_cover", "all_busy")
POINTS_REASONS = ("service", "satisfied")
LIST_MAX = 64  # items in a list field
SLA_REASONS = ("arrived", "resumed", "reopened")

TEXT_MAX = 2000


def spec(kind: type, *, doc: str, choices: tuple[str, ...] | None = None, optional: bool = False,
         max_len: int = ID_MAX, item: type | None = None, ident: bool | None = None) -> Any:
    """Declare a payload field. ``optional`` fields default to None.

    ``ident``: the value is an identifier (``events.identifiers``). By default every short
    string without a fixed list of choices is one; only free text and version strings are not.
    A list of ``str`` items holds identifiers unless ``ident=False`` (then ``max_len`` bounds
    each item); a list of ``int`` items holds instants (epoch ms); any list has at most
    ``LIST_MAX`` items.
    """
    if ident is None:
        ident = (kind is str or item is str) and choices is None and max_len <= ID_MAX
    meta = {"kind": kind, "doc": doc, "choices": choices, "optional": optional,
            "max_len": max_len, "item": item, "ident": ident}
    if optional:
        return field(default=None, metadata=meta)
    return field(metadata=meta)


@dataclass(frozen=True, kw_only=True)
class Event:
    """Envelope shared by every event."""

    event_id: str
    matter_id: str
    occurred_at: int  # UTC, milliseconds since the Unix epoch
    producer: str

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    DERIVED: ClassVar[bool] = False  # emitted by the pipeline, never accepted from upstream
    INTERNAL: ClassVar[bool] = False  # travels between workers, never written to the log
    EXAMPLE: ClassVar[dict] = {}
    PAYLOAD: ClassVar[tuple[str, ...]] = ()  # payload field names, in declaration order
    FIELDS: ClassVar[frozenset[str]] = frozenset()  # envelope and payload field names

    @property
    def occurred(self) -> datetime:
        return datetime.fromtimestamp(self.occurred_at / 1000, tz=timezone.utc)

    def payload(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.PAYLOAD}

    def replace(self, **changes: Any) -> "Event":
        """A copy with ``changes`` (only existing fields)."""
        unknown = changes.keys() - self.FIELDS
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        attrs = self.__dict__
        return self._from_values({**{name: attrs[name] for name in self.FIELDS}, **changes})  # fields only

    @classmethod
    def derive(cls, **values: Any) -> "Event":
        """Build an event from values the pipeline computed itself, every field given. The frozen
        dataclass ``__init__`` sets fields one by one; the state machine builds one or two
        events per input, and this is three times faster."""
        missing = cls.FIELDS - values.keys()
        if missing:
            raise TypeError(f"{cls.__name__}: missing field {sorted(missing)[0]!r}")
        return cls._from_values(values)

    @classmethod
    def _from_values(cls, values: dict[str, Any]) -> "Event":
        new = object.__new__(cls)
        new.__dict__.update(values)
        return new


ENVELOPE = ("event_id", "matter_id", "occurred_at", "producer")
REGISTRY: dict[str, type[Event]] = {}


def payload_fields(cls: type[Event]) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.name not in ENVELOPE]


def event(type_name: str, *, version: int = 1, derived: bool = False,
          internal: bool = False, example: dict | None = None):
    """Register a frozen event class under its wire type name."""

    def wrap(cls):
        cls = dataclass(frozen=True, kw_only=True)(cls)
        cls.TYPE, cls.VERSION, cls.DERIVED, cls.INTERNAL = type_name, version, derived, internal
        cls.EXAMPLE = example or {}
        cls.PAYLOAD = tuple(f.name for f in payload_fields(cls))
        cls.FIELDS = frozenset((*ENVELOPE, *cls.PAYLOAD))
        if type_name in REGISTRY:
            raise TypeError(f"event type {type_name!r} registered twice")
        REGISTRY[type_name] = cls
        return cls

    return wrap


def ms(dt: datetime) -> int:
    """A timezone-aware datetime as UTC epoch milliseconds."""
    if dt.tzinfo is None:
        raise ValueError("occurred_at: expected a timezone-aware datetime, got a naive one")
    return int(dt.timestamp() * 1000)


# --- reported by upstream apps ------------------------------------------------------------


@event("reported", example={"kind": "incident", "category": "elder_fraud", "priority": "urgent",
                            "channel": "patrol", "place": "u-beijiang-c03",
                            "reporter": "r-7f3a9c", "text": "Crowd of elderly people sold fake health products"})
class MatterReported(Event):
    """A resident, grid worker or building head reports an incident or orders a service."""

    kind: str = spec(str, choices=KINDS, doc="incident (a problem to fix) or request (a service ordered)")
    category: str = spec(str, doc="category from the routing policy, e.g. sanitation, elderly_care")
    priority: str = spec(str, choices=PRIORITIES, doc="how urgent the matter is")
    channel: str = spec(str, choices=CHANNELS, doc="how it reached the pipeline")
    place: str = spec(str, doc="org unit id where it happened, usually a compound or grid")
    reporter: str = spec(str, doc="pseudonymous reporter id (never a name or phone number)")
    text: str = spec(str, max_len=TEXT_MAX, doc="free-text description; stays in the log, never in ClickHouse")


@event("accepted", example={"unit": "u-beijiang-g02", "handler": "h-grid-0211"})
class MatterAccepted(Event):
    """The unit currently holding the matter takes responsibility for it (受理)."""

    unit: str = spec(str, doc="org unit id that accepted")
    handler: str = spec(str, doc="pseudonymous id of the person who accepted")


@event("dispatched", example={"unit": "u-beijiang-g02", "handler": "h-pm-0042", "resource": "res-pm-0042"})
class MatterDispatched(Event):
    """The holding unit assigns the matter to a handler, a unit or a registered resource (派单).
    Naming a ``resource`` starts a claim deadline: the resource must claim in time."""

    unit: str = spec(str, optional=True, doc="org unit or co-building unit id it was sent to")
    handler: str = spec(str, optional=True, doc="pseudonymous id of the handler it was sent to")
    resource: str = spec(str, optional=True, doc="registered resource it was sent to (社区派单); only it may "
                         "claim, within the policy's claim deadline")


@event("claimed", example={"handler": "h-pm-0042", "unit": "cb-telecom-sanshui", "resource": "res-pm-0042"})
class MatterClaimed(Event):
    """A handler, party member or co-building unit takes the order (接单)."""

    handler: str = spec(str, doc="pseudonymous id of the handler who claimed it")
    unit: str = spec(str, optional=True, doc="co-building unit the handler acts for")
    resource: str = spec(str, optional=True, doc="registered resource taking the order (党员接单); the first valid "
                         "claim wins, a later one is refused already_claimed")


@event("suspended", example={"reason": "waiting for the gas company's survey"})
class MatterSuspended(Event):
    """The clock stops (挂起); deadlines move by the paused time on resume."""

    reason: str = spec(str, max_len=TEXT_MAX, doc="why the matter is paused")


@event("resumed", example={})
class MatterResumed(Event):
    """The clock runs again (解挂)."""


@event("resolved", example={"unit": "u-beijiang-g02", "handler": "h-grid-0211", "level": "grid"})
class MatterResolved(Event):
    """The matter is handled (办结). ``level`` is the level holding the matter when it was resolved."""

    unit: str = spec(str, doc="org unit id whose handler resolved it")
    handler: str = spec(str, doc="pseudonymous id of who resolved it")
    level: str = spec(str, choices=LEVEL_NAMES, optional=True,
                      doc="level holding the matter; upstream may omit it, the event log always has it")


@event("verified", example={"verifier": "h-comm-0007"})
class MatterVerified(Event):
    """The resolution is checked and accepted (核查通过); the matter is closed (结案)."""

    verifier: str = spec(str, doc="pseudonymous id of the verifier")


@event("verification_failed", example={"verifier": "h-comm-0007", "reason": "rubbish still piled at gate 3"})
class VerificationFailed(Event):
    """The resolution is rejected (核查不通过): rework at the level that resolved it."""

    verifier: str = spec(str, doc="pseudonymous id of the verifier")
    reason: str = spec(str, max_len=TEXT_MAX, doc="what was not done")


@event("feedback", example={"contacted": True, "solved": True, "satisfaction": "basically_satisfied"})
class FeedbackGiven(Event):
    """The resident's return visit answers (回访): contacted? solved? satisfied?"""

    contacted: bool = spec(bool, doc="the resident was contacted (响应)")
    solved: bool = spec(bool, doc="the resident says the problem is solved (解决)")
    satisfaction: str = spec(str, choices=SATISFACTION, doc="satisfied / basically satisfied / unsatisfied (满意)")


@event("reopened", example={"reason": "resident unsatisfied: leak is back"})
class MatterReopened(Event):
    """A resolved matter comes back; the clock restarts at the level that resolved it."""

    reason: str = spec(str, max_len=TEXT_MAX, doc="why it was reopened")


@event("cancelled", example={"reason": "duplicate", "duplicate_of": "m-2026-000187"})
class MatterCancelled(Event):
    """The matter is withdrawn, invalid, or a duplicate of another matter."""

    reason: str = spec(str, choices=CANCEL_REASONS, doc="why it was cancelled")
    duplicate_of: str = spec(str, optional=True, doc="matter id it duplicates; required when reason is duplicate")


@event("escalation_requested", example={"handler": "h-grid-0211", "reason": "beyond_authority",
                                        "note": "illegal extension needs urban management"})
class EscalationRequested(Event):
    """A handler blows the whistle (吹哨): the level asks the level above to take over."""

    handler: str = spec(str, doc="pseudonymous id of who asked")
    reason: str = spec(str, choices=WHISTLE_REASONS, doc="needs help, or beyond this level's authority")
    note: str = spec(str, optional=True, max_len=TEXT_MAX, doc="free text")


# --- 社区吹哨、部门报到: a whistle summons units, each reports in ------------------------------


@event("summoned", example={"unit": "cb-gas-sanshui", "handler": "h-comm-0007"})
class UnitSummoned(Event):
    """The community blows the whistle (吹哨): a named department or co-building unit is called in
    on the matter and must report in within the policy's ``whistle.report_within``."""

    unit: str = spec(str, doc="department or co-building unit summoned (need not be in the org tree)")
    handler: str = spec(str, doc="pseudonymous id of who blew the whistle")


@event("reported_in", example={"unit": "cb-gas-sanshui", "handler": "h-cb-0042"})
class UnitReportedIn(Event):
    """A summoned unit reports for duty (报到); late is recorded too, after its ``report_in_missed``."""

    unit: str = spec(str, doc="the summoned unit")
    handler: str = spec(str, doc="pseudonymous id of who reported in for it")


# --- the resources list (资源清单), published by upstream apps -----------------------------
# A resource event's envelope ``matter`` is the resource id: the key and the partition follow
# it, so one writer validates each resource. Resource events never enter the matters' log.


@event("resource_registered", example={"kind": "member", "categories": ["document_delivery", "elderly_care"],
                                       "covers": ["u-beijiang-g02"], "capacity": 2,
                                       "availability": ["mon-fri 18:00-21:00", "sat-sun 09:00-17:00"],
                                       "unit": "cb-telecom-sanshui"})
class ResourceRegistered(Event):
    """A co-building unit, a party member (双报到) or a service/project joins the resources list."""

    kind: str = spec(str, choices=RESOURCE_KINDS, doc="unit (co-building unit), member (registered party "
                     "member) or service (a service or project on offer, usually with a schedule)")
    categories: list = spec(list, item=str, doc="categories of the policy it serves")
    covers: list = spec(list, item=str, doc="org units it serves (a unit covers everything below it)")
    capacity: int = spec(int, doc="orders it can hold at once (at least 1)")
    availability: list = spec(list, item=str, ident=False, max_len=32, optional=True,
                              doc="weekly windows in China time, e.g. 'mon-fri 09:00-17:00'; none: always")
    unit: str = spec(str, optional=True, doc="co-building unit a member or service belongs to")


@event("resource_updated", example={"capacity": 3, "covers": ["u-beijiang-g02", "u-beijiang-g03"]})
class ResourceUpdated(Event):
    """A registered resource changes what it offers; the fields given replace the old values."""

    categories: list = spec(list, item=str, optional=True, doc="categories it serves, replacing the old list")
    covers: list = spec(list, item=str, optional=True, doc="org units it serves, replacing the old list")
    capacity: int = spec(int, optional=True, doc="orders it can hold at once (at least 1)")
    availability: list = spec(list, item=str, ident=False, max_len=32, optional=True,
                              doc="weekly windows, replacing the old ones; [] means always available")


@event("resource_withdrawn", example={"reason": "moved"})
class ResourceWithdrawn(Event):
    """The resource leaves the list: no new candidates, dispatches or claims; orders it holds stay."""

    reason: str = spec(str, optional=True, max_len=TEXT_MAX, doc="free text; stays in the log")


@event("points_redeemed", example={"points": 30, "note": "5 kg of rice at the 积分超市"})
class PointsRedeemed(Event):
    """A member or unit spends points (积分兑换); keyed by the resource id like the events above.
    Refused ``insufficient_points`` when the balance the pipeline knows does not cover it."""

    points: int = spec(int, doc="points spent (at least 1)")
    note: str = spec(str, optional=True, max_len=TEXT_MAX, doc="what for; free text, stays in the log")


# --- derived by the pipeline (ids computed from their cause) ------------------------------


@event("routed", derived=True, example={"place": "u-beijiang-c03", "unit": "u-beijiang-g02",
                                        "level": "grid", "policy_version": "2026.2"})
class MatterRouted(Event):
    """The entry unit chosen from the reported place, the category and the priority."""

    place: str = spec(str, doc="reported place")
    unit: str = spec(str, doc="entry unit: the place's ancestor at the entry level")
    level: str = spec(str, choices=LEVEL_NAMES, doc="entry level")
    policy_version: str = spec(str, ident=False, doc="routing policy version used")


@event("sla_started", derived=True, example={"unit": "u-beijiang-g02", "level": "grid", "cycle": 1,
                                             "reason": "arrived", "accept_by": 1767261600000,
                                             "resolve_by": 1767628800000,
                                             "warn_at": [1767542400000, 1767594240000],
                                             "policy_version": "2026.2"})
class SlaStarted(Event):
    """Deadlines at a level, computed from the arrival time there. Re-issued on resume and reopen."""

    unit: str = spec(str, doc="unit holding the matter")
    level: str = spec(str, choices=LEVEL_NAMES, doc="its level")
    cycle: int = spec(int, doc="arrival number: 1 at routing, +1 per escalation or reopening")
    reason: str = spec(str, choices=SLA_REASONS, doc="why the deadlines were (re)computed")
    accept_by: int = spec(int, doc="accept deadline, UTC epoch ms")
    resolve_by: int = spec(int, doc="resolve deadline, UTC epoch ms")
    warn_at: list = spec(list, item=int, doc="warning instants before resolve_by, UTC epoch ms")
    policy_version: str = spec(str, ident=False, doc="SLA policy version used")


@event("sla_warning", derived=True, example={"unit": "u-beijiang-g02", "level": "grid", "cycle": 1,
                                             "threshold": 0.8, "due_at": 1767628800000})
class SlaWarning(Event):
    """A share of the resolve time has elapsed (预警)."""

    unit: str = spec(str, doc="unit holding the matter")
    level: str = spec(str, choices=LEVEL_NAMES, doc="its level")
    cycle: int = spec(int, doc="arrival number")
    threshold: float = spec(float, doc="share of the resolve time elapsed, e.g. 0.8")
    due_at: int = spec(int, doc="the resolve deadline warned about, UTC epoch ms")


@event("sla_breached", derived=True, example={"unit": "u-beijiang-g02", "level": "grid", "cycle": 1,
                                              "deadline": "resolve", "due_at": 1767628800000})
class SlaBreached(Event):
    """A level missed its accept or resolve deadline (超时)."""

    unit: str = spec(str, doc="unit that missed it")
    level: str = spec(str, choices=LEVEL_NAMES, doc="its level")
    cycle: int = spec(int, doc="arrival number")
    deadline: str = spec(str, choices=DEADLINES, doc="which deadline")
    due_at: int = spec(int, doc="the deadline, UTC epoch ms")


@event("escalated", derived=True, example={"from_unit": "u-beijiang-g02", "from_level": "grid",
                                           "to_unit": "u-beijiang", "to_level": "community",
                                           "reason": "breach", "cycle": 2})
class MatterEscalated(Event):
    """The matter moves from a unit to its parent unit, one level up (上报)."""

    from_unit: str = spec(str, doc="unit that hands it over")
    from_level: str = spec(str, choices=LEVEL_NAMES, doc="its level")
    to_unit: str = spec(str, doc="parent unit that takes it")
    to_level: str = spec(str, choices=LEVEL_NAMES, doc="its level")
    reason: str = spec(str, choices=ESCALATION_REASONS, doc="deadline breach, whistle, or beyond authority")
    cycle: int = spec(int, doc="arrival number at the new level")


@event("candidates_proposed", derived=True, example={"unit": "u-beijiang-g02", "level": "grid", "cycle": 1,
                                                     "category": "document_delivery",
                                                     "candidates": ["res-pm-0042", "cb-telecom-sanshui"],
                                                     "scores": [0.95, 0.61], "policy_version": "2026.2"})
class CandidatesProposed(Event):
    """On arrival at a level, the resources that could take the order, best first (匹配)."""

    unit: str = spec(str, doc="unit holding the matter")
    level: str = spec(str, choices=LEVEL_NAMES, doc="its level")
    cycle: int = spec(int, doc="arrival number")
    category: str = spec(str, doc="the need's category")
    candidates: list = spec(list, item=str, doc="resource ids, best first (at most the policy's max_candidates)")
    scores: list = spec(list, item=float, doc="each candidate's score between 0 and 1, same order")
    policy_version: str = spec(str, ident=False, doc="policy version whose ranking rule was used")


@event("no_resource", derived=True, example={"unit": "u-beijiang-g02", "level": "grid", "cycle": 1,
                                             "category": "elderly_care", "reason": "no_cover",
                                             "policy_version": "2026.2"})
class NoResource(Event):
    """A need no resource can take at this level: a gap on the resources list (缺口)."""

    unit: str = spec(str, doc="unit holding the matter")
    level: str = spec(str, choices=LEVEL_NAMES, doc="its level")
    cycle: int = spec(int, doc="arrival number")
    category: str = spec(str, doc="the need's category")
    reason: str = spec(str, choices=GAP_REASONS, doc="no_cover: no active resource serves the category at the "
                       "place; all_busy: those that do hold as many orders as their capacity")
    policy_version: str = spec(str, ident=False, doc="policy version whose ranking rule was used")


@event("report_in_missed", derived=True, example={"unit": "cb-gas-sanshui", "summoned_at": 1767254400000,
                                                  "due_at": 1767261600000})
class ReportInMissed(Event):
    """A summoned unit did not report in by its deadline (报到超时): recorded at the deadline."""

    unit: str = spec(str, doc="the summoned unit")
    summoned_at: int = spec(int, doc="when it was summoned, UTC epoch ms")
    due_at: int = spec(int, doc="its report-in deadline, UTC epoch ms")


@event("points_awarded", derived=True, example={"resource": "res-pm-0042", "category": "document_delivery",
                                                "reason": "service", "points": 15, "on_time": True})
class PointsAwarded(Event):
    """Points for a completed service (积分): on verification, to the resource that claimed the order
    (the policy's points for the category, plus its on-time bonus); on the resident's satisfied
    feedback, the satisfaction bonus."""

    resource: str = spec(str, doc="the resource that claimed and served the order")
    category: str = spec(str, doc="the order's category")
    reason: str = spec(str, choices=POINTS_REASONS, doc="service (verified) or satisfied (the resident's feedback)")
    points: int = spec(int, doc="points awarded")
    on_time: bool = spec(bool, doc="service: resolved by its resolve deadline (the bonus is included)")


# --- clock and internal proposals ---------------------------------------------------------


@event("watermark", example={})
class Watermark(Event):
    """Event time has reached ``occurred_at`` for this producer: drives timers in simulation and replay.

    ``matter_id`` names the clock source (e.g. the simulator run); it is not a matter."""


@event("deadline_reached", internal=True, example={"cycle": 1, "deadline": "resolve", "due_at": 1767628800000})
class DeadlineReached(Event):
    """The SLA scanner's proposal to the owning agent; never written to the event log."""

    cycle: int = spec(int, doc="arrival number the scanner saw")
    deadline: str = spec(str, choices=DEADLINES + ("warning", "report_in"), doc="which timer fired")
    due_at: int = spec(int, doc="the instant that passed, UTC epoch ms")


RESOURCE_TYPES = ("resource_registered", "resource_updated", "resource_withdrawn", "points_redeemed")
UPSTREAM_TYPES = tuple(t for t, c in REGISTRY.items() if not c.DERIVED and not c.INTERNAL)
DERIVED_TYPES = tuple(t for t, c in REGISTRY.items() if c.DERIVED)
