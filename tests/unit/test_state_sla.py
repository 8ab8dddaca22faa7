"""SLA clocks in the state machine: deadlines, warnings, breaches, escalation up the levels,
pause/resume, reopening, whistles, and at most once per (matter, level, cycle, deadline)."""
from __future__ import annotations

import pytest

from events import policy as policy_mod
from events.calendar import WORKING, Calendar
from events.ids import derived_id
from test_state import MIN, H, T0, World, at, history

DAY = 24 * H


def propose(w: World, deadline: str | None = None, due: int | None = None, cycle: int | None = None):
    """What the scanner does: propose the matter's next timer (or the given one)."""
    timer = w.state.next_timer()
    due = timer.due if due is None else due
    return w.send("deadline_reached", due, cycle=w.state.cycle if cycle is None else cycle,
                  deadline=deadline or timer.deadline, due_at=due)


# --- deadlines ----------------------------------------------------------------------------


@pytest.mark.parametrize("reported_at, resolve_by, warn_at", [
    # Wednesday before the National Day holiday (Oct 1-7): 14 h on Sep 30, 24 h on Oct 8, 10 h on Oct 9
    (at(2026, 9, 30, 10), at(2026, 10, 9, 10), [at(2026, 10, 8, 10), at(2026, 10, 9, 0, 24)]),
    # Saturday Sep 19 is off, Sunday Sep 20 is a make-up workday: Sunday and Monday count
    (at(2026, 9, 19, 9), at(2026, 9, 22, 0), [at(2026, 9, 21, 0), at(2026, 9, 21, 14, 24)]),
    # Thursday before the Mid-Autumn Friday (Sep 25) and the weekend
    (at(2026, 9, 24, 12), at(2026, 9, 29, 12), [at(2026, 9, 28, 12), at(2026, 9, 29, 2, 24)]),
])
def test_working_day_deadlines_follow_the_official_calendar(reported_at, resolve_by, warn_at):
    w = World()
    started = w.send("reported", reported_at).emit[2]
    assert started.accept_by == reported_at + 2 * H  # hours are natural, holiday or not
    assert started.resolve_by == resolve_by  # grid sanitation: 2 working days
    assert started.warn_at == warn_at  # 50% and 80% of the resolve time


def test_an_urgent_matter_uses_the_urgent_rule_at_any_level():
    w = World()
    started = w.send("reported", category="elder_fraud", priority="urgent").emit[2]
    assert (started.level, started.accept_by, started.resolve_by) == ("community", T0 + 15 * MIN, T0 + 2 * H)
    assert started.warn_at == [T0 + H, T0 + 96 * MIN]  # the most specific rule names no thresholds: default


def test_beyond_the_calendar_data_working_days_fall_back_to_monday_to_friday():
    seen = []

    def no_data(day):
        raise NotImplementedError

    w = World(calendar=Calendar(is_workday=no_data, on_fallback=seen.append))
    started = w.send("reported", at(2026, 10, 1, 10)).emit[2]  # a holiday, but the fallback cannot know
    assert started.resolve_by == at(2026, 10, 5, 10)  # Thu 14h + Fri 24h + Mon 10h
    assert seen  # the fallback is reported, so the worker can log and count it


# --- warnings, breaches, escalation -------------------------------------------------------


def test_unaccepted_grid_matter_escalates_to_community_at_its_accept_deadline():
    w = World()
    w.send("reported")
    d = propose(w)
    assert w.types(d) == ["sla_breached", "escalated", "sla_started"]
    breached, escalated, started = d.emit
    assert (breached.deadline, breached.level, breached.cycle, breached.due_at) == ("accept", "grid", 1, T0 + 2 * H)
    assert breached.event_id == derived_id("m1", "sla_breached", "grid", 1, "accept")
    assert (escalated.from_unit, escalated.to_unit, escalated.to_level, escalated.reason, escalated.cycle) == \
        ("g1", "cm", "community", "breach", 2)
    assert escalated.event_id == derived_id("m1", "escalated", "grid", 1)
    assert all(e.occurred_at == T0 + 2 * H for e in d.emit)  # at the deadline, whenever it was noticed
    # the community's clock counts from its own arrival, not from the report
    assert (started.cycle, started.accept_by) == (2, T0 + 2 * H + 4 * H)
    assert d.state.status == "new" and d.state.unit == "cm"


