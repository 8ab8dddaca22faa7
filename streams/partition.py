"""One partition this worker owns: the states of its matters, their next timers, its clock.

In memory and synchronous. ``handle`` takes one intake record through ``classify`` and the
pure state machine and collects what must be written into a ``Pending`` batch; ``fire_due``
does the same for the timers the clock has passed ("the scanner proposes, the owner decides":
both run here, one writer per matter). ``take_writes`` hands the changed states to the
processor, which writes them to the state topic only after the batch's outputs are in Kafka.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from events import codec
from events.resources import decide_resource
from events.state import CLAIMED, Context, MatterState, decide
from events.types import RESOURCE_TYPES, DeadlineReached, Event
from streams import metrics, states
from streams.deadlines import Timers
from streams.errors import OrgBehind
from streams.intake import Bad, classify, redriven_code
from streams.pending import Pending

STAGE = "matters"
RESOURCES_STAGE = "resources"  # refused resource events (events.resources.RESOURCE_REJECTIONS)
WALL, EVENT = "wall", "event"
NAMES_UNIT = {"reported": "place", "resolved": "unit"}  # event type -> its field the tree must know


@dataclass(frozen=True)
class Rules:
    """What every partition of a worker shares."""

    ctx: Context
    log_topic: str  # the event log's name, for the metrics
    partitions: int  # of the intake topic: a matter's partition is murmur2(id) % partitions
    clock: str  # wall | event
    grace_ms: int = 0  # wall clock: a timer fires this long after it is due
    scan_limit: int = 10_000  # timers fired per partition per batch; the rest wait for the next


def hold_key(resource_id: str, matter_id: str) -> bytes:
    """The holds topic's key of one claimed order: ``<resource>\x00<matter>``."""
    return f"{resource_id}\x00{matter_id}".encode("utf-8")


AWARD_PREFIX = b"\x01award\x00"  # no identifier starts with \x01: never a resource's hold


def award_key(event_id: str) -> bytes:
    """The holds topic's key of one points_awarded: ``\x01award\x00<event id>`` (each award once)."""
    return AWARD_PREFIX + event_id.encode("utf-8")


