"""The simulator's ground truth: what really happened to each matter, from its own model.

One JSON object per matter (``GroundTruth.write`` / ``GroundTruth.read``). The pipeline, fed
the simulated stream, must derive exactly the same resolved level and unit, escalations and
breaches: that is what the end-to-end test compares.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from events.levels import LEVEL_NAMES, Level


@dataclass
class MatterTruth:
    matter_id: str
    kind: str
    category: str
    priority: str
    channel: str
    place: str
    reported_at: int  # UTC epoch ms
    entry_level: str
    entry_unit: str
    status: str = "open"  # closed (verified) | resolved | cancelled | open
    level: str = ""  # the level holding the matter at the end
    unit: str = ""
    resolved_level: str | None = None  # level that held it at its last resolution
    resolved_unit: str | None = None
    first_accepted_at: int | None = None
    first_resolved_at: int | None = None
    resolved_at: int | None = None  # last resolution
    closed_at: int | None = None
    cancelled_reason: str | None = None
    escalations: list[dict] = field(default_factory=list)  # {from_level, to_level, to_unit, reason, at, cycle}
    breaches: list[dict] = field(default_factory=list)  # {level, unit, cycle, deadline, at}
    cycles: int = 1
    reworks: int = 0  # verification failures
    reopened: int = 0
    suspended: int = 0
    feedback: dict | None = None  # the last one: {contacted, solved, satisfaction}
    match: str | None = None  # the resources list: matched | gap on arrival (None: not a matched category)
    orders: list[dict] = field(default_factory=list)  # {resource, dispatched_at, claimed_at} per dispatch to one
    summons: list[dict] = field(default_factory=list)  # {unit, summoned_at, due_at, reported_at, missed}
    points: list[dict] = field(default_factory=list)  # {resource, reason: service|satisfied, points}

    @property
    def escalated(self) -> bool:
        return bool(self.escalations)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))


@dataclass
class GroundTruth:
    run_id: str
    seed: int
    start: int  # UTC epoch ms of the first simulated day (00:00 CST)
    days: int
    matters: dict[str, MatterTruth] = field(default_factory=dict)
    events: int = 0  # matter events in the stream (watermarks not counted)
    watermarks: int = 0
    last_event_at: int = 0
    # the simulated resources list: {id, kind, categories, covers, communities}
    resources: list[dict] = field(default_factory=list)

    def __iter__(self) -> Iterator[MatterTruth]:
        return iter(self.matters.values())

    def __len__(self) -> int:
        return len(self.matters)

    def summary(self) -> dict:
        """The headline numbers the pipeline's statistics must reproduce."""
        resolved = [m for m in self if m.resolved_level]
        by_level = Counter(m.resolved_level for m in resolved)
        n = len(resolved) or 1
        at_or_below = lambda level: sum(c for lv, c in by_level.items() if Level.parse(lv) >= level) / n
        return {
            "matters": len(self), "events": self.events, "watermarks": self.watermarks,
            "incidents": sum(m.kind == "incident" for m in self), "requests": sum(m.kind == "request" for m in self),
            "resolved": len(resolved), "closed": sum(m.status == "closed" for m in self),
            "cancelled": sum(m.status == "cancelled" for m in self), "open": sum(m.status == "open" for m in self),
            "resolved_by_level": {lv: by_level.get(lv, 0) for lv in LEVEL_NAMES},
            "share_by_level": {lv: by_level.get(lv, 0) / n for lv in LEVEL_NAMES},
            "grid_or_below": at_or_below(Level.GRID), "community_or_below": at_or_below(Level.COMMUNITY),
            "escalated_matters": sum(m.escalated for m in self),
            "escalations": dict(Counter(e["reason"] for m in self for e in m.escalations)),
            "escalations_from": dict(Counter(e["from_level"] for m in self for e in m.escalations)),
            "breaches": dict(Counter(f"{b['level']}:{b['deadline']}" for m in self for b in m.breaches)),
            "reworks": sum(m.reworks for m in self), "reopened": sum(m.reopened > 0 for m in self),
            "suspended": sum(m.suspended > 0 for m in self),
            "feedback": dict(Counter(m.feedback["satisfaction"] for m in self if m.feedback)),
            "lists": self.lists(),
        }

    def lists(self) -> dict:
        """The three lists' figures (projections/lists.py) as the simulator knows them."""
        needs = Counter(m.category for m in self if m.kind == "request")
        resources = Counter(c for r in self.resources for c in r["categories"])
        waits = sorted((m.orders[0]["claimed_at"] - m.orders[0]["dispatched_at"]) / 1000 for m in self if m.orders)
        n = len(waits)
        orders = Counter(r for m in self for r in {o["resource"] for o in m.orders})
        points: Counter = Counter()
        for m in self:
            for award in m.points:
                points[award["resource"]] += award["points"]
        communities: Counter = Counter()
        for r in self.resources:  # no redemptions in the simulation: a balance is what was awarded
            for c in r.get("communities", ()):
                communities[c] += points.get(r["id"], 0)
        wishes = [m for m in self if m.category == "micro_wish" and m.status != "cancelled"]
        return {
            "wishes": {"collected": len(wishes), "claimed": sum(bool(m.orders) for m in wishes),
                       "fulfilled": sum(m.status == "closed" for m in wishes)},
            "supply": {c: {"needs": needs.get(c, 0), "resources": resources.get(c, 0)}
                       for c in sorted(set(needs) | set(resources))},
            "matched": sum(m.match == "matched" for m in self), "gap": sum(m.match == "gap" for m in self),
            "claimed": n,
            "claim_seconds": {name: waits[min(int(q * n), n - 1)] for name, q in (("p50", 0.5), ("p80", 0.8))}
            if n else None,
            "orders": dict(orders),
            "summoned": sum(len(m.summons) for m in self),
            "report_ins_missed": sum(s["missed"] for m in self for s in m.summons),
            "report_ins_on_time": sum(not s["missed"] for m in self for s in m.summons),
            "points": dict(points),
            "points_by_community": {c: n for c, n in communities.items() if n},
        }

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        head = {"run_id": self.run_id, "seed": self.seed, "start": self.start, "days": self.days,
                "events": self.events, "watermarks": self.watermarks, "last_event_at": self.last_event_at,
                "resources": self.resources}
        with path.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps({"run": head}) + "\n")
            for matter in self:
                fh.write(matter.to_json() + "\n")
        return path

    @classmethod
    def read(cls, path: str | Path) -> "GroundTruth":
        with Path(path).open(encoding="utf-8") as fh:
            truth = cls(**json.loads(fh.readline())["run"])
            for line in fh:
                matter = MatterTruth(**json.loads(line))
                truth.matters[matter.matter_id] = matter
        return truth
