"""The matter state machine: routing, every accepted transition, every rejected one."""
from __future__ import annotations

from datetime import datetime

import pytest

from events import codec, policy as policy_mod
from events.calendar import CST
from events.ids import derived_id
from events.levels import Level
from events.orgtree import OrgTree, OrgUnit
from events.state import REJECTIONS, Context, MatterState, decide
from events.state_codec import decode_state, encode_state
from events.types import REGISTRY

H = 3_600_000
MIN = 60_000


def at(y, m, d, hh=0, mm=0) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=CST).timestamp() * 1000)


T0 = at(2026, 3, 16, 9)  # Monday 09:00, an ordinary working week

UNITS = [("c", "city", None), ("d", "district", "c"), ("s", "street", "d"), ("cm", "community", "s"),
         ("g1", "grid", "cm"), ("g2", "grid", "cm"), ("k1", "compound", "g1")]

DEFAULTS = {
    "reported": {"kind": "incident", "category": "sanitation", "priority": "normal", "channel": "app",
                 "place": "k1", "reporter": "r-1", "text": "rubbish at gate 3"},
    "accepted": {"unit": "g1", "handler": "h-1"},
    "dispatched": {"handler": "h-2"},
    "claimed": {"handler": "h-2"},
    "suspended": {"reason": "waiting for the survey"},
    "resolved": {"unit": "g1", "handler": "h-2"},
    "verified": {"verifier": "h-9"},
    "verification_failed": {"verifier": "h-9", "reason": "still there"},
    "feedback": {"contacted": True, "solved": True, "satisfaction": "satisfied"},
    "reopened": {"reason": "it is back"},
    "cancelled": {"reason": "withdrawn"},
    "escalation_requested": {"handler": "h-1", "reason": "needs_help"},
    "routed": {"place": "k1", "unit": "g1", "level": "grid", "policy_version": "2026.1"},
}


def tree() -> OrgTree:
    return OrgTree(OrgUnit(u, Level.parse(lv), p, u.upper()) for u, lv, p in UNITS)


class World:
    """One matter driven through ``decide``, keeping the log and the rejections."""

    def __init__(self, matter: str = "m1", **ctx):
        self.ctx = Context(policy_mod.load(), tree(), **ctx)
        self.matter = matter
        self.state: MatterState | None = None
        self.log: list = []
        self.rejected: list = []
        self.n = 0

    def event(self, type_name: str, when: int, **data):
        self.n += 1
        payload = {**DEFAULTS.get(type_name, {}), **data}
        if type_name == "accepted" and "unit" not in data and self.state is not None:
            payload["unit"] = self.state.unit  # the holder accepts unless a test says otherwise
        return REGISTRY[type_name](event_id=f"{self.matter}-e{self.n}", matter_id=self.matter, occurred_at=when,
                                   producer="test", **payload)

    def apply(self, event):
        decision = decide(self.state, event, self.ctx)
        self.state = decision.state
        self.log += decision.emit
        if decision.rejected:
            self.rejected.append(decision.rejected)
        return decision

    def send(self, type_name: str, when: int = T0, **data):
        return self.apply(self.event(type_name, when, **data))

    def types(self, decision=None) -> list[str]:
        return [e.TYPE for e in (decision.emit if decision else self.log)]


def history(world: World, steps: str, start: int = T0) -> None:
    """Apply a space-separated list of event types a minute apart; each must be accepted."""
    for i, step in enumerate(steps.split()):
        d = world.send(step, start + i * MIN)
        assert d.rejected is None, (step, d.rejected)


# --- routing ------------------------------------------------------------------------------


@pytest.mark.parametrize("category, priority, place, unit, level", [
    ("sanitation", "normal", "k1", "g1", "grid"),  # reported at a compound, handled by the grid
    ("sanitation", "normal", "g2", "g2", "grid"),
    ("micro_wish", "normal", "k1", "k1", "compound"),
    ("neighbour_dispute", "low", "k1", "k1", "compound"),
    ("neighbour_dispute", "low", "g1", "g1", "grid"),  # a place above the entry level is its own entry
    ("elder_fraud", "urgent", "k1", "cm", "community"),
    ("illegal_construction", "normal", "k1", "cm", "community"),
    ("illegal_construction", "urgent", "k1", "s", "street"),
    ("utility_repair", "normal", "g2", "cm", "community"),
])
def test_a_reported_matter_enters_at_the_lowest_level_that_handles_its_category(category, priority, place, unit, level):
    kind = policy_mod.load().category(category).kind
    w = World()
    d = w.send("reported", category=category, priority=priority, place=place, kind=kind)
    assert w.types(d) == ["reported", "routed", "sla_started"]
    routed, started = d.emit[1], d.emit[2]
    assert (routed.unit, routed.level, routed.place, routed.policy_version) == (unit, level, place, "2026.2")
    assert (started.unit, started.level, started.cycle, started.reason) == (unit, level, 1, "arrived")
    assert routed.event_id == derived_id("m1", "routed")
    assert started.event_id == derived_id("m1", "sla_started", level, 1, "arrived")
    assert d.state.status == "new" and d.state.unit == unit


