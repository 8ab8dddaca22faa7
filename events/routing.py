"""Where a matter enters the hierarchy and where it goes when a level hands it over."""
from __future__ import annotations

from events.orgtree import OrgTree, OrgUnit
from events.policy import Policy


def entry_unit(policy: Policy, tree: OrgTree, place: str, category: str, priority: str) -> OrgUnit:
    """The lowest level that handles the category, above the reported place: a sanitation
    matter reported at a compound enters at its grid. A place already at or above the entry
    level is its own entry unit. Raises PolicyError / OrgTreeError for unknown names."""
    return tree.ancestor_at(place, policy.entry_level(category, priority))


def escalation_target(tree: OrgTree, unit_id: str) -> OrgUnit | None:
    """Where a matter held by ``unit_id`` goes up: along the tree in force, to the unit's parent
    now (a moved unit's new parent). A retired or merged unit's matter goes to its nearest
    ancestor still in force, else the city. None at the city, or for a unit never known."""
    return tree.parent_in_force(unit_id)