def test_a_matter_nobody_accepts_climbs_to_the_city_and_then_only_breaches():
    w = World()
    w.send("reported")
    climbed = []
    while (timer := w.state.next_timer()) is not None:
        propose(w)
        climbed.append(w.state.level)
    assert [e.to_level for e in w.log if e.TYPE == "escalated"] == ["community", "street", "district", "city"]
    city = [e for e in w.log if e.TYPE == "sla_breached" and e.level == "city"]
    assert [e.deadline for e in city] == ["accept", "resolve"]  # recorded, nothing escalates
    assert w.state.level == "city" and w.state.cycle == 5 and w.state.status == "new"
    warnings = [e for e in w.log if e.TYPE == "sla_warning" and e.level == "city"]
    assert [e.threshold for e in warnings] == [0.5, 0.8]


def test_accepted_but_unresolved_matter_is_warned_then_breached_then_escalated():
    w = World()
    history(w, "reported accepted")
    first, second, breach = propose(w), propose(w), propose(w)
    assert w.types(first) == ["sla_warning"] and first.emit[0].threshold == 0.5
    assert first.emit[0].event_id == derived_id("m1", "sla_warning", "grid", 1, 0.5)
    assert w.types(second) == ["sla_warning"] and second.emit[0].threshold == 0.8
    assert w.types(breach) == ["sla_breached", "escalated", "sla_started"]
    assert breach.emit[0].deadline == "resolve" and breach.emit[0].due_at == T0 + 48 * H


def test_an_event_after_a_missed_deadline_is_judged_after_the_breach_and_changes_nothing_if_rejected():
    w = World()
    w.send("reported")
    before = w.state
    d = w.send("accepted", T0 + 3 * H, unit="g1")  # the grid accepts an hour late; no scan ran
    assert d.rejected.code == "not_holder"  # by then the community holds it
    assert d.emit == () and d.state == before  # the breach is left for the scanner or the next event
    d = w.send("accepted", T0 + 3 * H, unit="cm")
    assert w.types(d) == ["sla_breached", "escalated", "sla_started", "accepted"]
    assert d.rejected is None and d.state.status == "accepted"


def test_an_event_exactly_at_the_deadline_is_on_time():
    w = World()
    w.send("reported")
    d = w.send("accepted", T0 + 2 * H)
    assert d.rejected is None and w.types(d) == ["accepted"]


def test_duplicate_proposals_produce_nothing_new():
    w = World()
    w.send("reported")
    timer = w.state.next_timer()
    first = propose(w, due=timer.due, cycle=1, deadline="accept")
    again = propose(w, due=timer.due, cycle=1, deadline="accept")
    assert len(first.emit) == 3 and again.emit == () and again.rejected is None


def test_a_proposal_fires_nothing_that_is_not_yet_due():
    w = World()
    w.send("reported")
    d = w.send("deadline_reached", T0 + H, cycle=1, deadline="accept", due_at=T0 + H)
    assert d.emit == () and d.state.fired == 0  # no timer has fired


def test_a_late_scan_fires_every_due_timer_in_order():
    w = World()
    history(w, "reported accepted")
    d = w.send("deadline_reached", T0 + 3 * DAY, cycle=1, deadline="resolve", due_at=T0 + 48 * H)
    assert w.types(d) == ["sla_warning", "sla_warning", "sla_breached", "escalated", "sla_started"]
    assert d.state.level == "community"


def test_a_proposal_for_a_finished_cycle_is_ignored():
    w = World()
    history(w, "reported accepted resolved")
    d = w.send("deadline_reached", T0 + 48 * H, cycle=1, deadline="resolve", due_at=T0 + 48 * H)
    assert d.emit == () and d.state.status == "resolved"


# --- whistles -----------------------------------------------------------------------------


@pytest.mark.parametrize("reason, escalation", [("needs_help", "whistle"), ("beyond_authority", "authority")])
def test_a_whistle_hands_the_matter_one_level_up(reason, escalation):
    w = World()
    history(w, "reported accepted")
    d = w.send("escalation_requested", T0 + H, reason=reason)
    assert w.types(d) == ["escalation_requested", "escalated", "sla_started"]
    assert (d.emit[1].reason, d.emit[1].to_unit, d.emit[1].cycle) == (escalation, "cm", 2)
    assert d.emit[2].occurred_at == T0 + H and d.emit[2].accept_by == T0 + 5 * H


