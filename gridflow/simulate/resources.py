"""The simulated resources list (三张清单): who in the city can take orders, and where.

Deterministic for a tree: every community has a co-building unit serving care and, in every
second community, utility repairs (so the rest are gaps); two grids in three have a party
member serving deliveries and micro-wishes. Capacities are far above what the simulated
loads reach, so whether a need is matched depends only on who covers its place: the ground
truth of the match rate and the gaps follows from the list alone, whatever order the
pipeline meets the claims in.
"""
from __future__ import annotations

from dataclasses import dataclass

from events.levels import Level
from events.orgtree import OrgTree
from events.policy import Policy

CAPACITY = 10_000  # never reached: matching never says all_busy in the simulation


@dataclass(frozen=True)
class SimResource:
    resource_id: str
    kind: str
    categories: tuple[str, ...]
    covers: tuple[str, ...]
    unit: str | None = None


def resources_for(tree: OrgTree) -> list[SimResource]:
    out = []
    communities = sorted(u.unit_id for u in tree if u.level == Level.COMMUNITY)
    for i, community in enumerate(communities):
        cats = ("elderly_care", "utility_repair") if i % 2 == 0 else ("elderly_care",)
        out.append(SimResource(f"res-cb-{community}", "unit", cats, (community,), f"cb-{community}"))
    grids = sorted(u.unit_id for u in tree if u.level == Level.GRID)
    for i, grid in enumerate(grids):
        if i % 3 != 2:
            out.append(SimResource(f"res-pm-{grid}", "member", ("document_delivery", "micro_wish"), (grid,)))
    return out


class Coverage:
    """Which resources serve a category at a place: the pipeline's rule (events/matching.py),
    counted here from the list alone."""

    def __init__(self, tree: OrgTree, policy: Policy, resources: list[SimResource]) -> None:
        self.tree, self.policy = tree, policy
        self.by_unit: dict[str, list[SimResource]] = {}
        for r in resources:
            for unit in r.covers:
                self.by_unit.setdefault(unit, []).append(r)

    def matched(self, category: str) -> bool:
        return category in self.policy.matching.categories

    def serving(self, category: str, place: str) -> list[SimResource]:
        """Active resources serving the category (or a related one) that cover the place, nearest first."""
        fits = {category, *self.policy.matching.related_to(category)}
        found = []
        for unit in self.tree.ancestors(place):
            found += [r for r in self.by_unit.get(unit.unit_id, ()) if fits & set(r.categories)]
        return found

    def exact(self, category: str, place: str) -> list[SimResource]:
        """Those serving the category itself (the ones the simulated community dispatches to)."""
        return [r for r in self.serving(category, place) if category in r.categories]
