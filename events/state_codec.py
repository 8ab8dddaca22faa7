"""The matter state as bytes: what the worker keeps in memory and in its compacted changelog.

Version 3 is a positional msgpack array, small enough for a million open matters in well
under 1.5 GB (about 200 bytes a state on the simulated city)::

    [3, matter_id, status, kind, category, priority, place, reported_at, unit, level, cycle,
     started_at, accept_by, resolve_by, warn_at, thresholds, bases, policy_version,
     fired, suspended_at, resolved_at, resolved_level, feedback, last_at, applied,
     resource, claim_by, summons]

Version 2 was the same array without the last three (the resources list and the summons
came after it).

- ``status``, ``kind``, ``priority``, ``level``, ``resolved_level``, ``feedback``: indexes
  into the ``*_V2`` tables below (frozen: never reorder them; a new value is appended).
- Instants are deltas, to fit msgpack's 5-byte integers: ``reported_at`` is absolute;
  ``started_at``, ``suspended_at``, ``resolved_at`` and ``last_at`` count from it;
  ``accept_by``, ``resolve_by`` and each ``warn_at`` from ``started_at``.
- ``thresholds``: ten-thousandths as integers when exact (0.8 -> 8000), else floats.
- ``bases``: bit 0 set when the accept deadline counts working time, bit 1 for resolve.
- ``fired``: the bit set of ``events.sla``; ``applied``: the bytes of ``events.applied``.
- ``resource``: the resource id or nil; ``claim_by`` counts from ``started_at``, or nil.
- ``summons``: ``[unit, summoned_at, due, status]`` per summoned unit, both instants counted from
  ``reported_at``; status 0 pending, 1 reported in, 2 missed, 3 reported in late.
- ``None`` stays nil.

Version 1 was ``MatterState.to_dict()``: a map with ``sv: 1``, names instead of indexes,
absolute instants, ``fired`` as timer names and ``applied`` as event ids. ``UPCASTERS``
lifts a record one version at a time, so every state ever written still loads.
"""
from __future__ import annotations

from typing import Any, Callable

from events import applied as memory
from events import codec, sla
from events.calendar import NATURAL, WORKING
from events.errors import DecodeError, StateError
from events.levels import LEVEL_NAMES
from events.state import STATE_SCHEMA, STATUSES, MatterState
from events.types import KINDS, PRIORITIES, SATISFACTION

STATUS_V2 = ("new", "accepted", "dispatched", "claimed", "resolved", "closed", "cancelled")
KIND_V2 = ("incident", "request")
PRIORITY_V2 = ("low", "normal", "urgent")
LEVEL_V2 = ("city", "district", "street", "community", "grid", "compound")
SATISFACTION_V2 = ("satisfied", "basically_satisfied", "unsatisfied")
FIELDS_V2 = 25
FIELDS_V3 = 28
# A value added to the domain without a code here must fail loudly, not store a wrong index.
assert set(STATUSES) <= set(STATUS_V2) and set(KINDS) <= set(KIND_V2) and set(PRIORITIES) <= set(PRIORITY_V2)
assert set(LEVEL_NAMES) <= set(LEVEL_V2) and set(SATISFACTION) <= set(SATISFACTION_V2)

_STATUS = {v: i for i, v in enumerate(STATUS_V2)}
_KIND = {v: i for i, v in enumerate(KIND_V2)}
_PRIORITY = {v: i for i, v in enumerate(PRIORITY_V2)}
_LEVEL = {v: i for i, v in enumerate(LEVEL_V2)}
_SATISFACTION = {v: i for i, v in enumerate(SATISFACTION_V2)}


def encode_state(state: MatterState) -> bytes:
    """The state as version-3 bytes."""
    return codec.pack(to_record(state))


def decode_state(data: bytes) -> MatterState:
    """A state from bytes of any version ever written. Raises ``StateError`` (a ValueError)."""
    try:
        record = codec.unpack(data)
    except DecodeError as exc:
        raise StateError(f"matter state: {exc}") from None
    return from_record(record)


def to_record(s: MatterState) -> list:
    """The version-3 array of a state (what ``encode_state`` packs)."""
    d = s.deadlines
    base, start = s.reported_at, d.started_at
    return [3, s.matter_id, _STATUS[s.status], _KIND[s.kind], s.category, _PRIORITY[s.priority], s.place, base,
            s.unit, _LEVEL[s.level], s.cycle, start - base, d.accept_by - start, d.resolve_by - start,
            [w - start for w in d.warn_at], [_share(t) for t in d.thresholds],
            (d.accept_basis == WORKING) | (d.resolve_basis == WORKING) << 1, d.policy_version, s.fired,
            None if s.suspended_at is None else s.suspended_at - base,
            None if s.resolved_at is None else s.resolved_at - base,
            None if s.resolved_level is None else _LEVEL[s.resolved_level],
            None if s.feedback is None else _SATISFACTION[s.feedback], s.last_at - base, s.applied,
            s.resource, None if s.claim_by is None else s.claim_by - start,
            [[u, at - base, due - base, st] for u, at, due, st in s.summons] if s.summons else []]


