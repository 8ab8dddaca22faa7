"""The resources list on the real Kafka broker with a real worker process: two party members
claim the same order at the same moment and exactly one wins; a resident's order at a
compound flows candidates → dispatch → claim → resolution → verification, the claim holds the
resource until the resolution, and a restarted worker rebuilds the list from its topics."""
from __future__ import annotations

import threading
import time

import pytest

from events import codec
from events.types import REGISTRY
from streams_fixtures import MIN, T0, H, Log, Publisher, WorkerProcess, running, stream_env  # noqa: F401

pytestmark = pytest.mark.integration


def ev(type_name: str, key: str, n: int, at: int, **data):
    return REGISTRY[type_name](event_id=f"{key}-{n:02d}-{type_name}", matter_id=key, occurred_at=at,
                               producer="resources-test", **data)


def member(rid: str, covers: list[str], capacity: int = 2):
    return ev("resource_registered", rid, 0, T0 - 60 * MIN, kind="member", covers=covers, capacity=capacity,
              categories=["document_delivery", "elderly_care"])


def order(matter: str, at: int = T0, place: str = "k1"):
    return ev("reported", matter, 0, at, kind="request", category="document_delivery", priority="normal",
              channel="app", place=place, reporter="r-resident-1", text="deliver my social security card")


class Topic:
    """Every record of one topic, read from offset zero, waited on with deadlines."""

    def __init__(self, settings, topic: str):
        from kafka import KafkaConsumer

        self.consumer = KafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap,
                                      auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
        self.records: list = []

    def wait_for(self, condition, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self.records):
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; have {len(self.records)} records",
                            pytrace=False)
            for records in self.consumer.poll(timeout_ms=200).values():
                self.records += [(r.key, r.value) for r in records]

    def close(self) -> None:
        self.consumer.close()


def of(log: Log, matter: str) -> list:
    return [e for e in log.events if e.matter_id == matter]


