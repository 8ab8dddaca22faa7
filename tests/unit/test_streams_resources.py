"""The resources list in the worker, without Kafka: a partition judges resource events and keeps
them in the directory, claims and resolutions move the load (hold records), and a follower fed
the resources log and the holds rebuilds the same directory (recovery)."""
from __future__ import annotations

from types import SimpleNamespace

from events import codec
from events.resources import Directory
from events.state import Context
from events.types import REGISTRY
from streams import metrics
from streams.partition import Partition, Rules, hold_key
from streams.pending import Pending
from streams.resourcesource import ResourceFollower
from test_state import DEFAULTS, H, MIN, T0, World
from test_streams import PARTITIONS, home

INTAKE = "unit.matters.intake"


def on(number: int, prefix: str, nth: int = 0) -> str:
    return [f"{prefix}{i}" for i in range(200) if home(f"{prefix}{i}") == number][nth]


def make(type_name: str, key: str, n: int, at: int, **data):
    payload = {**DEFAULTS.get(type_name, {}), **data}
    return REGISTRY[type_name](event_id=f"{key}-{n}", matter_id=key, occurred_at=at, producer="t", **payload)


def register(rid: str, n: int = 0, **data):
    body = {"kind": "member", "categories": ["document_delivery"], "covers": ["k1"], "capacity": 1, **data}
    return make("resource_registered", rid, n, T0, **body)


class Worker:
    """The partitions of one worker sharing one directory, fed record by record."""

    def __init__(self):
        self.directory = Directory()
        base = World().ctx
        self.ctx = Context(base.policy, base.tree, base.calendar, resources=self.directory)
        rules = Rules(self.ctx, log_topic="unit.matters.events", partitions=PARTITIONS, clock="event")
        self.parts = [Partition(n, rules) for n in range(PARTITIONS)]
        self.log, self.dead, self.resource_log, self.holds = [], [], [], []
        self.offset = 0

    def feed(self, event) -> Pending:
        number = home(event.matter_id)
        record = SimpleNamespace(topic=INTAKE, partition=number, offset=self.offset, key=event.matter_id.encode(),
                                 value=codec.encode(event))
        self.offset += 1
        out = Pending()
        self.parts[number].handle(record, out)
        self.log += [codec.decode(v) for _, _, v in out.log]
        self.dead += [codec.decode_deadletter(v) for _, _, v in out.dead]
        self.resource_log += [(p, k, v) for p, k, v in out.resources]
        self.holds += self.parts[number].take_holds()
        return out


def test_resource_events_are_judged_kept_and_logged_and_refusals_are_dead_lettered():
    w = Worker()
    rid = on(0, "res-")
    w.feed(register(rid))
    w.feed(register(rid, 1))  # registered twice
    out = w.feed(register(rid))  # the very same event again
    w.feed(make("resource_updated", on(1, "res-"), 2, T0, capacity=2))  # never registered
    assert rid in w.directory and w.directory.get(rid).capacity == 1
    assert [(p, k) for p, k, _ in w.resource_log] == [(0, rid.encode())]
    assert codec.decode(w.resource_log[0][2]).TYPE == "resource_registered"
    assert [(d["stage"], d["reason"].split(":")[0]) for d in w.dead] == [
        ("resources", "already_registered"), ("resources", "unknown_resource")]
    assert out.counts[(metrics.DUPLICATES, ("resources",))] == 1
    assert w.log == []  # resource events never enter the matters' log


def test_a_claim_holds_the_resource_until_the_resolution_and_matching_sees_the_load():
    w = Worker()
    rid = on(0, "res-")
    w.feed(register(rid))
    first, second = on(1, "m-"), on(1, "m-", 1)
    w.feed(make("reported", first, 0, T0, kind="request", category="document_delivery"))
    assert w.log[-1].TYPE == "candidates_proposed" and w.log[-1].candidates == [rid]
    w.feed(make("accepted", first, 1, T0 + MIN, unit="g1"))
    w.feed(make("dispatched", first, 2, T0 + 2 * MIN, resource=rid))
    w.feed(make("claimed", first, 3, T0 + 3 * MIN, resource=rid))
    assert w.directory.load(rid) == 1
    assert w.holds == [(hold_key(rid, first), codec.pack([rid, first, T0 + 3 * MIN]))]
    # capacity 1, held: the next order finds everyone busy
    w.feed(make("reported", second, 0, T0 + 4 * MIN, kind="request", category="document_delivery"))
    assert (w.log[-1].TYPE, w.log[-1].reason) == ("no_resource", "all_busy")
    w.feed(make("resolved", first, 4, T0 + 5 * MIN, unit="g1"))
    assert w.directory.load(rid) == 0 and w.holds[-1] == (hold_key(rid, first), None)


def test_a_follower_fed_the_resources_log_and_the_holds_rebuilds_the_same_directory():
    w = Worker()
    rid, other = on(0, "res-"), on(1, "res-")
    w.feed(register(rid))
    w.feed(register(other, covers=["cm"], capacity=3))
    w.feed(make("resource_updated", rid, 1, T0 + MIN, capacity=2))
    w.feed(make("resource_withdrawn", other, 2, T0 + 2 * MIN))
    m = on(1, "m-")
    w.feed(make("reported", m, 0, T0, kind="request", category="document_delivery"))
    w.feed(make("accepted", m, 1, T0 + MIN, unit="g1"))
    w.feed(make("claimed", m, 2, T0 + 2 * MIN, resource=rid))

    fresh = Directory()
    follower = ResourceFollower("unused:9092", "r.events", "r.holds", fresh)
    for _, key, value in w.resource_log:
        follower.apply("r.events", key, value)
    for key, value in w.holds:
        follower.apply("r.holds", key, value)
    assert fresh.resources == w.directory.resources and fresh.holds == w.directory.holds
    for _, key, value in w.resource_log:  # read again (a restart): nothing changes
        follower.apply("r.events", key, value)
    assert fresh.resources == w.directory.resources
    follower.apply("r.events", b"x", b"\xc1 junk")  # never written by a worker: skipped, counted
    assert follower.skipped == 1 and len(fresh) == 2


def test_points_awarded_reach_every_worker_through_the_holds_and_redemptions_through_the_log():
    w = Worker()
    rid, m = on(0, "res-"), on(1, "m-")
    w.feed(register(rid))
    w.feed(make("reported", m, 0, T0, kind="request", category="document_delivery"))
    w.feed(make("accepted", m, 1, T0 + MIN, unit="g1"))
    w.feed(make("claimed", m, 2, T0 + 2 * MIN, resource=rid))
    w.feed(make("resolved", m, 3, T0 + 30 * MIN, unit="g1"))
    w.feed(make("verified", m, 4, T0 + 40 * MIN))
    assert w.log[-1].TYPE == "points_awarded" and w.directory.balance(rid) == 15
    w.feed(make("points_redeemed", rid, 5, T0 + H, points=10))
    w.feed(make("points_redeemed", rid, 6, T0 + H, points=10))
    assert w.directory.balance(rid) == 5 and w.dead[-1]["reason"].startswith("insufficient_points")

    fresh = Directory()
    follower = ResourceFollower("unused:9092", "r.events", "r.holds", fresh)
    for key, value in w.holds:
        follower.apply("r.holds", key, value)
    for _, key, value in w.resource_log:
        follower.apply("r.events", key, value)
    for key, value in w.holds:  # read again: each award counts once
        follower.apply("r.holds", key, value)
    assert fresh.balance(rid) == 5 and fresh.awarded == {rid: 15}
