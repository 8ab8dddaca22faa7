"""The statistics analysts ask for, for any org unit at any level, time window (by report
time), category and kind. Definitions: docs/statistics.md. Every figure is read from the
rows of the ``matters`` view (one per matter, duplicates already harmless), merged for the
matters in scope only, and from ``events``."""
from __future__ import annotations

from typing import Any

from events.levels import LEVEL_NAMES, Level
from projections.errors import ProjectionError
from projections.figures import CATALOGUE, Catalogue
from projections.matters import matters_sql
from projections.report import QUANTILES, Figures, Report, Scope, rank_key
from projections.store import Store, lit

__all__ = ["Figures", "Report", "Scope", "compute", "unit_info"]
_rank_key = rank_key  # the name the tests know


def _figures_sql(db: str, group: str, where: str, matters: str, rollup: bool, catalogue: Catalogue) -> str:
    # Result names carry a prefix: ClickHouse 18.16 resolves a name to a same-named alias of
    # the SELECT before the column, which would nest one aggregate in another.
    q = ", ".join(str(x) for _, x in QUANTILES)
    columns = ",\n  ".join([f"{group} AS grp", *catalogue.aggregates(),
                            f"quantilesExactIf({q})(accept_seconds, valid AND accepted_at > 0) AS q_accept",
                            f"quantilesExactIf({q})(resolve_seconds, is_resolved) AS q_resolve"])
    return f"""
SELECT
  {columns}
FROM ({matters})
WHERE {where}
GROUP BY grp{" WITH ROLLUP" if rollup else ""}
"""


def _where(scope: Scope, unit_level: Level | None) -> str:
    """The definition of the scope, on the columns of ``matters``."""
    cond = ["reported_at > 0"]
    if scope.unit is not None and unit_level is not None:
        cond.append(f"l{int(unit_level)} = {lit(scope.unit)}")
    if scope.since is not None:
        cond.append(f"reported_at >= {int(scope.since)}")
    if scope.until is not None:
        cond.append(f"reported_at < {int(scope.until)}")
    if scope.categories:
        cond.append(f"category IN {lit(tuple(scope.categories))}")
    if scope.kind:
        cond.append(f"kind = {lit(scope.kind)}")
    return " AND ".join(cond)


def _scope_ids(db: str, scope: Scope, unit_level: Level | None) -> str:
    """The same scope as matter ids, from the ``reported`` events: cheap to compute, and it
    lets the per-matter states be merged for these matters only."""
    cond = ["type = 'reported'"]
    if scope.unit is not None and unit_level is not None:
        cond.append(f"place IN (SELECT unit_id FROM {db}.org_units FINAL WHERE l{int(unit_level)} = {lit(scope.unit)})")
    if scope.since is not None:
        cond.append(f"occurred_at >= {int(scope.since)}")
    if scope.until is not None:
        cond.append(f"occurred_at < {int(scope.until)}")
    if scope.categories:
        cond.append(f"category IN {lit(tuple(scope.categories))}")
    if scope.kind:
        cond.append(f"kind = {lit(scope.kind)}")
    return f"SELECT matter_id FROM {db}.events WHERE {' AND '.join(cond)}"


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
    db = store.database
    level, name = (unit_info(store, scope.unit) if scope.unit else (None, "all units"))
    where = _where(scope, level)
    ids = _scope_ids(db, scope, level)
    filtered = scope.unit or scope.since is not None or scope.until is not None or scope.categories or scope.kind
    matters = matters_sql(db, ids if filtered else None)
    child = None
    if drill and (level is None or level < Level.COMPOUND):
        child = Level.CITY if level is None else Level(level + 1)
    # One pass: with a drill-down, children are grouped by '>' + their id and the ROLLUP row
    # (grp = '') is the total; the marker keeps "reported at the unit itself" apart from it.
    group = f"concat('>', l{int(child)})" if child else "''"
    rows = store.query_dicts(_figures_sql(db, group, where, matters, child is not None, catalogue))
    total_row = [r for r in rows if r["grp"] == ""]
    total = _to_figures(total_row[0], catalogue) if total_row else Figures(catalogue=catalogue)
    total.unit, total.name, total.level = scope.unit or "", name, level.label if level else ""
    esc = store.query(f"SELECT from_level, uniqExact(event_id) FROM {db}.events WHERE type = 'escalated' "
                      f"AND matter_id IN ({ids}) "
                      f"AND matter_id NOT IN (SELECT matter_id FROM {db}.events WHERE type = 'cancelled') "
                      f"GROUP BY from_level")
    escalations_by_level = {lv: 0 for lv in LEVEL_NAMES if lv != "city"}
    escalations_by_level.update({lv: int(n) for lv, n in esc})
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

