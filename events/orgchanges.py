"""Changes of a living org tree, as pure functions.

- ``check`` validates a whole tree read from a file, naming the row of every fault;
- ``diff`` compares it with what the org topic holds: the records to publish, each with
  the kind of change (added, moved, renamed, retired, restored) and the next revision;
- ``in_force`` builds the tree a worker routes with from the latest record of every unit,
  tolerating records that arrive in any order (a unit whose chain up to the city is not
  complete yet waits, and is named, until it is).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from events.errors import OrgTreeError
from events.levels import Level
from events.orgtree import OrgTree, OrgUnit

ADDED, MOVED, RENAMED, RETIRED, RESTORED = "added", "moved", "renamed", "retired", "restored"
ERRORS_SHOWN = 20  # faults listed in one error; the rest are counted


@dataclass(frozen=True)
class Change:
    kinds: tuple[str, ...]  # e.g. ("moved", "renamed")
    unit: OrgUnit  # the record to publish, with its new revision
    before: OrgUnit | None  # the record on the topic now

    @property
    def label(self) -> str:
        return ", ".join(self.kinds)


def check(rows: Iterable[tuple[str, OrgUnit]]) -> OrgTree:
    """The tree of ``rows`` (where, unit), or OrgTreeError listing every fault by its row:
    one city root, each parent present and exactly one level up, no id twice, no cycle."""
    rows = list(rows)
    faults: list[str] = []
    where: dict[str, str] = {}
    units: dict[str, OrgUnit] = {}
    for at, unit in rows:
        if unit.unit_id in units:
            faults.append(f"{at}: unit {unit.unit_id!r} is defined twice (first at {where[unit.unit_id]})")
            continue
        where[unit.unit_id], units[unit.unit_id] = at, unit
    active = {k: u for k, u in units.items() if not u.retired}
    roots = [u for u in active.values() if u.parent_id is None]
    for unit in roots:
        if unit.level != Level.CITY:
            faults.append(f"{where[unit.unit_id]}: unit {unit.unit_id!r} is a {unit.level.label} without a parent; "
                          "only the city is the root")
    cities = [u for u in roots if u.level == Level.CITY]
    if len(cities) != 1:
        named = ", ".join(f"{u.unit_id!r} ({where[u.unit_id]})" for u in cities) or "none"
        faults.append(f"the tree needs exactly one city root, found {len(cities)}: {named}")
    for unit in active.values():
        if unit.parent_id is None:
            continue
        at, parent = where[unit.unit_id], units.get(unit.parent_id)
        if parent is None:
            faults.append(f"{at}: unit {unit.unit_id!r}: parent {unit.parent_id!r} is not in the tree")
        elif parent.retired:
            faults.append(f"{at}: unit {unit.unit_id!r}: parent {unit.parent_id!r} is retired")
        elif parent.level != unit.level - 1:
            faults.append(f"{at}: unit {unit.unit_id!r} ({unit.level.label}): parent {parent.unit_id!r} is a "
                          f"{parent.level.label}, expected a {Level(unit.level - 1).label}")
    faults += _cycles(active, where)
    if faults:
        more = f"\n... and {len(faults) - ERRORS_SHOWN} more" if len(faults) > ERRORS_SHOWN else ""
        raise OrgTreeError(f"{len(faults)} problem(s) in the org tree:\n" + "\n".join(faults[:ERRORS_SHOWN]) + more)
    return OrgTree(active.values(), [u for u in units.values() if u.retired])


def _cycles(units: Mapping[str, OrgUnit], where: Mapping[str, str]) -> list[str]:
    faults, done = [], set()
    for start in units:
        path, current = [], start
        while current in units and current not in done and current not in path:
            path.append(current)
            current = units[current].parent_id
        if current in path:  # back on this walk: a cycle
            loop = path[path.index(current):]
            faults.append(f"{where[loop[0]]}: units {' -> '.join(repr(u) for u in loop + [loop[0]])} form a cycle")
        done.update(path)
    return faults


def diff(published: Mapping[str, OrgUnit], wanted: OrgTree) -> list[Change]:
    """What to publish so the topic holds ``wanted``: units not in it are retired (kept, not
    deleted); each change carries the next revision. Sorted by level, then id, so a parent
    is published before its children."""
    changes: list[Change] = []
    for unit in wanted:
        before = published.get(unit.unit_id)
        if before is None:
            changes.append(Change((ADDED,), replace(unit, rev=1, retired=False), None))
            continue
        kinds = (RESTORED,) if before.retired else ()
        if (before.parent_id, before.level) != (unit.parent_id, unit.level):
            kinds += (MOVED,)
        if before.name != unit.name:
            kinds += (RENAMED,)
        if kinds:
            changes.append(Change(kinds, replace(unit, rev=before.rev + 1, retired=False), before))
    for unit_id, before in published.items():
        if unit_id not in wanted and not before.retired:
            changes.append(Change((RETIRED,), replace(before, rev=before.rev + 1, retired=True), before))
    # retirements last (bottom up), so no record names a parent retired before it
    changes.sort(key=lambda c: (c.kinds == (RETIRED,), -c.unit.level if c.kinds == (RETIRED,) else c.unit.level,
                                c.unit.unit_id))
    return changes


def in_force(records: Mapping[str, OrgUnit]) -> tuple[OrgTree, dict[str, str]]:
    """The tree of the units in force among the latest ``records``, and the units left out
    with why (parent unknown, retired or at the wrong level: a record not arrived yet, or a
    tree published half-way). A left-out unit's subtree is left out too."""
    active = {k: u for k, u in records.items() if not u.retired}
    kept: dict[str, OrgUnit] = {}
    waiting: dict[str, str] = {}
    children: dict[str | None, list[OrgUnit]] = {}
    for unit in active.values():
        children.setdefault(unit.parent_id, []).append(unit)
    stack = [u for u in children.get(None, ()) if u.level == Level.CITY]
    while stack:
        unit = stack.pop()
        kept[unit.unit_id] = unit
        for child in children.get(unit.unit_id, ()):
            if child.level == unit.level + 1:
                stack.append(child)
    for unit_id, unit in active.items():
        if unit_id in kept:
            continue
        parent = records.get(unit.parent_id) if unit.parent_id else None
        if unit.parent_id is None:
            waiting[unit_id] = f"a {unit.level.label} without a parent"
        elif parent is None:
            waiting[unit_id] = f"parent {unit.parent_id!r} unknown"
        elif parent.retired:
            waiting[unit_id] = f"parent {unit.parent_id!r} retired"
        elif parent.level != unit.level - 1:
            waiting[unit_id] = f"parent {unit.parent_id!r} is a {parent.level.label}"
        else:
            waiting[unit_id] = f"an ancestor of {unit.parent_id!r} is not in force"
    retired = [u for u in records.values() if u.retired]
    return OrgTree(kept.values(), retired), waiting
