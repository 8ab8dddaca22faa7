"""The stored matter state: a small positional array with its schema version first; every
state of a simulated city round-trips; states written by older versions still load."""
from __future__ import annotations

import pytest

from events import codec
from events import policy as policy_module
from events.calendar import Calendar
from events.errors import StateError
from events.state import STATE_SCHEMA, Context, MatterState, decide
from events.state_codec import decode_state, encode_state
from events.types import REGISTRY, DeadlineReached, Watermark
from gridflow.city import generate
from gridflow.simulate import plan

# What MatterState.to_dict() stored in schema 1 (a real state: reported, accepted, paused, resumed;
# the 50% warning marked fired by hand to cover timer names).
V1 = {"matter_id": "m-1", "status": "accepted", "kind": "incident", "category": "sanitation", "priority": "normal",
      "place": "k1", "reported_at": 1773622800000, "unit": "g1", "level": "grid", "cycle": 1,
      "deadlines": {"started_at": 1773730800000, "accept_by": 1773737880000, "resolve_by": 1773903480000,
                    "warn_at": [1773817080000, 1773868920000], "thresholds": [0.5, 0.8], "accept_basis": "natural",
                    "resolve_basis": "working", "policy_version": "2026.1"},
      "fired": ["warn:0.5"], "suspended_at": None, "resolved_at": None, "resolved_level": None, "feedback": None,
      "last_at": 1773730800000, "applied": ["e-1", "e-2", "e-3", "e-4"], "sv": 1}


@pytest.fixture(scope="module")
def simulated_states() -> list[MatterState]:
    """Every state the worker would store for three simulated days (the scanner at each watermark)."""
    tree, policy, calendar = generate(grids=300, seed=5), policy_module.load(), Calendar()
    ctx = Context(policy=policy, tree=tree, calendar=calendar)
    states, stored = {}, []
    for event in plan(tree, policy, calendar, days=3, seed=2, matters_per_day=100):
        if isinstance(event, Watermark):
            for matter_id, state in list(states.items()):
                while (timer := state.next_timer()) is not None and timer.due < event.occurred_at:
                    states[matter_id] = state = decide(state, DeadlineReached(
                        event_id="p", matter_id=matter_id, occurred_at=timer.due, producer="scanner",
                        cycle=state.cycle, deadline=timer.deadline, due_at=timer.due), ctx).state
                    stored.append(state)
            continue
        states[event.matter_id] = decide(states.get(event.matter_id), event, ctx).state
        stored.append(states[event.matter_id])
    return stored


def test_every_state_of_a_simulated_city_round_trips(simulated_states):
    assert len(simulated_states) > 1000
    for state in simulated_states:
        assert decode_state(encode_state(state)) == state


def test_a_stored_state_is_small(simulated_states):
    sizes = [len(encode_state(s)) for s in simulated_states]
    assert sum(sizes) / len(sizes) <= 250  # a million open matters in a fraction of 1.5 GB
    assert max(sizes) <= 1024


def test_the_encoding_is_a_positional_array_with_the_schema_version_first(simulated_states):
    record = codec.unpack(encode_state(simulated_states[-1]))
    assert isinstance(record, list) and record[0] == STATE_SCHEMA == 3


def test_a_version_two_state_loads_without_resource_or_claim_deadline(simulated_states):
    state = simulated_states[-1]
    v2 = [2, *codec.unpack(encode_state(state))[1:25]]
    loaded = decode_state(codec.pack(v2))
    assert loaded == state.evolve(resource=None, claim_by=None)
    assert loaded.resource is None and loaded.claim_by is None


def test_a_resource_and_a_claim_deadline_survive_the_round_trip(simulated_states):
    state = simulated_states[-1].evolve(status="dispatched", resource="res-pm-1",
                                        claim_by=simulated_states[-1].deadlines.started_at + 3_600_000)
    assert decode_state(encode_state(state)) == state


def test_a_version_one_state_still_loads():
    state = decode_state(codec.pack(V1))
    assert (state.matter_id, state.status, state.unit, state.level, state.cycle) == ("m-1", "accepted", "g1", "grid", 1)
    assert state.deadlines.warn_at == (1773817080000, 1773868920000) and state.deadlines.resolve_basis == "working"
    timer = state.next_timer()  # the 50% warning fired: the 80% one is next
    assert (timer.deadline, timer.threshold, timer.due) == ("warning", 0.8, 1773868920000)
    assert decode_state(encode_state(state)) == state


def test_an_event_applied_under_version_one_is_still_a_duplicate():
    state = decode_state(codec.pack(V1))
    resent = REGISTRY["accepted"](event_id="e-2", matter_id="m-1", occurred_at=1773622860000, producer="app",
                                  unit="g1", handler="h-1")
    ctx = Context(policy_module.load(), generate(grids=3, seed=1))
    assert decide(state, resent, ctx).duplicate


@pytest.mark.parametrize("record, message", [
    ([4, "m-1"], "unknown schema version 4 \\(this build reads 1 to 3\\)"),
    ({**V1, "sv": 99}, "unknown schema version 99"),
    ("hello", "unknown schema version None"),
    ([2, "m-1", 0], "matter state v2: malformed"),
    ({**V1, "fired": ["warn:0.3"]}, "matter state v1: malformed"),
])
def test_a_state_that_cannot_be_read_is_a_clear_value_error(record, message):
    with pytest.raises(ValueError, match=message) as caught:
        decode_state(codec.pack(record))
    assert isinstance(caught.value, StateError)


def test_bytes_that_are_not_msgpack_are_a_state_error():
    with pytest.raises(StateError):
        decode_state(b"\xc1")


def test_a_v1_map_and_its_v2_encoding_decode_to_the_same_state():
    assert decode_state(encode_state(decode_state(codec.pack(V1)))) == decode_state(codec.pack(V1))
