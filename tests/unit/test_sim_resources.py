"""The simulated city with a resources list (三张清单): the pipeline's own state machine, fed the
stream with every resource judged by ``decide_resource`` first, derives exactly the simulator's
ground truth of the lists — candidates or a gap per need, every dispatch to a resource claimed
in time, the claims per resource and the time to claim — and the escalation path is unchanged."""
from __future__ import annotations

from collections import Counter

from events import policy as policy_module
from events.calendar import Calendar
from events.levels import Level
from events.resources import Directory, decide_resource
from events.state import CANCELLED, CLAIMED, CLOSED, Context
from events.types import RESOURCE_TYPES, SlaBreached
from gridflow.city import generate
from gridflow.simulate import plan
from test_sim_agreement import replay


def test_the_pipeline_derives_the_simulated_lists_and_the_escalation_path_stays_the_same():
    tree, policy, calendar = generate(grids=300, seed=5), policy_module.load(), Calendar()
    p = plan(tree, policy, calendar, days=6, seed=4, matters_per_day=150, resources=True)
    events = list(p)
    directory = Directory()
    ctx = Context(policy=policy, tree=tree, calendar=calendar, resources=directory)
    resource_events = [e for e in events if e.TYPE in RESOURCE_TYPES]
    assert resource_events == events[:len(resource_events)] and len(resource_events) == len(p.truth.resources)
    for e in resource_events:
        d = decide_resource(directory.get(e.matter_id), e, ctx)
        assert d.rejected is None, d.rejected
        directory.put(d.resource)
    states, log = replay([e for e in events if e.TYPE not in RESOURCE_TYPES], ctx, scanner=True)
    truth = p.truth
    assert len(truth) > 500
    lists = truth.lists()
    first = {m: next((e for e in emitted if e.TYPE in ("candidates_proposed", "no_resource")), None)
             for m, emitted in log.items()}
    assert sum(1 for e in first.values() if e is not None and e.TYPE == "candidates_proposed") == lists["matched"]
    assert sum(1 for e in first.values() if e is not None and e.TYPE == "no_resource") == lists["gap"]
    assert lists["matched"] > 50 and lists["gap"] > 10
    for m in truth:
        if m.match is not None:
            assert first[m.matter_id].TYPE == ("candidates_proposed" if m.match == "matched" else "no_resource")
    claims = Counter(e.resource for emitted in log.values() for e in emitted if e.TYPE == "claimed" and e.resource)
    per_matter = Counter(r for emitted in log.values()
                         for r in {e.resource for e in emitted if e.TYPE == "claimed" and e.resource})
    assert dict(per_matter) == lists["orders"] and sum(claims.values()) >= lists["claimed"] > 50
    assert not any(e.deadline == "claim" for emitted in log.values() for e in emitted if isinstance(e, SlaBreached))
    assert not any(s.status == CLAIMED for s in states.values())
    # 社区吹哨、部门报到: every summons, its report-in or its missed deadline
    summoned = [e for emitted in log.values() for e in emitted if e.TYPE == "summoned"]
    missed = [e for emitted in log.values() for e in emitted if e.TYPE == "report_in_missed"]
    assert len(summoned) == lists["summoned"] > 10 and len(missed) == lists["report_ins_missed"] > 0
    for m in truth:
        got = {(e.unit, e.due_at) for e in log[m.matter_id] if e.TYPE == "report_in_missed"}
        assert got == {(s["unit"], s["due_at"]) for s in m.summons if s["missed"]}, m.matter_id
    # 积分: the points each resource earned
    awarded = Counter()
    for emitted in log.values():
        for e in emitted:
            if e.TYPE == "points_awarded":
                awarded[e.resource] += e.points
    assert dict(awarded) == lists["points"] and sum(awarded.values()) > 100
    # every simulated resource serves one community (its own, or its grid's), and redeems nothing
    assert all(len(r["communities"]) == 1 for r in truth.resources)
    assert sum(lists["points_by_community"].values()) == sum(awarded.values())
    assert all(r["communities"] == [tree.ancestor_at(r["covers"][0], Level.COMMUNITY).unit_id]
               for r in truth.resources)
    assert len(lists["points_by_community"]) > 1
    for m in truth:
        got = [dict(resource=e.resource, reason=e.reason, points=e.points)
               for e in log[m.matter_id] if e.TYPE == "points_awarded"]
        assert got == m.points, m.matter_id
    # 微心愿: collected (not cancelled), claimed by a resource, fulfilled (closed: resolved and verified)
    wishes = [m.matter_id for m in truth if m.category == "micro_wish" and states[m.matter_id].status != CANCELLED]
    assert lists["wishes"] == {
        "collected": len(wishes),
        "claimed": sum(any(e.TYPE == "claimed" and e.resource for e in log[w]) for w in wishes),
        "fulfilled": sum(states[w].status == CLOSED for w in wishes)}
    assert lists["wishes"]["collected"] >= lists["wishes"]["fulfilled"] > 0 and lists["wishes"]["claimed"] > 0
    for m in truth:  # the escalation path, as without resources
        emitted = log[m.matter_id]
        assert [(e.level, e.deadline) for e in emitted if isinstance(e, SlaBreached)] == \
            [(b["level"], b["deadline"]) for b in m.breaches]
