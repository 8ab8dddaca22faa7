"""The simulated stream: matters arriving over N days, each planned by ``lifecycle.Planner``,
merged into one time-ordered stream of upstream events with watermarks every few simulated
minutes. Pure: no Kafka; ``simulate`` publishes what this yields.

After the last arrival day the stream keeps going ("draining") until every matter is closed
or cancelled, so the ground truth is final and nothing hangs on the last watermark.
"""
from __future__ import annotations

import heapq
import random
import uuid
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterator

from events.calendar import CST, DAY_MS, Calendar
from events.levels import Level
from events.orgtree import OrgTree
from events.policy import Policy
from events.types import Event, Watermark
from gridflow.sdk.factory import EventFactory
from gridflow.simulate import model as m
from gridflow.simulate import texts
from gridflow.simulate.lifecycle import HOUR, Planner, Report
from gridflow.simulate.model import Model
from gridflow.simulate.resources import CAPACITY, Coverage, resources_for
from gridflow.simulate.truth import GroundTruth

PRODUCER = "gridflow-simulator"
NAMESPACE = uuid.UUID("2b0f4c9e-7d1a-5e63-9c84-1f5a6d3e8b27")
DEFAULT_START = date(2026, 3, 2)  # a Monday; the calendar knows 2026's holidays


def matters_per_day_for(grids: int) -> int:
    """About one matter per grid every three days: 3,000 grids -> 1,000 a day, 30,000 a month."""
    return max(1, round(grids / 3))


@dataclass(frozen=True)
class Progress:
    """Where a run is: simulated time, and what has been emitted so far."""

    at: int  # simulated time reached, UTC epoch ms
    day: float  # simulated days since the start (may exceed ``days`` while draining)
    days: int
    matters: int
    events: int
    watermarks: int
    draining: bool


