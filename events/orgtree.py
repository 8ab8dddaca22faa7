"""The six-level org tree as data: units with an id, a level, a parent and a name.

Loaded from CSV (``unit_id,level,parent_id,name``) or JSON lines; each unit is one record
on the compacted org topic, keyed by its id. A unit changes by a new record under its key with
the next revision (``rev``); a retired unit keeps a record (``retired: true``), never a
tombstone, so its matters and history stay attributable (docs/events.md, "Org units").
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from events.errors import OrgTreeError, ValidationError
from events.identifiers import ID_RULE, is_identifier
from events.levels import LEVEL_NAMES, Level

NAME_MAX = 256  # a unit's display name, e.g. 北江社区第2网格
ORG_RECORD_VERSION = 2  # v1: no rev, no retired (read as rev 1, in force)


@dataclass(frozen=True)
class OrgUnit:
    unit_id: str
    level: Level
    parent_id: str | None
    name: str
    rev: int = 1  # the unit's revision: 1 when first published, +1 per change
    retired: bool = False  # out of force: no new matters, escalation passes it by

    def to_record(self) -> dict:
        return {"unit": self.unit_id, "level": self.level.label, "parent": self.parent_id,
                "name": self.name, "v": ORG_RECORD_VERSION, "rev": self.rev, "retired": self.retired}

    @classmethod
    def from_record(cls, record: object) -> "OrgUnit":
        if not isinstance(record, dict):
            raise ValidationError("org unit", "a map with unit, level, parent, name", record)
        unit_id = record.get("unit")
        if not is_identifier(unit_id):
            raise ValidationError("unit", ID_RULE, unit_id)
        level = record.get("level")
        # a label in any case, or the level's number; nothing else reaches Level.parse (which would str() it)
        if not (isinstance(level, str) and level.lower() in LEVEL_NAMES
                or type(level) is int and 1 <= level <= len(LEVEL_NAMES)):
            raise ValidationError("level", "one of " + ", ".join(LEVEL_NAMES), level)
        parent = record.get("parent") or None
        if parent is not None and not is_identifier(parent):
            raise ValidationError("parent", "a unit id or null", parent)
        name = record.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
            raise ValidationError("name", f"a non-empty name of at most {NAME_MAX} characters", name)
        version = record.get("v", 1)
        if type(version) is not int or not 1 <= version <= ORG_RECORD_VERSION:
            raise ValidationError("v", f"an org record version from 1 to {ORG_RECORD_VERSION}", version)
        rev, retired = record.get("rev", 1), record.get("retired", False)  # v1 had neither
        if type(rev) is not int or rev < 1:
            raise ValidationError("rev", "a revision number of at least 1", rev)
        if type(retired) is not bool:
            raise ValidationError("retired", "true or false", retired)
        return cls(unit_id, Level.parse(level.lower() if isinstance(level, str) else level), parent, name,
                   rev, retired)


class OrgTree:
    """An immutable, checked tree of the units in force: every parent exists and sits exactly
    one level up. ``retired`` units are remembered apart (``in`` and ``get`` do not see them),
    so a matter a retired unit still holds escalates to the nearest ancestor in force."""

    def __init__(self, units: Iterable[OrgUnit], retired: Iterable[OrgUnit] = ()) -> None:
        self._retired: dict[str, OrgUnit] = {u.unit_id: u for u in retired}
        self._units: dict[str, OrgUnit] = {}
        self._children: dict[str, list[str]] = {}
        for unit in units:
            if unit.unit_id in self._units:
                raise OrgTreeError(f"unit {unit.unit_id!r} defined twice")
            self._units[unit.unit_id] = unit
        for unit in self._units.values():
            if unit.parent_id is None:
                if unit.level != Level.CITY:
                    raise OrgTreeError(f"unit {unit.unit_id!r} ({unit.level.label}) has no parent")
                continue
            parent = self._units.get(unit.parent_id)
            if parent is None:
                raise OrgTreeError(f"unit {unit.unit_id!r}: parent {unit.parent_id!r} is not in the tree")
            if parent.level != unit.level - 1:
                raise OrgTreeError(f"unit {unit.unit_id!r} ({unit.level.label}): parent {parent.unit_id!r} "
                                   f"is a {parent.level.label}, expected a {Level(unit.level - 1).label}")
            self._children.setdefault(parent.unit_id, []).append(unit.unit_id)

    def __len__(self) -> int:
        return len(self._units)

    def __iter__(self) -> Iterator[OrgUnit]:
        return iter(self._units.values())

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._units

    def get(self, unit_id: str) -> OrgUnit:
        try:
            return self._units[unit_id]
        except KeyError:
            raise OrgTreeError(f"unknown org unit {unit_id!r}") from None

    def parent(self, unit_id: str) -> OrgUnit | None:
        parent_id = self.get(unit_id).parent_id
        return self._units[parent_id] if parent_id else None

    def parent_in_force(self, unit_id: str) -> OrgUnit | None:
        """The parent of a unit in force; for a retired unit, its nearest ancestor still in force
        (by the parents its last records named), else the city. None at the city or for a unit
        never known."""
        unit = self._units.get(unit_id) or self._retired.get(unit_id)
        if unit is None:
            return None
        seen, parent_id = {unit_id}, unit.parent_id
        while parent_id and parent_id not in seen:
            seen.add(parent_id)
            if parent_id in self._units:
                return self._units[parent_id]
            retired = self._retired.get(parent_id)
            parent_id = retired.parent_id if retired is not None else None
        if unit.level == Level.CITY:
            return None
        roots = [u for u in self._units.values() if u.parent_id is None]
        return roots[0] if len(roots) == 1 else None  # a broken chain: the city in force

    def retired(self, unit_id: str) -> OrgUnit | None:
        return self._retired.get(unit_id)

    def children(self, unit_id: str) -> list[OrgUnit]:
        return [self._units[c] for c in self._children.get(unit_id, ())]

    def ancestors(self, unit_id: str) -> list[OrgUnit]:
        """The unit itself and every unit above it, nearest first."""
        chain, unit = [], self.get(unit_id)
        while unit is not None:
            chain.append(unit)
            unit = self._units.get(unit.parent_id) if unit.parent_id else None
        return chain

    def ancestor_at(self, unit_id: str, level: Level) -> OrgUnit:
        """The unit's ancestor at ``level``; the unit itself if it already sits at or above it."""
        unit = self.get(unit_id)
        while unit is not None:  # walked, not listed: routing asks this for every reported matter
            if unit.level <= level:
                return unit
            unit = self._units.get(unit.parent_id) if unit.parent_id else None
        raise OrgTreeError(f"unit {unit_id!r} has no ancestor at {level.label}")

    def path(self, unit_id: str) -> dict[Level, str]:
        """Ancestor id at every level from the city down to the unit."""
        return {u.level: u.unit_id for u in self.ancestors(unit_id)}


