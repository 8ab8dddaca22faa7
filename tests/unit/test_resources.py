"""The resources list (三张清单): resource events, matching and ranking, dispatch to a resource,
claim races, claim deadlines and every refusal. Pure: no services."""
from __future__ import annotations

import pytest

from events import codec, policy as policy_mod
from events.errors import PolicyError, ValidationError
from events.matching import Need, match
from events.resources import Directory, Resource, decide_resource
from events.state import REJECTIONS, Context
from events.types import REGISTRY, DeadlineReached
from tests.unit.test_state import H, MIN, T0, World, at, history, tree

POLICY = policy_mod.load()
CTX = Context(POLICY, tree())
SAT = at(2026, 3, 21, 10)  # Saturday 10:00


def resource(rid, categories=("document_delivery",), covers=("k1",), capacity=2, availability=(), kind="member",
             withdrawn=None):
    r = Resource(rid, kind, tuple(categories), tuple(covers), capacity, tuple(availability), None, T0, T0, withdrawn)
    return Resource.from_record(r.to_record())  # parses the windows, as the directory's own copies are


def directory(*resources, holds=()):
    d = Directory(resources)
    for rid, matter in holds:
        d.hold(rid, matter)
    return d


# --- resource events ----------------------------------------------------------------------


def r_event(type_name, n=1, when=T0, rid="res-1", **data):
    defaults = {"resource_registered": dict(kind="member", categories=["document_delivery"], covers=["k1"],
                                            capacity=1)}.get(type_name, {})
    return REGISTRY[type_name](event_id=f"{rid}-e{n}", matter_id=rid, occurred_at=when, producer="test",
                               **{**defaults, **data})


@pytest.mark.parametrize("steps, code", [
    ([("resource_registered", {})], None),
    ([("resource_registered", {}), ("resource_registered", {})], "already_registered"),
    ([("resource_updated", {"capacity": 2})], "unknown_resource"),
    ([("resource_withdrawn", {})], "unknown_resource"),
    ([("resource_registered", {}), ("resource_withdrawn", {}), ("resource_updated", {"capacity": 2})], "withdrawn"),
    ([("resource_registered", {}), ("resource_withdrawn", {}), ("resource_withdrawn", {})], "withdrawn"),
    ([("resource_registered", {}), ("resource_withdrawn", {}), ("resource_registered", {})], "already_registered"),
    ([("resource_registered", {"categories": ["tea_tasting"]})], "unknown_category"),
    ([("resource_registered", {"covers": ["k1", "nowhere"]})], "unknown_unit"),
    ([("resource_registered", {}), ("resource_updated", {"covers": ["nowhere"]})], "unknown_unit"),
    ([("resource_registered", {}), ("resource_updated", {"capacity": 3})], None),
])
def test_resource_events_apply_or_are_refused_with_a_code(steps, code):
    current, last = None, None
    for n, (type_name, data) in enumerate(steps, 1):
        last = decide_resource(current, r_event(type_name, n, T0 + n * MIN, **data), CTX)
        if last.rejected is None:
            current = last.resource
    assert (last.rejected.code if last.rejected else None) == code
    if code is not None:
        assert last.resource is current and "res-1" in last.rejected.message


def test_an_update_replaces_only_the_fields_given_and_a_resent_event_is_a_duplicate():
    registered = r_event("resource_registered", availability=["mon-fri 09:00-17:00"])
    r = decide_resource(None, registered, CTX).resource
    updated = decide_resource(r, r_event("resource_updated", 2, T0 + H, capacity=3), CTX).resource
    assert (updated.capacity, updated.categories, updated.availability) == (3, ("document_delivery",),
                                                                           ("mon-fri 09:00-17:00",))
    assert decide_resource(updated, registered, CTX).duplicate
    assert decide_resource(updated, registered.replace(capacity=5), CTX).rejected.code == "conflict"
    gone = decide_resource(updated, r_event("resource_withdrawn", 3, T0 + 2 * H), CTX).resource
    assert not gone.active and gone.withdrawn_at == T0 + 2 * H