class Partition:
    def __init__(self, number: int, rules: Rules, saved: dict[bytes, bytes] | None = None) -> None:
        self.number, self.rules = number, rules
        self.states: dict[str, bytes] = {}
        self.watermark: int | None = None  # event clock: the newest watermark on this partition
        self.timers = Timers()
        self.open: Counter[str] = Counter()  # level -> open matters
        self.newest_at = 0  # the newest upstream event time handled (wall clock lag)
        self.changelog_next = -1  # offset after our last state record; -1: not known
        self._touched: dict[str, MatterState] = {}
        self._clock_moved = False
        self.hold_writes: list[tuple[bytes, bytes | None]] = []  # for the holds topic, with the batch's outputs
        self.org_gate = False  # raise OrgBehind for an unknown unit instead of deciding (streams/orgfollow.py)
        for key, raw in (saved or {}).items():
            self.restore(key, raw)

    # --- recovery ---------------------------------------------------------------------------

    def restore(self, key: bytes, raw: bytes, *, adopt: bool = False) -> None:
        """Take one record of the state topic back (recovery); ``adopt``: a state of an older
        worker, to be written to the state topic with the next batch."""
        if key == states.CLOCK_KEY:
            self.watermark = states.load_clock(raw)
            return
        state = states.load(raw)
        self.states[state.matter_id] = raw
        self._track(state.matter_id, None, state)
        if adopt:
            self._touched[state.matter_id] = state

    def adopt_clock(self, watermark: int) -> None:
        """An event clock an older worker left: kept, and written with the next batch."""
        self.watermark, self._clock_moved = watermark, True

    # --- the clock --------------------------------------------------------------------------

    def now(self, wall_ms: int | None = None) -> int | None:
        """The instant timers due at or before it may fire (None: not yet known)."""
        if self.rules.clock == WALL:
            return (wall_ms if wall_ms is not None else int(time.time() * 1000)) - self.rules.grace_ms
        return None if self.watermark is None else self.watermark - 1  # strictly before the watermark

    def stream_time(self) -> int | None:
        """What "now" is for an incoming event (events far past it are from the future)."""
        if self.rules.clock == WALL:
            return int(time.time() * 1000)
        return self.watermark

    # --- records ----------------------------------------------------------------------------

    def handle(self, record, out: Pending) -> None:
        if getattr(record, "headers", None):  # `gridflow deadletters redrive` says what it re-sends
            code = redriven_code(record.headers)
            if code is not None:
                out.count(metrics.REDRIVEN, code)
        got = classify(record.value, self.number, self.rules.partitions)
        if isinstance(got, Bad):
            out.count(metrics.EVENTS_IN, record.topic, got.type or got.code)
            out.count(metrics.DEADLETTERS, got.stage, got.code)
            out.deadletter(record, got)
            return
        if self.org_gate and (name := NAMES_UNIT.get(got.TYPE)) and getattr(got, name) not in self.rules.ctx.tree:
            raise OrgBehind(getattr(got, name))  # nothing changed yet: the record is handled again
        out.count(metrics.EVENTS_IN, record.topic, got.TYPE)
        if got.TYPE == "watermark":
            self.advance(got.occurred_at, out)
            return
        if got.TYPE in RESOURCE_TYPES:
            self._decide_resource(got, record, out)
            return
        self._decide(got, record, out)

    def _decide_resource(self, event: Event, record, out: Pending) -> None:
        """A resource event: judged against the directory (this partition is its one writer),
        then kept in the directory at once and written to the resources log with the batch."""
        directory = self.rules.ctx.resources
        decision = decide_resource(directory.get(event.matter_id), event, self.rules.ctx)
        if decision.duplicate:
            out.count(metrics.DUPLICATES, RESOURCES_STAGE)
            return
        if decision.rejected is not None:
            code = decision.rejected.code
            out.count(metrics.DEADLETTERS, RESOURCES_STAGE, code)
            out.deadletter(record, Bad(RESOURCES_STAGE, code, decision.rejected.message, event.event_id, event.TYPE))
            return
        directory.put(decision.resource)
        out.resources.append((self.number, event.matter_id.encode("utf-8"), codec.encode(event)))

    def advance(self, watermark: int, out: Pending) -> None:
        """A watermark: event time passed it on this partition; in event mode fire what is due."""
        if self.watermark is None or watermark > self.watermark:
            self.watermark, self._clock_moved = watermark, True
        if self.rules.clock == EVENT:
            self.fire_due(self.now(), out)

    def _decide(self, event: Event, record, out: Pending) -> None:
        matter_id = event.matter_id
        old = self.state(matter_id)
        decision = decide(old, event, self.rules.ctx, now=self.stream_time())
        if decision.duplicate:
            out.count(metrics.DUPLICATES, STAGE)
            return
        new = decision.state
        self._emit(decision.emit, new or old, out)
        if decision.rejected is not None:
            code = decision.rejected.code
            out.count(metrics.DEADLETTERS, STAGE, code)
            out.deadletter(record, Bad(STAGE, code, decision.rejected.message, event.event_id, event.TYPE))
        if new is not old and new is not None:
            self._put(matter_id, old, new)
        if self.rules.clock == WALL:
            self.newest_at = max(self.newest_at, event.occurred_at)
            out.latencies.append(time.time() - event.occurred_at / 1000)

    # --- timers -----------------------------------------------------------------------------

    def fire_due(self, now: int | None, out: Pending) -> int:
        """Fire every timer due at or before ``now`` (up to the scan limit); returns how many."""
        if now is None:
            return 0
        due = self.timers.pop_due(now, self.rules.scan_limit)
        ctx = self.rules.ctx
        for d in due:
            old = self.state(d.matter_id)
            proposal = DeadlineReached(event_id="timer", matter_id=d.matter_id, occurred_at=d.due,
                                       producer=ctx.producer, cycle=d.cycle, deadline=d.deadline, due_at=d.due)
            decision = decide(old, proposal, ctx)
            self._emit(decision.emit, decision.state or old, out)
            if decision.state is not old and decision.state is not None:
                self._put(d.matter_id, old, decision.state)
            else:
                self._track(d.matter_id, old, old)  # a stale timer: set the current one again
        if due:
            out.count(metrics.PROPOSALS, n=len(due))
        return len(due)

    # --- states -----------------------------------------------------------------------------

    def state(self, matter_id: str) -> MatterState | None:
        touched = self._touched.get(matter_id)
        if touched is not None:
            return touched
        raw = self.states.get(matter_id)
        return None if raw is None else states.load(raw)

    def _put(self, matter_id: str, old: MatterState | None, new: MatterState) -> None:
        self._touched[matter_id] = new
        self._track(matter_id, old, new)
        if new.resource is not None or (old is not None and old.resource is not None):
            self._holds(matter_id, old, new)

    def _holds(self, matter_id: str, old: MatterState | None, new: MatterState) -> None:
        """A resource holds an order from its claim until it is resolved, cancelled, escalated or
        dispatched elsewhere: the load matching reads, kept on the holds topic for every worker."""
        was = old.resource if old is not None and old.status == CLAIMED else None
        now = new.resource if new.status == CLAIMED else None
        if was == now:
            return
        directory = self.rules.ctx.resources
        if was is not None:
            self.hold_writes.append((hold_key(was, matter_id), None))
            if directory is not None:
                directory.release(was, matter_id)
        if now is not None:
            self.hold_writes.append((hold_key(now, matter_id), codec.pack([now, matter_id, new.last_at])))
            if directory is not None:
                directory.hold(now, matter_id)

    def _track(self, matter_id: str, old: MatterState | None, new: MatterState | None) -> None:
        timer = new.next_timer() if new is not None else None
        self.timers.set(matter_id, (timer.due, new.cycle, timer.deadline) if timer else None)
        if old is not None and old.is_open:
            self.open[old.level] -= 1
        if new is not None and new.is_open:
            self.open[new.level] += 1

    def _emit(self, emitted: tuple[Event, ...], state: MatterState | None, out: Pending) -> None:
        if not emitted:
            return
        key, p = emitted[0].matter_id.encode("utf-8"), self.number
        category = state.category if state is not None else "unknown"
        for event in emitted:
            out.log.append((p, key, codec.encode(event)))
            kind = event.TYPE
            out.count(metrics.EVENTS_OUT, self.rules.log_topic, kind)
            if kind == "sla_warning":
                out.count(metrics.SLA_WARNINGS, event.level, category)
            elif kind == "sla_breached":
                out.count(metrics.SLA_BREACHES, event.level, category, event.deadline)
            elif kind == "escalated":
                out.count(metrics.ESCALATIONS, event.from_level, event.reason)
            elif kind == "resolved":
                out.count(metrics.RESOLVED, event.level)
            elif kind == "points_awarded":
                self._award(event)

    def _award(self, event: Event) -> None:
        """Points for a resource, counted at once here and, through the holds topic, by every
        worker (the resource's owner decides redemptions against them)."""
        directory = self.rules.ctx.resources
        if directory is not None:
            directory.award(event.resource, event.event_id, event.points)
        self.hold_writes.append((award_key(event.event_id), codec.pack([event.resource, event.points])))

    def take_holds(self) -> list[tuple[bytes, bytes | None]]:
        """The holds records of the claims and releases since the last call."""
        writes, self.hold_writes = self.hold_writes, []
        return writes

    def take_writes(self) -> list[tuple[bytes, bytes]]:
        """The state records of everything changed since the last call: (key, value)."""
        writes = []
        for matter_id, state in self._touched.items():
            raw = states.dump(state)
            self.states[matter_id] = raw
            writes.append((matter_id.encode("utf-8"), raw))
        self._touched.clear()
        if self._clock_moved:
            writes.append((states.CLOCK_KEY, states.dump_clock(self.watermark)))
            self._clock_moved = False
        return writes
