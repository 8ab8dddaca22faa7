"""The three lists (三张清单) in ClickHouse, on the server and in chdb: resource events from the
resources log and matters from the event log, projected by the live projector, give the
figures of ``gridflow stats --lists`` that this scripted street says they must."""
from __future__ import annotations

import json

import pytest

from events import codec
from events import policy as policy_mod
from events.calendar import Calendar
from events.levels import Level
from events.orgtree import OrgTree, OrgUnit
from events.resources import Directory, decide_resource
from events.state import Context, decide
from events.types import REGISTRY
from projection_support import gridflow, own, project_until_idle, store  # noqa: F401
from projections import lists, orgdim
from projections.report import Scope

pytestmark = pytest.mark.integration

MIN, H = 60_000, 3_600_000
T0 = 1_773_622_800_000  # Monday 2026-03-16 09:00 CST
UNITS = [OrgUnit(u, Level.parse(lv), p, u.upper()) for u, lv, p in [
    ("c", "city", None), ("d", "district", "c"), ("s", "street", "d"), ("cm", "community", "s"),
    ("g1", "grid", "cm"), ("g2", "grid", "cm"), ("k1", "compound", "g1"), ("k2", "compound", "g2")]]


def ev(type_name, key, n, at, **data):
    return REGISTRY[type_name](event_id=f"{key}-{n:02d}", matter_id=key, occurred_at=at, producer="lists-test", **data)


def reported(m, at, category, place):
    kind = policy_mod.load().category(category).kind
    return ev("reported", m, 0, at, kind=kind, category=category, priority="normal", channel="app", place=place,
              reporter="r-1", text="x")


RESOURCE_EVENTS = [
    ev("resource_registered", "res-a", 0, T0 - H, kind="member", categories=["document_delivery"], covers=["k1"],
       capacity=2, unit="cb-telecom"),
    ev("resource_registered", "res-b", 0, T0 - H, kind="unit", categories=["document_delivery", "elderly_care"],
       covers=["cm"], capacity=2),
    ev("resource_updated", "res-b", 1, T0 - 50 * MIN, capacity=3),
    ev("resource_registered", "res-c", 0, T0 - H, kind="member", categories=["micro_wish"], covers=["g2"], capacity=1),
    ev("resource_withdrawn", "res-c", 1, T0 - 40 * MIN),
]
LATER_RESOURCE_EVENTS = [ev("points_redeemed", "res-a", 2, T0 + 4 * H, points=12, note="rice")]
MATTER_EVENTS = [
    reported("m1", T0, "document_delivery", "k1"),  # candidates res-a, res-b
    ev("accepted", "m1", 1, T0 + MIN, unit="g1", handler="h-1"),
    ev("dispatched", "m1", 2, T0 + 2 * MIN, resource="res-a"),
    ev("claimed", "m1", 3, T0 + 10 * MIN, handler="h-pm-a", resource="res-a"),  # 8 minutes after the dispatch
    ev("resolved", "m1", 4, T0 + H, unit="g1", handler="h-pm-a"),
    ev("verified", "m1", 5, T0 + 2 * H, verifier="h-9"),  # 积分: res-a earns 10 + 5 on time
    ev("feedback", "m1", 6, T0 + 3 * H, contacted=True, solved=True, satisfaction="satisfied"),  # + 5
    reported("m2", T0 + H, "document_delivery", "k2"),  # res-b only
    ev("accepted", "m2", 1, T0 + H + MIN, unit="g2", handler="h-2"),
    ev("dispatched", "m2", 2, T0 + H + 5 * MIN, resource="res-b"),
    ev("claimed", "m2", 3, T0 + H + 35 * MIN, handler="h-cb-b", resource="res-b"),  # 30 minutes
    reported("m3", T0 + 2 * H, "elderly_care", "k1"),  # res-b, claimed as an open order (no dispatch)
    ev("accepted", "m3", 1, T0 + 2 * H + MIN, unit="g1", handler="h-1"),
    ev("claimed", "m3", 2, T0 + 2 * H + 3 * MIN, handler="h-cb-b", resource="res-b"),
    reported("m4", T0 + 3 * H, "utility_repair", "k1"),  # nobody serves it: a gap at cm
    reported("m5", T0 + 4 * H, "utility_repair", "k2"),  # another gap at cm
    reported("m6", T0 + 5 * H, "micro_wish", "k2"),  # res-c withdrawn; res-b fits half (related): matched
    ev("accepted", "m6", 1, T0 + 5 * H + MIN, unit="k2", handler="h-2"),
    ev("claimed", "m6", 2, T0 + 5 * H + 3 * MIN, handler="h-cb-b", resource="res-b"),  # 微心愿 claimed
    ev("resolved", "m6", 3, T0 + 6 * H, unit="k2", handler="h-cb-b"),
    ev("verified", "m6", 4, T0 + 7 * H, verifier="h-9"),  # fulfilled
    reported("m9", T0 + 8 * H, "micro_wish", "k1"),  # a micro-wish collected, then withdrawn: not counted
    ev("cancelled", "m9", 1, T0 + 8 * H + MIN, reason="withdrawn"),
    reported("m10", T0 + 9 * H, "micro_wish", "k1"),  # collected, open: the rate's denominator only
    reported("m7", T0 + 6 * H, "sanitation", "k1"),  # an incident: not matched
    ev("accepted", "m7", 1, T0 + 6 * H + MIN, unit="g1", handler="h-1"),
    ev("summoned", "m7", 2, T0 + 6 * H + 2 * MIN, unit="cb-gas", handler="h-1"),  # 社区吹哨: 2 h to report in
    ev("summoned", "m7", 3, T0 + 6 * H + 2 * MIN, unit="dept-urban", handler="h-1"),
    ev("reported_in", "m7", 4, T0 + 6 * H + 32 * MIN, unit="cb-gas", handler="h-gas"),  # in 30 minutes
    ev("reported_in", "m7", 5, T0 + 9 * H, unit="dept-urban", handler="h-urban"),  # late: missed first
    reported("m8", T0 + 7 * H, "sanitation", "k2"),
    ev("accepted", "m8", 1, T0 + 7 * H + MIN, unit="g2", handler="h-2"),
    ev("summoned", "m8", 2, T0 + 7 * H + 2 * MIN, unit="cb-gas", handler="h-2"),
    ev("reported_in", "m8", 3, T0 + 7 * H + 62 * MIN, unit="cb-gas", handler="h-gas"),  # in an hour
]