@pytest.mark.parametrize("data, field", [
    ({"capacity": 0}, "data.capacity"),
    ({"categories": []}, "data.categories"),
    ({"covers": ["张三"]}, "data.covers[0]"),
    ({"availability": ["weekdays 9-5"]}, "data.availability[0]"),
    ({"availability": ["mon 18:00-09:00"]}, "data.availability[0]"),
    ({"kind": "volunteer"}, "data.kind"),
    ({"covers": [f"u{i}" for i in range(65)]}, "data.covers"),
])
def test_a_malformed_resource_event_is_invalid_naming_the_field(data, field):
    event = r_event("resource_registered", **data)
    with pytest.raises(ValidationError, match=field.replace("[", "\\[").replace("]", "\\]")):
        codec.decode(codec.encode(event))


def test_an_update_must_change_something():
    with pytest.raises(ValidationError, match="at least one of categories"):
        codec.decode(codec.encode(r_event("resource_updated")))


# --- matching and ranking -----------------------------------------------------------------


@pytest.mark.parametrize("resources, holds, need, expected, gap", [
    # same compound beats its grid beats its community, all else equal
    ([resource("r-k"), resource("r-g", covers=("g1",)), resource("r-c", covers=("cm",))], (),
     Need("document_delivery", "k1", T0), ["r-k", "r-g", "r-c"], None),
    # a resource covering another grid does not cover the place
    ([resource("r-g2", covers=("g2",))], (), Need("document_delivery", "k1", T0), [], "no_cover"),
    # a category it does not serve: not a candidate
    ([resource("r-k", categories=("elderly_care",))], (), Need("document_delivery", "k1", T0), [], "no_cover"),
    # withdrawn resources are not on the list
    ([resource("r-k", withdrawn=T0)], (), Need("document_delivery", "k1", T0), [], "no_cover"),
    # at capacity: left out; all of them at capacity is a different gap
    ([resource("r-k", capacity=1)], (("r-k", "m-9"),), Need("document_delivery", "k1", T0), [], "all_busy"),
    ([resource("r-k", capacity=1), resource("r-c", covers=("cm",))], (("r-k", "m-9"),),
     Need("document_delivery", "k1", T0), ["r-c"], None),
    # load: the freer of two equally near resources first
    ([resource("r-a", capacity=2), resource("r-b", capacity=2)], (("r-a", "m-9"),),
     Need("document_delivery", "k1", T0), ["r-b", "r-a"], None),
    # availability: on a Saturday the weekday-only resource ranks after the weekend one
    ([resource("r-a", availability=("mon-fri 09:00-17:00",)), resource("r-b", availability=("sat-sun 08:00-18:00",))],
     (), Need("document_delivery", "k1", SAT), ["r-b", "r-a"], None),
    ([resource("r-a", availability=("mon-fri 09:00-17:00",)), resource("r-b", availability=("sat-sun 08:00-18:00",))],
     (), Need("document_delivery", "k1", T0), ["r-a", "r-b"], None),
    # related category (policy: micro_wish <- elderly_care, document_delivery) fits half
    ([resource("r-rel", categories=("elderly_care",)), resource("r-wish", categories=("micro_wish",), covers=("g1",))],
     (), Need("micro_wish", "k1", T0), ["r-wish", "r-rel"], None),
    # ties go to the smaller id
    ([resource("r-z"), resource("r-y")], (), Need("document_delivery", "k1", T0), ["r-y", "r-z"], None),
])
def test_matching_ranks_by_fit_nearness_load_and_availability(resources, holds, need, expected, gap):
    found = match(need, directory(*resources, holds=holds), tree(), POLICY)
    assert [c.resource_id for c in found.candidates] == expected
    assert found.gap == gap


def test_a_score_is_the_weighted_mean_the_policy_gives():
    found = match(Need("document_delivery", "k1", SAT),
                  directory(resource("r-g", covers=("g1",), capacity=4, availability=("mon-fri 09:00-17:00",)),
                            holds=[("r-g", "m-1")]), tree(), POLICY)
    c = found.candidates[0]
    assert (c.fit, c.nearness, c.load, c.available) == (1.0, 0.8, 0.75, False)
    assert c.score == round((4 * 1.0 + 3 * 0.8 + 2 * 0.75 + 1 * 0) / 10, 4)