def load(path: str | Path) -> OrgTree:
    """Load a tree from ``.csv`` (header unit_id,level,parent_id,name), ``.jsonl`` or ``.json``."""
    units = [unit for _, unit in read_rows(path)]
    return OrgTree([u for u in units if not u.retired], [u for u in units if u.retired])


def read_rows(path: str | Path) -> list[tuple[str, OrgUnit]]:
    """Every unit of a ``.csv``, ``.jsonl`` or ``.json`` (an array) file with where it stands (``org.csv:7``),
    unchecked as a tree; a row that is not a unit raises OrgTreeError naming file and line."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        if path.suffix == ".csv":
            reader = csv.DictReader(fh)
            missing = {"unit_id", "level", "parent_id", "name"} - set(reader.fieldnames or ())
            if missing:
                raise OrgTreeError(f"{path}:1: the header lacks {', '.join(sorted(missing))} "
                                   "(expected unit_id,level,parent_id,name)")
            rows = [{"unit": r["unit_id"], "level": r["level"], "parent": r["parent_id"], "name": r["name"]}
                    for r in reader]
        elif path.suffix == ".json":  # one array of maps
            try:
                listed = json.load(fh)
            except ValueError as exc:
                raise OrgTreeError(f"{path}: not JSON: {exc}") from None
            if not isinstance(listed, list):
                raise OrgTreeError(f"{path}: expected a JSON array of unit maps")
            rows = [(f"item {n}", row) for n, row in enumerate(listed, start=1)]
        else:
            rows = []
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        rows.append((number, json.loads(line)))
                    except ValueError as exc:
                        raise OrgTreeError(f"{path}:{number}: not a JSON object: {exc}") from None
    numbered = list(enumerate(rows, start=2)) if path.suffix == ".csv" else rows
    units = []
    for number, row in numbered:
        try:
            units.append((f"{path}:{number}", OrgUnit.from_record(row)))
        except ValidationError as exc:
            raise OrgTreeError(f"{path}:{number}: {exc}") from None
    return units


def dump_csv(tree: Iterable[OrgUnit], path: str | Path) -> None:
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["unit_id", "level", "parent_id", "name"])
        for u in tree:
            writer.writerow([u.unit_id, u.level.label, u.parent_id or "", u.name])