def test_two_members_claim_the_same_order_at_once_and_exactly_one_wins(stream_env, running):
    make, tmp = stream_env
    settings = make(clock="event")
    worker = WorkerProcess(settings, tmp).start()
    pub, log = Publisher(settings), Log(settings, [worker])
    resources = Topic(settings, settings.topics.resources)
    running += [worker, pub, log, resources]
    for rid in ("res-pm-a", "res-pm-b"):
        pub.send(member(rid, ["g1"], capacity=10))
    resources.wait_for(lambda r: len(r) == 2, "both members on the resources log")

    matters = [f"m-race-{i}" for i in range(6)]
    for m in matters:
        pub.send(order(m))
        pub.send(ev("accepted", m, 1, T0 + MIN, unit="g1", handler="h-grid-1"))
    log.wait_until(lambda l: all(any(e.TYPE == "accepted" for e in of(l, m)) for m in matters), "orders accepted")

    # two apps, two producers, released at the same instant: each claims every order
    from kafka import KafkaProducer

    gate = threading.Barrier(2)
    errors: list = []

    def claim_all(rid: str, handler: str) -> None:
        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        try:
            gate.wait(timeout=30)
            futures = [producer.send(settings.topics.intake, key=m.encode(), value=codec.encode(
                ev("claimed", m, 2 if rid.endswith("a") else 3, T0 + 2 * MIN, handler=handler, resource=rid)))
                for m in matters]
            for f in futures:
                f.get(timeout=30)
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            producer.close()

    threads = [threading.Thread(target=claim_all, args=(rid, h)) for rid, h in
               (("res-pm-a", "h-pm-a"), ("res-pm-b", "h-pm-b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors

    refused = lambda l: [d for d in l.deadletters if d["reason"].startswith("already_claimed")]  # noqa: E731
    log.wait_until(lambda l: len(refused(l)) >= len(matters), f"{len(matters)} refused claims", timeout=60)
    for m in matters:
        claims = [e for e in of(log, m) if e.TYPE == "claimed"]
        assert len(claims) == 1, (m, claims)  # exactly one winner per order
    assert len(refused(log)) == len(matters)
    assert all(d["stage"] == "matters" and "it is claimed" in d["reason"] for d in refused(log))
    losers = {codec.decode(d["original"]).matter_id for d in refused(log)}
    assert losers == set(matters)

    holds = Topic(settings, settings.topics.holds)
    running.append(holds)
    holds.wait_for(lambda r: len(r) >= len(matters), "a hold per order")
    winners = {e.matter_id: e.resource for e in log.events if e.TYPE == "claimed"}
    held = {k.decode().split("\x00")[1]: k.decode().split("\x00")[0] for k, v in holds.records if v is not None}
    assert held == winners


def test_a_residents_order_flows_from_candidates_to_verification_and_a_restart_keeps_the_list(stream_env, running):
    make, tmp = stream_env
    settings = make(clock="event")
    worker = WorkerProcess(settings, tmp).start()
    pub, log = Publisher(settings), Log(settings, [worker])
    resources = Topic(settings, settings.topics.resources)
    running += [worker, pub, log, resources]
    pub.send(member("res-pm-near", ["k1"], capacity=1))  # a party member living in the compound
    pub.send(member("res-cb-telecom", ["cm"], capacity=5))  # a co-building unit for the community
    pub.send(ev("resource_updated", "res-cb-telecom", 1, T0 - 30 * MIN, capacity=4))
    pub.send(ev("resource_updated", "res-nobody", 1, T0 - 30 * MIN, capacity=4))  # refused: never registered
    resources.wait_for(lambda r: len(r) == 3, "the resources log")

    m = "m-order-1"
    pub.send(order(m))
    log.wait_until(lambda l: any(e.TYPE == "candidates_proposed" for e in of(l, m)), "candidates")
    proposal = next(e for e in of(log, m) if e.TYPE == "candidates_proposed")
    assert proposal.candidates == ["res-pm-near", "res-cb-telecom"] and proposal.level == "grid"
    best = proposal.candidates[0]
    steps = [ev("accepted", m, 1, T0 + MIN, unit="g1", handler="h-grid-1"),
             ev("dispatched", m, 2, T0 + 2 * MIN, resource=best, handler="h-grid-1"),
             ev("claimed", m, 3, T0 + 3 * MIN, handler="h-pm-near", resource=best),
             ev("resolved", m, 4, T0 + 40 * MIN, unit="g1", handler="h-pm-near"),
             ev("verified", m, 5, T0 + 50 * MIN, verifier="h-comm-1")]
    for step in steps:
        pub.send(step)
    log.wait_until(lambda l: any(e.TYPE == "points_awarded" for e in of(l, m)), "the order verified, points")
    assert [e.TYPE for e in of(log, m)] == ["reported", "routed", "sla_started", "candidates_proposed", "accepted",
                                           "dispatched", "claimed", "resolved", "verified", "points_awarded"]
    award = of(log, m)[-1]  # 积分: document_delivery 10, resolved on time +5
    assert (award.resource, award.reason, award.points, award.on_time) == ("res-pm-near", "service", 15, True)
    assert [d["reason"].split(":")[0] for d in log.deadletters] == ["unknown_resource"]
    assert log.deadletters[0]["stage"] == "resources"
    holds = Topic(settings, settings.topics.holds)
    running.append(holds)
    holds.wait_for(lambda r: len(r) == 3, "the hold, its release and the award")
    assert [(k, v is None) for k, v in holds.records if not k.startswith(b"\x01")] == [
        (b"res-pm-near\x00" + m.encode(), False), (b"res-pm-near\x00" + m.encode(), True)]

    # the member spends what it earned; a balance is never negative
    pub.send(ev("points_redeemed", "res-pm-near", 7, T0 + H, points=10, note="rice"))
    pub.send(ev("points_redeemed", "res-pm-near", 8, T0 + H + MIN, points=10, note="oil"))  # only 5 left
    log.wait_until(lambda l: len(l.deadletters) == 2, "the second redemption refused")
    assert log.deadletters[1]["reason"].startswith("insufficient_points: points_redeemed of resource res-pm-near: "
                                                   "it has 5 points, 10 asked")
    resources.wait_for(lambda r: len(r) == 4, "the first redemption on the resources log")

    # a new worker process reads the list back: the member is known, its capacity free again
    worker.stop()
    again = WorkerProcess(settings, tmp, worker_id="w2").start()
    running.append(again)
    log.workers = [again]
    m2 = "m-order-2"
    pub.send(order(m2, T0 + H))
    pub.send(ev("accepted", m2, 1, T0 + H + MIN, unit="g1", handler="h-grid-1"))
    pub.send(ev("dispatched", m2, 2, T0 + H + 2 * MIN, resource="res-cb-telecom"))
    log.wait_until(lambda l: any(e.TYPE == "dispatched" for e in of(l, m2)), "the second order dispatched",
                   timeout=90)
    proposal = next(e for e in of(log, m2) if e.TYPE == "candidates_proposed")
    assert proposal.candidates == ["res-pm-near", "res-cb-telecom"]
    assert len(log.deadletters) == 2
    # the restarted worker knows the balance too (awards from the holds topic, redemptions from the log)
    pub.send(ev("points_redeemed", "res-pm-near", 9, T0 + 2 * H, points=6, note="soap"))
    pub.send(ev("points_redeemed", "res-pm-near", 10, T0 + 2 * H + MIN, points=5, note="soap"))
    log.wait_until(lambda l: len(l.deadletters) == 3, "the 6-point redemption refused")
    resources.wait_for(lambda r: len(r) == 5, "the 5-point redemption on the resources log")
    assert "it has 5 points, 6 asked" in log.deadletters[2]["reason"]