def from_record(record: Any) -> MatterState:
    """A state from an unpacked record of any known version (or ``MatterState.to_dict``'s map)."""
    if isinstance(record, dict) and record.get("sv") == 2:  # MatterState.to_dict(): the v2 array in a map
        record = record.get("state")
    version = record[0] if isinstance(record, list) and record else (
        record.get("sv") if isinstance(record, dict) else None)
    if type(version) is not int or not 1 <= version <= STATE_SCHEMA:
        raise StateError(f"matter state: unknown schema version {version!r} (this build reads 1 to {STATE_SCHEMA}); "
                         "a newer gridflow wrote it, or it is not a matter state")
    try:
        while version < STATE_SCHEMA:
            record, version = UPCASTERS[version](record), version + 1
        return _from_v3(record)
    except (LookupError, TypeError, ValueError, AttributeError) as exc:
        raise StateError(f"matter state v{version}: malformed ({type(exc).__name__}: {exc})") from None


def _from_v3(r: list) -> MatterState:
    if len(r) != FIELDS_V3:
        raise ValueError(f"expected {FIELDS_V3} fields, got {len(r)}")
    base = r[7]
    start = base + r[11]
    bases = r[16]
    deadlines = sla.Deadlines(start, start + r[12], start + r[13], tuple(start + w for w in r[14]),
                              tuple(t / 10_000 if type(t) is int else t for t in r[15]),
                              WORKING if bases & 1 else NATURAL, WORKING if bases & 2 else NATURAL, r[17])
    state = object.__new__(MatterState)  # as MatterState.evolve: skip the frozen __init__'s per-field setattr
    state.__dict__.update(
        matter_id=r[1], status=STATUS_V2[r[2]], kind=KIND_V2[r[3]], category=r[4], priority=PRIORITY_V2[r[5]],
        place=r[6], reported_at=base, unit=r[8], level=LEVEL_V2[r[9]], cycle=r[10], deadlines=deadlines,
        fired=r[18], suspended_at=None if r[19] is None else base + r[19],
        resolved_at=None if r[20] is None else base + r[20],
        resolved_level=None if r[21] is None else LEVEL_V2[r[21]],
        feedback=None if r[22] is None else SATISFACTION_V2[r[22]], last_at=base + r[23], applied=bytes(r[24]),
        resource=r[25], claim_by=None if r[26] is None else start + r[26],
        summons=tuple((u, base + at, base + due, st) for u, at, due, st in r[27]) if r[27] else ())
    return state


def _share(threshold: float) -> int | float:
    n = round(threshold * 10_000)
    return n if n / 10_000 == threshold else threshold


def _v1_to_v2(d: dict) -> list:
    """v1 (``to_dict`` map) -> v2 array. Timer names become bits; event ids become digests
    with unknown content, so a re-send of one of those ids stays a duplicate."""
    dl = d["deadlines"]
    thresholds = tuple(dl["thresholds"])
    deadlines = sla.Deadlines(dl["started_at"], dl["accept_by"], dl["resolve_by"], tuple(dl["warn_at"]), thresholds,
                              dl["accept_basis"], dl["resolve_basis"], dl["policy_version"])
    bits = {sla.ACCEPT: sla.ACCEPT_BIT, sla.RESOLVE: sla.RESOLVE_BIT}
    bits.update((sla.warn_name(t), sla.warn_bit(i)) for i, t in enumerate(thresholds))
    fired = 0
    for name in d["fired"]:
        fired |= bits[name]
    state = MatterState(matter_id=d["matter_id"], status=d["status"], kind=d["kind"], category=d["category"],
                        priority=d["priority"], place=d["place"], reported_at=d["reported_at"], unit=d["unit"],
                        level=d["level"], cycle=d["cycle"], deadlines=deadlines, fired=fired,
                        suspended_at=d["suspended_at"], resolved_at=d["resolved_at"],
                        resolved_level=d["resolved_level"], feedback=d["feedback"], last_at=d["last_at"],
                        applied=memory.from_ids(list(d["applied"])))
    return [2, *to_record(state)[1:FIELDS_V2]]  # the v2 layout: the v3 array without the last two


def _v2_to_v3(r: list) -> list:
    """v2 -> v3: no resource, no claim deadline, no summons (they came with the three lists)."""
    if len(r) != FIELDS_V2:
        raise ValueError(f"expected {FIELDS_V2} fields, got {len(r)}")
    return [3, *r[1:], None, None, []]


# version -> function lifting a record of that version to the next
UPCASTERS: dict[int, Callable[[Any], Any]] = {1: _v1_to_v2, 2: _v2_to_v3}