def test_at_most_max_candidates_are_proposed():
    many = [resource(f"r-{i:02d}") for i in range(9)]
    assert len(match(Need("document_delivery", "k1", T0), directory(*many), tree(), POLICY).candidates) == 5


@pytest.mark.parametrize("matching, message", [
    ({"categories": ["tea"]}, "matching.categories\\[0\\]: expected a declared category"),
    ({"weights": {"fit": -1}}, "matching.weights.fit"),
    ({"weights": {"beauty": 1}}, "matching.weights"),
    ({"max_candidates": 0}, "matching.max_candidates"),
    ({"claim_within": "soon"}, "matching.claim_within.default"),
    ({"claim_within": {"tea": "2h"}}, "matching.claim_within: expected a declared category"),
    ({"related_fit": 2}, "matching.related_fit"),
    ({"colour": "red"}, "unknown key 'colour'"),
])
def test_a_bad_matching_policy_is_refused_naming_the_key(matching, message):
    raw = {"version": "t", "categories": {"document_delivery": {"kind": "request", "entry": "grid"}},
           "sla": [{"accept": "1h", "resolve": "1d"}], "matching": matching}
    with pytest.raises(PolicyError, match=message):
        policy_mod.parse(raw)


# --- proposals in the state machine --------------------------------------------------------


def world(*resources, holds=()):
    return World(resources=directory(*resources, holds=holds))


def test_a_request_arriving_at_a_level_gets_candidates_and_escalation_proposes_again():
    w = world(resource("r-k"), resource("r-c", covers=("cm",)))
    d = w.send("reported", kind="request", category="document_delivery", place="k1")
    assert w.types(d) == ["reported", "routed", "sla_started", "candidates_proposed"]
    proposal = d.emit[-1]
    assert (proposal.unit, proposal.level, proposal.cycle, proposal.candidates) == ("g1", "grid", 1, ["r-k", "r-c"])
    assert proposal.scores == sorted(proposal.scores, reverse=True) and proposal.policy_version == POLICY.version
    d = w.send("escalation_requested", T0 + MIN)
    assert w.types(d)[-1] == "candidates_proposed" and d.emit[-1].cycle == 2 and d.emit[-1].unit == "cm"


@pytest.mark.parametrize("resources, category, kind, expected", [
    ((), "document_delivery", "request", []),  # no resources list at all: no matching
    ((resource("r-k", categories=("elderly_care",)),), "document_delivery", "request", ["no_resource"]),
    ((resource("r-k"),), "sanitation", "incident", []),  # a category the policy does not match
])
def test_gaps_are_recorded_only_where_a_resources_list_is_kept(resources, category, kind, expected):
    w = world(*resources)
    d = w.send("reported", kind=kind, category=category, place="k1")
    assert w.types(d)[3:] == expected
    if expected:
        assert (d.emit[-1].reason, d.emit[-1].category) == ("no_cover", category)


# --- dispatch, claims, races, deadlines -----------------------------------------------------


def ordered(w, resource_id="r-k", at=T0):
    w.send("reported", at, kind="request", category="document_delivery", place="k1")
    w.send("accepted", at + MIN)
    return w.send("dispatched", at + 2 * MIN, resource=resource_id)


def test_the_first_valid_claim_wins_and_a_later_one_is_refused():
    w = world(resource("r-k"), resource("r-c", covers=("cm",)))
    ordered(w, "r-k")
    first = w.send("claimed", T0 + 3 * MIN, handler="h-pm-1", resource="r-k")
    second = w.send("claimed", T0 + 3 * MIN, handler="h-pm-2", resource="r-k")
    assert first.rejected is None and w.state.status == "claimed" and w.state.resource == "r-k"
    assert second.rejected.code == "already_claimed" and second.emit == ()


