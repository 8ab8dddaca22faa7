"""What the event log must hold for a simulated stream, from the pure state machine alone: the
yardstick of the integration, reliability and benchmark runs."""
from __future__ import annotations

from events import codec
from events.state import Context, MatterState, decide
from events.types import DeadlineReached, Event, Watermark


def replay(events: list[Event], ctx: Context) -> tuple[dict[str, bytes], dict[str, MatterState]]:
    """Every upstream event through the pure state machine in publishing order, and at each
    watermark every timer due before it (what each partition's owner does when its copy of the
    watermark arrives). Returns the emitted events by id (encoded) and the final states."""
    states: dict[str, MatterState] = {}
    emitted: dict[str, bytes] = {}

    def apply(event: Event) -> None:
        decision = decide(states.get(event.matter_id), event, ctx)
        assert decision.rejected is None, (event, decision.rejected)
        if decision.state is not None:
            states[event.matter_id] = decision.state
        for e in decision.emit:
            emitted.setdefault(e.event_id, codec.encode(e))

    for event in events:
        if not isinstance(event, Watermark):
            apply(event)
            continue
        for matter_id in list(states):
            while (timer := states[matter_id].next_timer()) is not None and timer.due < event.occurred_at:
                apply(DeadlineReached(event_id="ref", matter_id=matter_id, occurred_at=timer.due, producer="ref",
                                      cycle=states[matter_id].cycle, deadline=timer.deadline, due_at=timer.due))
    return emitted, states
