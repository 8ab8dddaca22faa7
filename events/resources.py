"""The resources list (资源清单): co-building units, registered party members and services or
projects that can take orders, and the pure rules for changing it.

``decide_resource(current, event, ctx)`` is to a resource what ``events.state.decide`` is to
a matter: given the resource as it is (None before it registers) and one upstream resource
event, the new resource and the event to keep, or a rejection with a bounded code. One writer
per resource: its events are keyed by the resource id, so they meet in one partition.

``Directory`` is what matching reads: every resource by id, indexed by category, and the
orders each one holds (its load). The worker keeps one per process, fed from the resources
topic (streams/resourcesource.py); tests build one by hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

from events import applied as memory
from events import availability
from events.types import Event, PointsRedeemed, ResourceRegistered, ResourceUpdated, ResourceWithdrawn

# Every code a refused resource event can carry (bounded: it is a metric label).
RESOURCE_REJECTIONS = ("already_registered", "unknown_resource", "withdrawn", "unknown_category", "unknown_unit",
                       "conflict", "out_of_order", "insufficient_points")


@dataclass(frozen=True)
class Resource:
    resource_id: str
    kind: str  # unit | member | service
    categories: tuple[str, ...]
    covers: tuple[str, ...]
    capacity: int
    availability: tuple[str, ...]  # the windows' text, as registered
    unit: str | None
    registered_at: int
    updated_at: int
    withdrawn_at: int | None = None
    applied: bytes = b""  # recent applied events (events/applied.py): re-sends are duplicates
    redeemed: int = 0  # points spent (its awards are counted by the Directory)
    windows: tuple[availability.Window, ...] = field(default=(), compare=False, repr=False)

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None

    def to_record(self) -> list:
        """A compact array (what the resources topic carries after the event)."""
        return [1, self.resource_id, self.kind, list(self.categories), list(self.covers), self.capacity,
                list(self.availability), self.unit, self.registered_at, self.updated_at, self.withdrawn_at,
                self.applied, self.redeemed]

    @classmethod
    def from_record(cls, r: list) -> "Resource":
        if not isinstance(r, list) or len(r) != 13 or r[0] != 1:
            raise ValueError("not a version-1 resource record")
        return _built(Resource(r[1], r[2], tuple(r[3]), tuple(r[4]), r[5], tuple(r[6]), r[7], r[8], r[9], r[10],
                               bytes(r[11]), r[12]))


def _built(r: Resource) -> Resource:
    object.__setattr__(r, "windows", availability.parse(r.availability))
    return r


class Rejected(NamedTuple):
    code: str  # one of RESOURCE_REJECTIONS
    message: str


class ResourceDecision(NamedTuple):
    resource: Resource | None  # as it is after the event (unchanged when refused or a duplicate)
    rejected: Rejected | None = None
    duplicate: bool = False


def decide_resource(current: Resource | None, event: Event, ctx) -> ResourceDecision:
    """Apply one resource event. ``ctx`` is an ``events.state.Context`` (policy and org tree)."""
    rid = event.matter_id

    def no(code: str, message: str) -> ResourceDecision:
        return ResourceDecision(current, Rejected(code, f"{event.TYPE} of resource {rid}: {message}"))

    remembered = memory.entry(event)
    if current is not None:
        seen = memory.recall(current.applied, remembered)
        if seen == "duplicate":
            return ResourceDecision(current, duplicate=True)
        if seen == "conflict":
            return no("conflict", f"event {event.event_id} was applied before with other content; "
                                  "send a correction under a new id")
        if event.occurred_at < current.updated_at - ctx.tolerance_ms:
            return no("out_of_order", f"it happened at {event.occurred_at}, before the resource's last change at "
                                      f"{current.updated_at}")
    if isinstance(event, ResourceRegistered):
        if current is not None:
            state = "withdrawn" if not current.active else "registered"
            return no("already_registered", f"the resource is already {state}; use resource_updated, "
                                            "or register under a new id")
    elif current is None:
        return no("unknown_resource", "the resource was never registered")
    elif isinstance(event, PointsRedeemed):  # a withdrawn member may still spend what it earned
        balance = ctx.resources.balance(rid) if ctx.resources is not None else 0
        if event.points > balance:
            return no("insufficient_points", f"it has {balance} points, {event.points} asked; a balance is never "
                                             "negative")
    elif not current.active:
        return no("withdrawn", "the resource was withdrawn")
    bad = _unknown(event, ctx)
    if bad is not None:
        return no(*bad)
    return ResourceDecision(_apply(current, event, remembered))


def replay_resource(current: Resource | None, event: Event) -> Resource | None:
    """An event the resources log holds (decided and accepted before) applied again, without
    judging it a second time: a directory rebuilt from the log ends where the writer was,
    whatever the policy and the tree say today. An event the resource remembers does nothing."""
    remembered = memory.entry(event)
    if current is not None and memory.recall(current.applied, remembered) != "new":
        return current
    if current is None and not isinstance(event, ResourceRegistered):
        return None  # its registration is not in the log (a truncated log): nothing to change
    return _apply(current, event, remembered)


def _apply(current: Resource | None, event: Event, remembered: bytes) -> Resource:
    rid, at = event.matter_id, event.occurred_at
    applied = memory.remember(current.applied if current else b"", remembered)
    if isinstance(event, ResourceRegistered):
        new = Resource(rid, event.kind, tuple(event.categories), tuple(event.covers), event.capacity,
                       tuple(event.availability or ()), event.unit, at, at, None, applied)
    elif isinstance(event, ResourceUpdated):
        new = Resource(rid, current.kind,
                       tuple(event.categories) if event.categories is not None else current.categories,
                       tuple(event.covers) if event.covers is not None else current.covers,
                       event.capacity if event.capacity is not None else current.capacity,
                       tuple(event.availability) if event.availability is not None else current.availability,
                       current.unit, current.registered_at, max(at, current.updated_at), None, applied,
                       current.redeemed)
    elif isinstance(event, ResourceWithdrawn):
        new = Resource(rid, current.kind, current.categories, current.covers, current.capacity,
                       current.availability, current.unit, current.registered_at, max(at, current.updated_at),
                       at, applied, current.redeemed)
    elif isinstance(event, PointsRedeemed):
        new = Resource(rid, current.kind, current.categories, current.covers, current.capacity,
                       current.availability, current.unit, current.registered_at, current.updated_at,
                       current.withdrawn_at, applied, current.redeemed + event.points)
    else:
        raise TypeError(f"not a resource event: {event.TYPE}")
    return _built(new)


def _unknown(event: Event, ctx) -> tuple[str, str] | None:
    for name in getattr(event, "categories", None) or ():
        if name not in ctx.policy.categories:
            return "unknown_category", f"category {name!r} is not in policy {ctx.policy.version}"
    for unit in getattr(event, "covers", None) or ():
        if unit not in ctx.tree:
            return "unknown_unit", f"covered unit {unit!r} is not a unit of the org tree"
    return None


class Directory:
    """Every resource by id, who serves each category, and the orders each one holds.

    Mutable, owned by one thread: the worker's resources follower and its partitions change
    it between decisions, never during one. ``decide`` only reads it.
    """

    def __init__(self, resources: Iterable[Resource] = ()) -> None:
        self.resources: dict[str, Resource] = {}
        self.by_category: dict[str, set[str]] = {}
        self.holds: dict[str, set[str]] = {}  # resource id -> matter ids it holds (claimed, not resolved)
        self.awarded: dict[str, int] = {}  # resource id -> points awarded (points_awarded, each counted once)
        self._awards: set[str] = set()
        for r in resources:
            self.put(r)

    def __len__(self) -> int:
        return len(self.resources)

    def __contains__(self, resource_id: object) -> bool:
        return resource_id in self.resources

    def get(self, resource_id: str) -> Resource | None:
        return self.resources.get(resource_id)

    def put(self, resource: Resource) -> None:
        old = self.resources.get(resource.resource_id)
        if old is not None:
            for c in old.categories:
                self.by_category.get(c, set()).discard(old.resource_id)
        self.resources[resource.resource_id] = resource
        if resource.active:
            for c in resource.categories:
                self.by_category.setdefault(c, set()).add(resource.resource_id)

    def serving(self, category: str) -> set[str]:
        """Ids of the active resources serving ``category``."""
        return self.by_category.get(category, set())

    def hold(self, resource_id: str, matter_id: str) -> None:
        self.holds.setdefault(resource_id, set()).add(matter_id)

    def release(self, resource_id: str, matter_id: str) -> None:
        held = self.holds.get(resource_id)
        if held is not None:
            held.discard(matter_id)
            if not held:
                del self.holds[resource_id]

    def award(self, resource_id: str, award_id: str, points: int) -> None:
        """Points awarded by a matter's partition; the same award (id) counts once."""
        if award_id not in self._awards:
            self._awards.add(award_id)
            self.awarded[resource_id] = self.awarded.get(resource_id, 0) + points

    def balance(self, resource_id: str) -> int:
        """Awarded minus redeemed, as this directory knows it. Awards may arrive late (another
        worker's); redemptions are decided by the resource's one writer: the balance known is
        never above the true one, so a redemption it covers never makes a balance negative."""
        found = self.resources.get(resource_id)
        return self.awarded.get(resource_id, 0) - (found.redeemed if found is not None else 0)

    def load(self, resource_id: str) -> int:
        """Orders the resource holds now."""
        return len(self.holds.get(resource_id, ()))