def test_an_open_order_goes_to_whichever_resource_claims_first():
    w = world(resource("r-k"), resource("r-c", covers=("cm",)))
    w.send("reported", kind="request", category="document_delivery", place="k1")
    w.send("accepted", T0 + MIN)
    assert w.send("claimed", T0 + 2 * MIN, resource="r-c").rejected is None
    assert w.send("claimed", T0 + 2 * MIN, resource="r-k").rejected.code == "already_claimed"
    assert w.state.resource == "r-c"


@pytest.mark.parametrize("dispatch_to, claim, code", [
    ("r-k", {"resource": "r-c"}, "wrong_resource"),
    ("r-k", {}, "wrong_resource"),
    ("r-k", {"resource": "r-k"}, None),
    ("r-gone", None, "resource_withdrawn"),
    ("r-never", None, "unknown_resource"),
])
def test_dispatches_and_claims_naming_resources_are_checked(dispatch_to, claim, code):
    w = world(resource("r-k"), resource("r-c", covers=("cm",)), resource("r-gone", withdrawn=T0))
    d = ordered(w, dispatch_to)
    if claim is not None:
        d = w.send("claimed", T0 + 3 * MIN, **claim)
    assert (d.rejected.code if d.rejected else None) == code
    if code is not None:
        assert code in REJECTIONS and d.emit == ()


def test_a_claim_by_an_unknown_resource_is_refused():
    w = world(resource("r-k"))
    w.send("reported", kind="request", category="document_delivery", place="k1")
    w.send("accepted", T0 + MIN)
    assert w.send("claimed", T0 + 2 * MIN, resource="r-nobody").rejected.code == "unknown_resource"


def test_an_unclaimed_dispatch_breaches_its_claim_deadline_and_escalates():
    w = world(resource("r-k"))
    ordered(w, "r-k")
    claim_by = T0 + 2 * MIN + 4 * H  # policy: claim_within default 4h
    assert w.state.claim_by == claim_by and w.state.next_timer().deadline == "claim"
    fired = w.apply(DeadlineReached(event_id="scan", matter_id="m1", occurred_at=claim_by, producer="scanner",
                                    cycle=1, deadline="claim", due_at=claim_by))
    assert w.types(fired) == ["sla_breached", "escalated", "sla_started", "candidates_proposed"]
    late = w.send("claimed", claim_by + MIN, resource="r-k")  # the order has moved up: too late
    assert late.rejected.code == "not_accepted"
    breach = next(e for e in w.log if e.TYPE == "sla_breached")
    assert (breach.deadline, breach.due_at, breach.level) == ("claim", claim_by, "grid")
    assert w.state.level == "community" and w.state.resource is None and w.state.claim_by is None


def test_a_claim_in_time_stops_the_claim_clock_and_a_plain_dispatch_has_none():
    w = world(resource("r-k"))
    ordered(w, "r-k")
    w.send("claimed", T0 + H, resource="r-k")
    assert w.state.claim_by is None and all(t.deadline != "claim" for t in w.state.timers())
    plain = world(resource("r-k"))
    plain.send("reported", kind="request", category="document_delivery", place="k1")
    plain.send("accepted", T0 + MIN)
    plain.send("dispatched", T0 + 2 * MIN, handler="h-2")
    assert plain.state.claim_by is None


def test_suspending_moves_the_claim_deadline_by_the_paused_time():
    w = world(resource("r-k"))
    ordered(w, "r-k")
    w.send("suspended", T0 + H)
    w.send("resumed", T0 + 3 * H)
    assert w.state.claim_by == T0 + 2 * MIN + 4 * H + 2 * H


def test_the_claim_deadline_follows_the_category():
    w = world(resource("r-w", categories=("micro_wish",)))
    w.send("reported", kind="request", category="micro_wish", place="k1")
    w.send("accepted", T0 + MIN)
    w.send("dispatched", T0 + 2 * MIN, resource="r-w")
    assert w.state.claim_by == T0 + 2 * MIN + 2 * 24 * H  # micro_wish: 2d


