"""SLA clocks of a matter at one level: deadlines from the arrival time, the timers still
pending, and moving them by a pause. Pure functions over plain values; no I/O.

A cycle's timers are the warnings (shares of the resolve time), the accept deadline (only
while the level has not accepted) and the resolve deadline (until resolved). Each fires at
most once per cycle; ``fired`` is a bit set of them: ``ACCEPT_BIT``, ``RESOLVE_BIT`` and
``warn_bit(i)`` for the i-th threshold.
"""
from __future__ import annotations

from typing import NamedTuple

from events.calendar import Calendar
from events.levels import Level
from events.policy import Policy

ACCEPT, RESOLVE, WARNING, CLAIM = "accept", "resolve", "warning", "claim"
# On the same instant a warning fires before a breach, and an accept breach before a resolve breach.
_ORDER = {WARNING: 0, ACCEPT: 1, RESOLVE: 2}
ACCEPT_BIT, RESOLVE_BIT = 1, 2
CLAIM_BIT = 1 << 16  # the claim deadline after a dispatch naming a resource (events.state keeps it)


def warn_bit(index: int) -> int:
    """The ``fired`` bit of the warning at ``thresholds[index]``."""
    return 4 << index


class Deadlines(NamedTuple):
    """What ``sla_started`` carries: the deadlines of one cycle at one level."""

    started_at: int
    accept_by: int
    resolve_by: int
    warn_at: tuple[int, ...]
    thresholds: tuple[float, ...]
    accept_basis: str
    resolve_basis: str
    policy_version: str


class Timer(NamedTuple):
    due: int
    order: int
    deadline: str  # accept | resolve | warning
    name: str  # "accept", "resolve" or "warn:<threshold>"
    threshold: float | None
    bit: int  # its bit in ``fired``


def start(policy: Policy, calendar: Calendar, level: Level, category: str, priority: str,
          at: int) -> Deadlines:
    """Deadlines for an arrival at ``level`` at instant ``at`` (not the report time)."""
    sla = policy.sla(level, category, priority)
    accept_by = calendar.advance(at, sla.accept.amount_ms, sla.accept.basis)
    resolve_by = calendar.advance(at, sla.resolve.amount_ms, sla.resolve.basis)
    warn_at = tuple(calendar.advance(at, round(share * sla.resolve.amount_ms), sla.resolve.basis)
                    for share in sla.warn_at)
    return Deadlines(at, accept_by, resolve_by, warn_at, tuple(sla.warn_at),
                     sla.accept.basis, sla.resolve.basis, policy.version)


def shift(calendar: Calendar, d: Deadlines, paused_at: int, resumed_at: int) -> Deadlines:
    """Move every deadline by the paused time, measured on its own basis: what was left at
    the pause is what is left at the resume (a paused weekend costs no working time)."""

    def moved(due: int, basis: str) -> int:
        return calendar.advance(resumed_at, calendar.measure(paused_at, due, basis), basis)

    return Deadlines(resumed_at, moved(d.accept_by, d.accept_basis), moved(d.resolve_by, d.resolve_basis),
                     tuple(moved(w, d.resolve_basis) for w in d.warn_at), d.thresholds,
                     d.accept_basis, d.resolve_basis, d.policy_version)


def warn_name(threshold: float) -> str:
    return f"warn:{threshold:g}"


def timers(d: Deadlines, fired: int, *, awaiting_accept: bool) -> list[Timer]:
    """The timers of a running clock that have not fired yet, earliest first."""
    out = []
    if awaiting_accept and not fired & ACCEPT_BIT:
        out.append(Timer(d.accept_by, _ORDER[ACCEPT], ACCEPT, ACCEPT, None, ACCEPT_BIT))
    if not fired & RESOLVE_BIT:
        out.append(Timer(d.resolve_by, _ORDER[RESOLVE], RESOLVE, RESOLVE, None, RESOLVE_BIT))
        for i, (threshold, at) in enumerate(zip(d.thresholds, d.warn_at)):
            if not fired & warn_bit(i):
                out.append(Timer(at, _ORDER[WARNING], WARNING, warn_name(threshold), threshold, warn_bit(i)))
    return sorted(out)


def next_timer(d: Deadlines, fired: int, *, awaiting_accept: bool) -> Timer | None:
    """``timers(...)[0]`` without building the list: the state machine asks this on every event."""
    due, order, index = None, 0, 0  # index: -1 accept, -2 resolve, i >= 0 the i-th warning
    if awaiting_accept and not fired & ACCEPT_BIT:
        due, order, index = d.accept_by, 1, -1
    if not fired & RESOLVE_BIT:
        if due is None or (d.resolve_by, 2) < (due, order):
            due, order, index = d.resolve_by, 2, -2
        for i, at in enumerate(d.warn_at):  # thresholds ascend, so on a tie the lower one fires first
            if not fired & (4 << i) and (at, 0) < (due, order):
                due, order, index = at, 0, i
    if due is None:
        return None
    if index == -1:
        return Timer(due, 1, ACCEPT, ACCEPT, None, ACCEPT_BIT)
    if index == -2:
        return Timer(due, 2, RESOLVE, RESOLVE, None, RESOLVE_BIT)
    threshold = d.thresholds[index]
    return Timer(due, 0, WARNING, warn_name(threshold), threshold, 4 << index)
