"""The state machine over random sequences of valid events: it never raises, a rejected
event changes nothing, the same sequence gives the same states and events, and everything
it emits is a valid event. Bounded: explicit example counts, a few seconds in all."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import REGISTRY, codec
from events import policy as policy_mod
from events.levels import Level
from events.orgtree import OrgTree, OrgUnit
from events.resources import RESOURCE_REJECTIONS, Directory, Resource, decide_resource
from events.state import REJECTIONS, Context, decide
from events.types import DeadlineReached, UPSTREAM_TYPES
from events.validation import from_wire, to_wire

MIN, H = 60_000, 3_600_000
T0 = 1_773_622_800_000  # Monday 2026-03-16 09:00 CST
UNITS = [("c", "city", None), ("d", "district", "c"), ("s", "street", "d"), ("cm", "community", "s"),
         ("g1", "grid", "cm"), ("g2", "grid", "cm"), ("k1", "compound", "g1")]
TREE = OrgTree(OrgUnit(u, Level.parse(lv), p, u.upper()) for u, lv, p in UNITS)
POLICY = policy_mod.load()
UNIT_IDS = [u for u, _, _ in UNITS] + ["cb-telecom-x"]
# The resources list: one member near the compound, one unit for the community, one withdrawn.
DIRECTORY = Directory([
    Resource("res-a", "member", ("document_delivery", "elderly_care", "micro_wish"), ("k1",), 1, (), None, T0, T0),
    Resource("res-b", "unit", ("utility_repair", "elderly_care"), ("cm",), 3, (), "cb-telecom-x", T0, T0),
    Resource("res-gone", "member", ("micro_wish",), ("g1",), 1, (), None, T0, T0, T0),
])
CTX = Context(POLICY, TREE, resources=DIRECTORY)
RESOURCE_IDS = ("res-a", "res-b", "res-gone", "res-never")
PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CHOICES = {
    "reported": lambda d: dict(kind=POLICY.category(cat := d(st.sampled_from(sorted(POLICY.categories)))).kind,
                               category=cat, priority=d(st.sampled_from(("low", "normal", "urgent"))),
                               channel="app", place=d(st.sampled_from(UNIT_IDS[3:])), reporter="r-1",
                               text="a report"),
    "accepted": lambda d: dict(unit=d(st.sampled_from(UNIT_IDS)), handler="h-1"),
    "dispatched": lambda d: dict(unit=d(st.sampled_from(UNIT_IDS)), handler=None,
                                 resource=d(st.none() | st.sampled_from(RESOURCE_IDS))),
    "claimed": lambda d: dict(handler="h-2", unit=d(st.none() | st.just("cb-telecom-x")),
                              resource=d(st.none() | st.sampled_from(RESOURCE_IDS))),
    "suspended": lambda d: dict(reason="waiting"),
    "resumed": lambda d: {},
    "resolved": lambda d: dict(unit=d(st.sampled_from(UNIT_IDS)), handler="h-2"),
    "verified": lambda d: dict(verifier="h-9"),
    "verification_failed": lambda d: dict(verifier="h-9", reason="not done"),
    "feedback": lambda d: dict(contacted=True, solved=d(st.booleans()),
                               satisfaction=d(st.sampled_from(("satisfied", "unsatisfied")))),
    "reopened": lambda d: dict(reason="back again"),
    "cancelled": lambda d: dict(reason="withdrawn"),
    "escalation_requested": lambda d: dict(handler="h-1", reason=d(st.sampled_from(("needs_help",
                                                                                          "beyond_authority")))),
    "summoned": lambda d: dict(unit=d(st.sampled_from(("cb-gas-x", "dept-urban-x"))), handler="h-1"),
    "reported_in": lambda d: dict(unit=d(st.sampled_from(("cb-gas-x", "dept-urban-x", "cb-never"))), handler="h-3"),
    # resource events are not about a matter: decide refuses them (not_a_matter)
    "resource_registered": lambda d: RESOURCE_CHOICES["resource_registered"](d),
    "resource_updated": lambda d: RESOURCE_CHOICES["resource_updated"](d),
    "resource_withdrawn": lambda d: {},
    "points_redeemed": lambda d: RESOURCE_CHOICES["points_redeemed"](d),
}
RESOURCE_CHOICES = {
    "resource_registered": lambda d: dict(kind=d(st.sampled_from(("unit", "member", "service"))),
                                          categories=d(st.lists(st.sampled_from(sorted(POLICY.categories) + ["nope"]),
                                                                min_size=1, max_size=3)),
                                          covers=d(st.lists(st.sampled_from(UNIT_IDS), min_size=1, max_size=2)),
                                          capacity=d(st.integers(1, 3)),
                                          availability=d(st.none() | st.just(["mon-fri 09:00-17:00"]))),
    "resource_updated": lambda d: dict(capacity=d(st.integers(1, 3)),
                                       covers=d(st.none() | st.lists(st.sampled_from(UNIT_IDS), min_size=1,
                                                                     max_size=2))),
    "resource_withdrawn": lambda d: dict(reason=d(st.none() | st.just("moved"))),
    "points_redeemed": lambda d: dict(points=d(st.integers(1, 40)), note=None),
}
assert set(CHOICES) == set(UPSTREAM_TYPES) - {"watermark"}


@st.composite
def sequences(draw):
    """Steps: an upstream event (sometimes re-using an earlier id), or the scanner's proposal
    for whatever timer the matter has next. Times mostly move forward, sometimes back."""
    steps, at, ids = [], T0, []
    kinds = ["reported"] + draw(st.lists(st.sampled_from(sorted(CHOICES) + ["scan", "scan"]), max_size=25))
    for n, kind in enumerate(kinds):
        at += draw(st.sampled_from((-10 * MIN, -2 * MIN, 0, MIN, 30 * MIN, 3 * H, 2 * 24 * H)))
        if kind == "scan":
            steps.append(("scan", at))
            continue
        event_id = draw(st.sampled_from(ids)) if ids and draw(st.integers(0, 9)) == 0 else f"e-{n}"
        ids.append(event_id)
        now = draw(st.none() | st.just(at) | st.just(at - 20 * MIN))
        steps.append((REGISTRY[kind](event_id=event_id, matter_id="m-1", occurred_at=at, producer="fuzz",
                                     **CHOICES[kind](draw)), now))
    return steps


def run(steps):
    state, out = None, []
    for step, now in steps:
        if step == "scan":
            timer = state.next_timer() if state is not None else None
            if timer is None:
                continue
            step = DeadlineReached(event_id="p", matter_id="m-1", occurred_at=timer.due, producer="scanner",
                                   cycle=state.cycle, deadline=timer.deadline, due_at=timer.due)
        decision = decide(state, step, CTX, now=now)
        out.append((step, state, decision))
        state = decision.state
    return out


@PROPERTY
@given(sequences())
def test_a_rejected_event_leaves_the_state_as_it_was_and_emits_nothing(steps):
    for event, before, decision in run(steps):
        if decision.rejected is not None:
            assert decision.rejected.code in REJECTIONS
            assert decision.state == before and decision.emit == (), (event, decision.rejected)
        if decision.duplicate:
            assert decision.state == before and decision.emit == ()


@PROPERTY
@given(sequences())
def test_the_same_sequence_gives_the_same_states_and_events(steps):
    first = [(d.state, [codec.encode(e) for e in d.emit], d.rejected, d.duplicate) for _, _, d in run(steps)]
    again = [(d.state, [codec.encode(e) for e in d.emit], d.rejected, d.duplicate) for _, _, d in run(steps)]
    assert first == again


@PROPERTY
@given(sequences())
def test_everything_emitted_is_a_valid_event(steps):
    for _, _, decision in run(steps):
        for event in decision.emit:
            assert from_wire(to_wire(event)) == event


@st.composite
def resource_sequences(draw):
    """Resource events of one resource, in any order, with re-used ids and times going back."""
    steps, at, ids = [], T0, []
    for n, kind in enumerate(draw(st.lists(st.sampled_from(sorted(RESOURCE_CHOICES)), max_size=12))):
        at += draw(st.sampled_from((-10 * MIN, 0, MIN, 3 * H)))
        event_id = draw(st.sampled_from(ids)) if ids and draw(st.integers(0, 5)) == 0 else f"r-{n}"
        ids.append(event_id)
        steps.append(REGISTRY[kind](event_id=event_id, matter_id="res-1", occurred_at=at, producer="fuzz",
                                    **RESOURCE_CHOICES[kind](draw)))
    return steps


@PROPERTY
@given(resource_sequences())
def test_a_refused_resource_event_leaves_the_resource_as_it_was_and_a_balance_is_never_negative(steps):
    resource, directory = None, Directory()
    directory.award("res-1", "award-1", 50)  # what its services earned; redemptions may ask more
    ctx = Context(POLICY, TREE, resources=directory)
    for event in steps:
        decision = decide_resource(resource, event, ctx)
        if decision.rejected is not None or decision.duplicate:
            assert decision.resource is resource, (event, decision.rejected)
            if decision.rejected is not None:
                assert decision.rejected.code in RESOURCE_REJECTIONS
        else:
            assert decision.resource is not resource and decision.resource.resource_id == "res-1"
            assert Resource.from_record(decision.resource.to_record()) == decision.resource
            directory.put(decision.resource)
        assert directory.balance("res-1") >= 0
        resource = decision.resource