def test_resource_events_are_not_matter_events():
    w = world(resource("r-k"))
    history(w, "reported")
    d = w.apply(r_event("resource_withdrawn", rid="m1"))
    assert d.rejected.code == "not_a_matter" and d.emit == ()


# --- 社区吹哨、部门报到: summons and report-ins -------------------------------------------------


@pytest.mark.parametrize("steps, code", [
    ([("summoned", "cb-gas")], None),
    ([("summoned", "cb-gas"), ("summoned", "cb-gas")], "already_summoned"),
    ([("reported_in", "cb-gas")], "not_summoned"),
    ([("summoned", "cb-gas"), ("reported_in", "cb-water")], "not_summoned"),
    ([("summoned", "cb-gas"), ("reported_in", "cb-gas")], None),
    ([("summoned", "cb-gas"), ("reported_in", "cb-gas"), ("reported_in", "cb-gas")], "already_reported_in"),
    ([("summoned", "cb-gas"), ("reported_in", "cb-gas"), ("summoned", "cb-gas")], None),  # summoned again
    ([("summoned", f"cb-{i}") for i in range(17)], "too_many_summons"),
])
def test_summons_and_report_ins_apply_or_are_refused_with_a_code(steps, code):
    w = World()
    history(w, "reported accepted")
    last = None
    for i, (type_name, unit) in enumerate(steps):
        last = w.send(type_name, T0 + (3 + i) * MIN, unit=unit, handler="h-1")
    assert (last.rejected.code if last.rejected else None) == code
    if code is not None:
        assert code in REJECTIONS and last.emit == ()


def test_each_summoned_unit_has_its_own_deadline_and_a_missed_one_is_recorded_not_escalated():
    w = World()
    history(w, "reported accepted")  # sanitation at the grid
    w.send("summoned", T0 + 10 * MIN, unit="cb-gas", handler="h-1")
    w.send("summoned", T0 + 40 * MIN, unit="dept-urban", handler="h-1")
    assert w.state.next_timer().deadline == "report_in" and w.state.next_timer().due == T0 + 10 * MIN + 2 * H
    assert w.send("reported_in", T0 + 50 * MIN, unit="cb-gas", handler="h-cb").rejected is None  # in time
    # the scanner reaches dept-urban's deadline (2h after its summons): missed, nothing escalates
    due = T0 + 40 * MIN + 2 * H
    d = w.apply(DeadlineReached(event_id="scan", matter_id="m1", occurred_at=due, producer="scanner", cycle=1,
                                deadline="report_in", due_at=due))
    assert w.types(d) == ["report_in_missed"]
    missed = d.emit[0]
    assert (missed.unit, missed.summoned_at, missed.due_at, missed.occurred_at) == ("dept-urban", T0 + 40 * MIN,
                                                                                   due, due)
    assert w.state.level == "grid" and w.state.cycle == 1
    late = w.send("reported_in", due + H, unit="dept-urban", handler="h-dept")  # late: recorded
    assert late.rejected is None and w.types(late) == ["reported_in"]
    assert [st for _, _, _, st in w.state.summons] == [1, 3]
    assert all(t.deadline != "report_in" for t in w.state.timers())


def test_an_event_after_a_report_in_deadline_fires_it_first_and_the_deadline_follows_the_category():
    w = World()
    w.send("reported", category="elder_fraud", priority="normal", place="k1")
    w.send("accepted", T0 + MIN)
    w.send("summoned", T0 + 2 * MIN, unit="police-x", handler="h-1")  # elder_fraud: 30 minutes
    d = w.send("reported_in", T0 + 40 * MIN, unit="police-x", handler="h-p")
    assert w.types(d) == ["report_in_missed", "reported_in"] and d.emit[0].due_at == T0 + 32 * MIN


# --- 积分: points awarded for verified services, redeemed, never negative ----------------------