def test_the_clock_starts_at_the_report_time_with_the_levels_deadlines():
    w = World()
    started = w.send("reported").emit[2]
    assert started.occurred_at == T0
    assert started.accept_by == T0 + 2 * H  # grid: accept within 2h
    assert started.resolve_by == T0 + 48 * H  # 2 working days, Monday -> Wednesday
    assert started.warn_at == [T0 + 24 * H, T0 + round(0.8 * 48 * H)]


# --- transitions that apply ---------------------------------------------------------------


@pytest.mark.parametrize("steps, status", [
    ("reported", "new"),
    ("reported accepted", "accepted"),
    ("reported accepted dispatched", "dispatched"),
    ("reported accepted dispatched dispatched", "dispatched"),
    ("reported accepted claimed", "claimed"),
    ("reported accepted dispatched claimed", "claimed"),
    ("reported accepted claimed dispatched", "dispatched"),
    ("reported accepted resolved", "resolved"),
    ("reported accepted claimed resolved", "resolved"),
    ("reported accepted resolved verified", "closed"),
    ("reported accepted resolved feedback", "resolved"),
    ("reported accepted resolved verified feedback", "closed"),
    ("reported accepted resolved verification_failed", "new"),
    ("reported accepted resolved reopened", "new"),
    ("reported accepted resolved verified reopened", "new"),
    ("reported cancelled", "cancelled"),
    ("reported accepted resolved cancelled", "cancelled"),
    ("reported accepted suspended resumed", "accepted"),
    ("reported suspended cancelled", "cancelled"),
    ("reported escalation_requested", "new"),
    ("reported accepted escalation_requested", "new"),
])
def test_valid_transitions_apply(steps, status):
    w = World()
    history(w, steps)
    assert w.state.status == status
    assert not w.rejected
    upstream = [e for e in w.log if not e.DERIVED]
    assert [e.TYPE for e in upstream] == steps.split()  # every applied event reaches the log


@pytest.mark.parametrize("steps, event, code", [
    ("", "accepted", "unknown_matter"),
    ("reported", "reported", "already_reported"),
    ("reported", "routed", "not_upstream"),
    ("reported", "deadline_reached:bogus", None),  # an internal proposal is not an upstream event
    ("reported accepted", "accepted", "already_accepted"),
    ("reported accepted dispatched", "accepted", "already_accepted"),
    ("reported", "dispatched", "not_accepted"),
    ("reported", "claimed", "not_accepted"),
    ("reported", "resolved", "not_accepted"),
    ("reported accepted claimed", "claimed", "already_claimed"),
    ("reported accepted resolved", "resolved", "resolved"),
    ("reported accepted resolved", "dispatched", "resolved"),
    ("reported accepted resolved", "suspended", "resolved"),
    ("reported accepted resolved", "escalation_requested", "resolved"),
    ("reported accepted", "verified", "not_resolved"),
    ("reported accepted", "verification_failed", "not_resolved"),
    ("reported accepted", "feedback", "not_resolved"),
    ("reported accepted", "reopened", "not_resolved"),
    ("reported accepted resolved feedback", "feedback", "feedback_given"),
    ("reported accepted resolved verified", "verified", "closed"),
    ("reported accepted resolved verified", "cancelled", "closed"),
    ("reported accepted resolved verified", "verification_failed", "closed"),
    ("reported cancelled", "resolved", "cancelled"),
    ("reported cancelled", "accepted", "cancelled"),
    ("reported cancelled", "cancelled", "cancelled"),
    ("reported cancelled", "reopened", "cancelled"),
    ("reported cancelled", "feedback", "cancelled"),
    ("reported suspended", "accepted", "suspended"),
    ("reported accepted suspended", "resolved", "suspended"),
    ("reported accepted suspended", "escalation_requested", "suspended"),
    ("reported suspended", "suspended", "already_suspended"),
    ("reported", "resumed", "not_suspended"),
])
def test_invalid_transitions_are_rejected_with_a_bounded_code(steps, event, code):
    w = World()
    history(w, steps)
    before = w.state
    if event.startswith("deadline_reached"):
        d = w.send("deadline_reached", T0 + 10 * MIN, cycle=7, deadline="accept", due_at=T0)
        assert d.rejected is None and d.emit == () and d.state == before  # stale proposal: ignored
        return
    d = w.send(event, T0 + 10 * MIN)
    assert d.rejected is not None and d.rejected.code == code
    assert code in REJECTIONS
    assert d.emit == () and d.state == before
    assert "m1" in d.rejected.message