def test_at_city_level_a_whistle_is_rejected():
    w = World()
    w.send("reported")
    for _ in range(4):
        w.send("escalation_requested", T0 + MIN)
    assert w.state.level == "city"
    d = w.send("escalation_requested", T0 + 2 * MIN)
    assert d.rejected.code == "top_level"


# --- pause and resume ---------------------------------------------------------------------


def test_resume_moves_the_deadlines_by_the_paused_time():
    w = World()
    w.send("reported")
    w.send("suspended", T0 + 30 * MIN)
    d = w.send("resumed", T0 + 30 * MIN + 5 * H)
    assert w.types(d) == ["resumed", "sla_started"]
    started = d.emit[1]
    assert (started.reason, started.cycle, started.level) == ("resumed", 1, "grid")
    assert started.accept_by == T0 + 2 * H + 5 * H
    assert started.resolve_by == T0 + 48 * H + 5 * H  # a weekday: working time == natural time
    assert started.event_id == derived_id("m1", "sla_started", "grid", 1, "resumed", d.emit[0].event_id)


def test_a_pause_over_a_weekend_costs_no_working_time():
    cal = Calendar()
    w = World()
    friday = at(2026, 3, 20, 10)
    first = w.send("reported", friday).emit[2]
    w.send("accepted", friday + MIN)
    w.send("suspended", at(2026, 3, 20, 18))
    moved = w.send("resumed", at(2026, 3, 23, 9)).emit[1]  # Monday morning
    paused_working = cal.measure(at(2026, 3, 20, 18), at(2026, 3, 23, 9), WORKING)
    assert paused_working == 6 * H + 9 * H  # Friday evening + Monday morning, not the weekend
    assert cal.measure(first.resolve_by, moved.resolve_by, WORKING) == paused_working
    assert moved.warn_at[0] == at(2026, 3, 24, 1)  # Mon 10:00 + 15 h of working time


def test_no_timer_fires_while_suspended():
    w = World()
    w.send("reported")
    w.send("suspended", T0 + MIN)
    assert w.state.next_timer() is None
    d = w.send("deadline_reached", T0 + 5 * H, cycle=1, deadline="accept", due_at=T0 + 2 * H)
    assert d.emit == ()
    d = w.send("cancelled", T0 + 10 * DAY)
    assert w.types(d) == ["cancelled"]


def test_two_pauses_give_two_resume_clocks():
    w = World()
    history(w, "reported suspended resumed suspended resumed")
    ids = [e.event_id for e in w.log if e.TYPE == "sla_started"]
    assert len(ids) == 3 and len(set(ids)) == 3


# --- rework and reopening -----------------------------------------------------------------


@pytest.mark.parametrize("steps", ["verification_failed", "verified reopened", "reopened"])
def test_reopening_restarts_the_clock_at_the_level_that_resolved_it(steps):
    w = World()
    w.send("reported")
    propose(w)  # accept deadline missed: the community holds it
    history(w, "accepted resolved " + steps, start=T0 + 3 * H)
    started = w.log[-1]
    assert started.TYPE == "sla_started" and started.reason == "reopened"
    assert (started.level, started.unit, started.cycle) == ("community", "cm", 3)
    reopened_at = T0 + 3 * H + (len(steps.split()) + 1) * MIN
    assert started.occurred_at == reopened_at and started.accept_by == reopened_at + 4 * H
    assert w.state.status == "new" and w.state.feedback is None


def test_a_reopened_matter_gets_new_feedback():
    w = World()
    history(w, "reported accepted resolved feedback reopened accepted resolved feedback")
    assert not w.rejected


def test_a_cancelled_matter_has_no_timers():
    w = World()
    history(w, "reported cancelled")
    assert w.state.next_timer() is None


def test_the_policy_version_is_written_with_every_clock():
    w = World()
    w.send("reported")
    w.send("escalation_requested", T0 + MIN)
    assert {e.policy_version for e in w.log if e.TYPE == "sla_started"} == {policy_mod.load().version}
