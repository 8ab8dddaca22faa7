"""The numbers behind each chart of ``gridflow report``, read from ClickHouse.

Every query runs over the rows of ``matters`` in the scope, exactly as ``gridflow stats`` selects
them (``projections.stats.scoped_rows``), and counts with the aggregates of
``projections/figures.py``: a share, a rate or a count here is the figure of the same name in
docs/statistics.md, computed per week or per unit. Only unit ids and names, levels, weeks and
counts leave the store: no matter ids, no personal data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from events.levels import LEVEL_NAMES, Level
from projections.figures import CATALOGUE, Catalogue
from projections.report import Figures, Report
from projections.stats import Scope, compute, scoped_rows, unit_info
from projections.store import Store, lit

HOUR, DAY = 3600, 86400
# Bins of the time-to-resolve and time-to-accept histograms: [edge i-1, edge i) in seconds.
RESOLVE_EDGES = (HOUR, 4 * HOUR, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 5 * DAY, 7 * DAY, 14 * DAY, 30 * DAY)
ACCEPT_EDGES = (10 * 60, 30 * 60, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, DAY, 2 * DAY)


@dataclass
class Pictures:
    """What the report draws; every list is in the order it is drawn."""

    report: Report  # the figures of the scope and its drill-down, as `gridflow stats` computes them
    tz: str
    weeks: list[str] = field(default_factory=list)  # Mondays (YYYY-MM-DD in tz) of the report weeks
    weekly: list[Figures] = field(default_factory=list)  # the figures of the matters reported each week
    flow: dict[str, dict[str, int]] = field(default_factory=dict)  # entered / escalated / resolved / open, by level
    units: list[Figures] = field(default_factory=list)  # the drill-down units drawn (ranked, at most `limit`)
    on_time: list[list[float | None]] = field(default_factory=list)  # [unit][week]: on-time rate
    closed: list[list[int]] = field(default_factory=list)  # [unit][week]: closed matters (the rate's denominator)
    resolve_bins: dict[str, list[int]] = field(default_factory=dict)  # resolving level -> matters per bin
    accept_bins: list[int] = field(default_factory=list)  # accepted matters per bin


def bin_labels(edges: tuple[int, ...]) -> list[str]:
    def short(s: int) -> str:
        return f"{s // DAY}d" if s % DAY == 0 else f"{s // HOUR}h" if s % HOUR == 0 else f"{s // 60}m"

    return ([f"<{short(edges[0])}"] + [f"{short(a)}–{short(b)}" for a, b in zip(edges, edges[1:])]
            + [f"≥{short(edges[-1])}"])


def bin_sql(column: str, edges: tuple[int, ...]) -> str:
    """The bin number (0 … len(edges)) of ``column``."""
    return "multiIf(" + ", ".join(f"{column} < {e}, {i}" for i, e in enumerate(edges)) + f", {len(edges)})"


def week_sql(tz: str) -> str:
    return f"toString(toMonday(toDateTime(intDiv(reported_at, 1000), {lit(tz)})))"


def _figures(row: dict[str, Any], catalogue: Catalogue, unit: str = "") -> Figures:
    return Figures(unit=unit, catalogue=catalogue, **{c: int(row[f"n_{c}"]) for c in catalogue.plain_counts},
                   resolved_by_level={lv: int(row[f"n_resolved_{lv}"]) for lv in LEVEL_NAMES})


def collect(store: Store, scope: Scope = Scope(), *, tz: str = "Asia/Shanghai", rank_by: str = "grid_rate",
            limit: int = 20, catalogue: Catalogue = CATALOGUE) -> Pictures:
    """Read everything the report draws for ``scope`` (weeks in ``tz``)."""
    report = compute(store, scope, rank_by=rank_by, catalogue=catalogue)
    level = unit_info(store, scope.unit)[0] if scope.unit else None
    rows = scoped_rows(store.database, scope, level)
    counts = ",\n  ".join(catalogue.aggregates())
    pics = Pictures(report, tz)

    weekly = store.query_dicts(f"SELECT {week_sql(tz)} AS week,\n  {counts}\nFROM {rows}\nGROUP BY week ORDER BY week")
    pics.weeks = [r["week"] for r in weekly]
    pics.weekly = [_figures(r, catalogue) for r in weekly]

    pics.flow = _flow(store, rows, report)

    # the heatmap's rows: the ranked drill-down, or the unit itself when it has no level below
    pics.units = report.children[:limit] if report.child_level else [report.total]
    if report.child_level:
        child = Level[report.child_level.upper()]
        group = f"l{int(child)}"
        wanted = f" AND {group} IN {lit(tuple(f.unit for f in pics.units))}" if pics.units else " AND 0"
    else:
        group, wanted = lit(report.total.unit), ""
    cells = store.query_dicts(f"SELECT {group} AS grp, {week_sql(tz)} AS week,\n  {counts}\nFROM {rows}{wanted}\n"
                              "GROUP BY grp, week")
    by_cell = {(r["grp"], r["week"]): _figures(r, catalogue) for r in cells}
    empty = Figures(catalogue=catalogue)
    pics.on_time = [[by_cell.get((u.unit, w), empty).on_time_rate for w in pics.weeks] for u in pics.units]
    pics.closed = [[by_cell.get((u.unit, w), empty).closed for w in pics.weeks] for u in pics.units]

    resolved = catalogue_where(catalogue, "resolved")
    bins = store.query(f"SELECT resolved_level, {bin_sql('resolve_seconds', RESOLVE_EDGES)} AS bin, count() "
                       f"FROM {rows} AND {resolved} GROUP BY resolved_level, bin")
    pics.resolve_bins = {lv: [0] * (len(RESOLVE_EDGES) + 1) for lv in LEVEL_NAMES}
    for lv, b, n in bins:
        if lv in pics.resolve_bins:
            pics.resolve_bins[lv][int(b)] = int(n)
    pics.resolve_bins = {lv: counts for lv, counts in pics.resolve_bins.items() if any(counts)}
    accepted = catalogue_where(catalogue, "accepted")
    pics.accept_bins = [0] * (len(ACCEPT_EDGES) + 1)
    for b, n in store.query(f"SELECT {bin_sql('accept_seconds', ACCEPT_EDGES)} AS bin, count() "
                            f"FROM {rows} AND {accepted} GROUP BY bin"):
        pics.accept_bins[int(b)] = int(n)
    return pics


def catalogue_where(catalogue: Catalogue, count: str) -> str:
    """The condition of a count of the catalogue, in brackets."""
    return f"({next(c.where for c in catalogue.counts if c.name == count)})"


def _flow(store: Store, rows: str, report: Report) -> dict[str, dict[str, int]]:
    """Where the valid matters entered the hierarchy, the escalations out of each level, where
    they were resolved, and where the open ones are held now."""
    valid, open_ = catalogue_where(report.total.catalogue, "valid"), catalogue_where(report.total.catalogue, "open")
    entered, held = {}, {}
    for kind, lv, n in store.query(f"SELECT 'entered', entry_level, countIf({valid}) FROM {rows} GROUP BY entry_level "
                                   f"UNION ALL SELECT 'open', holder_level, countIf({open_}) FROM {rows} "
                                   "GROUP BY holder_level"):
        if lv in LEVEL_NAMES and n:
            (entered if kind == "entered" else held)[lv] = int(n)
    return {"entered": entered, "escalated": {lv: n for lv, n in report.escalations_by_level.items() if n},
            "resolved": {lv: n for lv, n in report.total.resolved_by_level.items() if n}, "open": held}