@pytest.mark.parametrize("data, code", [
    ({"category": "parking"}, "unknown_category"),
    ({"kind": "request"}, "kind_mismatch"),
    ({"place": "nowhere"}, "unknown_place"),
])
def test_a_report_that_cannot_be_routed_is_rejected(data, code):
    w = World()
    d = w.send("reported", **data)
    assert d.rejected.code == code and d.state is None and d.emit == ()


def test_only_the_unit_holding_the_matter_can_accept_it():
    w = World()
    w.send("reported")
    d = w.send("accepted", T0 + MIN, unit="g2")
    assert d.rejected.code == "not_holder" and "g2 does not hold it" in d.rejected.message


def test_an_event_far_older_than_the_matters_last_event_is_rejected():
    w = World()
    history(w, "reported accepted")
    d = w.send("dispatched", T0 - 10 * MIN)
    assert d.rejected.code == "out_of_order"


def test_a_slightly_late_event_is_applied_at_the_matters_last_time():
    w = World()
    history(w, "reported accepted")  # accepted at T0 + 1 min
    d = w.send("suspended", T0 - 2 * MIN)  # within the 5 min tolerance
    assert d.rejected is None and d.state.suspended_at == T0 + MIN


def test_resolved_always_carries_the_level_that_held_the_matter():
    w = World()
    history(w, "reported accepted")
    d = w.send("resolved", T0 + 5 * MIN, level="city")  # upstream's guess is replaced
    assert d.emit[0].level == "grid" and d.state.resolved_level == "grid"
    w2 = World()
    history(w2, "reported accepted")
    assert w2.send("resolved", T0 + 5 * MIN).emit[0].level == "grid"


# --- idempotence, determinism, serialisation ----------------------------------------------


def test_a_replayed_event_is_a_duplicate_and_changes_nothing():
    w = World()
    history(w, "reported accepted")
    replay = w.event("accepted", T0 + MIN)
    replay = replay.replace(event_id="m1-e2")  # the id of the accepted event already applied
    d = decide(w.state, replay, w.ctx)
    assert d.duplicate and d.emit == () and d.rejected is None and d.state == w.state


def test_the_same_input_gives_the_same_events():
    def run():
        w = World()
        history(w, "reported accepted resolved reopened", start=T0)
        w.send("deadline_reached", T0 + 30 * H, cycle=2, deadline="accept", due_at=T0 + 30 * H)
        return [codec.encode(e) for e in w.log]

    assert run() == run()


def test_state_round_trips_through_the_table_encoding():
    w = World()
    history(w, "reported accepted suspended")
    w.send("deadline_reached", T0 + 3 * H, cycle=1, deadline="warning", due_at=T0 + 3 * H)
    assert decode_state(encode_state(w.state)) == w.state


def test_a_state_of_an_unknown_schema_is_refused():
    w = World()
    history(w, "reported")
    data = codec.unpack(encode_state(w.state))
    data[0] = 99
    with pytest.raises(ValueError, match="schema"):
        decode_state(codec.pack(data))


def test_a_watermark_changes_no_matter():
    w = World()
    history(w, "reported")
    d = w.send("watermark", T0 + 1000 * H)
    assert d.emit == () and d.state == w.state and d.rejected is None


# --- a rejected event changes nothing -----------------------------------------------------


def test_a_rejected_event_stamped_far_ahead_escalates_nothing():
    w = World()
    history(w, "reported")
    before = w.state
    d = w.send("dispatched", at(2099, 1, 1))  # its time is past every deadline up to the city
    assert d.rejected.code == "not_accepted" and "at city" in d.rejected.message  # judged at its time
    assert d.emit == () and d.state == before  # but nothing it would have fired is kept


