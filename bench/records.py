"""The intake records the suites publish, encoded once and kept as bytes.

- ``city_stream``: the simulator's stream of a city (reports, accepts, dispatches, resolutions,
  feedback, ... and a watermark every 15 simulated minutes, one copy per intake partition, as
  the SDK sends it), cut at ``n`` records: for the event clock.
- ``reports``: ``reported`` events only, for open matters nobody takes: for the wall clock.
"""
from __future__ import annotations

import random
from datetime import timedelta
from typing import Callable, Iterator

from bench.stack import Record
from events import codec
from events import policy as policy_module
from events.levels import Level
from events.orgtree import OrgTree
from events.types import CHANNELS
from gridflow.demo import Bar
from gridflow.sdk import EventFactory, Publisher
from gridflow.settings import Settings
from gridflow.simulate.plan import Plan
from gridflow.simulate.texts import DEFAULT_REPORT, REPORTS

PRODUCER = "gridflow-bench"


class _Layout:
    """The one thing ``Publisher.copies`` asks of its producer: the intake's partitions."""

    def __init__(self, partitions: int) -> None:
        self._partitions = set(range(partitions))

    def partitions_for(self, topic: str) -> set[int]:
        return self._partitions


def city_stream(tree: OrgTree, n: int, *, partitions: int, seed: int = 1) -> list[Record]:
    """The first ``n`` intake records of a simulated year of ``tree``'s matters (watermark copies
    have a partition, events none: Kafka's partitioner places them by key)."""
    layout = Publisher(Settings(partitions=partitions), producer=PRODUCER, check_categories=False,
                       kafka_producer=_Layout(partitions))
    plan = Plan(tree, policy_module.load(None), days=365, seed=seed, watermark_every=timedelta(minutes=15))
    out: list[Record] = []
    bar = Bar()
    for event in plan:
        for partition, copy in layout.copies(event):
            out.append((copy.matter_id.encode("utf-8"), codec.encode(copy), partition))
        if len(out) >= n:
            break
        if len(out) % 5000 < partitions:
            bar.show("simulating", len(out) / n, f"{len(out):,}/{n:,} records (day {plan.progress.day:.1f})")
    bar.show("simulating", 1.0, f"{n:,} records, {plan.progress.day:.1f} simulated days", force=True)
    bar.end()
    return out[:n]


def reports(tree: OrgTree, n: int, *, at: Callable[[int], int], seed: int = 1,
            priorities: tuple[str, ...] = ("low", "normal")) -> Iterator[Record]:
    """``n`` reports of new matters at the city's grids and compounds; report ``i`` happened at
    ``at(i)`` (UTC ms). Priorities without urgent: their deadlines are hours away."""
    policy = policy_module.load(None)
    factory = EventFactory(PRODUCER, policy=policy)
    rng = random.Random(seed)
    places = [u for u in tree if u.level in (Level.GRID, Level.COMPOUND)]
    categories = sorted(policy.categories)
    for i in range(n):
        category, place = rng.choice(categories), rng.choice(places)
        text = rng.choice(REPORTS.get(category, DEFAULT_REPORT)).format(place=place.name)
        event = factory.reported(category=category, place=place.unit_id, reporter=f"r-{rng.getrandbits(40):010x}",
                                 text=text, priority=rng.choice(priorities), channel=rng.choice(CHANNELS), at=at(i))
        yield event.matter_id.encode("utf-8"), codec.encode(event), None
