"""Matching a need with the resources list: pure, the ranking rule from the policy.

A need is a matter's category, its place in the six-level tree and the instant it arrived at a
level. A resource is eligible when it is active, serves the category (or a related one, at the
policy's ``related_fit``) and covers the place: one of its covered units is the place or an
ancestor of it. Its score is the weighted mean (weights in the policy's ``matching``) of

- **fit**: 1 for the category itself, ``related_fit`` for a related one;
- **nearness**: 1 when the nearest covered unit is the place itself (same compound), then 0.2
  less per level between them (its grid 0.8, its community 0.6, ... the city 0);
- **load**: the free share of its capacity, 1 - held orders / capacity;
- **availability**: 1 when the need's instant falls in one of its weekly windows (or it has
  none), else 0.

Resources at capacity are left out. Candidates are ranked by score, highest first, ties by
the smaller resource id; at most ``max_candidates``. No eligible resource at all is the gap
``no_cover``; eligible ones all at capacity is ``all_busy``.
"""
from __future__ import annotations

from typing import NamedTuple

from events import availability
from events.orgtree import OrgTree
from events.policy import Policy
from events.resources import Directory

LEVELS_SPAN = 5  # city (1) to compound (6): the largest distance in the tree


class Need(NamedTuple):
    category: str
    place: str
    at: int  # UTC epoch ms


class Candidate(NamedTuple):
    resource_id: str
    score: float
    fit: float
    nearness: float
    load: float  # free share of the capacity
    available: bool


class Match(NamedTuple):
    candidates: tuple[Candidate, ...]
    gap: str | None  # None, no_cover or all_busy


def distances(tree: OrgTree, place: str) -> dict[str, int]:
    """The place and each unit above it, with the number of levels between them and the place."""
    if place not in tree:
        return {}
    depth = tree.get(place).level
    return {unit.unit_id: depth - unit.level for unit in tree.ancestors(place)}


def nearness(between: dict[str, int], covers: tuple[str, ...]) -> float | None:
    """1 - 0.2 x levels between the place and its nearest covered ancestor-or-self; None if
    no covered unit contains the place. ``between``: ``distances(tree, place)``."""
    found = [between[u] for u in covers if u in between]
    return round(1.0 - min(found) / LEVELS_SPAN, 4) if found else None


def match(need: Need, directory: Directory, tree: OrgTree, policy: Policy) -> Match:
    rules = policy.matching
    w = dict(rules.weights)
    total = sum(w.values())
    fits = {rid: 1.0 for rid in directory.serving(need.category)}
    for related in rules.related_to(need.category):
        for rid in directory.serving(related):
            fits.setdefault(rid, rules.related_fit)
    found, busy = [], 0
    between = distances(tree, need.place)
    for rid, fit in fits.items():
        resource = directory.get(rid)
        near = nearness(between, resource.covers)
        if near is None:
            continue
        held = directory.load(rid)
        if held >= resource.capacity:
            busy += 1
            continue
        free = 1.0 - held / resource.capacity
        avail = availability.available(resource.windows, need.at)
        score = (w["fit"] * fit + w["nearness"] * near + w["load"] * free + w["availability"] * avail) / total
        found.append(Candidate(rid, round(score, 4), fit, near, round(free, 4), avail))
    found.sort(key=lambda c: (-c.score, c.resource_id))
    if found:
        return Match(tuple(found[:rules.max_candidates]), None)
    return Match((), "all_busy" if busy else "no_cover")
