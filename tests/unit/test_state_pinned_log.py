"""The event log the state machine derives from a fixed simulated city is pinned, byte for byte.

The digest was computed before the state machine was tuned for speed and given a compact
state: any change that alters an emitted event (an id, a deadline, the order) shows here.
Change the pin only for a deliberate change of the log, and say why in the commit.
"""
from __future__ import annotations

import hashlib

from events import codec
from events import policy as policy_module
from events.calendar import Calendar
from events.state import Context, decide
from events.types import DeadlineReached, Watermark
from gridflow.city import generate
from gridflow.simulate import plan

PINNED = "4d18c9e3a7e6973dee8a9c4d37a68cc73551fde0ec0c5afda56936bc52a0f4dc"
PINNED_EVENTS = 9282


def simulated_log() -> tuple[str, int]:
    """Replay a simulated week as the worker does with clock=event; digest every emitted event."""
    tree, policy, calendar = generate(grids=300, seed=5), policy_module.load(), Calendar()
    ctx = Context(policy=policy, tree=tree, calendar=calendar)
    states, digest, count = {}, hashlib.sha256(), 0

    def emit(decision) -> None:
        nonlocal count
        assert decision.rejected is None, decision.rejected
        for event in decision.emit:
            raw = codec.encode(event)
            digest.update(len(raw).to_bytes(4, "big") + raw)
            count += 1

    for event in plan(tree, policy, calendar, days=6, seed=1, matters_per_day=150):
        if isinstance(event, Watermark):
            for matter_id, state in list(states.items()):
                while (timer := state.next_timer()) is not None and timer.due < event.occurred_at:
                    proposal = DeadlineReached(event_id="p", matter_id=matter_id, occurred_at=timer.due,
                                               producer="scanner", cycle=state.cycle,
                                               deadline=timer.deadline, due_at=timer.due)
                    decision = decide(state, proposal, ctx)
                    states[matter_id] = state = decision.state
                    emit(decision)
            continue
        decision = decide(states.get(event.matter_id), event, ctx)
        states[event.matter_id] = decision.state
        emit(decision)
    return digest.hexdigest(), count


def test_the_log_of_a_simulated_week_is_the_pinned_one():
    assert simulated_log() == (PINNED, PINNED_EVENTS)
