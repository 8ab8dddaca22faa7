"""SLA clocks of a matter at one level: deadlines from the arrival time, the timers still
pending, and moving them by a pause. Pure functions over plain values; no I/O.

A cycle's timers are the warnings (shares of the resolve time), the accept deadline (only
while the level has not accepted) and the resolve deadline (until resolved). Each fires at
most once per cycle; ``fired`` holds their names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from events.calendar import Calendar
from events.levels import Level
from events.policy import Policy

ACCEPT, RESOLVE, WARNING = "accept", "resolve", "warning"
# On the same instant a warning fires before a breach, and an accept breach before a resolve breach.
_ORDER = {WARNING: 0, ACCEPT: 1, RESOLVE: 2}


@dataclass(frozen=True)
class Deadlines:
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
    name: str  # "accept", "resolve" or "warn:<threshold>", the key in ``fired``
    threshold: float | None


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


def timers(d: Deadlines, fired: tuple[str, ...], *, awaiting_accept: bool) -> list[Timer]:
    """The timers of a running clock that have not fired yet, earliest first."""
    out = []
    if awaiting_accept and ACCEPT not in fired:
        out.append(Timer(d.accept_by, _ORDER[ACCEPT], ACCEPT, ACCEPT, None))
    if RESOLVE not in fired:
        out.append(Timer(d.resolve_by, _ORDER[RESOLVE], RESOLVE, RESOLVE, None))
        for threshold, at in zip(d.thresholds, d.warn_at):
            if warn_name(threshold) not in fired:
                out.append(Timer(at, _ORDER[WARNING], WARNING, warn_name(threshold), threshold))
    return sorted(out)