def logs():
    """The resources log and the event log the worker would write for this street."""
    tree, policy = OrgTree(UNITS), policy_mod.load()
    directory = Directory()
    ctx = Context(policy, tree, Calendar(), resources=directory)
    resources = []
    for e in RESOURCE_EVENTS:
        d = decide_resource(directory.get(e.matter_id), e, ctx)
        assert d.rejected is None, d.rejected
        directory.put(d.resource)
        resources.append((e.matter_id.encode(), codec.encode(e)))
    states, log = {}, []
    for e in MATTER_EVENTS:
        d = decide(states.get(e.matter_id), e, ctx)
        assert d.rejected is None, (e, d.rejected)
        old, states[e.matter_id] = states.get(e.matter_id), d.state
        if d.state.status == "claimed" and d.state.resource:
            directory.hold(d.state.resource, e.matter_id)
        if old is not None and old.status == "claimed" and d.state.status != "claimed":
            directory.release(old.resource, e.matter_id)
        log += [(x.matter_id.encode(), codec.encode(x)) for x in d.emit]
        for x in d.emit:
            if x.TYPE == "points_awarded":
                directory.award(x.resource, x.event_id, x.points)
    for e in LATER_RESOURCE_EVENTS:
        d = decide_resource(directory.get(e.matter_id), e, ctx)
        assert d.rejected is None, d.rejected
        directory.put(d.resource)
        resources.append((e.matter_id.encode(), codec.encode(e)))
    return resources, log


def project(st) -> None:
    from kafka import KafkaProducer

    orgdim.write_units(st, UNITS)
    resources, log = logs()
    producer = KafkaProducer(bootstrap_servers=st.settings.kafka_bootstrap, acks="all")
    try:
        for key, value in resources:
            producer.send(st.settings.topics.resources, key=key, value=value)
        for key, value in log:
            producer.send(st.settings.topics.events, key=key, value=value)
        producer.flush(timeout=60)
    finally:
        producer.close()
    project_until_idle(st.settings, st)