def served(w, category="document_delivery", resource_id="r-k", dispatch=True, claim=True):
    w.send("reported", T0, kind="request", category=category, place="k1")
    w.send("accepted", T0 + MIN)
    if dispatch:
        w.send("dispatched", T0 + 2 * MIN, resource=resource_id)
    if claim:
        w.send("claimed", T0 + 3 * MIN, resource=resource_id)
    w.send("resolved", T0 + H, unit=w.state.unit)
    return w.send("verified", T0 + 2 * H, verifier="h-9")


@pytest.mark.parametrize("category, dispatch, claim, expected", [
    ("document_delivery", True, True, [("service", 15, True)]),  # 10 for the category + 5 on time
    ("micro_wish", True, True, [("service", 10, True)]),  # 5 + 5
    ("document_delivery", False, True, [("service", 15, True)]),  # an open order claimed without a dispatch
    ("document_delivery", True, False, []),  # dispatched to it, never claimed: resolved by someone else
    ("document_delivery", False, False, []),  # no resource involved
])
def test_a_verified_service_earns_its_resource_the_policys_points(category, dispatch, claim, expected):
    w = world(resource("r-k", categories=("document_delivery", "micro_wish")))
    d = served(w, category, dispatch=dispatch, claim=claim)
    awards = [e for e in d.emit if e.TYPE == "points_awarded"]
    assert [(a.reason, a.points, a.on_time) for a in awards] == expected
    assert all(a.resource == "r-k" and a.category == category for a in awards)


@pytest.mark.parametrize("satisfaction, bonus", [("satisfied", [5]), ("basically_satisfied", []),
                                                 ("unsatisfied", [])])
def test_a_satisfied_resident_earns_the_bonus_once(satisfaction, bonus):
    w = world(resource("r-k"))
    served(w)
    d = w.send("feedback", T0 + 3 * H, contacted=True, solved=True, satisfaction=satisfaction)
    assert [e.points for e in d.emit if e.TYPE == "points_awarded"] == bonus
    assert w.send("feedback", T0 + 4 * H, contacted=True, solved=True,
                  satisfaction=satisfaction).rejected.code == "feedback_given"


@pytest.mark.parametrize("awarded, redemptions, codes, balance", [
    (0, [5], ["insufficient_points"], 0),
    (15, [10, 10], [None, "insufficient_points"], 5),
    (15, [10, 5, 1], [None, None, "insufficient_points"], 0),
    (15, [15], [None], 0),
])
def test_redemptions_are_refused_beyond_the_balance_which_is_never_negative(awarded, redemptions, codes, balance):
    d = directory()
    d.award("r-1", "award-1", awarded)
    d.award("r-1", "award-1", awarded)  # the same award read again counts once
    ctx = Context(POLICY, tree(), resources=d)
    current = decide_resource(None, r_event("resource_registered", rid="r-1"), ctx).resource
    d.put(current)
    got = []
    for n, points in enumerate(redemptions, 1):
        decision = decide_resource(current, r_event("points_redeemed", n + 1, T0 + n * MIN, rid="r-1", points=points),
                                   ctx)
        got.append(decision.rejected.code if decision.rejected else None)
        if decision.rejected is None:
            current = decision.resource
            d.put(current)
    assert got == codes and d.balance("r-1") == balance


def test_a_withdrawn_member_may_still_spend_its_points_and_an_unknown_one_may_not():
    d = directory()
    d.award("r-1", "a", 20)
    ctx = Context(POLICY, tree(), resources=d)
    r = decide_resource(None, r_event("resource_registered", rid="r-1"), ctx).resource
    r = decide_resource(r, r_event("resource_withdrawn", 2, T0 + MIN, rid="r-1"), ctx).resource
    d.put(r)
    assert decide_resource(r, r_event("points_redeemed", 3, T0 + 2 * MIN, rid="r-1", points=20), ctx).rejected is None
    refused = decide_resource(None, r_event("points_redeemed", 1, T0, rid="r-2", points=1), ctx)
    assert refused.rejected.code == "unknown_resource"
    with pytest.raises(ValidationError, match="data.points"):
        codec.decode(codec.encode(r_event("points_redeemed", rid="r-1", points=0)))