class Plan:
    """Iterate to get the events in time order; ``truth`` is complete once iterated."""

    def __init__(self, tree: OrgTree, policy: Policy, calendar: Calendar | None = None, *, days: int = 30,
                 seed: int = 1, matters_per_day: int | None = None, start: date | datetime | None = None,
                 model: Model | None = None, watermark_every: timedelta = timedelta(minutes=15),
                 drain_watermark_every: timedelta = timedelta(hours=1), run_id: str | None = None,
                 producer: str = PRODUCER, resources: bool = False) -> None:
        self.tree, self.policy, self.calendar = tree, policy, calendar or Calendar()
        self.days, self.seed, self.model = days, seed, model or Model()
        start = start or DEFAULT_START
        if isinstance(start, datetime):
            start = start.astimezone(CST).date()
        self.start_ms = int(datetime(start.year, start.month, start.day, tzinfo=CST).timestamp() * 1000)
        self.end_ms = self.start_ms + days * DAY_MS  # arrivals stop here; the stream drains after
        self.interval_ms = int(watermark_every.total_seconds() * 1000)
        # Draining, events are sparse and every timer that fires is followed by an event of its
        # matter (which fires it anyway): watermarks there only keep the live numbers fresh.
        self.drain_interval_ms = int(drain_watermark_every.total_seconds() * 1000)
        if self.interval_ms <= 0 or self.drain_interval_ms <= 0:
            raise ValueError("watermark_every: expected a positive interval")
        self.matters_per_day = matters_per_day or matters_per_day_for(
            sum(1 for u in tree if u.level == Level.GRID))
        # Same parameters, same ids (a re-run is a no-op for the pipeline); other parameters,
        # other matter ids, so two different runs never collide on one topic.
        params = (seed, len(tree), days, self.matters_per_day, self.start_ms, self.interval_ms,
                  self.drain_interval_ms, policy.version, repr(self.model)) + (("resources",) if resources else ())
        # The resources list (三张清单): registered a day before the first matter, published first.
        self.resources = resources_for(tree) if resources else []
        self.run_id = run_id or f"s{seed}-{zlib.crc32(repr(params).encode()) & 0xFFFF:04x}"
        self.clock_id = f"clock-{self.run_id}"
        self.truth = GroundTruth(self.run_id, seed, self.start_ms, days,
                                 resources=[dict(id=r.resource_id, kind=r.kind, categories=list(r.categories),
                                                 covers=list(r.covers), communities=communities(tree, r.covers))
                                            for r in self.resources])
        self.factory = EventFactory(producer, clock_id=self.clock_id)
        self.now = self.start_ms  # simulated time of the newest event yielded
        self._consumed = False

    @property
    def progress(self) -> Progress:
        t = self.truth
        return Progress(self.now, (self.now - self.start_ms) / DAY_MS, self.days, len(t), t.events, t.watermarks,
                        self.now > self.end_ms)

    def __iter__(self) -> Iterator[Event]:
        if self._consumed:
            raise RuntimeError("a Plan can be iterated once; make a new one (same seed, same stream)")
        self._consumed = True
        return self._stream()

    # -- the merge -------------------------------------------------------------------------

    def _stream(self) -> Iterator[Event]:
        rng = random.Random(self.seed)
        coverage = Coverage(self.tree, self.policy, self.resources) if self.resources else None
        planner = Planner(self.tree, self.policy, self.calendar, self.model, rng, coverage)
        for r in self.resources:
            yield self.factory.resource_registered(
                r.resource_id, kind=r.kind, categories=list(r.categories), covers=list(r.covers), capacity=CAPACITY,
                unit=r.unit, at=self.start_ms - DAY_MS,
                event_id=str(uuid.uuid5(NAMESPACE, f"{self.run_id}|{r.resource_id}|registered")))
        heap: list[tuple[int, int, str, str, dict]] = []  # (at, seq, matter, method, kwargs)
        seq = 0
        next_wm = self.start_ms + self.interval_ms
        numbers: dict[str, int] = {}

        def until(limit: int) -> Iterator[Event]:
            nonlocal next_wm
            while True:
                t_event = heap[0][0] if heap else None
                if t_event is not None and t_event <= next_wm and t_event < limit:
                    at, _, matter, method, kwargs = heapq.heappop(heap)
                    n = numbers[matter] = numbers.get(matter, 0) + 1
                    yield self._build(matter, method, at, n, kwargs)
                elif next_wm < limit and (heap or next_wm <= self.end_ms):
                    yield self._watermark(next_wm)
                    next_wm += self.interval_ms if next_wm < self.end_ms else self.drain_interval_ms
                else:
                    return

        for report in self._arrivals(rng):
            yield from until(report.at)
            actions, truth = planner.plan(report)
            self.truth.matters[report.matter_id] = truth
            for at, method, kwargs in actions:
                seq += 1
                heapq.heappush(heap, (at, seq, report.matter_id, method, kwargs))
        yield from until(2 ** 62)  # drain: every matter to its end, watermarks all along
        yield self._watermark(next_wm)  # one past the last event: every timer that can fire has fired

    def _build(self, matter: str, method: str, at: int, n: int, kwargs: dict) -> Event:
        event_id = str(uuid.uuid5(NAMESPACE, f"{self.run_id}|{matter}|{n}"))
        if method == "reported":
            event = self.factory.reported(at=at, event_id=event_id, **kwargs)
        else:
            event = getattr(self.factory, method)(matter, at=at, event_id=event_id, **kwargs)
        self.truth.events += 1
        self.truth.last_event_at = self.now = at
        return event

    def _watermark(self, at: int) -> Watermark:
        self.truth.watermarks += 1
        self.now = at
        return self.factory.watermark(at, event_id=str(uuid.uuid5(NAMESPACE, f"{self.clock_id}|{at}")))

    # -- arrivals --------------------------------------------------------------------------

    def _arrivals(self, rng: random.Random) -> Iterator[Report]:
        compounds = [u.unit_id for u in self.tree if u.level == Level.COMPOUND]
        grids = [u.unit_id for u in self.tree if u.level == Level.GRID]
        names = {u.unit_id: u.name for u in self.tree if u.level >= Level.GRID}
        categories = sorted(self.policy.categories)
        weights = [self.model.category_weights.get(c, m.DEFAULT_CATEGORY_WEIGHT) for c in categories]
        hours = list(range(24))
        number = 0
        for day in range(self.days):
            day_ms = self.start_ms + day * DAY_MS
            local = datetime.fromtimestamp(day_ms / 1000, tz=CST).date()
            mean = self.matters_per_day * (m.WORKDAY_FACTOR if self.calendar.is_workday(local) else m.RESTDAY_FACTOR)
            count = max(0, round(rng.gauss(mean, mean ** 0.5)))
            times = sorted(day_ms + h * HOUR + rng.randrange(HOUR)
                           for h in rng.choices(hours, m.HOURLY, k=count))
            for at in times:
                number += 1
                category = rng.choices(categories, weights)[0]
                kind = self.policy.category(category).kind
                priority = rng.choices(("low", "normal", "urgent"),
                                       m.PRIORITY_WEIGHTS.get(category, m.DEFAULT_PRIORITY))[0]
                channel = rng.choices(("app", "hotline", "patrol", "wechat", "mailbox", "visit"),
                                      m.CHANNEL_WEIGHTS[kind])[0]
                at_grid = m.PATROL_AT_GRID if channel == "patrol" else m.RESIDENT_AT_GRID
                place = rng.choice(grids) if rng.random() < at_grid or not compounds else rng.choice(compounds)
                reporter = (f"h-grid-{rng.randrange(100_000):05d}" if channel == "patrol"
                            else f"r-{rng.getrandbits(24):06x}")
                text = rng.choice(texts.REPORTS.get(category, texts.DEFAULT_REPORT)).format(place=names[place])
                yield Report(f"m-{self.run_id}-{number:06d}", at, category, kind, priority, channel, place,
                             reporter, text)


def plan(tree: OrgTree, policy: Policy, calendar: Calendar | None = None, **options) -> Plan:
    """The simulated stream for ``days`` days (see ``Plan``); pure and deterministic for a seed."""
    return Plan(tree, policy, calendar, **options)


def communities(tree, covers) -> list[str]:
    """The communities a resource serves: those of its covered units at or below community level."""
    return sorted({tree.ancestor_at(u, Level.COMMUNITY).unit_id for u in covers
                   if tree.get(u) is not None and tree.get(u).level >= Level.COMMUNITY})
