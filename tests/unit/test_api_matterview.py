"""The read model folds the log the pure state machine writes, and a repeated stretch of the
log (at-least-once delivery) changes nothing."""
from __future__ import annotations

from api_support import tree
from events import policy as policy_mod
from events.state import Context, decide
from events.types import DeadlineReached, Event
from events.validation import to_wire
from gridflow.api.readmodel import ReadModel
from gridflow.api.views import request, status_notes
from gridflow.api.places import Places
from gridflow.api.services import Catalogue
from gridflow.sdk.factory import EventFactory

T0 = 1_780_000_000_000  # 2026-05-28, a Thursday
H = 3_600_000
POLICY = policy_mod.load()


def log_of(upstream: list[Event]) -> list[dict]:
    """The log the worker writes for these upstream events, every timer due before an event
    fired first (as the worker's scanner would have)."""
    ctx, state, out = Context(POLICY, tree()), None, []
    for event in upstream:
        while state is not None and (t := state.next_timer()) is not None and t.due < event.occurred_at:
            decision = decide(state, DeadlineReached(event_id="s", matter_id=event.matter_id, occurred_at=t.due,
                                                     producer="s", cycle=state.cycle, deadline=t.deadline,
                                                     due_at=t.due), ctx)
            state, out = decision.state, out + [to_wire(e) for e in decision.emit]
        decision = decide(state, event, ctx)
        assert decision.rejected is None, decision.rejected
        state, out = decision.state, out + [to_wire(e) for e in decision.emit]
    return out


def escalated_and_resolved() -> list[dict]:
    """The grid accepts and never resolves; after its resolve deadline the community has it,
    accepts within its 4 hours and resolves."""
    f = EventFactory("app", policy=POLICY)
    report = f.reported(category="sanitation", place="u-k1", reporter="r-1", text="t", matter_id="m-1", at=T0)
    accepted = f.accepted("m-1", unit="u-g1", handler="h-1", at=T0 + H)
    grid_due = next(r["data"]["resolve_by"] for r in log_of([report, accepted]) if r["type"] == "sla_started")
    late = f.accepted("m-1", unit="u-comm", handler="h-2", at=grid_due + H)
    resolved = f.resolved("m-1", unit="u-comm", handler="h-2", at=grid_due + 2 * H)
    return log_of([report, accepted, late, resolved])


def test_a_matter_escalated_by_a_missed_deadline_and_resolved_above_reads_as_the_log_says():
    model = ReadModel()
    for record in escalated_and_resolved():
        model.apply(record)
    view = model.get("m-1")
    assert (view.state, view.level, view.unit, view.resolved_level) == ("resolved", "community", "u-comm", "community")
    assert [(e[1], e[3], e[5]) for e in view.escalations] == [("grid", "community", "breach")]
    assert [(b[1], b[3]) for b in view.breaches] == [("grid", "resolve")]
    assert view.closed and status_notes(view) == "resolved at community level; waiting for verification"


def test_a_repeated_stretch_of_the_log_changes_nothing():
    log = escalated_and_resolved()
    once, twice = ReadModel(), ReadModel()
    for record in log:
        once.apply(record)
    for record in log[:3] + log + log[2:]:
        twice.apply(record)
    assert once.get("m-1") == twice.get("m-1")


def test_the_request_shows_the_holder_the_deadline_and_the_history():
    model = ReadModel()
    log = escalated_and_resolved()
    for record in log[:4]:  # reported, routed, sla_started, accepted
        model.apply(record)
    shown = request(model.get("m-1"), Catalogue(POLICY), Places(tree()))
    assert shown["status"] == "open" and shown["agency_responsible"] == "中牌村第1网格 (grid)"
    assert shown["address"] == "一号楼, 中牌村第1网格, 中牌村, 宁远堡镇, 金川区, 金昌市"
    assert shown["expected_datetime"] == shown["gridflow"]["deadlines"]["resolve_by"] is not None
    assert shown["gridflow"]["state"] == "accepted" and shown["description"] is None


def test_a_pending_report_is_shown_until_the_log_has_it():
    model = ReadModel()
    from gridflow.api.matterview import MatterView

    model.publishing(MatterView("m-1", category="sanitation", place="u-k1", requested_at=T0))
    assert model.get("m-1").state == "reported" and [v.matter_id for v in model.newest_first()] == ["m-1"]
    for record in escalated_and_resolved()[:3]:
        model.apply(record)
    assert model.get("m-1").state == "new" and len(list(model.newest_first())) == 1


def test_a_packed_view_stays_small():
    model = ReadModel()
    for record in escalated_and_resolved():
        model.apply(record)
    assert len(model._views["m-1"]) < 300