def test_timers_fired_on_the_way_to_an_applied_event_are_kept():
    w = World()
    history(w, "reported")
    d = w.send("cancelled", T0 + 3 * H)  # after the grid's accept deadline
    assert w.types(d) == ["sla_breached", "escalated", "sla_started", "cancelled"]


# --- events from the future ---------------------------------------------------------------


def test_an_event_ahead_of_the_wall_clock_by_more_than_ten_minutes_is_from_the_future():
    w = World()
    history(w, "reported")
    before = w.state
    d = decide(w.state, w.event("accepted", T0 + 11 * MIN), w.ctx, now=T0)
    assert d.rejected.code == "from_future" and d.emit == () and d.state == before
    assert "2026-03-16T01:11:00.000Z" in d.rejected.message  # the event's time
    assert "2026-03-16T01:00:00.000Z" in d.rejected.message  # the clock
    assert "10 min" in d.rejected.message  # the tolerance
    assert decide(w.state, w.event("accepted", T0 + 9 * MIN), w.ctx, now=T0).rejected is None


def test_in_event_time_an_event_may_run_a_day_ahead_of_the_newest_watermark():
    tolerance = policy_mod.load().future_tolerance.for_clock("event")
    w = World(future_tolerance_ms=tolerance)
    history(w, "reported")
    assert decide(w.state, w.event("cancelled", T0 + 23 * H), w.ctx, now=T0).rejected is None
    assert decide(w.state, w.event("cancelled", T0 + 25 * H), w.ctx, now=T0).rejected.code == "from_future"


def test_a_report_from_the_future_creates_no_matter():
    w = World()
    d = decide(None, w.event("reported", T0 + H), w.ctx, now=T0)
    assert d.rejected.code == "from_future" and d.state is None and d.emit == ()


def test_without_a_clock_nothing_is_from_the_future():
    w = World()
    assert decide(None, w.event("reported", at(2099, 1, 1)), w.ctx).rejected is None


# --- units ---------------------------------------------------------------------------------


def test_a_resolution_by_a_unit_outside_the_org_tree_is_rejected():
    w = World()
    history(w, "reported accepted")
    d = w.send("resolved", T0 + 5 * MIN, unit="cb-telecom-sanshui")
    assert d.rejected.code == "unknown_unit" and "cb-telecom-sanshui is not a unit" in d.rejected.message


def test_co_building_units_outside_the_tree_may_be_dispatched_to_and_claim():
    w = World()
    history(w, "reported accepted")
    assert w.send("dispatched", T0 + 5 * MIN, unit="cb-telecom-sanshui").rejected is None
    assert w.send("claimed", T0 + 6 * MIN, unit="cb-telecom-sanshui").rejected is None


# --- re-sent ids: duplicate or conflict ---------------------------------------------------


def test_the_same_id_with_other_content_is_a_conflict_and_changes_nothing():
    w = World()
    history(w, "reported accepted dispatched")
    before = w.state
    corrected = w.event("dispatched", T0 + 5 * MIN, handler="h-7").replace(event_id="m1-e3")
    d = decide(w.state, corrected, w.ctx)
    assert d.rejected.code == "conflict" and d.emit == () and d.state == before
    assert "m1-e3" in d.rejected.message and "new id" in d.rejected.message
    assert decide(w.state, corrected.replace(event_id="m1-e9"), w.ctx).rejected is None  # a new id applies


def test_the_same_id_with_the_same_content_is_a_duplicate_even_as_a_conflicting_report():
    w = World()
    history(w, "reported")
    first = w.event("reported", T0).replace(event_id="m1-e1")
    assert decide(w.state, first, w.ctx).duplicate
    assert decide(w.state, first.replace(text="other text"), w.ctx).rejected.code == "conflict"


def test_a_matter_remembers_its_last_32_applied_events():
    w = World()
    history(w, "reported accepted")
    sent = [w.event("dispatched", T0 + (2 + i) * MIN) for i in range(40)]
    for event in sent:
        assert w.apply(event).rejected is None
    assert len(w.state.applied) == 32 * 16
    assert all(decide(w.state, e, w.ctx).duplicate for e in sent[-32:])
    assert not decide(w.state, sent[0], w.ctx).duplicate  # forgotten: now simply too old
    assert decide(w.state, sent[0], w.ctx).rejected.code == "out_of_order"
