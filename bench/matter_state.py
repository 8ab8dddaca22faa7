"""How fast the matter state machine runs and how big its stored state is, on a simulated city.

    PYTHONPATH=. python -m bench.matter_state [--days 6] [--matters-per-day 300] [--repeat 3]

Replays the simulator's stream through ``events.state.decide`` the way the worker does with
clock=event (the scanner's proposals at every watermark) and prints, per event, the time
``decide`` takes, the time to encode and decode the stored state, and its average size.
The best of ``--repeat`` passes is shown: the machine is shared, the minimum is the signal.
"""
from __future__ import annotations

import argparse
import time

from events import policy as policy_module
from events.calendar import Calendar
from events.state import Context, decide
from events.types import DeadlineReached, Watermark
from gridflow.city import generate
from gridflow.simulate import plan

try:  # the compact encoding, when this version of events has it
    from events.state_codec import decode_state, encode_state
except ImportError:  # the map every version before it stored
    from events import codec
    from events.state import MatterState

    def encode_state(state):
        return codec.pack(state.to_dict())

    def decode_state(data):
        return MatterState.from_dict(codec.unpack(data))


def stream(days: int, matters_per_day: int, seed: int) -> tuple[list, Context]:
    tree, policy, calendar = generate(grids=300, seed=5), policy_module.load(), Calendar()
    events = list(plan(tree, policy, calendar, days=days, seed=seed, matters_per_day=matters_per_day))
    return events, Context(policy=policy, tree=tree, calendar=calendar)


def replay(events: list, ctx: Context) -> tuple[float, int, list]:
    """Seconds spent in ``decide``, how many calls, and every state it stored."""
    states, stored, spent, calls = {}, [], 0.0, 0
    clock = time.perf_counter
    for event in events:
        if isinstance(event, Watermark):
            for matter_id, state in list(states.items()):
                while (timer := state.next_timer()) is not None and timer.due < event.occurred_at:
                    proposal = DeadlineReached(event_id="p", matter_id=matter_id, occurred_at=timer.due,
                                               producer="scanner", cycle=state.cycle,
                                               deadline=timer.deadline, due_at=timer.due)
                    t = clock()
                    decision = decide(state, proposal, ctx)
                    spent, calls = spent + clock() - t, calls + 1
                    states[matter_id] = state = decision.state
                    stored.append(state)
            continue
        t = clock()
        decision = decide(states.get(event.matter_id), event, ctx)
        spent, calls = spent + clock() - t, calls + 1
        states[event.matter_id] = decision.state
        stored.append(decision.state)
    return spent, calls, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--matters-per-day", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    events, ctx = stream(args.days, args.matters_per_day, args.seed)
    best = {"decide": float("inf"), "encode": float("inf"), "decode": float("inf")}
    for _ in range(args.repeat):
        spent, calls, stored = replay(events, ctx)
        best["decide"] = min(best["decide"], spent / calls)
        t = time.perf_counter()
        blobs = [encode_state(s) for s in stored]
        best["encode"] = min(best["encode"], (time.perf_counter() - t) / len(stored))
        t = time.perf_counter()
        for blob in blobs:
            decode_state(blob)
        best["decode"] = min(best["decode"], (time.perf_counter() - t) / len(blobs))
    size = sum(map(len, blobs)) / len(blobs)
    print(f"events {len(events):,} · decide calls {calls:,} · states stored {len(stored):,}")
    for name, seconds in best.items():
        print(f"{name:<8}{seconds * 1e6:8.1f} µs")
    print(f"state   {size:8.0f} bytes on average")


if __name__ == "__main__":
    main()
