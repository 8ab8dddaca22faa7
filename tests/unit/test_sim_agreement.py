"""The simulator's ground truth agrees exactly with what the pipeline's own state machine
derives from the simulated stream: routing, every breach, every escalation, where each matter
was resolved, and how it ended — with nothing rejected.

The replay feeds every upstream event to ``events.state.decide`` in stream order and, at each
watermark, plays the SLA scanner (propose every timer due before the watermark), as the worker
does with clock=event.
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from events import policy as policy_module
from events.calendar import Calendar
from events.state import CANCELLED, CLOSED, Context, decide
from events.types import DeadlineReached, MatterEscalated, MatterResolved, SlaBreached, Watermark
from gridflow.city import generate
from gridflow.simulate import plan


def replay(events, ctx, *, scanner: bool):
    states, log = {}, defaultdict(list)
    for event in events:
        if isinstance(event, Watermark):
            if scanner:
                for matter_id, state in list(states.items()):
                    while (timer := state.next_timer()) is not None and timer.due < event.occurred_at:
                        proposal = DeadlineReached(event_id="p", matter_id=matter_id, occurred_at=timer.due,
                                                   producer="scanner", cycle=state.cycle,
                                                   deadline=timer.deadline, due_at=timer.due)
                        decision = decide(state, proposal, ctx)
                        states[matter_id] = state = decision.state
                        log[matter_id] += decision.emit
            continue
        decision = decide(states.get(event.matter_id), event, ctx)
        assert decision.rejected is None, f"{event.TYPE} {event.matter_id}: {decision.rejected}"
        assert not decision.duplicate
        states[event.matter_id] = decision.state
        log[event.matter_id] += decision.emit
    return states, log


@pytest.fixture(scope="module")
def world():
    tree, policy = generate(grids=300, seed=5), policy_module.load()
    return tree, policy


@pytest.mark.parametrize("seed, scanner", [(1, True), (2, False), (3, True)])
def test_the_pipeline_derives_exactly_the_simulated_ground_truth(world, seed, scanner):
    tree, policy = world
    calendar = Calendar()
    p = plan(tree, policy, calendar, days=6, seed=seed, matters_per_day=150)
    states, log = replay(p, Context(policy=policy, tree=tree, calendar=calendar), scanner=scanner)
    truth = p.truth
    assert len(truth) > 500 and set(states) == set(truth.matters)
    for m in truth:
        state, emitted = states[m.matter_id], log[m.matter_id]
        where = f"{m.matter_id} ({m.category}/{m.priority})"
        assert state.status == {"closed": CLOSED, "cancelled": CANCELLED}[m.status], where
        assert (state.level, state.unit) == (m.level, m.unit), where
        assert state.cycle == m.cycles, where
        resolved = [e for e in emitted if isinstance(e, MatterResolved)]
        if m.resolved_level:
            assert (resolved[-1].level, resolved[-1].unit) == (m.resolved_level, m.resolved_unit), where
            assert resolved[-1].occurred_at == m.resolved_at and resolved[0].occurred_at == m.first_resolved_at
        else:
            assert resolved == [], where
        escalations = [dict(from_level=e.from_level, from_unit=e.from_unit, to_level=e.to_level, to_unit=e.to_unit,
                            reason=e.reason, at=e.occurred_at, cycle=e.cycle)
                       for e in emitted if isinstance(e, MatterEscalated)]
        assert escalations == m.escalations, where
        breaches = [dict(level=e.level, unit=e.unit, cycle=e.cycle, deadline=e.deadline, at=e.due_at)
                    for e in emitted if isinstance(e, SlaBreached)]
        assert breaches == m.breaches, where
    assert not any(s.timers() for s in states.values()), "every matter ends closed or cancelled"


def test_the_replay_exercises_every_path(world):
    tree, policy = world
    p = plan(tree, policy, days=6, seed=1, matters_per_day=150)
    for _ in p:
        pass
    s = p.truth.summary()
    assert set(s["escalations"]) == {"breach", "whistle", "authority"}
    assert {"grid:accept", "grid:resolve", "community:accept", "community:resolve"} <= set(s["breaches"])
    assert s["cancelled"] and s["reworks"] and s["reopened"] and s["suspended"]
