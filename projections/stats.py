"""The statistics analysts ask for, for any org unit at any level, time window (by report
time), category and kind. Definitions: docs/statistics.md; each figure once, in
``projections/figures.py``. One query reads the rows of ``matters`` for the scope
(``projections/matters.py``) and computes the total, the escalations by level and the drill-down
one level below in one pass."""
from __future__ import annotations

from typing import Any

from events.levels import LEVEL_NAMES, Level
from projections.errors import ProjectionError
from projections.facts import MARK
from projections.figures import CATALOGUE, Catalogue
from projections.matters import scoped_sql
from projections.report import QUANTILES, Figures, Report, Scope, rank_key
from projections.store import Store, lit

__all__ = ["Figures", "Report", "Scope", "compute", "unit_info", "figures_sql", "scoped_rows"]
_rank_key = rank_key  # the name the tests know
ESCALATING = LEVEL_NAMES[1:]  # the levels that can hand a matter up


def scoped_rows(db: str, scope: Scope, unit_level: Level | None) -> str:
    """``(rows of matters) WHERE ...``: the matters of the scope, to follow a FROM (more
    conditions may follow with AND)."""
    fixed, merged, outer = [], ["reported_at > 0"], []
    if scope.unit is not None and unit_level is not None:
        # the place, category and kind of a matter come from its first `reported` event and never
        # change once known: safe to test before the settled rows are merged (fewer to merge)
        fixed.append(f"place IN (SELECT unit_id FROM {db}.org_units FINAL WHERE l{int(unit_level)} = {lit(scope.unit)})")
        outer.append(f"l{int(unit_level)} = {lit(scope.unit)}")
    if scope.categories:
        fixed.append(f"category IN {lit(tuple(scope.categories))}")
    if scope.kind:
        fixed.append(f"kind = {lit(scope.kind)}")
    if scope.since is not None:
        merged.append(f"reported_at >= {int(scope.since)}")
    if scope.until is not None:
        merged.append(f"reported_at < {int(scope.until)}")
    return f"({scoped_sql(db, ' AND '.join(fixed), ' AND '.join(merged))})\nWHERE {' AND '.join(outer) or '1'}"


def figures_sql(db: str, scope: Scope, unit_level: Level | None, child: Level | None,
                catalogue: Catalogue = CATALOGUE) -> str:
    """Every count, the escalations by level and the quantiles for the scope; with ``child``, per
    unit of that level (grouped by '>' + its id) plus the ROLLUP row (grp = '') for the total."""
    group = f"concat('>', l{int(child)})" if child else "''"
    q = ", ".join(str(x) for _, x in QUANTILES)
    by_level = [f"sumIf(arrayCount(x -> x % {MARK} = {LEVEL_NAMES.index(lv) + 1}, escalation_marks), valid) "
                f"AS e_{lv}" for lv in ESCALATING]
    columns = ",\n  ".join([f"{group} AS grp", *catalogue.aggregates(), *by_level,
                            f"quantilesExactIf({q})(accept_seconds, valid AND accepted_at > 0) AS q_accept",
                            f"quantilesExactIf({q})(resolve_seconds, is_resolved) AS q_resolve"])
    # Result names carry a prefix: ClickHouse 18.16 resolves a name to a same-named alias of
    # the SELECT before the column, which would nest one aggregate in another.
    return f"""
SELECT
  {columns}
FROM {scoped_rows(db, scope, unit_level)}
GROUP BY grp{" WITH ROLLUP" if child else ""}"""


def _to_figures(row: dict[str, Any], catalogue: Catalogue) -> Figures:
    f = Figures(unit=row["grp"], catalogue=catalogue, **{c: int(row[f"n_{c}"]) for c in catalogue.plain_counts},
                resolved_by_level={lv: int(row[f"n_resolved_{lv}"]) for lv in LEVEL_NAMES})
    if f.accepted:
        f.accept_seconds = {name: float(x) for (name, _), x in zip(QUANTILES, row["q_accept"])}
    if f.resolved:
        f.resolve_seconds = {name: float(x) for (name, _), x in zip(QUANTILES, row["q_resolve"])}
    return f


def unit_info(store: Store, unit_id: str) -> tuple[Level, str]:
    rows = store.query(f"SELECT argMax(level, version), argMax(name, version) FROM {store.table('org_units')} "
                       f"WHERE unit_id = %(u)s GROUP BY unit_id", {"u": unit_id})
    if not rows:
        raise ProjectionError(f"unknown org unit {unit_id!r}: not in {store.database}.org_units "
                              "(load the tree with `gridflow migrate --org FILE`)")
    return Level(int(rows[0][0])), rows[0][1]


def compute(store: Store, scope: Scope = Scope(), *, drill: bool = True, rank_by: str = "grid_rate",
            catalogue: Catalogue = CATALOGUE) -> Report:
    """The figures for the scope, the escalations by level, and the next level down, ranked."""
    ranks = (*(r.name for r in catalogue.rates), *catalogue.plain_counts)
    if rank_by not in ranks:
        raise ProjectionError(f"rank_by: expected one of {', '.join(ranks)}, got {rank_by!r}")
    level, name = (unit_info(store, scope.unit) if scope.unit else (None, "all units"))
    child = None
    if drill and (level is None or level < Level.COMPOUND):
        child = Level.CITY if level is None else Level(level + 1)
    rows = store.query_dicts(figures_sql(store.database, scope, level, child, catalogue))
    total_row = next((r for r in rows if r["grp"] == ""), None)
    total = _to_figures(total_row, catalogue) if total_row else Figures(catalogue=catalogue)
    total.unit, total.name, total.level = scope.unit or "", name, level.label if level else ""
    escalations_by_level = {lv: int(total_row[f"e_{lv}"]) if total_row else 0 for lv in ESCALATING}
    children: list[Figures] = []
    if child is not None:
        children = [_to_figures(dict(r, grp=r["grp"][1:]), catalogue) for r in rows if r["grp"] != ""]
        _name(store, children, child, "(reported at the unit itself)" if scope.unit else "(place not in the org tree)")
        children.sort(key=lambda f: rank_key(f, rank_by))
    return Report(scope, total, escalations_by_level, children, child.label if child else None, rank_by)


def _name(store: Store, figures: list[Figures], child: Level, blank: str) -> None:
    ids = [f.unit for f in figures if f.unit]
    names = dict(store.query(f"SELECT unit_id, argMax(name, version) FROM {store.table('org_units')} "
                             f"WHERE unit_id IN %(ids)s GROUP BY unit_id", {"ids": ids})) if ids else {}
    for f in figures:
        f.level = child.label if f.unit else ""
        f.name = names.get(f.unit, "") if f.unit else blank
