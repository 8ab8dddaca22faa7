"""The org tree as a ClickHouse dimension: each unit with its ancestor at every level, so any
statistic can be grouped by any ancestor (``l1`` city .. ``l6`` compound)."""
from __future__ import annotations

import time
from typing import Iterable, Mapping

from events.levels import Level
from events.orgtree import OrgUnit
from projections.store import Store

COLUMNS = ("unit_id", "level", "level_name", "parent_id", "name", "l1", "l2", "l3", "l4", "l5", "l6", "version")


def ancestor_ids(unit: OrgUnit, units: Mapping[str, OrgUnit]) -> list[str]:
    """Ids at levels 1..6 on the unit's path; '' where the chain is missing or below the unit.

    Tolerant on purpose: org records arrive one by one on the compacted topic, possibly a
    child before its parent; the row is written again when the parent shows up."""
    path = [""] * 6
    seen: set[str] = set()
    current: OrgUnit | None = unit
    while current is not None and current.unit_id not in seen:
        seen.add(current.unit_id)
        path[int(current.level) - 1] = current.unit_id
        parent = units.get(current.parent_id) if current.parent_id else None
        if parent is not None and parent.level != current.level - 1:
            break  # inconsistent tree: keep what is certain
        current = parent
    return path


def to_rows(units: Iterable[OrgUnit], known: Mapping[str, OrgUnit] | None = None,
            version: int | None = None) -> list[tuple]:
    units = list(units)
    index = dict(known or {})
    index.update({u.unit_id: u for u in units})
    version = int(time.time() * 1000) if version is None else version
    return [(u.unit_id, int(u.level), u.level.label, u.parent_id or "", u.name, *ancestor_ids(u, index), version)
            for u in units]


def with_descendants(changed: Iterable[str], units: Mapping[str, OrgUnit]) -> list[OrgUnit]:
    """The changed units and everything below them (their ancestor columns may have moved)."""
    children: dict[str, list[str]] = {}
    for u in units.values():
        if u.parent_id:
            children.setdefault(u.parent_id, []).append(u.unit_id)
    out, stack, seen = [], [c for c in changed if c in units], set()
    while stack:
        uid = stack.pop()
        if uid in seen:
            continue
        seen.add(uid)
        out.append(units[uid])
        stack.extend(children.get(uid, ()))
    return out


def load_units(store: Store) -> dict[str, OrgUnit]:
    """The units already in ClickHouse (newest version of each)."""
    rows = store.query(f"SELECT unit_id, argMax(level, version), argMax(parent_id, version), argMax(name, version) "
                       f"FROM {store.table('org_units')} GROUP BY unit_id")
    return {uid: OrgUnit(uid, Level(level), parent or None, name) for uid, level, parent, name in rows}


def write_units(store: Store, units: Iterable[OrgUnit], known: Mapping[str, OrgUnit] | None = None) -> int:
    rows = to_rows(units, known)
    return store.insert("org_units", COLUMNS, rows)