def test_the_lists_equal_what_the_street_did(store):
    project(store)
    got = lists.compute(store, Scope())
    assert got.supply == [
        {"category": "micro_wish", "needs": 3, "resources": 0, "capacity": 0},
        {"category": "document_delivery", "needs": 2, "resources": 2, "capacity": 5},
        {"category": "utility_repair", "needs": 2, "resources": 0, "capacity": 0},
        {"category": "elderly_care", "needs": 1, "resources": 1, "capacity": 3},
    ]
    assert (got.matched, got.gap, got.match_rate) == (6, 2, 6 / 8)
    assert got.claimed == 2 and got.claim_seconds == {"p50": 1800.0, "p80": 1800.0}
    assert got.orders == [{"resource": "res-b", "kind": "unit", "unit": "", "orders": 3},
                          {"resource": "res-a", "kind": "member", "unit": "cb-telecom", "orders": 1}]
    assert got.gaps == [{"unit": "cm", "category": "utility_repair", "gaps": 2, "all_busy": 0}]
    assert got.points == [{"resource": "res-a", "kind": "member", "unit": "cb-telecom", "awarded": 20,
                           "redeemed": 12, "balance": 8},
                          {"resource": "res-b", "kind": "unit", "unit": "", "awarded": 10, "redeemed": 0,
                           "balance": 10}]  # the wish m6: 5 + 5 on time
    assert got.points_by_unit == [{"unit": "cb-telecom", "awarded": 20, "redeemed": 12}]
    # res-a (covers k1) and res-b (covers cm) both serve the community cm
    assert got.points_by_community == [{"community": "cm", "awarded": 30, "redeemed": 12, "balance": 18}]
    assert got.wishes == {"collected": 2, "claimed": 1, "fulfilled": 1} and got.wish_rate == 0.5
    assert got.report_ins == [
        {"unit": "cb-gas", "summoned": 2, "on_time": 2, "missed": 0, "rate": 1.0,
         "seconds": {"p50": 3600.0, "p80": 3600.0}},
        {"unit": "dept-urban", "summoned": 1, "on_time": 0, "missed": 1, "rate": 0.0,
         "seconds": {"p50": 10680.0, "p80": 10680.0}},
    ]

    # a grid: its needs, and the resources that cover it, below or above it
    g2 = lists.compute(store, Scope(unit="g2"))
    assert g2.supply == [
        {"category": "document_delivery", "needs": 1, "resources": 1, "capacity": 3},
        {"category": "micro_wish", "needs": 1, "resources": 0, "capacity": 0},
        {"category": "utility_repair", "needs": 1, "resources": 0, "capacity": 0},
        {"category": "elderly_care", "needs": 0, "resources": 1, "capacity": 3},
    ]
    assert (g2.matched, g2.gap, g2.claimed, g2.claim_seconds) == (2, 1, 1, {"p50": 1800.0, "p80": 1800.0})
    assert g2.wishes == {"collected": 1, "claimed": 1, "fulfilled": 1} and g2.wish_rate == 1.0
    # a window that ends before the open wish was reported, and a category that leaves wishes out
    assert lists.compute(store, Scope(until=T0 + 9 * H)).wishes == {"collected": 1, "claimed": 1, "fulfilled": 1}
    assert lists.compute(store, Scope(categories=("sanitation",))).wish_rate is None
    # a window before res-c withdrew: it counts, for the micro-wishes of g2
    early = lists.compute(store, Scope(unit="g2", until=T0 - 45 * MIN))
    assert {s["category"]: s["resources"] for s in early.supply}["micro_wish"] == 1


@pytest.mark.parametrize("store", ["server"], indirect=True)  # chdb's session lives in this process only
def test_gridflow_stats_prints_the_lists(store):
    project(store)
    table = gridflow(store.settings, "stats", "--lists", "--no-drill")
    assert table.returncode == 0, table.stderr
    assert "三张清单" in table.stdout and "match rate" in table.stdout and "75.0%" in table.stdout
    assert "res-b" in table.stdout and "utility_repair" in table.stdout and "dept-urban" in table.stdout
    as_json = gridflow(store.settings, "stats", "--lists", "--no-drill", "--format", "json")
    assert json.loads(as_json.stdout)["lists"]["matched"] == 6
    assert "微心愿 fulfilled" in table.stdout
    assert "(1 fulfilled, 1 claimed, of 2 micro-wishes collected)" in table.stdout
    assert json.loads(as_json.stdout)["lists"]["wishes"] == {"collected": 2, "claimed": 1, "fulfilled": 1}
    assert json.loads(as_json.stdout)["lists"]["wish_rate"] == 0.5
    assert json.loads(as_json.stdout)["lists"]["points_by_community"] == [
        {"community": "cm", "awarded": 30, "redeemed": 12, "balance": 18}]
    assert "积分 per community served" in table.stdout
    as_csv = gridflow(store.settings, "stats", "--lists", "--no-drill", "--format", "csv")
    rows = as_csv.stdout.splitlines()
    assert rows[rows.index("section,collected,claimed,fulfilled,wish_rate") + 1] == "wishes,2,1,1,0.5000"
    assert rows[rows.index("section,community,awarded,redeemed,balance") + 1] == "points_by_community,cm,30,12,18"
